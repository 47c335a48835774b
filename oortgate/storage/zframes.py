"""Compressed blobs that still serve any byte range cheaply.

The raw bytes are cut into 1 MiB frames; each is stored as a zstd frame when that saves
space, else as is. A table of (stored size, raw size) per frame and a footer close the
file, so a range read decompresses only the frames it touches.

    frame_1 ... frame_n | table: n x <u32 stored (high bit: raw), u32 raw> | <u64 n> MAGIC
"""

from __future__ import annotations

import io
import os
import struct
from collections.abc import Callable, Iterator
from typing import Any, Protocol, TypeVar

import zstandard

from oortgate.storage.base import BlobDamaged

FRAME = 1 << 20
MAGIC = b"OGZFRAM1"
RAW_FLAG = 1 << 31
_ENTRY = struct.Struct("<II")
_FOOTER = struct.Struct("<Q8s")
T = TypeVar("T")
LEVEL = 3  # zstd's default: fast enough to keep up with a network upload


class Stored(Protocol):
    """The stored (framed) bytes of one blob, read by position: a file, or RADOS stripes."""

    def pread(self, size: int, offset: int) -> bytes: ...

    def stored_size(self) -> int: ...

    def close(self) -> None: ...


class StoredFile:
    """A local blob file as ``Stored``."""

    def __init__(self, handle: io.FileIO) -> None:
        self._handle = handle

    def pread(self, size: int, offset: int) -> bytes:
        return os.pread(self._handle.fileno(), size, offset)

    def stored_size(self) -> int:
        return os.fstat(self._handle.fileno()).st_size

    def close(self) -> None:
        self._handle.close()


class _Sink(Protocol):
    blob_id: str

    def write(self, data: bytes) -> None: ...

    def commit(self) -> None: ...

    def abort(self) -> None: ...


class CompressingWriter:
    """A BlobWriter that frames and compresses into another writer."""

    def __init__(self, inner: _Sink) -> None:
        self._inner = inner
        self.blob_id = inner.blob_id
        self._buffer = bytearray()
        self._table = bytearray()
        self._frames = 0
        self._compressor = zstandard.ZstdCompressor(level=LEVEL)

    def write(self, data: bytes) -> None:
        self._buffer += data
        while len(self._buffer) >= FRAME:
            self._emit(bytes(self._buffer[:FRAME]))
            del self._buffer[:FRAME]

    def _emit(self, raw: bytes) -> None:
        packed = self._compressor.compress(raw)
        if len(packed) < len(raw):
            self._inner.write(packed)
            self._table += _ENTRY.pack(len(packed), len(raw))
        else:
            self._inner.write(raw)
            self._table += _ENTRY.pack(len(raw) | RAW_FLAG, len(raw))
        self._frames += 1

    def commit(self) -> None:
        if self._buffer:
            self._emit(bytes(self._buffer))
            self._buffer.clear()
        self._inner.write(bytes(self._table) + _FOOTER.pack(self._frames, MAGIC))
        self._inner.commit()

    def abort(self) -> None:
        self._inner.abort()


def _table(stored: Stored) -> list[tuple[int, int, bool]]:
    """(stored size, raw size, is raw) per frame, from the blob's footer."""
    size = stored.stored_size()
    count, magic = _FOOTER.unpack(stored.pread(_FOOTER.size, size - _FOOTER.size))
    if magic != MAGIC or count * _ENTRY.size > size - _FOOTER.size:
        raise ValueError("not a framed blob")
    raw_table = stored.pread(count * _ENTRY.size, size - _FOOTER.size - count * _ENTRY.size)
    return [
        (stored & ~RAW_FLAG, raw, bool(stored & RAW_FLAG))
        for stored, raw in _ENTRY.iter_unpack(raw_table)
    ]


def logical_size(stored: Stored) -> int:
    return sum(raw for _, raw, _ in _table(stored))


def read_range(stored: Stored, offset: int, length: int, chunk_size: int) -> Iterator[bytes]:
    """The raw bytes [offset, offset+length), decompressing only the frames involved."""
    try:
        decompressor = zstandard.ZstdDecompressor()
        end = offset + length
        stored_at = raw_at = 0
        for size, raw, is_raw in _damage_checked(_table, stored):
            if raw_at >= end:
                break
            if raw_at + raw > offset:
                data = stored.pread(size, stored_at)
                frame = data if is_raw else _damage_checked(_decompress, decompressor, data, raw)
                if len(data) != size or len(frame) != raw:
                    raise BlobDamaged(f"frame at byte {stored_at} is cut short")
                piece = memoryview(frame)[max(0, offset - raw_at) : min(raw, end - raw_at)]
                for start in range(0, len(piece), chunk_size):
                    yield bytes(piece[start : start + chunk_size])
            stored_at += size
            raw_at += raw
        if raw_at < end:
            raise BlobDamaged(f"blob holds {raw_at} bytes, {end} asked for")
    finally:
        stored.close()


def _decompress(decompressor: zstandard.ZstdDecompressor, data: bytes, raw: int) -> bytes:
    return decompressor.decompress(data, max_output_size=raw)


def _damage_checked(fn: Callable[..., T], *args: Any) -> T:
    """A truncated or overwritten file shows up as a bad footer, table or frame."""
    try:
        return fn(*args)
    except (ValueError, struct.error, zstandard.ZstdError, OSError) as exc:
        raise BlobDamaged(f"framed blob cannot be decoded: {exc}") from None
