"""Postgres access: the pool, tenancy-scoped transactions and the migrator."""
