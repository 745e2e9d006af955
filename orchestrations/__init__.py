"""Durable orchestrators and their activities, one module per workflow."""
