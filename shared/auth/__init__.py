"""Supabase access tokens: verification, the caller's identity and roles, and local minting."""
