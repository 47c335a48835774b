"""ListObjects on SQLite: objects and common prefixes in key order, each common prefix
skipped with an index seek."""

from __future__ import annotations

from collections.abc import Generator, Sequence
from contextlib import closing
from itertools import islice
from typing import Any

from oortgate.meta.models import ObjectPage, ObjectRecord
from oortgate.meta.sqlite_db import Database, key_range, lower_bound, nullable_loads, successor

# What a listing shows of an object: its records carry no headers, user metadata or
# restore state (nor a body).
_LIST_COLS = "key, size, etag, last_modified, checksums, storage_class, owner_id"


def _listed(bucket_id: int, row: Sequence[Any]) -> ObjectRecord:
    key, size, etag, modified, sums, cls, owner_id = row
    return ObjectRecord(bucket_id, key, None, size, etag, modified,
                        checksums=nullable_loads(sums), storage_class=cls,
                        owner_id=owner_id)  # fmt: skip


class ListingStore(Database):
    def list_objects(
        self,
        bucket_id: int,
        prefix: str = "",
        delimiter: str = "",
        start_after: str = "",
        max_keys: int = 1000,
    ) -> ObjectPage:
        """max_keys <= 0 returns an empty, untruncated page (as AWS does for max-keys=0).
        One entry beyond max_keys is looked up, so is_truncated is never a false alarm."""
        if max_keys <= 0:
            return ObjectPage([], [], False, None)
        walk = self._walk(bucket_id, prefix, delimiter, start_after, max_keys + 1)
        with self._snapshot(), closing(walk):
            entries = list(islice(walk, max_keys + 1))
        truncated = len(entries) > max_keys
        entries = entries[:max_keys]
        objects = [e for e in entries if isinstance(e, ObjectRecord)]
        prefixes = [e for e in entries if isinstance(e, str)]
        marker = None
        if truncated:
            last = entries[-1]
            marker = last if isinstance(last, str) else last.key
        return ObjectPage(objects, prefixes, truncated, marker)

    def _walk(
        self, bucket_id: int, prefix: str, delimiter: str, start_after: str, batch: int
    ) -> Generator[ObjectRecord | str, None, None]:
        """Objects and common prefixes in key order. After a common prefix P, the next
        seek starts at successor(P): its keys are skipped by the index, not read."""
        upper = successor(prefix)
        bound, inclusive = lower_bound(prefix, start_after)
        while True:
            rolled: str | None = None
            seen = 0
            cond, args = key_range("key", bound, inclusive, upper)
            sql = f"SELECT {_LIST_COLS} FROM objects WHERE bucket_id = ? AND {cond} ORDER BY key"
            with closing(self._conn.execute(sql + " LIMIT ?", [bucket_id, *args, batch])) as rows:
                for row in rows:
                    seen += 1
                    key: str = row[0]
                    cut = key.find(delimiter, len(prefix)) if delimiter else -1
                    if cut >= 0:
                        rolled = key[: cut + len(delimiter)]
                        break
                    yield _listed(bucket_id, row)
                    bound, inclusive = key, False
            if rolled is None:
                if seen < batch:
                    return  # the range is exhausted
                continue  # a full batch of plain keys: seek on from the last one
            # A start_after inside (or equal to) this prefix means its keys were listed
            # on an earlier page: skip it without returning it again.
            if rolled > start_after:
                yield rolled
            after = successor(rolled)
            if after is None or (upper is not None and after >= upper):
                return
            bound, inclusive = after, True
