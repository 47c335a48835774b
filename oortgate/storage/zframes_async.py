"""zframes' compressing writer in front of an async ``BlobWriter`` (a store whose writes
are not files, e.g. RADOS): the same framing, compressed on a thread a MiB at a time."""

from __future__ import annotations

import asyncio

from oortgate.storage.base import BlobWriter
from oortgate.storage.zframes import FRAME, CompressingWriter


class _Collected:
    """The sync sink CompressingWriter writes into: the framed bytes wait here."""

    def __init__(self, blob_id: str) -> None:
        self.blob_id = blob_id
        self.out: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.out.append(data)

    def commit(self) -> None:
        pass  # the async writer commits the inner one

    def abort(self) -> None:
        pass


class AsyncCompressingWriter:
    def __init__(self, inner: BlobWriter) -> None:
        self.blob_id = inner.blob_id
        self._inner = inner
        self._sink = _Collected(inner.blob_id)
        self._framer = CompressingWriter(self._sink)
        self._pending: list[bytes] = []
        self._size = 0

    async def write(self, data: bytes) -> None:
        self._pending.append(data)
        self._size += len(data)
        if self._size >= FRAME:
            await self._frame(last=False)

    async def commit(self) -> None:
        await self._frame(last=True)
        await self._inner.commit()

    async def abort(self) -> None:
        self._pending.clear()
        self._sink.out.clear()
        await self._inner.abort()

    async def _frame(self, last: bool) -> None:
        batch, self._pending, self._size = self._pending, [], 0
        await asyncio.to_thread(self._compress, batch, last)
        framed, self._sink.out = self._sink.out, []
        for piece in framed:
            await self._inner.write(piece)

    def _compress(self, batch: list[bytes], last: bool) -> None:
        for chunk in batch:
            self._framer.write(chunk)
        if last:
            self._framer.commit()  # the last frame, the table and the footer
