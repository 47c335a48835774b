"""Races between writers on one metadata database, as deterministic interleavings over two
store connections (and threads racing): a copy against the delete of its source, quotas
at their limit, and sessions (a dead one's leftovers are reaped, a live one's never).

Every store here is opened through the composition root, as a server worker opens its own;
fixtures stay in this file (tests/contract/conftest.py belongs to the contract suite).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import secrets
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from oortgate import sessions, stores
from oortgate.errors import S3Error
from oortgate.meta.base_accounts import MAX_KEYS_PER_USER
from oortgate.meta.models import (
    BlobBody,
    InlineBody,
    ObjectRecord,
    Part,
    PartsBody,
    Segment,
    Session,
    Upload,
)
from oortgate.meta.sqlite_integrity import open_read_only
from oortgate.meta.sqlite_refcounts import reference_drift
from oortgate.storage.local import LocalBlobStore
from tests.sync_stores import open_session, reap_dead_sessions, startup_sweep

ROUNDS = 40


@dataclasses.dataclass
class Pair:
    """Two connections to one database (two writers), and the bucket they share."""

    a: stores.MetaDb
    b: stores.MetaDb
    data_dir: Path
    bucket_id: int
    owner_id: int


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[Pair]:
    a, b = stores.open_meta(tmp_path), stores.open_meta(tmp_path)
    owner = a.create_user("owner")
    bucket = a.create_bucket("races", owner.id, "us-east-1", 100)
    yield Pair(a, b, tmp_path, bucket.id, owner.id)
    a.close()
    b.close()


def _drift(pair: Pair) -> list[Any]:
    conn = open_read_only(stores.db_path(pair.data_dir))
    try:
        return reference_drift(conn)
    finally:
        conn.close()


def _garbage(meta: stores.MetaDb) -> set[str]:
    return set(meta.take_garbage(1_000_000))


def _put_file(meta: stores.MetaDb, bucket_id: int, key: str) -> ObjectRecord:
    record = ObjectRecord(bucket_id, key, BlobBody(secrets.token_hex(16), 3), 3, "0" * 32,
                          time.time())  # fmt: skip
    meta.add_pending_blob(record.blob_ids[0])
    meta.put_object(record)
    return record


def _put_multipart(meta: stores.MetaDb, bucket_id: int, key: str) -> ObjectRecord:
    parts = tuple(Segment(secrets.token_hex(16), 5) for _ in range(3))
    for part in parts:
        meta.add_pending_blob(part.blob_id)
    record = ObjectRecord(bucket_id, key, PartsBody(parts), 15, "0" * 32 + "-3", time.time())
    meta.put_object(record)
    return record


def _put_inline(meta: stores.MetaDb, bucket_id: int, key: str) -> ObjectRecord:
    record = ObjectRecord(bucket_id, key, InlineBody(b"abc"), 3, "0" * 32, time.time())
    meta.put_object(record)
    return record


SOURCES: dict[str, Callable[[stores.MetaDb, int, str], ObjectRecord]] = {
    "file": _put_file,
    "multipart": _put_multipart,
}


def _copy_of(source: ObjectRecord, key: str) -> ObjectRecord:
    """What CopyObject writes: the source's blobs (shared), under a new key."""
    return dataclasses.replace(source, key=key, last_modified=time.time())


# -- copy vs delete of its source -------------------------------------------------------
@pytest.mark.parametrize("kind", SOURCES)
def test_delete_commits_between_the_copys_read_and_its_write(pair: Pair, kind: str) -> None:
    """The copy read its source, the delete took the source's last reference: the copy
    must fail NoSuchKey (its blobs are garbage now), not point at garbage."""
    source = SOURCES[kind](pair.a, pair.bucket_id, "src")
    read = pair.a.get_object(pair.bucket_id, "src")  # the copy's lookup
    assert read is not None
    assert pair.b.delete_object(pair.bucket_id, "src")
    with pytest.raises(S3Error) as err:
        pair.a.put_object(_copy_of(read, "dst"))
    assert err.value.code == "NoSuchKey"
    assert pair.a.get_object(pair.bucket_id, "dst") is None
    assert set(source.blob_ids) <= _garbage(pair.b)
    assert _drift(pair) == []


