"""Real tools on versioned buckets, as Debian ships them (``make protocol`` installs
them: the Makefile's tools-deps): rclone's view of old versions (``--s3-versions``, which
lists them as ``name-vYYYY-MM-DD-HHMMSS-mmm.ext`` and reads them back, and
``--s3-version-at``, the bucket as it was at a time), and restic backing up to a bucket
and restoring from it, on a plain and on a versioned bucket."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import time
from pathlib import Path

import pytest

from ._server import REGION, ServerProcess
from ._types import MakeBucket, S3Client
from ._util import rand

HANG = 300  # seconds: a deadline that only catches a hang


def _run(cmd: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[bytes]:
    res = subprocess.run(cmd, env=env, capture_output=True, timeout=HANG)
    assert res.returncode == 0, f"{cmd} -> {res.returncode}\n{res.stderr.decode()[-3000:]}"
    return res


# -------------------------------------------------------------------------- rclone
def _rclone(server: ServerProcess, home: Path, *args: str) -> bytes:
    """rclone with a remote ``og:`` made of environment variables only (no config file)."""
    env = {
        "PATH": os.environ.get("PATH", ""), "HOME": str(home), "RCLONE_CONFIG": "/dev/null",
        "RCLONE_CONFIG_OG_TYPE": "s3", "RCLONE_CONFIG_OG_PROVIDER": "Other",
        "RCLONE_CONFIG_OG_ACCESS_KEY_ID": server.root_access_key,
        "RCLONE_CONFIG_OG_SECRET_ACCESS_KEY": server.root_secret_key,
        "RCLONE_CONFIG_OG_ENDPOINT": server.endpoint, "RCLONE_CONFIG_OG_REGION": REGION,
        "RCLONE_CONFIG_OG_FORCE_PATH_STYLE": "true",
    }  # fmt: skip
    cmd = ["rclone", "--ca-cert", server.cert, "--retries", "1", "--low-level-retries", "1", *args]
    return _run(cmd, env).stdout


def test_rclone_lists_and_reads_old_versions(
    server: ServerProcess, s3: S3Client, make_bucket: MakeBucket, tmp_path: Path
) -> None:
    bucket = make_bucket()
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    old, new = rand(70_000), rand(30_000)
    s3.put_object(Bucket=bucket, Key="dir/file.txt", Body=old)
    time.sleep(1.1)  # a time 500 ms after the first write is then before the second
    s3.put_object(Bucket=bucket, Key="dir/file.txt", Body=new)
    versions = s3.list_object_versions(Bucket=bucket)["Versions"]
    (first,) = [v for v in versions if not v["IsLatest"]]

    listed = json.loads(_rclone(server, tmp_path, "lsjson", "-R", "--s3-versions",
                                f"og:{bucket}"))  # fmt: skip
    files = {entry["Path"]: entry["Size"] for entry in listed if not entry["IsDir"]}
    stamp = first["LastModified"].astimezone(dt.UTC).strftime("%Y-%m-%d-%H%M%S")
    (old_name,) = [name for name in files if name != "dir/file.txt"]
    assert re.fullmatch(rf"dir/file-v{stamp}-\d{{3}}\.txt", old_name), (old_name, files)
    assert files == {"dir/file.txt": len(new), old_name: len(old)}
    # Without the flag only the current version shows.
    plain = _rclone(server, tmp_path, "ls", f"og:{bucket}").decode().split()
    assert plain == [str(len(new)), "dir/file.txt"]

    # Reading the old version back (GET ?versionId=). Through the directory: rclone
    # 1.60 finds nothing when a versioned name is given as the path itself (it lists
    # prefix=dir/file.txt, gets both versions, and still matches none: moto's answer
    # leaves it as empty-handed, so this is rclone's side).
    old_leaf = old_name.removeprefix("dir/")
    cat = ["cat", "--s3-versions", "--include", old_leaf, f"og:{bucket}/dir"]
    assert _rclone(server, tmp_path, *cat) == old
    copied = tmp_path / "copied"
    _rclone(server, tmp_path, "copy", "--s3-versions", f"og:{bucket}", str(copied))
    assert (copied / old_name).read_bytes() == old
    assert (copied / "dir" / "file.txt").read_bytes() == new

    # The bucket as it was between the two writes: the old bytes under the plain name.
    between = (first["LastModified"] + dt.timedelta(milliseconds=500)).astimezone(dt.UTC)
    at = between.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    restored = tmp_path / "restored"
    _rclone(server, tmp_path, "copy", "--s3-version-at", at, f"og:{bucket}", str(restored))
    assert [p.relative_to(restored).as_posix() for p in restored.rglob("*") if p.is_file()] == [
        "dir/file.txt"
    ]
    assert (restored / "dir" / "file.txt").read_bytes() == old
    listed_then = _rclone(server, tmp_path, "ls", "--s3-version-at", at, f"og:{bucket}")
    assert listed_then.decode().split() == [str(len(old)), "dir/file.txt"]


# -------------------------------------------------------------------------- restic
def _tree(root: Path) -> dict[str, bytes | None]:
    """Every path under root: a file's bytes, None for a directory."""
    return {p.relative_to(root).as_posix(): None if p.is_dir() else p.read_bytes()
            for p in sorted(root.rglob("*"))}  # fmt: skip


