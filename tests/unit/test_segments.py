import asyncio
import random
from pathlib import Path

import pytest

from oortgate.meta.models import Segment
from oortgate.ops.segments import part_range, read_segments
from oortgate.storage.local import LocalBlobStore
from oortgate.storage.local_async import AsyncLocalBlobs


@pytest.fixture
def stored(tmp_path: Path) -> tuple[LocalBlobStore, list[Segment], bytes]:
    blobs = LocalBlobStore(tmp_path)
    rng = random.Random(7)
    pieces = [rng.randbytes(n) for n in (1000, 0, 1, 300_000, 17)]
    segments = []
    for piece in pieces:
        writer = blobs.open_writer(blobs.new_blob_id())
        writer.write(piece)
        writer.commit()
        segments.append(Segment(writer.blob_id, len(piece)))
    return blobs, segments, b"".join(pieces)


def test_every_span_reads_the_right_bytes(
    stored: tuple[LocalBlobStore, list[Segment], bytes],
) -> None:
    blobs, segments, data = stored
    rng = random.Random(1)
    spans = [(0, len(data)), (999, 3), (1000, 1), (1001, 300_000), (len(data) - 1, 1)]
    spans += [(a, rng.randrange(0, len(data) - a + 1)) for a in rng.sample(range(len(data)), 40)]
    reader = AsyncLocalBlobs(blobs)

    async def read(first: int, length: int) -> bytes:
        return b"".join([chunk async for chunk in read_segments(reader, segments, first, length)])

    for first, length in spans:
        assert asyncio.run(read(first, length)) == data[first : first + length]


def test_part_range(stored: tuple[LocalBlobStore, list[Segment], bytes]) -> None:
    _, segments, _ = stored
    assert part_range(segments, 1) == (0, 999)
    assert part_range(segments, 3) == (1000, 1000)
    assert part_range(segments, 4) == (1001, 301_000)