@pytest.mark.parametrize("kind", SOURCES)
def test_copy_commits_before_the_delete(pair: Pair, kind: str) -> None:
    """The copy committed first: the delete leaves the blobs to the copy, which reads on;
    only deleting the copy too makes them garbage."""
    source = SOURCES[kind](pair.a, pair.bucket_id, "src")
    read = pair.a.get_object(pair.bucket_id, "src")
    assert read is not None
    pair.a.put_object(_copy_of(read, "dst"))
    assert pair.b.delete_object(pair.bucket_id, "src")
    copied = pair.b.get_object(pair.bucket_id, "dst")
    assert copied is not None and copied.blob_ids == source.blob_ids
    assert not set(source.blob_ids) & _garbage(pair.a)
    assert _drift(pair) == []
    assert pair.a.delete_object(pair.bucket_id, "dst")
    assert set(source.blob_ids) <= _garbage(pair.a)
    assert _drift(pair) == []


def test_an_inline_copy_outlives_its_deleted_source(pair: Pair) -> None:
    """An inline copy carries its bytes: the source deleted in between, it is made whole
    again with them, and its count is its own."""
    _put_inline(pair.a, pair.bucket_id, "src")
    read = pair.a.get_object(pair.bucket_id, "src")
    assert read is not None and isinstance(read.body, InlineBody) and read.body.data == b"abc"
    assert pair.b.delete_object(pair.bucket_id, "src")
    pair.a.put_object(_copy_of(read, "dst"))
    copied = pair.b.get_object(pair.bucket_id, "dst")
    assert copied is not None and isinstance(copied.body, InlineBody)
    assert copied.body.data == b"abc"
    assert _drift(pair) == []


def _copy_racing_delete(pair: Pair) -> list[str]:
    """Copy "src" to "dst" on one connection while another deletes "src", released
    together; the copy's error codes (none: it won)."""
    barrier = threading.Barrier(2)
    errors: list[str] = []

    def copy() -> None:
        barrier.wait()
        read = pair.a.get_object(pair.bucket_id, "src")
        if read is None:
            errors.append("NoSuchKey")  # (as the handler answers a vanished source)
            return
        try:
            pair.a.put_object(_copy_of(read, "dst"))
        except S3Error as err:
            errors.append(err.code)

    def delete() -> None:
        barrier.wait()
        pair.b.delete_object(pair.bucket_id, "src")

    _run_together(copy, delete)
    return errors


def test_copy_and_delete_race_on_threads(pair: Pair) -> None:
    """Released together, round after round: whichever wins, a copy that succeeded stays
    readable with blobs that are not garbage, and every count equals its references."""
    outcomes: dict[str, int] = {"copied": 0, "refused": 0}
    for n in range(ROUNDS):
        kind = "multipart" if n % 4 == 3 else "file"
        source = SOURCES[kind](pair.a, pair.bucket_id, "src")
        errors = _copy_racing_delete(pair)
        garbage = _garbage(pair.a)
        copied = pair.a.get_object(pair.bucket_id, "dst")
        if errors:
            assert errors == ["NoSuchKey"]
            assert copied is None and set(source.blob_ids) <= garbage
            outcomes["refused"] += 1
        else:
            assert copied is not None and copied.blob_ids == source.blob_ids
            assert not set(source.blob_ids) & garbage
            outcomes["copied"] += 1
        assert _drift(pair) == [], f"round {n}"
        pair.b.delete_object(pair.bucket_id, "dst")
        _garbage(pair.a)  # claimed: the next round starts with none
    assert sum(outcomes.values()) == ROUNDS, outcomes


def test_overwrites_and_multipart_completion_keep_counts_exact(pair: Pair) -> None:
    """An upload's parts counted once, then moved to the completed object; unused parts
    and overwritten blobs reach 0 and are queued."""
    pair.a.create_upload(Upload("u1", pair.bucket_id, "mp", time.time()))
    parts = []
    for number in (1, 2, 3):
        blob_id = secrets.token_hex(16)
        pair.a.add_pending_blob(blob_id)
        part = Part(number, blob_id, 5, "0" * 32, time.time())
        pair.b.put_part("u1", part)
        parts.append(part)
    assert _drift(pair) == []
    used = parts[:2]
    segments = tuple(Segment(p.blob_id, p.size) for p in used)
    record = ObjectRecord(pair.bucket_id, "mp", PartsBody(segments), 10, "0" * 32 + "-2",
                          time.time())  # fmt: skip
    pair.a.complete_upload("u1", record, used)
    assert _garbage(pair.a) == {parts[2].blob_id}
    assert _drift(pair) == []
    first = _put_file(pair.b, pair.bucket_id, "mp")  # overwrites the multipart object
    assert _garbage(pair.a) == {p.blob_id for p in used}  # parts[2]: claimed above
    assert _drift(pair) == []
    _put_file(pair.a, pair.bucket_id, "mp")
    assert first.blob_ids[0] in _garbage(pair.b)
    assert _drift(pair) == []


