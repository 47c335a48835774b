"""Blob storage: immutable byte files with random ids (local disk now, shared later)."""
