"""``oortgate fsck`` on a versioned bucket: the blobs of noncurrent versions (kept until
the version is deleted, read back by GET ?versionId=) are checked as the current ones
are, and are not orphans. The PostgreSQL twin is in tests/protocol/test_pg_tools.py."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Any

from tests.protocol._server import ServerProcess

from .test_fsck import BUCKET, MiB, flip_byte, fsck, put_multipart
from .test_fsck import s3 as s3  # the fixtures, used by name
from .test_fsck import srv as srv


def old_blob_paths(data_dir: Path, version_id: str) -> list[Path]:
    """The blob files of a noncurrent version (its parts', if multipart), in order."""
    db = sqlite3.connect(f"file:{data_dir / 'meta.sqlite3'}?mode=ro", uri=True)
    try:
        sql = "SELECT key, seq, blob_id, parts_count FROM object_versions WHERE version_id = ?"
        key, seq, blob_id, parts_count = db.execute(sql, (version_id,)).fetchone()
        sql = "SELECT blob_id FROM object_version_parts WHERE key = ? AND seq = ? ORDER BY idx"
        ids = [row[0] for row in db.execute(sql, (key, seq))] if parts_count else [blob_id]
    finally:
        db.close()
    return [data_dir / "blobs" / b[:2] / b[2:4] / b for b in ids]


def test_noncurrent_versions_are_checked(srv: ServerProcess, s3: Any) -> None:
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    olds: dict[str, str] = {}
    for key in ("cut", "flipped", "lost", "fine"):
        olds[key] = s3.put_object(Bucket=BUCKET, Key=key, Body=os.urandom(50_000))["VersionId"]
        s3.put_object(Bucket=BUCKET, Key=key, Body=os.urandom(1000))
    put_multipart(s3, "multi", [5 * MiB, 3000])
    olds["multi"] = s3.list_object_versions(Bucket=BUCKET, Prefix="multi")["Versions"][0][
        "VersionId"
    ]
    s3.delete_object(Bucket=BUCKET, Key="multi")  # a delete marker: no bytes, not counted

    rc, report = fsck(srv.data_dir, "--deep", "--grace", "0")
    assert (rc, report["problems"]) == (0, []), report
    assert (report["objects"], report["versions"], report["orphans"]) == (4, 5, 0)
    assert report["blobs_checked"] == 4 + 4 + 2
    assert report["bytes_verified"] == 4 * 1000 + 4 * 50_000 + 5 * MiB + 3000

    os.truncate(old_blob_paths(srv.data_dir, olds["cut"])[0], 20_000)
    old_blob_paths(srv.data_dir, olds["lost"])[0].unlink()
    old_blob_paths(srv.data_dir, olds["multi"])[1].unlink()
    flip_byte(old_blob_paths(srv.data_dir, olds["flipped"])[0], 4321)

    rc, report = fsck(srv.data_dir, "--grace", "0")
    assert rc == 1
    found = sorted((p["kind"], p["key"], p["version_id"]) for p in report["problems"])
    assert found == [("missing", "lost", olds["lost"]), ("missing", "multi", olds["multi"]),
                     ("size_mismatch", "cut", olds["cut"])]  # fmt: skip
    rc, report = fsck(srv.data_dir, "--deep", "--grace", "0")
    found = sorted((p["kind"], p["key"], p["version_id"]) for p in report["problems"])
    assert ("checksum_mismatch", "flipped", olds["flipped"]) in found and len(found) == 4
    # An old version fsck found nothing wrong with reads back whole.
    old = s3.get_object(Bucket=BUCKET, Key="fine", VersionId=olds["fine"])
    assert old["ContentLength"] == 50_000


def test_the_null_version_is_named(srv: ServerProcess, s3: Any) -> None:
    """An object put before versioning was enabled is the null version once overwritten."""
    s3.put_object(Bucket=BUCKET, Key="k", Body=os.urandom(40_000))
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    s3.put_object(Bucket=BUCKET, Key="k", Body=b"new")
    old_blob_paths(srv.data_dir, "")[0].unlink()
    rc, report = fsck(srv.data_dir)
    assert rc == 1
    (problem,) = report["problems"]
    assert (problem["kind"], problem["key"], problem["version_id"]) == ("missing", "k", "null")
