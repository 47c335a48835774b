"""A blob directory of its own (blob_url = file://): who owns it (storage.shared_root),
the age-aware orphan listing, and the router over one store per tier."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from oortgate import stores
from oortgate.config import ConfigError, Settings, load
from oortgate.endpoints import ARCHIVE, STANDARD
from oortgate.storage import shared_root
from oortgate.storage.local import LocalBlobStore
from tests.sync_stores import startup_sweep


def _settings(data_dir: Path, **urls: Path) -> Settings:
    return load({"data_dir": str(data_dir), **{k: v.as_uri() for k, v in urls.items()}},
                None, {})  # fmt: skip


def _blob(blobs: LocalBlobStore, tier: str = STANDARD, age: float = 0) -> str:
    writer = blobs.open_writer(blobs.new_blob_id(tier=tier))
    writer.write(b"bytes")
    writer.commit()
    then = time.time() - age
    os.utime(blobs.path(writer.blob_id), (then, then))
    return writer.blob_id


def test_identity_is_made_once_and_kept(tmp_path: Path) -> None:
    first = shared_root.embedded_identity(tmp_path)
    assert first.startswith("sqlite-") and shared_root.embedded_identity(tmp_path) == first
    assert [p.name for p in tmp_path.iterdir()] == [shared_root.IDENTITY_FILE]  # no temp left


def test_the_orphan_sweep_runs_only_for_the_one_owner(tmp_path: Path) -> None:
    root = tmp_path / "shared"
    shared_root.register(root, "sqlite-a")
    shared_root.register(root, "sqlite-a")
    assert shared_root.orphan_min_age(root, "sqlite-a") == shared_root.ORPHAN_MIN_AGE
    shared_root.register(root, "sqlite-b")
    assert shared_root.owners(root) == ["sqlite-a", "sqlite-b"]
    assert shared_root.orphan_min_age(root, "sqlite-a") is None
    assert shared_root.orphan_min_age(root, "sqlite-b") is None
    with pytest.raises(ValueError):
        shared_root.register(root, "../escape")


def test_a_shared_root_keeps_each_metadata_stores_temp_files_apart(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    a = stores.open_blobs(tmp_path / "a", _settings(_mk(tmp_path / "a"), blob_url=shared))
    b = stores.open_blobs(tmp_path / "b", _settings(_mk(tmp_path / "b"), blob_url=shared))
    assert isinstance(a, LocalBlobStore) and isinstance(b, LocalBlobStore)
    a.use_session("a" * 16)
    b.use_session("b" * 16)
    writer = b.open_writer(b.new_blob_id())
    writer.write(b"under way")
    assert a.temp_sessions() == ["a" * 16] and b.temp_sessions() == ["b" * 16]
    assert a.remove_temp_files(["a" * 16, "b" * 16]) == 0  # none of b's is in reach
    assert b.remove_temp_files(["b" * 16]) == 1
    assert not a.sweeps_orphans and not b.sweeps_orphans


def _mk(path: Path) -> Path:
    path.mkdir()
    return path


def test_alone_the_sweep_spares_young_orphans_and_takes_old_ones(tmp_path: Path) -> None:
    shared, data = _mk(tmp_path / "shared"), _mk(tmp_path / "data")
    blobs = stores.open_blobs(data, _settings(data, blob_url=shared))
    assert isinstance(blobs, LocalBlobStore) and blobs.sweeps_orphans
    young, old = _blob(blobs, age=600), _blob(blobs, age=2 * 3600)
    assert list(blobs.orphan_candidates()) == [old]
    meta = stores.open_meta(data)
    try:
        assert startup_sweep(meta, blobs)["orphans"] == 1
    finally:
        meta.close()
    assert set(blobs.iter_blob_ids()) == {young}


def test_the_data_dir_store_sweeps_at_any_age(tmp_path: Path) -> None:
    """Its one server holds the directory's lock: no other writer can be under way."""
    blobs = stores.open_blobs(tmp_path)
    fresh = _blob(blobs)
    assert list(blobs.orphan_candidates()) == [fresh]


def test_a_blob_dir_that_is_not_there_is_a_configuration_error(tmp_path: Path) -> None:
    settings = _settings(tmp_path, blob_url=tmp_path / "unmounted")
    with pytest.raises(ConfigError, match=r"^blob_url: directory .* does not exist"):
        stores.open_blobs(tmp_path, settings)
    assert not (tmp_path / "unmounted").exists()
    rados = load({"data_dir": str(tmp_path), "archive_blob_url": "rados://cold"}, None, {})
    with pytest.raises(ConfigError, match="archive_blob_url is a rados:// store: this command"):
        stores.open_blobs(tmp_path, rados)


def test_the_servers_router_lists_and_deletes_through_the_right_store(tmp_path: Path) -> None:
    import asyncio

    data, archive = _mk(tmp_path / "data"), _mk(tmp_path / "archive")
    opened = stores.open_blobs(data, _settings(data, archive_blob_url=archive))
    assert isinstance(opened, stores.LocalTiers)
    blobs = stores.async_blobs(opened)

    async def scenario() -> None:
        written = []
        for tier in (STANDARD, ARCHIVE):
            writer = await blobs.open_writer(blobs.new_blob_id(tier == ARCHIVE, tier))
            await writer.write(b"x" * 1000)
            await writer.commit()
            written.append(writer.blob_id)
        std, arc = written
        assert arc.startswith("a-") and arc.endswith("z") and not std.startswith("a-")
        assert {b async for b in blobs.iter_blob_ids()} == {std, arc}
        assert await blobs.size(arc) == 1000
        assert opened.archive.path(arc[2:]).exists()  # under the archive root, unprefixed
        await blobs.delete(arc)
        assert not opened.archive.path(arc[2:]).exists()
        assert {b async for b in blobs.iter_blob_ids()} == {std}
        await blobs.close()

    asyncio.run(scenario())
