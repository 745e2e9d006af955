"""The advisor: detectors over computed analytics, recommendations that cite their figures, and answers."""
