"""Round trips to PostgreSQL per request, counted by the store (``PgMetaStore.calls``):
with keys and buckets cached, a GET or HEAD costs one (the object's row); without the
cache (its LISTEN connection gone) the key and the bucket cost one more each."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from oortgate.meta.pg_store import PgMetaStore
from tests import pg_service

from ._client import Client, Harness

REQUESTS = 20


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[Harness]:
    url = pg_service.create_database("trips")
    h = Harness(tmp_path, metadata_url=url)
    try:
        yield h
    finally:
        h.close()
        pg_service.drop_database(url)


def _store(harness: Harness) -> PgMetaStore:
    meta = harness.meta
    assert isinstance(meta, PgMetaStore) and meta.listener is not None
    return meta


def _listening(harness: Harness) -> None:
    meta = _store(harness)
    assert meta.listener is not None
    deadline = time.monotonic() + 10
    while meta.listener.backend_pid is None:
        assert time.monotonic() < deadline, "the listener never connected"
        harness.run(asyncio.sleep(0.01))  # (the listener runs only while the loop does)


def _calls_per_request(harness: Harness, client: Client, method: str) -> float:
    meta = _store(harness)
    before = meta.calls
    for _ in range(REQUESTS):
        assert client.request(method, "/bkt/k").status == 200
    return (meta.calls - before) / REQUESTS


def test_cached_keys_and_buckets_save_two_round_trips_per_get(harness: Harness) -> None:
    owner = harness.user("owner")
    harness.bucket(owner, "bkt")
    assert owner.put("bkt", "k", b"data").status == 200
    _listening(harness)
    owner.get("bkt", "k")  # the key and the bucket are remembered from here on
    cached = {m: _calls_per_request(harness, owner, m) for m in ("GET", "HEAD")}
    meta = _store(harness)
    assert meta.listener is not None
    harness.run(meta.listener.close())  # as if its connection were gone for good
    uncached = {m: _calls_per_request(harness, owner, m) for m in ("GET", "HEAD")}
    print(f"\nround trips per request: cached {cached}, uncached {uncached}")
    assert cached == {"GET": 1.0, "HEAD": 1.0}
    assert uncached == {"GET": 3.0, "HEAD": 3.0}
