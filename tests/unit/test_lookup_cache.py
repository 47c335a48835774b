"""LookupCache: keys and buckets remembered until any other connection commits."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from oortgate.meta import lookup_cache
from oortgate.meta.lookup_cache import LookupCache
from oortgate.meta.sqlite import SqliteMetaStore


@pytest.fixture
def stores(tmp_path: Path) -> Iterator[tuple[SqliteMetaStore, SqliteMetaStore]]:
    writer = SqliteMetaStore(tmp_path / "meta.db")
    reader = SqliteMetaStore(tmp_path / "meta.db")
    yield writer, reader
    reader.close()
    writer.close()


class CountingReader(SqliteMetaStore):
    lookups = 0

    def get_bucket(self, name: str):  # type: ignore[no-untyped-def]
        self.lookups += 1
        return super().get_bucket(name)


def test_hits_until_another_connection_commits(tmp_path: Path) -> None:
    writer = SqliteMetaStore(tmp_path / "meta.db")
    reader = CountingReader(tmp_path / "meta.db")
    try:
        owner = writer.create_user("u")
        writer.create_bucket("b", owner.id, "us-east-1", 10)
        cache = LookupCache(reader)
        cache.refresh()
        for _ in range(3):
            cache.refresh()
            bucket = cache.get_bucket("b")
            assert bucket is not None and bucket.acl == "private"
        assert reader.lookups == 1
        assert bucket is not None
        writer.set_bucket_acl(bucket.id, "public-read")  # another connection commits
        cache.refresh()
        changed = cache.get_bucket("b")
        assert changed is not None and changed.acl == "public-read"
        assert reader.lookups == 2
    finally:
        reader.close()
        writer.close()


def test_disabled_key_is_seen_at_the_next_refresh(
    stores: tuple[SqliteMetaStore, SqliteMetaStore],
) -> None:
    writer, reader = stores
    user = writer.create_user("u")
    writer.create_key(user.id, "AKIAEXAMPLE000000001", "s" * 40)
    cache = LookupCache(reader)
    cache.refresh()
    found = cache.get_credentials("AKIAEXAMPLE000000001")
    assert found is not None and found[0].enabled and found[1].name == "u"
    writer.set_key_enabled("AKIAEXAMPLE000000001", False)
    cache.refresh()
    found = cache.get_credentials("AKIAEXAMPLE000000001")
    assert found is not None and not found[0].enabled
    writer.delete_key("AKIAEXAMPLE000000001")
    cache.refresh()
    assert cache.get_credentials("AKIAEXAMPLE000000001") is None


def test_misses_are_not_remembered_and_size_is_bounded(
    stores: tuple[SqliteMetaStore, SqliteMetaStore], monkeypatch: pytest.MonkeyPatch
) -> None:
    writer, reader = stores
    cache = LookupCache(reader)
    cache.refresh()
    assert cache.get_bucket("later") is None
    owner = writer.create_user("u")
    writer.create_bucket("later", owner.id, "us-east-1", 10)
    # no refresh needed: a miss was never cached
    assert cache.get_bucket("later") is not None
    monkeypatch.setattr(lookup_cache, "MAX_ENTRIES", 3)
    for i in range(5):
        writer.create_bucket(f"b{i}", owner.id, "us-east-1", 10)
    cache.refresh()
    for i in range(5):
        assert cache.get_bucket(f"b{i}") is not None
    assert len(cache._buckets) <= 3
