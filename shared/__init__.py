"""The application itself: domain services, ports and their adapters (no trigger code)."""
