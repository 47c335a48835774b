"""Writing one blob to RADOS (layout: rados_layout): stripes in flight while the body
still arrives, the head last.

Bytes gather by reference until they exceed a stripe; then one stripe is cut and sent
with ``aio_write_full`` while the next one fills. At most ``MAX_IN_FLIGHT`` stripes are in
flight, started and awaited in order, so the upload holds at most that many stripes plus
the one filling (20 MiB), whatever the body's size; and a crash leaves no written stripe
more than ``MAX_IN_FLIGHT - 1`` past the first missing one (what the sweep relies on).

A blob of at most one stripe is buffered whole and committed in one write of its head,
bytes included: a small PUT costs one OSD round trip, and leaves nothing behind if its
writer dies first. Only a larger one writes a session marker, before its first stripe.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Coroutine
from typing import Any

import rados

from oortgate.storage import rados_cluster as io
from oortgate.storage.rados_layout import (
    MAX_IN_FLIGHT,
    STRIPE,
    Head,
    Space,
    marker_name,
    stripe_name,
)
from oortgate.storage.space import no_space_as_full

_REMOVE_BATCH = 16  # removes in flight while cleaning up


class RadosBlobWriter:
    def __init__(self, space: Space, blob_id: str) -> None:
        self.blob_id = blob_id
        self._space = space
        self._marker = marker_name(space.session, blob_id)  # the session at open
        self._pending: deque[bytes | memoryview] = deque()
        self._pending_size = 0
        self._stored = 0  # bytes in launched stripes
        self._stripes = 0  # stripes launched
        self._in_flight: deque[asyncio.Future[int]] = deque()
        self._marked = False
        self._head_sent = False  # a failed commit may still have written it
        self._state = "open"  # then "committed" or "aborted"

    async def write(self, data: bytes) -> None:
        if self._state != "open":
            raise ValueError("write to a finished blob writer")
        self._pending.append(data)
        self._pending_size += len(data)
        while self._pending_size > STRIPE:  # more than a stripe: this one will not be inline
            await self._guarded(self._launch(STRIPE))

    async def commit(self) -> None:
        if self._state != "open":
            raise ValueError("commit of a finished blob writer")
        await self._guarded(self._commit())
        # Committed: a marker left from here on (a crash, or this remove failing) is only
        # garbage, which the sweep of this session removes (see rados_blobs).
        if self._marked:
            with contextlib.suppress(OSError):
                await io.checked(io.remove(self._space.markers, self._marker), self._marker, True)

    async def _commit(self) -> None:
        if self._stripes == 0:  # inline: one write makes the whole blob visible
            header = Head(self._pending_size, 0, STRIPE).pack()
            head = b"".join([header, *self._pending])  # one copy of the bytes
            self._pending.clear()
            self._pending_size = 0
        else:
            if self._pending_size:
                await self._launch(self._pending_size)
            while self._in_flight:
                await self._next_done()
            head = Head(self._stored, self._stripes, STRIPE).pack()
        self._head_sent = True
        await io.checked(io.write_full(self._space.heads, self.blob_id, head), self.blob_id)
        self._state = "committed"

    async def abort(self) -> None:
        if self._state == "committed":
            return  # published: only the GC may remove it now
        self._state = "aborted"
        self._pending.clear()
        self._pending_size = 0
        # Shielded: the stripes go even if the caller is cancelled meanwhile.
        await asyncio.shield(self._clean_up())

    async def _clean_up(self) -> None:
        in_flight, self._in_flight = list(self._in_flight), deque()
        await asyncio.gather(*in_flight, return_exceptions=True)  # removes must come last
        launched, self._stripes = self._stripes, 0
        names = [stripe_name(self.blob_id, n) for n in range(launched)]
        if self._head_sent:  # a commit that failed may have written it all the same
            await io.checked(io.remove(self._space.heads, self.blob_id), self.blob_id, True)
        await remove_all(self._space.stripes, names)
        if self._marked:
            self._marked = False
            await io.checked(io.remove(self._space.markers, self._marker), self._marker, True)

    async def _guarded(self, step: Coroutine[Any, Any, None]) -> None:
        """Run a step; on any failure, leave nothing behind (then re-raise)."""
        try:
            with no_space_as_full():
                await step
        except BaseException:
            await self.abort()
            raise

    async def _launch(self, size: int) -> None:
        """Send the next ``size`` pending bytes as the next stripe."""
        if not self._marked:  # before any stripe exists: a crash leaves a findable marker
            self._marked = True  # set first: an abort meanwhile removes it (ops stay in order)
            await io.checked(io.write_full(self._space.markers, self._marker, b""), self._marker)
        while len(self._in_flight) >= MAX_IN_FLIGHT:  # room first, then cut: memory bound
            await self._next_done()
        stripe = self._cut(size)
        name = stripe_name(self.blob_id, self._stripes)
        self._in_flight.append(io.write_full(self._space.stripes, name, stripe))
        self._stripes += 1
        self._stored += len(stripe)

    async def _next_done(self) -> None:
        """Wait for the oldest stripe in flight (in order: see the module's docstring)."""
        name = stripe_name(self.blob_id, self._stripes - len(self._in_flight))
        await io.checked(self._in_flight[0], name)
        self._in_flight.popleft()

    def _cut(self, size: int) -> bytes:
        """The first ``size`` pending bytes as one buffer (copied once; one whole chunk
        is not copied at all), the rest stay pending."""
        pieces: list[bytes | memoryview] = []
        need = size
        while need:
            chunk = self._pending.popleft()
            if len(chunk) > need:  # the boundary falls inside this chunk
                view = memoryview(chunk)
                self._pending.appendleft(view[need:])
                chunk = view[:need]
            pieces.append(chunk)
            need -= len(chunk)
        self._pending_size -= size
        return pieces[0] if len(pieces) == 1 and isinstance(pieces[0], bytes) else b"".join(pieces)


async def remove_all(ioctx: rados.Ioctx, names: list[str]) -> None:
    """Remove these objects (missing ones too), a batch at a time."""
    for start in range(0, len(names), _REMOVE_BATCH):
        batch = names[start : start + _REMOVE_BATCH]
        futures = [io.remove(ioctx, name) for name in batch]
        for name, future in zip(batch, futures, strict=True):
            await io.checked(future, name, missing_ok=True)
