"""``oortgate admin stats``: what the stores hold, read without disturbing a running server
(the metadata's counts in one snapshot, blob and temp files by listing), on any backend.

The metadata is read after the files are listed: a blob file is marked pending before it
is written, so a file the listing found is known to the metadata read afterwards unless
it really is an orphan (or the collector removed it in between: a rare overcount)."""

from __future__ import annotations

import socket
import time
from pathlib import Path

from oortgate.datadir_lock import server_pid
from oortgate.meta.base import MetaStore
from oortgate.sessions import is_dead
from oortgate.storage.base import BlobStore

BATCH = 500  # blob ids looked up at once (a store's ids are never all in memory)

# (key in the JSON, label in the table), in display order
_BLOB_LABELS = (
    ("objects", "referenced by objects"),
    ("upload_parts", "referenced by open upload parts"),
    ("counted", "with a reference count"),
    ("pending", "pending (being written)"),
    ("garbage_due", "garbage, due for collection"),
    ("garbage_in_grace", "garbage, within grace"),
    ("files", "files on disk"),
    ("orphans", "orphans (files no row knows)"),
)


async def collect(
    meta: MetaStore, blobs: BlobStore, data_dir: Path, gc_grace: float
) -> dict[str, object]:
    """One JSON-ready object of every count (see README, "oortgate admin stats")."""
    files = 0
    async for _ in blobs.iter_blob_ids():
        files += 1
    temp_files = await blobs.count_temp_files()
    meta_counts = await meta.counts(time.time() - gc_grace)
    orphans = await _unknown(meta, blobs)
    pid = server_pid(data_dir)
    now, host = time.time(), socket.gethostname()
    listed = await meta.list_sessions()
    dead = sum(1 for session in listed if is_dead(session, now, host))
    return {
        "objects": meta_counts.objects,
        "bytes": meta_counts.bytes,
        "inline": {
            "objects": meta_counts.inline_objects,
            "bytes": meta_counts.inline_bytes,
            "blobs": meta_counts.inline_blobs,
        },
        "blobs": {
            "objects": meta_counts.object_blobs,
            "upload_parts": meta_counts.upload_part_blobs,
            "counted": meta_counts.counted_blobs,
            "pending": meta_counts.pending,
            "garbage_due": meta_counts.garbage_due,
            "garbage_in_grace": meta_counts.garbage - meta_counts.garbage_due,
            "files": files,
            "orphans": orphans,
        },
        "temp_files": temp_files,
        "sessions": {"live": len(listed) - dead, "dead": dead},
        "uploads": meta_counts.uploads,
        "buckets": meta_counts.buckets,
        "users": meta_counts.users,
        "keys": meta_counts.keys,
        "server": {"running": pid is not None, "pid": pid or None},
    }


async def _unknown(meta: MetaStore, blobs: BlobStore) -> int:
    """How many blob files no row references, marks pending or queues as garbage."""
    unknown = 0
    chunk: list[str] = []
    async for blob_id in blobs.iter_blob_ids():
        chunk.append(blob_id)
        if len(chunk) >= BATCH:
            unknown += len(chunk) - len(await meta.known_blobs(chunk))
            chunk = []
    if chunk:
        unknown += len(chunk) - len(await meta.known_blobs(chunk))
    return unknown


def render_table(stats: dict[str, object]) -> str:
    """The plain output: one aligned "label  value" line per number."""
    inline = stats["inline"]
    blobs = stats["blobs"]
    server = stats["server"]
    sessions = stats["sessions"]
    assert isinstance(inline, dict) and isinstance(blobs, dict) and isinstance(server, dict)
    assert isinstance(sessions, dict)
    running = f"running (pid {server['pid']})" if server["running"] else "not running"
    rows: list[tuple[str, object]] = [
        ("objects", stats["objects"]),
        ("bytes", stats["bytes"]),
        ("inline objects", inline["objects"]),
        ("inline bytes", inline["bytes"]),
        ("inline blobs", inline["blobs"]),
        *((f"blobs {label}", blobs[key]) for key, label in _BLOB_LABELS),
        ("temp files", stats["temp_files"]),
        ("sessions live", sessions["live"]),
        ("sessions dead (to reap)", sessions["dead"]),
        ("open multipart uploads", stats["uploads"]),
        ("buckets", stats["buckets"]),
        ("users", stats["users"]),
        ("access keys", stats["keys"]),
        ("server", running),
    ]
    width = max(len(label) for label, _ in rows)
    return "\n".join(f"{label:<{width}}  {value}" for label, value in rows)
