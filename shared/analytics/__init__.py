"""Store analytics computed from synced data: daily rollups, period summaries and time series."""
