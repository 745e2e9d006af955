"""Connected stores: their records, credentials and syncs."""
