"""Read leases around a read of an object's blobs (see MetaStore.lease_blobs): a
download, or a copy that writes the bytes again, ends with the bytes it started with
even if the source is overwritten or deleted and the collector runs meanwhile.

Only where it matters: a multipart object's later parts are opened only as the read
reaches them, and on RADOS (or NFS) a large blob's bytes go with its delete even while
it is read. A single blob up to LEASED_SIZE needs none: the stores read it whole at
open (a RADOS head holds up to one 4 MiB stripe), or hold it open (local files).
"""

from __future__ import annotations

from collections.abc import Sequence

from oortgate import logs
from oortgate.meta.base import MetaStore
from oortgate.meta.models import Segment
from oortgate.storage.base import BlobNotFound

LEASED_SIZE = 4 << 20


async def take(meta: MetaStore, segments: Sequence[Segment]) -> str | None:
    """A lease on these blobs if the read needs one (None: it needs none). Taken after
    the record was read: BlobNotFound, as at open, if a collector claimed one of them
    meanwhile (the record read is stale: it was replaced and its bytes may be going)."""
    if not segments or (len(segments) == 1 and segments[0].size <= LEASED_SIZE):
        return None
    try:
        return await meta.lease_blobs([s.blob_id for s in segments])
    except ValueError as exc:
        raise BlobNotFound(str(exc)) from None


async def release(meta: MetaStore, lease: str | None) -> None:
    """Drop it; a failure is only logged (the session's end drops it anyway)."""
    if lease is None:
        return
    try:
        await meta.drop_lease(lease)
    except Exception as exc:
        logs.errors.error("lease:" + logs.kind_of(exc), f"read lease {lease} not dropped", exc)
