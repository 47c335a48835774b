"""LocalBlobStore on a real filesystem: layout, durability steps, ranges, id validation."""

from __future__ import annotations

import os
import random
import stat
from pathlib import Path

import pytest

from oortgate.storage import local, writeback
from oortgate.storage.base import BlobDamaged, BlobNotFound, BlobStore
from oortgate.storage.local import FLUSH_SIZE, LocalBlobStore
from oortgate.storage.local_async import AsyncLocalBlobs


def _store(tmp_path: Path) -> LocalBlobStore:
    return LocalBlobStore(tmp_path / "data")


def _put(store: LocalBlobStore, data: bytes) -> str:
    blob_id = store.new_blob_id()
    writer = store.open_writer(blob_id)
    writer.write(data)
    writer.commit()
    return blob_id


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def test_satisfies_protocol(tmp_path: Path) -> None:
    store: BlobStore = AsyncLocalBlobs(_store(tmp_path))
    assert len(store.new_blob_id()) == 32


def test_write_commit_read(tmp_path: Path) -> None:
    store = _store(tmp_path)
    data = os.urandom(10_000)
    blob_id = _put(store, data)
    path = tmp_path / "data" / "blobs" / blob_id[:2] / blob_id[2:4] / blob_id
    assert path.read_bytes() == data
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert store.size(blob_id) == len(data)
    assert b"".join(store.read(blob_id, 0, len(data), 4096)) == data
    assert list((tmp_path / "data" / "tmp").iterdir()) == []


def test_many_small_writes_and_large_writes(tmp_path: Path) -> None:
    store = _store(tmp_path)
    pieces = [os.urandom(n) for n in (1, 7, 1000, FLUSH_SIZE - 5, 3, FLUSH_SIZE + 11, 0, 42)]
    pieces += [bytes([i % 256]) * 100 for i in range(30_000)]  # ~3 MiB in tiny writes
    blob_id = store.new_blob_id()
    writer = store.open_writer(blob_id)
    for piece in pieces:
        writer.write(piece)
    writer.commit()
    expected = b"".join(pieces)
    assert store.size(blob_id) == len(expected)
    assert b"".join(store.read(blob_id, 0, len(expected), 1 << 16)) == expected


def test_read_ranges_and_chunks(tmp_path: Path) -> None:
    store = _store(tmp_path)
    data = bytes(range(256)) * 40
    blob_id = _put(store, data)
    chunks = list(store.read(blob_id, 100, 1000, 300))
    assert [len(c) for c in chunks] == [300, 300, 300, 100]
    assert b"".join(chunks) == data[100:1100]
    assert list(store.read(blob_id, 5, 0, 10)) == []
    assert b"".join(store.read(blob_id, len(data) - 3, 3, 1)) == data[-3:]
    # Past the end: the blob is shorter than its reader expects (damaged), never short data.
    with pytest.raises(BlobDamaged):
        store.read(blob_id, len(data) - 2, 100, 64)


def test_empty_blob(tmp_path: Path) -> None:
    store = _store(tmp_path)
    blob_id = _put(store, b"")
    assert store.size(blob_id) == 0
    assert list(store.read(blob_id, 0, 0, 10)) == []


def test_read_missing_raises_at_call(tmp_path: Path) -> None:
    store = _store(tmp_path)
    with pytest.raises(BlobNotFound):
        store.read(store.new_blob_id(), 0, 1, 1)
    with pytest.raises(BlobNotFound):
        store.stream(store.new_blob_id(True), 0, 1, 1)
    with pytest.raises(FileNotFoundError):
        store.size(store.new_blob_id())


def test_a_blob_too_short_for_the_range_fails_at_open(tmp_path: Path) -> None:
    store = _store(tmp_path)
    blob_id = _put(store, os.urandom(5000))
    os.truncate(store.path(blob_id), 3000)
    assert len(b"".join(store.read(blob_id, 0, 3000, 1000))) == 3000  # what is there
    for offset, length in ((0, 5000), (2999, 2), (4000, 1)):
        with pytest.raises(BlobDamaged):
            store.read(blob_id, offset, length, 1000)