@pytest.mark.parametrize("versioned", [False, True], ids=["plain", "versioned"])
def test_restic_backs_up_and_restores(
    server: ServerProcess, s3: S3Client, make_bucket: MakeBucket, tmp_path: Path,
    versioned: bool,
) -> None:  # fmt: skip
    bucket = make_bucket()
    if versioned:
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    src = tmp_path / "src"
    files = {"a.txt": b"alpha\n", "empty": b"", "sub/big.bin": rand(6 * 1024 * 1024),
             "sub/deeper/unicodé ü.txt": "ünïcødé".encode(), "sub/small.bin": rand(70_000)}
    for rel, content in files.items():  # fmt: skip
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        (src / rel).write_bytes(content)
    env = {
        "PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path),
        "RESTIC_PASSWORD": "correct horse battery staple",
        "RESTIC_CACHE_DIR": str(tmp_path / "cache"),
        "AWS_ACCESS_KEY_ID": server.root_access_key,
        "AWS_SECRET_ACCESS_KEY": server.root_secret_key, "AWS_DEFAULT_REGION": REGION,
    }  # fmt: skip
    repo = ["restic", "-r", f"s3:{server.endpoint}/{bucket}/repo", "--cacert", server.cert,
            "-o", f"s3.region={REGION}"]  # fmt: skip

    def restic(*args: str) -> bytes:
        return _run([*repo, *args], env).stdout

    restic("init")
    restic("backup", "--host", "test", str(src))
    first = _tree(src)
    (src / "a.txt").write_bytes(b"alpha, changed\n")  # a second snapshot that differs
    (src / "sub" / "small.bin").unlink()
    restic("backup", "--host", "test", str(src))
    restic("check", "--read-data")  # every pack read back and its blobs' hashes checked

    snapshots = json.loads(restic("snapshots", "--json"))
    assert len(snapshots) == 2
    older, newer = sorted(snapshots, key=lambda s: s["time"])
    for snapshot, want in ((older, first), (newer, _tree(src))):
        target = tmp_path / f"restore-{snapshot['short_id']}"
        restic("restore", snapshot["id"], "--target", str(target))
        assert _tree(target / src.relative_to("/")) == want  # restic keeps the full path

    # Forgetting a snapshot and pruning deletes objects: on a versioned bucket that makes
    # delete markers, which the listing restic reads must leave out.
    restic("forget", older["id"], "--prune")
    restic("check", "--read-data")
    assert [s["id"] for s in json.loads(restic("snapshots", "--json"))] == [newer["id"]]
    if versioned:
        markers = s3.list_object_versions(Bucket=bucket).get("DeleteMarkers", [])
        assert markers, "prune deleted objects: a versioned bucket keeps markers"
