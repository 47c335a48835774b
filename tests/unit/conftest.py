"""Fixtures shared by the metadata store's unit tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from oortgate.meta.sqlite import SqliteMetaStore


@pytest.fixture
def meta(tmp_path: Path) -> Iterator[SqliteMetaStore]:
    store = SqliteMetaStore(tmp_path / "meta.db")
    yield store
    store.close()


@pytest.fixture
def bucket_id(meta: SqliteMetaStore) -> int:
    owner = meta.create_user("owner")
    return meta.create_bucket("bkt", owner.id, "us-east-1", 100).id