def _run_together(*calls: Callable[[], None]) -> None:
    threads = [threading.Thread(target=call) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
        assert not thread.is_alive()


# -- quotas at their limit ---------------------------------------------------------------
def test_buckets_created_at_once_never_pass_the_limit(pair: Pair) -> None:
    limit, racers = 5, 12
    user = pair.a.create_user("quota")
    metas = [stores.open_meta(pair.data_dir) for _ in range(racers)]
    barrier = threading.Barrier(racers)
    results: list[str] = []

    def create(meta: stores.MetaDb, n: int) -> None:
        barrier.wait()
        try:
            meta.create_bucket(f"quota-{n}", user.id, "us-east-1", limit)
            results.append("created")
        except S3Error as err:
            results.append(err.code)

    try:
        _run_together(*(lambda m=m, n=n: create(m, n) for n, m in enumerate(metas)))
    finally:
        for meta in metas:
            meta.close()
    assert sorted(results) == ["TooManyBuckets"] * (racers - limit) + ["created"] * limit
    owned = pair.b.list_buckets(user.id)
    assert len(owned) == limit
    pair.b.delete_bucket(owned[0].id)  # a delete gives the room back
    pair.a.create_bucket("quota-again", user.id, "us-east-1", limit)
    with pytest.raises(S3Error, match="TooManyBuckets"):
        pair.b.create_bucket("quota-over", user.id, "us-east-1", limit)


def test_keys_created_at_once_never_pass_the_limit(pair: Pair) -> None:
    racers = MAX_KEYS_PER_USER + 6
    user = pair.a.create_user("keys")
    metas = [stores.open_meta(pair.data_dir) for _ in range(racers)]
    barrier = threading.Barrier(racers)
    results: list[str] = []

    def create(meta: stores.MetaDb, n: int) -> None:
        barrier.wait()
        try:
            meta.create_key(user.id, f"AKRACE{n:04d}", "s" * 40)
            results.append("created")
        except ValueError:
            results.append("refused")

    try:
        _run_together(*(lambda m=m, n=n: create(m, n) for n, m in enumerate(metas)))
    finally:
        for meta in metas:
            meta.close()
    assert results.count("created") == MAX_KEYS_PER_USER
    assert results.count("refused") == racers - MAX_KEYS_PER_USER
    keys = pair.b.list_keys(user.id)
    assert len(keys) == MAX_KEYS_PER_USER
    assert pair.b.delete_key(keys[0].access_key)
    pair.a.create_key(user.id, "AKRACEAGAIN", "s" * 40)
    with pytest.raises(ValueError, match="access keys"):
        pair.b.create_key(user.id, "AKRACEOVER", "s" * 40)


# -- sessions ------------------------------------------------------------------------------
def _gone_pid() -> int:
    """The pid of a process that has exited (and been waited for)."""
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


@dataclasses.dataclass
class Writer:
    """One session's uploads: a blob committed but not yet named by an object, and one
    still being written (its temp file open)."""

    meta: stores.MetaDb
    blobs: LocalBlobStore
    session_id: str
    committed: str
    in_flight: Any


def _writer(data_dir: Path, pid: int | None = None) -> Writer:
    meta, blobs = stores.open_meta(data_dir), stores.open_blobs(data_dir)
    if pid is None:
        session_id = open_session(meta, blobs)
    else:  # a session registered by a process that is gone now
        session_id = meta.open_session(socket.gethostname(), pid)
        blobs.use_session(session_id)
    committed = blobs.new_blob_id()
    meta.add_pending_blob(committed)
    writer = blobs.open_writer(committed)
    writer.write(b"committed, not yet named")
    writer.commit()
    in_flight = blobs.open_writer(blobs.new_blob_id())
    meta.add_pending_blob(in_flight.blob_id)
    in_flight.write(b"half of a body")
    return Writer(meta, blobs, session_id, committed, in_flight)


def _temp_files(data_dir: Path, session_id: str) -> list[str]:
    with contextlib.suppress(FileNotFoundError):
        return os.listdir(data_dir / "tmp" / session_id)
    return []


def test_the_sweep_reaps_a_dead_sessions_leftovers_and_spares_a_live_ones(
    pair: Pair,
) -> None:
    live = _writer(pair.data_dir)
    dead = _writer(pair.data_dir, pid=_gone_pid())
    try:
        # The next start-up sweep (or `oortgate gc`), from a third connection.
        sweeper = stores.open_meta(pair.data_dir)
        counts = startup_sweep(sweeper, stores.open_blobs(pair.data_dir))
        sweeper.close()
        assert (counts["sessions"], counts["pending"], counts["temp"]) == (1, 2, 1)
        assert [s.session_id for s in pair.a.list_sessions()] == [live.session_id]
        assert not dead.blobs.path(dead.committed).exists()  # collected
        assert not (pair.data_dir / "tmp" / dead.session_id).exists()
        known = pair.a.known_blobs([dead.committed, dead.in_flight.blob_id])
        assert known == set()
        # The live session's upload goes on untouched and commits.
        assert len(_temp_files(pair.data_dir, live.session_id)) == 1
        assert live.blobs.path(live.committed).exists()
        live.in_flight.write(b" and the rest")
        live.in_flight.commit()
        for blob_id in (live.committed, live.in_flight.blob_id):
            record = ObjectRecord(pair.bucket_id, blob_id, BlobBody(blob_id, 1), 1, "0" * 32,
                                  time.time())  # fmt: skip
            live.meta.put_object(record)
        assert _temp_files(pair.data_dir, live.session_id) == []
        assert _drift(pair) == []
        assert live.meta.heartbeat() and not dead.meta.heartbeat()  # dead was ended
    finally:
        for writer in (live, dead):
            writer.in_flight.abort()
            writer.meta.close()


def test_a_live_sessions_marks_survive_any_number_of_sweeps(pair: Pair) -> None:
    live = _writer(pair.data_dir)
    try:
        for _ in range(3):
            counts = reap_dead_sessions(pair.b, stores.open_blobs(pair.data_dir))
            assert counts == {"sessions": 0, "pending": 0, "temp": 0}
        assert pair.b.known_blobs([live.committed, live.in_flight.blob_id]) == {
            live.committed, live.in_flight.blob_id
        }  # fmt: skip
    finally:
        live.in_flight.abort()
        live.meta.close()


def test_an_ended_session_opens_a_new_one(pair: Pair) -> None:
    """A worker declared dead (its heartbeat went stale) finds out at its next
    heartbeat; its later writes belong to a new session."""
    meta, blobs = stores.open_meta(pair.data_dir), stores.open_blobs(pair.data_dir)
    try:
        first = open_session(meta, blobs)
        assert pair.b.end_sessions([first]) == 0
        assert not meta.heartbeat()
        second = open_session(meta, blobs)
        assert second != first and meta.heartbeat()
        writer = blobs.open_writer(blobs.new_blob_id())
        assert _temp_files(pair.data_dir, second) != []
        writer.abort()
    finally:
        meta.close()


def test_who_is_dead() -> None:
    now, host = time.time(), socket.gethostname()
    mine = Session("a" * 16, host, os.getpid(), now, now - 1)  # (registered after it started)
    assert not sessions.is_dead(mine, now, host)
    assert sessions.is_dead(dataclasses.replace(mine, heartbeat=now - 1000), now, host)
    assert sessions.is_dead(dataclasses.replace(mine, pid=_gone_pid()), now, host)
    # This pid, but a process started after the session was: another one reusing it.
    assert sessions.is_dead(dataclasses.replace(mine, started=now - 10**7), now, host)
    zombie = subprocess.Popen(["true"])  # exits, and is not waited for yet
    deadline = time.monotonic() + 10
    while sessions.process_alive(zombie.pid, now) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert sessions.is_dead(dataclasses.replace(mine, pid=zombie.pid), now, host)
    assert zombie.wait() == 0
    # Elsewhere, a pid means nothing here: only the heartbeat tells.
    remote = dataclasses.replace(mine, host="elsewhere", pid=_gone_pid())
    assert not sessions.is_dead(remote, now, host)
    assert sessions.is_dead(dataclasses.replace(remote, heartbeat=now - 1000), now, host)
