"""Fixtures for the in-process handler tests (see _client.py).

harness   the gateway over a fresh temporary directory (Harness: .meta, .run, .bucket)
owner     a client signed as the user "owner", who owns the bucket ``bucket``
other     a client signed as another user, "other", who owns nothing
anon      an anonymous client
bucket    "bkt": a private bucket of ``owner``, made through the store
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ._client import Client, Harness


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[Harness]:
    h = Harness(tmp_path)
    yield h
    h.close()


@pytest.fixture
def owner(harness: Harness) -> Client:
    return harness.user("owner")


@pytest.fixture
def other(harness: Harness) -> Client:
    return harness.user("other")


@pytest.fixture
def anon(harness: Harness) -> Client:
    return harness.anonymous()


@pytest.fixture
def bucket(harness: Harness, owner: Client) -> str:
    harness.bucket(owner, "bkt")
    return "bkt"
