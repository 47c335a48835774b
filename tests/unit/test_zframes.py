import os
import random
from collections.abc import Callable
from pathlib import Path

import pytest

from oortgate.storage.base import BlobDamaged
from oortgate.storage.local import LocalBlobStore
from oortgate.storage.zframes import FRAME


def store(blobs: LocalBlobStore, data: bytes, compressed: bool = True, step: int = 70_000) -> str:
    writer = blobs.open_writer(blobs.new_blob_id(compressed))
    for start in range(0, len(data), step):
        writer.write(data[start : start + step])
    writer.commit()
    return writer.blob_id


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"x",
        b"compressible text " * 200_000,  # ~3.4 MiB: several frames
        os.urandom(FRAME * 2 + 123),  # incompressible: frames stored raw
        os.urandom(FRAME) + b"\0" * FRAME + os.urandom(17),  # mixed
    ],
)
def test_any_range_reads_back(tmp_path: Path, data: bytes) -> None:
    blobs = LocalBlobStore(tmp_path)
    blob_id = store(blobs, data)
    assert blob_id.endswith("z")
    assert blobs.size(blob_id) == len(data)
    assert b"".join(blobs.read(blob_id, 0, len(data), 65536)) == data
    rng = random.Random(len(data))
    for _ in range(25):
        if not data:
            break
        first = rng.randrange(len(data))
        length = rng.randrange(len(data) - first + 1)
        assert b"".join(blobs.read(blob_id, first, length, 4096)) == data[first : first + length]


def test_compression_saves_space_and_never_costs_much(tmp_path: Path) -> None:
    blobs = LocalBlobStore(tmp_path)
    text = b"archive me, please " * 100_000
    assert blobs.path(store(blobs, text)).stat().st_size < len(text) / 10
    noise = os.urandom(3 * FRAME)
    assert blobs.path(store(blobs, noise)).stat().st_size <= len(noise) + 64


def test_plain_and_compressed_ids_coexist(tmp_path: Path) -> None:
    blobs = LocalBlobStore(tmp_path)
    plain, packed = store(blobs, b"p" * 10, compressed=False), store(blobs, b"z" * 10)
    assert sorted(blobs.iter_blob_ids()) == sorted([plain, packed])
    assert blobs.path(plain).stat().st_size == 10
    assert b"".join(blobs.read(packed, 0, 10, 3)) == b"z" * 10


@pytest.mark.parametrize(
    "damage",
    [
        lambda path: os.truncate(path, 0),
        lambda path: os.truncate(path, path.stat().st_size // 2),
        lambda path: os.truncate(path, path.stat().st_size - 3),  # the footer cut
        lambda path: _overwrite(path, 100, b"\xff" * 64),  # a compressed frame garbled
    ],
)
def test_a_damaged_framed_blob_is_an_error_never_short_data(
    tmp_path: Path, damage: Callable[[Path], object]
) -> None:
    blobs = LocalBlobStore(tmp_path)
    data = b"compressible text " * 200_000
    blob_id = store(blobs, data)
    damage(blobs.path(blob_id))
    with pytest.raises(BlobDamaged):
        b"".join(blobs.read(blob_id, 0, len(data), 65536))


def _overwrite(path: Path, offset: int, data: bytes) -> None:
    with open(path, "r+b") as handle:
        handle.seek(offset)
        handle.write(data)