def test_a_blob_cut_short_while_read_fails_in_the_iterator(tmp_path: Path) -> None:
    store = _store(tmp_path)
    blob_id = _put(store, os.urandom(5000))
    reader = store.read(blob_id, 0, 5000, 1000)
    assert len(next(reader)) == 1000
    os.truncate(store.path(blob_id), 2500)
    with pytest.raises(BlobDamaged):
        list(reader)


def test_open_reader_survives_delete(tmp_path: Path) -> None:
    store = _store(tmp_path)
    data = os.urandom(5000)
    blob_id = _put(store, data)
    reader = store.read(blob_id, 0, len(data), 1000)
    store.delete(blob_id)  # a GET racing the GC still gets its bytes
    assert b"".join(reader) == data


def test_abort_leaves_nothing(tmp_path: Path) -> None:
    store = _store(tmp_path)
    writer = store.open_writer(store.new_blob_id())
    writer.write(b"x" * (FLUSH_SIZE + 1))
    writer.abort()
    writer.abort()  # idempotent
    assert _files(tmp_path) == []
    with pytest.raises(ValueError):
        writer.write(b"more")
    with pytest.raises(ValueError):
        writer.commit()


def test_abort_after_commit_keeps_blob(tmp_path: Path) -> None:
    store = _store(tmp_path)
    blob_id = store.new_blob_id()
    writer = store.open_writer(blob_id)
    writer.write(b"keep")
    writer.commit()
    writer.abort()
    assert b"".join(store.read(blob_id, 0, 4, 4)) == b"keep"


def test_temp_sweep(tmp_path: Path) -> None:
    store = _store(tmp_path)
    done = _put(store, b"done")
    for _ in range(3):
        store.open_writer(store.new_blob_id()).write(b"crashed mid-write")
    assert len(list((tmp_path / "data" / "tmp").iterdir())) == 3
    assert store.remove_temp_files() == 3
    assert store.remove_temp_files() == 0
    assert list(store.iter_blob_ids()) == [done]


def test_temp_files_live_in_their_sessions_directory(tmp_path: Path) -> None:
    """Each session's writers keep temp files apart; a sweep removes only the sessions
    it names (dead ones), and session ids are checked like blob ids (paths are built
    from them)."""
    live, dead = _store(tmp_path), _store(tmp_path)
    live.use_session("a" * 16)
    dead.use_session("b" * 16)
    kept = live.open_writer(live.new_blob_id())
    kept.write(b"a live upload")
    dead.open_writer(dead.new_blob_id()).write(b"crashed mid-write")
    assert sorted(live.temp_sessions()) == ["a" * 16, "b" * 16]
    assert live.remove_temp_files(["b" * 16]) == 1
    assert live.temp_sessions() == ["a" * 16]
    kept.commit()  # untouched: it publishes
    assert len(list(live.iter_blob_ids())) == 1
    for bad in ("../" + "a" * 13, "A" * 16, "a" * 15):
        with pytest.raises(ValueError):
            live.use_session(bad)
        with pytest.raises(ValueError):
            live.remove_temp_files([bad])


@pytest.mark.parametrize(
    "bad",
    ["", "../../etc/passwd", "A" * 32, "0" * 31, "0" * 33, "g" * 32, "0" * 31 + "\n", "ab/cd"],
)
def test_bad_ids_rejected_before_touching_disk(tmp_path: Path, bad: str) -> None:
    store = _store(tmp_path)
    before = sorted(tmp_path.rglob("*"))
    for call in (
        lambda: store.open_writer(bad),
        lambda: store.read(bad, 0, 1, 1),
        lambda: store.size(bad),
        lambda: store.delete(bad),
    ):
        with pytest.raises(ValueError):
            call()
    assert sorted(tmp_path.rglob("*")) == before


