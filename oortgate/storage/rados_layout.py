"""How a blob lies in a RADOS pool: three namespaces under the store's own.

- ``NS`` holds one head object per committed blob, named by its id: a 24-byte header
  (size, stripe count, stripe size) and, for a blob of at most one stripe, the bytes
  themselves. Only heads live here, so listing the blobs lists heads alone.
- ``NS.stripes`` holds a larger blob's bytes as ``<id>.<n>``, 4 MiB each (the last one
  shorter), each written once with ``write_full`` under its final name.
- ``NS.tmp`` holds one empty marker ``<session>.<id>`` per upload that has begun writing
  stripes and not yet committed: what a dead session left is found from it.

Commit writes the head last: before it the blob is invisible (no head), after it the
marker is only garbage. RADOS has no rename, and none is needed: the stripes are never
copied, the head's appearance is the commit (one object written whole is atomic), and
the marker ties the stripes to their writer's session until then.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass

import rados

from oortgate.storage.base import BlobDamaged

STRIPE = 4 << 20
MAX_IN_FLIGHT = 4  # stripe writes per upload: also bounds the gaps a crash can leave
READ_AHEAD = 2  # stripes read ahead of the one being sent
MAGIC = b"OGRADOS1"
_HEADER = struct.Struct("<8sQII")
HEADER_SIZE = _HEADER.size
NO_SESSION = "none"  # the marker prefix of a session-less writer (a tool)
SESSION_PATTERN = re.compile(r"[0-9a-f]{16}")  # see MetaStore.open_session
_MARKER = re.compile(r"([0-9a-f]{16}|none)\.([0-9a-f]{32}z?)")


@dataclass(slots=True)
class Space:
    """One store's I/O contexts (one per namespace) and the session its writers mark."""

    heads: rados.Ioctx
    stripes: rados.Ioctx
    markers: rados.Ioctx
    session: str = NO_SESSION


@dataclass(frozen=True, slots=True)
class Head:
    size: int  # stored bytes (framed, for a compressed blob)
    stripes: int  # 0: the bytes follow the header in the head object
    stripe_size: int

    def pack(self) -> bytes:
        return _HEADER.pack(MAGIC, self.size, self.stripes, self.stripe_size)

    @classmethod
    def unpack(cls, data: bytes, blob_id: str) -> Head:
        if len(data) < HEADER_SIZE:
            raise BlobDamaged(f"blob {blob_id}: head object cut short")
        magic, size, stripes, stripe_size = _HEADER.unpack_from(data)
        expected = -(-size // stripe_size) if stripe_size and stripes else 0
        if magic != MAGIC or stripes != expected:
            raise BlobDamaged(f"blob {blob_id}: head object is not a blob header")
        return cls(size, stripes, stripe_size)

    def stripe_length(self, index: int) -> int:
        return min(self.stripe_size, self.size - index * self.stripe_size)


def namespaces(namespace: str) -> tuple[str, str, str]:
    """(heads, stripes, markers) under the store's namespace (which must not look like
    another store's stripes or markers)."""
    if namespace.endswith((".stripes", ".tmp")):
        raise ValueError(f"namespace {namespace!r} ends like the store's own sub-namespaces")
    return namespace, f"{namespace}.stripes", f"{namespace}.tmp"


def stripe_name(blob_id: str, index: int) -> str:
    return f"{blob_id}.{index}"


def marker_name(session: str, blob_id: str) -> str:
    return f"{session}.{blob_id}"


def parse_marker(name: str) -> tuple[str, str] | None:
    """(session, blob id) of a marker name; None for anything else."""
    match = _MARKER.fullmatch(name)
    return (match.group(1), match.group(2)) if match else None
