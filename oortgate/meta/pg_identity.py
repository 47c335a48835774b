"""The PostgreSQL database's identity (see pg_schema: the owner of a shared blob
directory), read with the synchronous driver: a server worker needs it to build its blob
store before its event loop runs."""

from __future__ import annotations

import psycopg

from oortgate.meta.pg_db import conninfo_kwargs


def read_identity(url: str) -> str:
    """One short connection. Raises ConnectionError (an OSError) when the database
    cannot be reached or has no schema yet (``oortgate serve`` makes it)."""
    try:
        with psycopg.connect(url, **conninfo_kwargs()) as conn:
            row = conn.execute("SELECT identity FROM og_identity").fetchone()
    except psycopg.errors.UndefinedTable:
        raise ConnectionError("the database has no oortgate schema yet") from None
    except psycopg.Error as exc:
        raise ConnectionError(f"PostgreSQL: {exc}") from None
    assert row is not None, "made by a migration"
    return str(row[0])
