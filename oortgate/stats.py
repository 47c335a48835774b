"""``oortgate admin stats``: what a data directory holds, read without disturbing a running
server (metadata through a read-only SQLite connection, blob and temp files by listing).

The metadata is read after the files are listed: a blob file is marked pending before it
is written, so a file the listing found is known to the metadata read afterwards unless
it really is an orphan (or the collector removed it in between: a rare overcount)."""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path

from oortgate import stores
from oortgate.config import Settings
from oortgate.datadir_lock import server_pid
from oortgate.meta.sqlite_stats import metadata_counts, session_rows, unknown_blobs
from oortgate.sessions import is_dead

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


def collect(
    data_dir: Path, gc_grace: float, settings: Settings | None = None
) -> dict[str, object]:
    """One JSON-ready object of every count (see README, "oortgate admin stats")."""
    blobs = stores.open_blobs(data_dir, settings)
    files = sum(1 for _ in blobs.iter_blob_ids())
    temp_files = sum(_count_files(root) for root in blobs.temp_roots)
    meta = metadata_counts(stores.db_path(data_dir), time.time() - gc_grace)
    orphans = unknown_blobs(stores.db_path(data_dir), blobs.iter_blob_ids())
    pid = server_pid(data_dir)
    now, host = time.time(), socket.gethostname()
    listed = session_rows(stores.db_path(data_dir))
    dead = sum(1 for session in listed if is_dead(session, now, host))
    return {
        "objects": meta["objects"],
        "bytes": meta["bytes"],
        "inline": {
            "objects": meta["inline_objects"],
            "bytes": meta["inline_bytes"],
            "blobs": meta["inline_blobs"],
        },
        "blobs": {
            "objects": meta["object_blobs"],
            "upload_parts": meta["upload_part_blobs"],
            "counted": meta["counted_blobs"],
            "pending": meta["pending"],
            "garbage_due": meta["garbage_due"],
            "garbage_in_grace": meta["garbage"] - meta["garbage_due"],
            "files": files,
            "orphans": orphans,
        },
        "temp_files": temp_files,
        "sessions": {"live": len(listed) - dead, "dead": dead},
        "uploads": meta["uploads"],
        "buckets": meta["buckets"],
        "users": meta["users"],
        "keys": meta["keys"],
        "server": {"running": pid is not None, "pid": pid or None},
    }


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


def _count_files(path: Path) -> int:
    """Files in ``path`` and in its subdirectories (the sessions' temp directories)."""
    try:
        entries = list(os.scandir(path))
    except FileNotFoundError:
        return 0
    files = sum(1 for entry in entries if entry.is_file(follow_symlinks=False))
    return files + sum(
        _count_files(Path(e.path)) for e in entries if e.is_dir(follow_symlinks=False)
    )
