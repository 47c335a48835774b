"""The command-line tools on PostgreSQL (``metadata_url``): `admin stats --json` counts,
`admin key reseal`, `oortgate gc` online beside running gateways, and the orphan sweep
of a blob directory shared by two gateways on one database (one owner: the database's
identity; one sweeper at a time: an advisory lock; blobs younger than an hour spared;
never while another metadata store names blobs there too)."""

from __future__ import annotations

import base64
import json
import os
import secrets
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import psycopg
import pytest
import requests
from botocore.config import Config

from oortgate.config import Settings
from oortgate.meta.pg_schema import ORPHAN_SWEEP_LOCK
from oortgate.secretbox import ENV_VAR as SECRETS_ENV
from oortgate.secretbox import PREFIX
from tests import pg_service

from ._server import PYTHON, REGION, REPO_ROOT, ServerProcess
from ._util import orphan_blob, stats

INLINE_MAX = Settings().inline_max_size
MiB = 1 << 20


def _client(srv: ServerProcess) -> Any:
    return boto3.session.Session().client(
        "s3", endpoint_url=srv.endpoint, region_name=REGION,
        aws_access_key_id=srv.root_access_key, aws_secret_access_key=srv.root_secret_key,
        verify=srv.cert, config=Config(s3={"addressing_style": "path"}),
    )  # fmt: skip


def _tool(srv: ServerProcess, *args: str, env: dict[str, str] | None = None) -> Any:
    res = subprocess.run(
        [PYTHON, "-m", "oortgate", *args[:1], "--data-dir", str(srv.data_dir), *args[1:]],
        cwd=str(REPO_ROOT), env=env or srv.env(), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)


# -- one gateway: stats and reseal ----------------------------------------------------
@pytest.fixture
def alone(tmp_path: Path) -> Iterator[ServerProcess]:
    url = pg_service.create_database("stats")
    srv = ServerProcess(data_dir=tmp_path / "data", metadata_url=url)
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()
        pg_service.drop_database(url)


