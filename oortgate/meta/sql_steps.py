"""The steps an operation written once for both metadata stores is made of
(oortgate.meta.versions, object_lock, version_restore, version_lifecycle).

An operation is a generator of steps (``Sql`` with ``?`` placeholders, ``Release`` and
``Claim`` of blob ids) that a store drives inside one of its write (or read)
transactions, sending back each statement's rows: SQLite runs them on its connection,
PostgreSQL on its own (``?`` becomes ``%s``). The SQL is the dialect both share.
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")
Row = Sequence[Any]
# The rows of one key (the primary key prefix of objects, object_versions and the parts).
KEY = "bucket_id = ? AND key = ?"


@dataclass(frozen=True, slots=True)
class Sql:
    text: str
    args: tuple[Any, ...] = ()


@dataclass(frozen=True, slots=True)
class Release:
    """One reference less on each of these blobs (the store's own release step)."""

    blob_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Claim:
    """A row is about to reference these blobs (new, pending ones: the store's own claim
    step, as put_object's); the step's rows are [(True,)] if every one was claimed."""

    blob_ids: tuple[str, ...]


Step = Sql | Release | Claim
Steps = Generator[Step, list[Row], T]


def query(text: str, *args: Any) -> Steps[list[Row]]:
    """One statement; its rows."""
    rows = yield Sql(text, args)
    return rows
