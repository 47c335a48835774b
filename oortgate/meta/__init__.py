"""Metadata: users, keys, buckets and objects (SQLite embedded, PostgreSQL later)."""