def test_admin_stats_counts_what_postgres_and_the_blob_store_hold(alone: ServerProcess) -> None:
    s3 = _client(alone)
    s3.create_bucket(Bucket="one")
    s3.create_bucket(Bucket="two")
    s3.put_object(Bucket="one", Key="small", Body=b"12345")  # inline
    s3.put_object(Bucket="one", Key="big", Body=b"a" * (INLINE_MAX + 1))
    s3.put_object(Bucket="two", Key="big", Body=b"b" * (INLINE_MAX + 1))
    s3.put_object(Bucket="two", Key="big", Body=b"c" * (INLINE_MAX + 2))  # overwrite
    upload = s3.create_multipart_upload(Bucket="two", Key="parts")["UploadId"]
    for number in (1, 2):
        s3.upload_part(Bucket="two", Key="parts", UploadId=upload, PartNumber=number,
                       Body=b"p" * (INLINE_MAX + 10))  # fmt: skip
    alone.create_user("second")
    alone.create_key("second")
    counts = stats(alone)
    assert counts["objects"] == 3
    assert counts["bytes"] == 5 + 2 * INLINE_MAX + 3
    assert counts["inline"] == {"objects": 1, "bytes": 5, "blobs": 1}
    assert counts["blobs"] == {"objects": 2, "upload_parts": 2, "counted": 4, "pending": 0,
                               "garbage_due": 0, "garbage_in_grace": 1, "files": 5,
                               "orphans": 0}  # fmt: skip
    assert (counts["uploads"], counts["buckets"], counts["users"], counts["keys"]) == (1, 2, 2, 2)
    assert counts["temp_files"] == 0
    assert counts["sessions"]["live"] >= 1 and counts["sessions"]["dead"] == 0
    assert counts["server"]["running"]
    assert stats(alone, "--gc-grace", "0")["blobs"]["garbage_due"] == 1
    # Without the metadata_url, the gateway's data directory is refused, not opened as SQLite.
    env = {k: v for k, v in alone.env().items() if k != "OORTGATE_METADATA_URL"}
    res = subprocess.run(
        [PYTHON, "-m", "oortgate", "admin", "--data-dir", str(alone.data_dir), "stats"],
        cwd=str(REPO_ROOT), env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert res.returncode == 2 and "metadata_url" in res.stderr
    assert not (alone.data_dir / "meta.sqlite3").exists()


def test_key_reseal_seals_every_secret_in_postgres(
    alone: ServerProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    alone.create_user("sealed")
    alone.create_key("sealed")
    key = base64.b64encode(secrets.token_bytes(32)).decode()
    sealing = {**alone.env(), SECRETS_ENV: key}
    assert _tool(alone, "admin", "key", "reseal", env=sealing) == {"resealed": 2}
    with psycopg.connect(alone.metadata_url) as conn:
        stored = [row[0] for row in conn.execute("SELECT secret_key FROM access_keys")]
    assert len(stored) == 2 and all(s.startswith(PREFIX) for s in stored)
    assert _tool(alone, "admin", "key", "reseal", env=sealing) == {"resealed": 0}
    listed = _tool(alone, "admin", "key", "list", "sealed", env=sealing)
    assert [k["user"] for k in listed] == ["sealed"]
    alone.stop()  # a gateway given the key reads the sealed secrets
    monkeypatch.setenv(SECRETS_ENV, key)
    alone.start()
    assert "Buckets" in _client(alone).list_buckets()


def _fsck(srv: ServerProcess, *args: str) -> dict[str, Any]:
    res = subprocess.run(
        [PYTHON, "-m", "oortgate", "fsck", "--data-dir", str(srv.data_dir), "--json", *args],
        cwd=str(REPO_ROOT), env=srv.env(), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert res.returncode in (0, 1), res.stderr
    found: dict[str, Any] = json.loads(res.stdout)
    assert found["clean"] == (res.returncode == 0)
    return found


def test_fsck_on_postgres_finds_missing_damaged_and_orphan_blobs(alone: ServerProcess) -> None:
    s3 = _client(alone)
    s3.create_bucket(Bucket="checked")
    for key in ("fine", "lost", "flipped", "drifted"):
        s3.put_object(Bucket="checked", Key=key, Body=os.urandom(INLINE_MAX + 100))
    s3.put_object(Bucket="checked", Key="small", Body=b"inline bytes")
    assert _fsck(alone, "--deep")["clean"]
    with psycopg.connect(alone.metadata_url, autocommit=True) as conn:
        ids: dict[str, str] = dict(conn.execute("SELECT key, blob_id FROM objects").fetchall())
        conn.execute("UPDATE blobs SET refs = 3 WHERE blob_id = %s", (ids["drifted"],))

    def path(blob_id: str) -> Path:
        return alone.data_dir / "blobs" / blob_id[:2] / blob_id[2:4] / blob_id

    path(ids["lost"]).unlink()
    with open(path(ids["flipped"]), "r+b") as f:
        f.seek(10)
        byte = f.read(1)
        f.seek(10)
        f.write(bytes([byte[0] ^ 0x55]))
    orphan = path("0e" * 16)
    orphan.parent.mkdir(parents=True, exist_ok=True)
    orphan.write_bytes(b"nobody's")
    os.utime(orphan, (time.time() - 7200, time.time() - 7200))  # older than the hour
    found = _fsck(alone, "--deep", "--grace", "0")
    kinds = sorted((p["kind"], p.get("key") or p.get("blob_id")) for p in found["problems"])
    assert kinds == [("checksum_mismatch", "flipped"), ("missing", "lost"),
                     ("orphan", "0e" * 16), ("refcount", ids["drifted"])]  # fmt: skip
    repaired = _fsck(alone, "--repair", "--grace", "0")
    assert repaired["repaired"] == 2 and not orphan.exists()  # the orphan and the count
    after = _fsck(alone)
    assert (after["missing"], after["orphans"], after["refcount_mismatch"]) == (1, 0, 0)
    assert s3.get_object(Bucket="checked", Key="small")["Body"].read() == b"inline bytes"


def test_fsck_on_postgres_checks_noncurrent_versions(alone: ServerProcess) -> None:
    """Old versions' blobs (a single one, a multipart one's parts) are checked as the
    current ones are, and are no orphans (the SQLite twin: tests/reliability/
    test_fsck_versions.py)."""
    s3 = _client(alone)
    s3.create_bucket(Bucket="kept")
    s3.put_bucket_versioning(Bucket="kept", VersioningConfiguration={"Status": "Enabled"})
    old = s3.put_object(Bucket="kept", Key="single", Body=os.urandom(INLINE_MAX + 100))
    s3.put_object(Bucket="kept", Key="single", Body=b"current")
    upload = s3.create_multipart_upload(Bucket="kept", Key="multi")["UploadId"]
    etags = [s3.upload_part(Bucket="kept", Key="multi", UploadId=upload, PartNumber=n,
                            Body=os.urandom(size))["ETag"]
             for n, size in ((1, 5 * MiB), (2, INLINE_MAX + 10))]  # fmt: skip
    parts = [{"PartNumber": n, "ETag": etag} for n, etag in enumerate(etags, 1)]
    multi = s3.complete_multipart_upload(Bucket="kept", Key="multi", UploadId=upload,
                                         MultipartUpload={"Parts": parts})  # fmt: skip
    s3.delete_object(Bucket="kept", Key="multi")  # a delete marker: no bytes
    clean = _fsck(alone, "--deep", "--grace", "0")
    assert (clean["clean"], clean["versions"], clean["objects"]) == (True, 2, 1), clean
    assert clean["bytes_verified"] == INLINE_MAX + 100 + len(b"current") + 5 * MiB + INLINE_MAX + 10
    with psycopg.connect(alone.metadata_url, autocommit=True) as conn:
        sql = "SELECT blob_id FROM object_versions WHERE key = 'single'"
        ((single,),) = conn.execute(sql).fetchall()
        ((part,),) = conn.execute("SELECT blob_id FROM object_version_parts WHERE key = 'multi'"
                                  " ORDER BY idx DESC LIMIT 1").fetchall()  # fmt: skip
    os.truncate(alone.data_dir / "blobs" / single[:2] / single[2:4] / single, 10)
    (alone.data_dir / "blobs" / part[:2] / part[2:4] / part).unlink()
    found = _fsck(alone, "--grace", "0")
    kinds = sorted((p["kind"], p["key"], p["version_id"], p["blob_id"]) for p in found["problems"])
    assert kinds == [("missing", "multi", multi["VersionId"], part),
                     ("size_mismatch", "single", old["VersionId"], single)]  # fmt: skip


# -- two gateways on one database and one shared blob directory -------------------------
@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, ...]]:
    url = pg_service.create_database("pair")
    base = tmp_path_factory.mktemp("pg-pair")
    shared = base / "shared"
    shared.mkdir()
    args = ["--blob-url", shared.as_uri(), "--inline-max-size", "0"]
    gateways = [ServerProcess(data_dir=base / name, metadata_url=url, extra_args=args)
                for name in ("a", "b")]  # fmt: skip
    try:
        for gateway in gateways:
            gateway.start()
        yield tuple(gateways)
    finally:
        for gateway in gateways:
            gateway.stop()
        pg_service.drop_database(url)


def _shared(srv: ServerProcess) -> Path:
    return Path(srv.extra_args[1].removeprefix("file://"))


def _gc(srv: ServerProcess, *args: str) -> dict[str, int]:
    """`oortgate gc` with the gateway's settings (its --blob-url among them)."""
    counts: dict[str, int] = _tool(srv, "gc", *srv.extra_args[:2], *args)
    return counts


def test_two_gateways_on_one_database_are_one_owner_and_sweep_its_orphans(
    pair: tuple[ServerProcess, ...],
) -> None:
    a, b = pair
    shared = _shared(a)
    (owner,) = os.listdir(shared / "owners")  # one owner: the database
    assert owner.startswith("pg-")
    assert os.listdir(shared / "tmp") == [owner]  # each session's temp files under it
    _client(a).create_bucket(Bucket="swept")
    body = os.urandom(100_000)
    _client(a).put_object(Bucket="swept", Key="k", Body=body)
    young, old = orphan_blob(shared, age=60), orphan_blob(shared, age=7200)

    with psycopg.connect(a.metadata_url, autocommit=True) as holder:  # a sweep under way
        holder.execute("SELECT pg_advisory_lock(%s)", (ORPHAN_SWEEP_LOCK,))
        assert "orphans" not in _gc(b)
        assert old.exists()
    assert _gc(b)["orphans"] == 1  # the lock is free again
    assert young.exists() and not old.exists()
    assert _client(b).get_object(Bucket="swept", Key="k")["Body"].read() == body

    foreign = shared / "owners" / "sqlite-0123456789abcdef"  # another metadata store
    foreign.touch()
    try:
        theirs = orphan_blob(shared, age=7200)  # maybe that store's: never swept
        assert "orphans" not in _gc(a)
        assert theirs.exists()
    finally:
        foreign.unlink()
    a.stop()  # the start-up sweep runs on PostgreSQL too, beside the running gateway b
    a.start()
    assert not theirs.exists() and young.exists()
    assert _client(a).get_object(Bucket="swept", Key="k")["Body"].read() == body


def test_gc_online_beside_two_gateways_breaks_no_upload(pair: tuple[ServerProcess, ...]) -> None:
    a, b = pair
    s3 = _client(a)
    s3.create_bucket(Bucket="online")
    url = s3.generate_presigned_url(
        "put_object", Params={"Bucket": "online", "Key": "slow"}, ExpiresIn=300
    )
    data = os.urandom(4 * MiB)
    result: dict[str, requests.Response] = {}

    def slowly() -> Iterator[bytes]:
        for start in range(0, len(data), 256 * 1024):
            yield data[start : start + 256 * 1024]
            time.sleep(0.1)

    upload = threading.Thread(
        target=lambda: result.update(put=requests.put(url, data=slowly(), verify=a.cert))
    )
    with psycopg.connect(a.metadata_url, autocommit=True) as conn:  # a gateway long dead
        conn.execute("INSERT INTO sessions VALUES ('dead0000dead0000', 'elsewhere', 1, 0, 0)")
        conn.execute("INSERT INTO pending_blobs VALUES (%s, 0, 'dead0000dead0000')",
                     ("d" * 32,))  # fmt: skip
    upload.start()
    time.sleep(0.5)  # under way: its blob is pending, its temp file open
    counts = _gc(b, "--gc-grace", "0")
    upload.join(60)
    assert {"sessions", "pending", "temp", "garbage"} <= counts.keys()
    assert result["put"].status_code == 200, result["put"].text
    assert _client(b).get_object(Bucket="online", Key="slow")["Body"].read() == data
    with psycopg.connect(a.metadata_url, autocommit=True) as conn:
        left = conn.execute("SELECT count(*) FROM sessions WHERE session_id = 'dead0000dead0000'"
                            " UNION ALL SELECT count(*) FROM pending_blobs").fetchall()  # fmt: skip
    assert [n for (n,) in left] == [0, 0]  # the dead one's mark is garbage; none live now
