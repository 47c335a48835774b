"""oortgate.storage.space: sizes and minimums, the no-space error mapping (files and
SQLite), the free-space guard and its reserve file."""

from __future__ import annotations

import errno
import os
import secrets
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from oortgate.config import ConfigError, load
from oortgate.meta.sqlite import SqliteMetaStore
from oortgate.storage import space
from oortgate.storage.space import (
    FreeSpaceMinimum,
    SpaceGuard,
    StorageFull,
    WritesRefused,
    is_no_space,
    no_space_as_full,
    parse_min_free_space,
    parse_size,
)

MIB = 1 << 20


@pytest.mark.parametrize(
    ("text", "size"),
    [("0", 0), ("1048576", MIB), ("512MiB", 512 * MIB), ("1GiB", 1 << 30), ("1gib", 1 << 30),
     ("2GB", 2 * 10**9), ("1.5 MiB", 3 * MIB // 2), ("10k", 10_000), ("64MiB", 64 * MIB)],
)  # fmt: skip
def test_parse_size(text: str, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "-1", "1XB", "MiB", "1 GiB extra", "5%"])
def test_parse_size_refuses(text: str) -> None:
    with pytest.raises(ValueError):
        parse_size(text)


def test_min_free_space_bytes_or_percent() -> None:
    assert parse_min_free_space("5%") == FreeSpaceMinimum(percent=5.0)
    assert parse_min_free_space("0.5%").bytes_of(1000) == 5
    assert parse_min_free_space("1GiB") == FreeSpaceMinimum(size=1 << 30)
    assert parse_min_free_space("0").bytes_of(10**12) == 0
    for bad in ("100%", "-1%", "x%", "lots"):
        with pytest.raises(ValueError):
            parse_min_free_space(bad)


def test_settings_validate_the_space_settings() -> None:
    settings = load({"min_free_space": "2%", "space_reserve": "8MiB"}, None, {})
    assert settings.free_space_minimum == FreeSpaceMinimum(percent=2.0)
    assert settings.space_reserve_bytes == 8 * MIB
    with pytest.raises(ConfigError, match="min_free_space"):
        load({"min_free_space": "lots"}, None, {})
    with pytest.raises(ConfigError, match="space_reserve"):
        load({"space_reserve": "10%"}, None, {})


@pytest.mark.parametrize(
    ("exc", "full"),
    [(OSError(errno.ENOSPC, "No space left on device"), True),
     (OSError(errno.EDQUOT, "Disk quota exceeded"), True),
     (OSError(errno.EACCES, "Permission denied"), False),
     (sqlite3.OperationalError("database or disk is full"), True),
     (sqlite3.OperationalError("database is locked"), False),
     (StorageFull("full"), True),
     (ValueError("no space"), False)],
)  # fmt: skip
def test_is_no_space(exc: BaseException, full: bool) -> None:
    assert is_no_space(exc) is full


def test_no_space_as_full_maps_only_no_space() -> None:
    with pytest.raises(StorageFull), no_space_as_full():
        raise OSError(errno.ENOSPC, "No space left on device")
    with pytest.raises(PermissionError), no_space_as_full():
        raise PermissionError(errno.EACCES, "Permission denied")


def test_sqlite_full_leaves_the_meta_store_as_storage_full(tmp_path: Path) -> None:
    meta = SqliteMetaStore(tmp_path / "meta.sqlite3")
    try:
        pages = meta._conn.execute("PRAGMA page_count").fetchall()[0][0]
        meta._conn.execute(f"PRAGMA max_page_count = {pages}").fetchall()  # SQLITE_FULL next
        with pytest.raises(StorageFull):
            for _ in range(1000):
                meta.add_pending_blob(secrets.token_hex(16) + "0" * 200)
        with pytest.raises(StorageFull), meta.group():  # a grouped commit alike
            for _ in range(1000):
                meta.add_pending_blob(secrets.token_hex(16) + "0" * 200)
    finally:
        meta.close()


def test_a_group_rolled_back_by_sqlite_full_commits_nothing(tmp_path: Path) -> None:
    """SQLITE_FULL undoes the whole transaction: the group's later operations must not
    run in transactions of their own (committed, yet reported as failed)."""
    meta = SqliteMetaStore(tmp_path / "meta.sqlite3")
    try:
        kept = secrets.token_hex(16)
        meta.add_pending_blob(kept)
        pages = meta._conn.execute("PRAGMA page_count").fetchall()[0][0]
        meta._conn.execute(f"PRAGMA max_page_count = {pages}").fetchall()
        with pytest.raises(StorageFull), meta.group():
            with pytest.raises(StorageFull):
                for _ in range(1000):
                    meta.add_pending_blob(secrets.token_hex(16) + "0" * 200)
            with pytest.raises(StorageFull):
                meta.drop_pending_blob(kept)  # needs no new page, yet must not commit
        rows = meta._conn.execute("SELECT blob_id FROM pending_blobs").fetchall()
        assert rows == [(kept,)]
    finally:
        meta.close()


def test_an_up_to_date_database_opens_without_writing(tmp_path: Path) -> None:
    """(On a full disk, a write at start-up would fail.)"""
    SqliteMetaStore(tmp_path / "meta.sqlite3").close()  # the WAL is removed at close
    meta = SqliteMetaStore(tmp_path / "meta.sqlite3")
    try:
        wal = tmp_path / "meta.sqlite3-wal"
        assert not wal.exists() or wal.stat().st_size == 0  # not one frame written
    finally:
        meta.close()


class _Disk:
    """statvfs of a pretend filesystem of 100 MiB."""

    def __init__(self, monkeypatch: Any, free: int) -> None:
        self.free = free
        self.reads = 0
        monkeypatch.setattr("oortgate.storage.space.os.statvfs", self._statvfs)

    def _statvfs(self, path: object) -> os.statvfs_result:
        self.reads += 1
        blocks = 100 * MIB // 4096
        return os.statvfs_result((4096, 4096, blocks, self.free // 4096, self.free // 4096,
                                  0, 0, 0, 0, 255))  # fmt: skip


def _guard(tmp_path: Path, minimum: str = "0", reserve: int = 0) -> SpaceGuard:
    return SpaceGuard(tmp_path, parse_min_free_space(minimum), reserve)


def test_guard_refuses_below_the_minimum(tmp_path: Path, monkeypatch: Any) -> None:
    disk = _Disk(monkeypatch, 20 * MIB)
    guard = _guard(tmp_path, "10%")
    assert guard.low() is None
    guard.check_write(5 * MIB)
    guard.check_write(5 * MIB)  # 10 MiB admitted since the last reading: 10 MiB left
    with pytest.raises(WritesRefused):  # the reading is cached, the admitted bytes count
        guard.check_write(1)
    assert disk.reads == 1
    disk.free = 9 * MIB
    guard._read_at -= space.CHECK_SECONDS
    assert guard.low() == "no space (below min_free_space)"
    with pytest.raises(WritesRefused):
        guard.check_write()


def test_guard_without_minimum_lets_the_disk_fill(tmp_path: Path, monkeypatch: Any) -> None:
    disk = _Disk(monkeypatch, 2 * MIB)
    guard = _guard(tmp_path)
    guard.check_write(50 * MIB)  # refused by the disk itself, not guessed here
    guard.noticed_full()  # ... which it was
    assert guard.low() == "no space (the disk is full)"
    guard.noticed_full()  # a second failure does not move the mark
    disk.free = 2 * MIB + space.FULL_HEADROOM + 4096  # deletes freed room
    guard.noticed_full()
    guard._read_at -= space.CHECK_SECONDS
    assert guard.low() is None
    guard.check_write()


def test_reserve_made_released_and_made_again(tmp_path: Path, monkeypatch: Any) -> None:
    disk = _Disk(monkeypatch, 50 * MIB)
    guard = _guard(tmp_path, reserve=MIB)
    reserve = tmp_path / space.RESERVE_NAME
    assert guard.low() == "no space (the delete reserve is in use)"  # not made yet
    assert guard.ensure_reserve()
    assert reserve.stat().st_blocks * 512 >= MIB  # allocated, not sparse
    assert guard.low() is None
    assert guard.release_reserve() and not reserve.exists()
    assert not guard.release_reserve()  # already given up
    assert guard.low() == "no space (the delete reserve is in use)"
    disk.free = MIB  # too little to make it again: writes stay refused
    assert not guard.ensure_reserve() and not reserve.exists()
    disk.free = 50 * MIB
    assert guard.ensure_reserve() and reserve.exists()
    assert list(tmp_path.iterdir()) == [reserve]


def test_start_releases_the_reserve_only_when_full(tmp_path: Path, monkeypatch: Any) -> None:
    disk = _Disk(monkeypatch, 50 * MIB)
    guard = _guard(tmp_path, reserve=MIB)
    guard.ensure_reserve()
    (tmp_path / f"{space.RESERVE_NAME}.123").write_bytes(b"half made by a killed worker")
    assert not guard.prepare_for_start()
    assert list(tmp_path.iterdir()) == [tmp_path / space.RESERVE_NAME]
    disk.free = 4096
    guard._read_at -= space.CHECK_SECONDS
    assert guard.prepare_for_start()
    # Half is given up to start; the other half stays for a delete (another program may
    # take the half freed), and writes stay refused meanwhile.
    reserve = tmp_path / space.RESERVE_NAME
    assert reserve.stat().st_size == MIB // 2
    assert guard.low() == "no space (the delete reserve is in use)"
    assert guard.release_reserve() and not reserve.exists()
    disk.free = 50 * MIB
    assert guard.ensure_reserve() and reserve.stat().st_size == MIB  # made whole again


def test_reserve_capped_on_a_small_filesystem(tmp_path: Path) -> None:
    guard = _guard(tmp_path, reserve=64 * MIB)
    assert guard.reserve_size(16 * MIB) == MIB
    assert guard.reserve_size(10 << 30) == 64 * MIB



def test_no_reserve_where_the_filesystem_cannot_hold_one(tmp_path: Path, monkeypatch: Any) -> None:
    def unsupported(fd: int, offset: int, length: int) -> None:
        raise OSError(errno.EOPNOTSUPP, "Operation not supported")

    _Disk(monkeypatch, 50 * MIB)
    monkeypatch.setattr("oortgate.storage.space.os.posix_fallocate", unsupported)
    guard = _guard(tmp_path, reserve=MIB)
    assert guard.ensure_reserve()
    assert guard.low() is None  # writes are not refused for want of a reserve
    assert list(tmp_path.iterdir()) == []


def test_gc_command_on_a_full_disk_is_one_line(
    tmp_path: Path, monkeypatch: Any, capsys: Any
) -> None:
    from oortgate import cli, serve

    def full(data_dir: Path, grace: float, settings: object = None) -> dict[str, int]:
        raise StorageFull("database or disk is full")

    monkeypatch.setattr(serve, "sweep", full)
    assert cli.main(["gc", "--data-dir", str(tmp_path)]) == 2
    assert capsys.readouterr().err.startswith("oortgate: disk full:")


class _Disks:
    """statvfs of two pretend 100 MiB filesystems, told apart by path."""

    def __init__(self, monkeypatch: Any, blob_root: Path, free: int, blob_free: int) -> None:
        self.free, self.blob_free, self._blob_root = free, blob_free, blob_root
        monkeypatch.setattr("oortgate.storage.space.os.statvfs", self._statvfs)

    def _statvfs(self, path: object) -> os.statvfs_result:
        free = self.blob_free if Path(str(path)) == self._blob_root else self.free
        blocks = 100 * MIB // 4096
        return os.statvfs_result((4096, 4096, blocks, free // 4096, free // 4096,
                                  0, 0, 0, 0, 255))  # fmt: skip


def test_a_blob_directory_elsewhere_is_guarded_too(tmp_path: Path, monkeypatch: Any) -> None:
    """blob_url on another file system: its free space counts for writes, and a write
    that filled it marks that one full, not the data directory."""
    data, blob_dir = tmp_path / "data", tmp_path / "blobs"
    disks = _Disks(monkeypatch, blob_dir, free=80 * MIB, blob_free=5 * MIB)
    guards = space.SpaceGuards(_guard(data, "10%"), [_guard(blob_dir, "10%")])
    assert guards.low() == "no space (below min_free_space)"  # the blob fs is low
    with pytest.raises(WritesRefused):
        guards.check_write(1)
    disks.blob_free = 50 * MIB
    guards.noticed_full()  # fresh readings: the blob fs is the fuller one...
    assert guards.low() == "no space (the disk is full)"
    disks.blob_free = 50 * MIB + space.FULL_HEADROOM + 4096  # ... until it has room again
    for guard in guards._all:
        guard.refresh()
    assert guards.low() is None
    guards.check_write(MIB)
    assert not guards.release_reserve()  # the reserve is the data directory's (none here)
