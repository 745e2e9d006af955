"""Product videos: upload records and SAS URLs, the analysis steps run by video_analysis, insights.

`media` (probing, frame and audio scans, scoring) is pure; everything here does the I/O around it.
"""
