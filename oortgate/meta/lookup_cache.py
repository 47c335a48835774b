"""The lookups every request makes (its key and user, its bucket), remembered while the
database stays unchanged.

SQLite's ``data_version`` tells a connection whether any other connection (another
worker, the admin CLI, this process's own writer) has committed since it last asked.
``refresh`` asks once at the start of each request and forgets everything on a change,
so a request sees what it would have read from the database at that moment, for one
cheap statement instead of two lookups.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from oortgate.meta.models import AccessKey, Bucket, User
from oortgate.meta.sqlite import SqliteMetaStore

V = TypeVar("V")

MAX_ENTRIES = 10_000  # per kind; past it the cache starts over (bounded memory)


class LookupCache:
    def __init__(self, reader: SqliteMetaStore) -> None:
        self._reader = reader
        self._version: int | None = None
        self._credentials: dict[str, tuple[AccessKey, User]] = {}
        self._buckets: dict[str, Bucket] = {}

    def refresh(self) -> None:
        version = self._reader.data_version()
        if version != self._version:
            self._version = version
            self._credentials.clear()
            self._buckets.clear()

    def get_credentials(self, access_key: str) -> tuple[AccessKey, User] | None:
        return _cached(self._credentials, access_key, self._reader.get_credentials)

    def get_bucket(self, name: str) -> Bucket | None:
        return _cached(self._buckets, name, self._reader.get_bucket)


def _cached(cache: dict[str, V], name: str, load: Callable[[str], V | None]) -> V | None:
    found = cache.get(name)
    if found is None:
        found = load(name)
        if found is not None:  # only what exists: unknown names cannot fill the cache
            if len(cache) >= MAX_ENTRIES:
                cache.clear()
            cache[name] = found
    return found