def test_delete_and_iter(tmp_path: Path) -> None:
    store = _store(tmp_path)
    ids = {_put(store, str(i).encode()) for i in range(20)}
    # Stray entries a sweep must never mistake for blobs.
    (tmp_path / "data" / "blobs" / "zz").mkdir()
    (tmp_path / "data" / "blobs" / "README").write_text("not a blob")
    some = next(iter(ids))
    (store.path(some).parent / "notablob").write_text("x")
    misplaced = "f" * 32 if not some.startswith("ffff") else "e" * 32
    (store.path(some).parent / misplaced).write_text("wrong shard")
    assert set(store.iter_blob_ids()) == ids
    store.delete(some)
    store.delete(some)  # missing is fine
    assert set(store.iter_blob_ids()) == ids - {some}


def test_iter_on_empty_store(tmp_path: Path) -> None:
    assert list(_store(tmp_path).iter_blob_ids()) == []


def test_pieces_of_every_size_and_short_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Small, odd and large pieces (bytes, bytearray, memoryview) arrive in order, also when
    the kernel writes less than a writev asked for (the rest follows), and a bytearray
    changed after write() does not change what was stored."""
    real_writev = os.writev

    def short_writev(fd: int, buffers: list[bytes]) -> int:
        first = buffers[0]
        return real_writev(fd, [first[: max(1, len(first) // 2)]])

    monkeypatch.setattr(os, "writev", short_writev)
    store = _store(tmp_path)
    rng = random.Random(5)
    pieces = [os.urandom(rng.choice([1, 100, 65_536, FLUSH_SIZE + 3])) for _ in range(40)]
    blob_id = store.new_blob_id()
    writer = store.open_writer(blob_id)
    for i, piece in enumerate(pieces):
        if i % 3 == 1:
            mutable = bytearray(piece)
            writer.write(mutable)  # type: ignore[arg-type]
            mutable[:] = b"\0" * len(mutable)
        else:
            writer.write(memoryview(piece) if i % 3 == 2 else piece)  # type: ignore[arg-type]
    writer.commit()
    expected = b"".join(pieces)
    assert b"".join(store.read(blob_id, 0, len(expected), 1 << 20)) == expected


def test_writeback_is_started_every_few_mib(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A large blob asks the kernel to start writing each WRITEBACK_SIZE bytes as they are
    written, in order and without gaps; the bytes are unchanged."""
    started: list[tuple[int, int]] = []

    def record(fd: int, offset: int, length: int) -> bool:
        started.append((offset, length))
        return writeback.start_writeback(fd, offset, length)

    monkeypatch.setattr(local, "start_writeback", record)
    store = _store(tmp_path)
    data = os.urandom(2 * local.WRITEBACK_SIZE + 12_345)
    blob_id = store.new_blob_id()
    writer = store.open_writer(blob_id)
    for i in range(0, len(data), 65_536):
        writer.write(data[i : i + 65_536])
    writer.commit()
    assert [offset for offset, _ in started] == [0, started[0][1]]
    assert all(length >= local.WRITEBACK_SIZE for _, length in started)
    assert b"".join(store.read(blob_id, 0, len(data), 1 << 20)) == data


def _evict(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def test_stream_reads_cached_bytes_at_once_and_hands_disk_reads_to_a_thread(
    tmp_path: Path,
) -> None:
    """``stream`` yields the page cache's bytes directly; before a read that would wait
    for the disk it yields None (the caller continues on a thread), and a compressed
    blob always goes to the thread. The bytes are those of ``read`` either way."""
    store = _store(tmp_path)
    data = os.urandom(600_000)
    blob_id = _put(store, data)
    _evict(store.path(blob_id))
    cold = list(store.stream(blob_id, 10, len(data) - 20, 256 * 1024))
    assert cold[0] is None
    assert b"".join(c for c in cold if c is not None) == data[10:-10]
    warm = list(store.stream(blob_id, 10, len(data) - 20, 256 * 1024))  # cached by now
    assert None not in warm and b"".join(warm) == data[10:-10]  # type: ignore[arg-type]
    packed = store.new_blob_id(compressed=True)
    writer = store.open_writer(packed)
    writer.write(data)
    writer.commit()
    chunks = list(store.stream(packed, 0, len(data), 256 * 1024))
    assert chunks[0::2] == [None] * (len(chunks[1::2]) + 1)  # the end, too, is found there
    assert b"".join(chunks[1::2]) == data  # type: ignore[arg-type]
