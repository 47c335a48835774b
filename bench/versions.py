"""What versioning costs on the embedded store: one key with 10,000 noncurrent versions
among 1,000 plain keys, against the same keys in a never-versioned bucket.

    .venv/bin/python -m bench.versions [--versions 10000] [--rounds 50]

Times, on the store itself (no HTTP: what the index design decides), GET of the hot
key, a ListObjectsV2 page of 1,000 keys, ListObjectVersions pages (the first, and one
past the hot key), and one PUT of a small object in each bucket. Prints the median and
the best of the rounds in ms (the machine is shared: the best is disturbed least).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

from oortgate import stores
from oortgate.meta.models import InlineBody, ObjectRecord
from oortgate.meta.sqlite import SqliteMetaStore
from oortgate.meta.versions import new_version_id

KEYS = 1000
HOT = "k0500"


def _record(bucket_id: int, key: str, version_id: str = "") -> ObjectRecord:
    return ObjectRecord(bucket_id, key, InlineBody(b"x"), 1, "0" * 32, time.time(),
                        version_id=version_id)  # fmt: skip


def fill(meta: SqliteMetaStore, bucket_id: int, versions: int, versioned: bool) -> None:
    """KEYS keys, the hot one written ``versions`` more times (one commit)."""
    with meta.group():
        for i in range(KEYS):
            meta.put_object(_record(bucket_id, f"k{i:04d}", new_version_id() if versioned else ""),
                            None, versioned)  # fmt: skip
        for _ in range(versions):
            meta.put_object(_record(bucket_id, HOT, new_version_id() if versioned else ""),
                            None, versioned)  # fmt: skip


def timed(call: Callable[[], object], rounds: int) -> tuple[float, float]:
    spent = []
    for _ in range(rounds):
        start = time.perf_counter()
        call()
        spent.append((time.perf_counter() - start) * 1000)
    return statistics.median(spent), min(spent)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--versions", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        meta = stores.open_meta(Path(tmp))
        user = meta.create_user("bench")
        plain = meta.create_bucket("plain", user.id, "us-east-1", 10).id
        versioned = meta.create_bucket("versioned", user.id, "us-east-1", 10).id
        meta.set_bucket_versioning(versioned, "Enabled")
        fill(meta, plain, args.versions, False)
        fill(meta, versioned, args.versions, True)
        print(f"1,000 keys; {HOT} with {args.versions:,} noncurrent versions (versioned bucket)")
        print(f"{'operation':44} {'unversioned':>18} {'versioned':>18}   (median / best ms)")
        rows: list[tuple[str, Callable[[int], object]]] = [
            (f"GetObject {HOT}", lambda b: meta.get_object(b, HOT)),
            ("ListObjectsV2, 1,000 keys", lambda b: meta.list_objects(b, max_keys=1000)),
            ("ListObjectVersions, first 1,000", lambda b: meta.list_object_versions(b)),
            (f"ListObjectVersions, 1,000 after {HOT}",
             lambda b: meta.list_object_versions(b, key_marker=HOT)),
            ("PutObject (inline, one commit)",
             lambda b: meta.put_object(_record(b, "new", new_version_id() if b == versioned
                                               else ""), None, b == versioned)),
        ]  # fmt: skip
        for name, call in rows:
            cells = []
            for bucket_id in (plain, versioned):
                median, best = timed(partial(call, bucket_id), args.rounds)
                cells.append(f"{median:8.3f} / {best:7.3f}")
            print(f"{name:44} {cells[0]:>18} {cells[1]:>18}")
        meta.close()


if __name__ == "__main__":
    main()
