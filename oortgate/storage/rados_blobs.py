"""The async ``BlobStore`` on a Ceph RADOS pool (``rados://POOL?conf=PATH&id=CLIENT``),
through Debian's python3-rados. Layout and commit: rados_layout; writes: rados_write;
reads: rados_read; the cluster handle and aio bridge: rados_cluster.

Blob ids are those of the local store (32 hex digits, "z" for a compressed blob, framed
by zframes exactly as on disk). The sweep of a dead session's uploads starts from its
markers: a marker whose blob has a head was committed (only the marker goes); one
without lost its writer before the commit, and its stripes go, found by name from 0 up
to ``MAX_IN_FLIGHT`` missing ones in a row (writes start and finish in order).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import secrets
import time
from collections.abc import AsyncGenerator, AsyncIterator, Collection
from pathlib import Path

import rados

from oortgate.endpoints import STANDARD
from oortgate.storage import rados_cluster as io
from oortgate.storage.base import BlobNotFound, BlobWriter
from oortgate.storage.local import check_blob_id
from oortgate.storage.rados_cluster import RadosUnavailable, rados_url
from oortgate.storage.rados_layout import (
    MAX_IN_FLIGHT,
    NO_SESSION,
    SESSION_PATTERN,
    Space,
    namespaces,
    parse_marker,
    stripe_name,
)
from oortgate.storage.rados_read import logical_size, open_compressed, open_head, open_range
from oortgate.storage.rados_write import RadosBlobWriter, remove_all
from oortgate.storage.shared_root import ORPHAN_MIN_AGE
from oortgate.storage.zframes_async import AsyncCompressingWriter

__all__ = ["RadosBlobStore", "RadosUnavailable", "open_rados_blobs"]
_LIST_BATCH = 1000
_STAT_BATCH = 64  # heads whose age is asked at once by the orphan sweep
PROBE_OBJECT = "oortgate-probe"  # never written: reading it costs one OSD round trip


async def open_rados_blobs(
    pool: str, conf: Path, client: str, namespace: str = "",
    connect_timeout: int = io.CONNECT_TIMEOUT, orphan_min_age: float = ORPHAN_MIN_AGE,
) -> RadosBlobStore:  # fmt: skip
    """The store on ``pool`` (in ``namespace``), connected from this process (call it
    in the worker, after the fork); ``RadosUnavailable`` naming the URL if the cluster
    or the pool cannot be reached within ``connect_timeout`` seconds. The orphan sweep
    spares blobs younger than ``orphan_min_age`` seconds (other gateways' records of
    blobs they have just committed may not be visible yet)."""
    names = namespaces(namespace)
    cluster = await io.acquire(conf, client, pool, connect_timeout)
    ioctxs: list[rados.Ioctx] = []
    try:
        for name in names:
            ioctxs.append(await asyncio.to_thread(cluster.open_ioctx, pool))
            ioctxs[-1].set_namespace(name)
        # One cheap read: a client without the pool's caps fails here, not on a PUT.
        await asyncio.to_thread(_probe, ioctxs[0])
    except BaseException as exc:
        for ioctx in ioctxs:
            ioctx.close()
        await io.release(conf, client)
        if isinstance(exc, rados.Error | OSError):
            raise RadosUnavailable(f"{rados_url(pool, conf, client)}: {exc}") from None
        raise
    heads, stripes, markers = ioctxs
    return RadosBlobStore(Space(heads, stripes, markers), conf, client, orphan_min_age)


def _probe(ioctx: rados.Ioctx) -> None:
    with contextlib.suppress(rados.ObjectNotFound):
        ioctx.stat(PROBE_OBJECT)


class RadosBlobStore:
    def __init__(
        self, space: Space, conf: Path, client: str, orphan_min_age: float = ORPHAN_MIN_AGE
    ) -> None:
        self._space = space
        self._handle = (conf, client)
        self._orphan_min_age = orphan_min_age

    def new_blob_id(self, compressed: bool = False, tier: str = STANDARD) -> str:
        """(One store serves every tier: ``tier`` changes nothing here.)"""
        return self.fresh_id(compressed)

    @staticmethod
    def fresh_id(compressed: bool = False) -> str:
        return secrets.token_hex(16) + ("z" if compressed else "")

    def serves_tier(self, blob_id: str, tier: str) -> bool:
        return True

    async def open_writer(self, blob_id: str) -> BlobWriter:
        writer = RadosBlobWriter(self._space, check_blob_id(blob_id))
        return AsyncCompressingWriter(writer) if blob_id.endswith("z") else writer

    async def read(
        self, blob_id: str, offset: int, length: int, chunk_size: int
    ) -> AsyncGenerator[bytes, None]:
        if offset < 0 or length < 0 or chunk_size <= 0:
            raise ValueError("offset and length must be >= 0 and chunk_size > 0")
        opener = open_compressed if check_blob_id(blob_id).endswith("z") else open_range
        return await opener(self._space, blob_id, offset, length, chunk_size)

    async def size(self, blob_id: str) -> int:
        if check_blob_id(blob_id).endswith("z"):
            return await logical_size(self._space, blob_id)
        head, _ = await open_head(self._space, blob_id)
        return head.size

    async def delete(self, blob_id: str) -> None:
        """The stripes first, the head last: a crash between leaves a visible (damaged)
        blob that the GC deletes again, never stripes that nothing lists."""
        try:
            head, _ = await open_head(self._space, check_blob_id(blob_id))
        except BlobNotFound:
            return
        names = [stripe_name(blob_id, n) for n in range(head.stripes)]
        await remove_all(self._space.stripes, names)
        await io.checked(io.remove(self._space.heads, blob_id), blob_id, missing_ok=True)

    async def iter_blob_ids(self) -> AsyncIterator[str]:
        async for name in _names(self._space.heads):
            if _is_blob_id(name):
                yield name

    def sweeps_orphans(self) -> bool:
        """The pool's namespace belongs to one metadata store (as the markers' sweep
        assumes too): every blob in it is that store's to name or not."""
        return True

    async def orphan_candidates(self, min_age: float = 0.0) -> AsyncIterator[str]:
        """The heads last written at least ``min_age`` and the store's own minimum ago
        (by the OSDs' clock: a skew of this host's shortens the spared hour by as much),
        their ages asked ``_STAT_BATCH`` at a time as the listing goes."""
        oldest = time.time() - max(self._orphan_min_age, min_age)
        batch: list[str] = []
        async for blob_id in self.iter_blob_ids():
            batch.append(blob_id)
            if len(batch) >= _STAT_BATCH:
                for old in await self._written_before(batch, oldest):
                    yield old
                batch = []
        for old in await self._written_before(batch, oldest):
            yield old

    async def _written_before(self, blob_ids: list[str], moment: float) -> list[str]:
        times = await asyncio.gather(*(io.modified(self._space.heads, b) for b in blob_ids))
        return [b for b, at in zip(blob_ids, times, strict=True) if at is not None and at <= moment]

    async def count_temp_files(self) -> int:
        """The markers of uploads under way or left behind."""
        return sum([1 async for _ in _names(self._space.markers)])

    async def use_session(self, session_id: str) -> None:
        if SESSION_PATTERN.fullmatch(session_id) is None:
            raise ValueError(f"invalid session id: {session_id!r}")
        self._space.session = session_id  # nothing to create: markers carry the session

    async def temp_sessions(self) -> list[str]:
        found = set()
        async for name in _names(self._space.markers):
            parsed = parse_marker(name)
            if parsed is not None and parsed[0] != NO_SESSION:
                found.add(parsed[0])
        return sorted(found)

    async def remove_temp_files(self, sessions: Collection[str] = ()) -> int:
        for session_id in sessions:
            if SESSION_PATTERN.fullmatch(session_id) is None:
                raise ValueError(f"invalid session id: {session_id!r}")
        doomed = {*sessions, NO_SESSION}
        markers = [name async for name in _names(self._space.markers)]  # listed in full first
        removed = 0
        for name in markers:
            parsed = parse_marker(name)
            if parsed is None or parsed[0] not in doomed:
                continue
            await self._sweep_upload(parsed[1])
            await io.checked(io.remove(self._space.markers, name), name, missing_ok=True)
            removed += 1
        return removed

    async def _sweep_upload(self, blob_id: str) -> None:
        """Remove the stripes of an upload that never committed (if it did, none)."""
        try:
            await open_head(self._space, blob_id)
            return  # committed: its stripes are the blob's
        except BlobNotFound:
            pass
        index = missing = 0
        while missing < MAX_IN_FLIGHT:
            name = stripe_name(blob_id, index)
            ret = await io.remove(self._space.stripes, name)
            io.raise_for(ret, name, missing_ok=True)
            missing = missing + 1 if ret == -errno.ENOENT else 0
            index += 1

    async def ping(self) -> None:
        """One read of the pool: raises OSError (ETIMEDOUT: the cluster does not answer)."""
        with contextlib.suppress(FileNotFoundError):
            await io.read(self._space.heads, PROBE_OBJECT, 1, 0)

    async def close(self) -> None:
        for ioctx in (self._space.heads, self._space.stripes, self._space.markers):
            ioctx.close()
        await io.release(*self._handle)


def _is_blob_id(name: str) -> bool:
    try:
        check_blob_id(name)
    except ValueError:
        return False
    return True


async def _names(ioctx: rados.Ioctx) -> AsyncIterator[str]:
    """The object names in the ioctx's namespace, listed a batch per hop to a thread."""
    objects = ioctx.list_objects()
    while batch := await asyncio.to_thread(_take_names, objects):
        for name in batch:
            yield name


def _take_names(objects: rados.ObjectIterator) -> list[str]:
    return [obj.key for _, obj in zip(range(_LIST_BATCH), objects, strict=False)]
