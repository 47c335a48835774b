"""Moving from one node (issue 19, step 5): `oortgate admin migrate-meta` copies a data
directory's SQLite metadata into PostgreSQL and `migrate-blobs` its blobs into another
blob store; a gateway on the new stores then serves every object byte for byte, with its
tags, ACLs, bucket settings, users, sealed keys and open uploads.

The data directory is filled through a real server with boto3. A migration is killed
(SIGKILL) in the middle of a table: the test holds an uncommitted row with the key of
that table's second row, so the copy (one row per transaction) commits the first and
then waits on the row lock, where it is killed; the rerun with --resume completes.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import secrets
import signal
import sqlite3
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from botocore.config import Config

from tests import pg_service

from ._server import PYTHON, REPO_ROOT, ServerProcess
from ._util import s3_error, wait_for

SECRETS_KEY = base64.b64encode(b"k" * 32).decode()
BIG = secrets.token_bytes(300_000)  # a file-backed blob (over inline_max_size)
OLD = secrets.token_bytes(200_000)  # a noncurrent version's file-backed blob
SMALL = b"inline bytes " * 10


@dataclass
class Source:
    srv: ServerProcess
    objects: dict[tuple[str, str], bytes]
    bob: tuple[str, str]  # his access key and secret
    open_upload: tuple[str, str, str]  # bucket, key, upload id
    old_version: str = ""  # the noncurrent version of "vers"/"k" (OLD's bytes)


def _client(srv: ServerProcess, ak: str, sk: str) -> Any:
    import boto3

    return boto3.session.Session().client(
        "s3", endpoint_url=srv.endpoint, region_name="us-east-1", aws_access_key_id=ak,
        aws_secret_access_key=sk, verify=srv.cert, config=Config(s3={"addressing_style": "path"}),
    )  # fmt: skip


def _fill(srv: ServerProcess) -> Source:
    s3 = _client(srv, srv.root_access_key, srv.root_secret_key)
    objects: dict[tuple[str, str], bytes] = {}
    s3.create_bucket(Bucket="alpha")
    for key, body in (("small.txt", SMALL), ("dir/big.bin", BIG), ("é/ü", b"x")):
        s3.put_object(Bucket="alpha", Key=key, Body=body)
        objects["alpha", key] = body
    s3.put_object_tagging(Bucket="alpha", Key="small.txt",
                          Tagging={"TagSet": [{"Key": "color", "Value": "blue"}]})  # fmt: skip
    s3.put_object_acl(Bucket="alpha", Key="dir/big.bin", ACL="public-read")
    s3.copy_object(
        Bucket="alpha", Key="copy.bin", CopySource={"Bucket": "alpha", "Key": "dir/big.bin"}
    )
    objects["alpha", "copy.bin"] = BIG
    for n, key in enumerate(("mp/one", "mp/two")):  # two completed uploads: a table of 2 rows
        up = s3.create_multipart_upload(Bucket="alpha", Key=key)["UploadId"]
        body = BIG[n:] + bytes([n])
        etag = s3.upload_part(Bucket="alpha", Key=key, UploadId=up, PartNumber=1, Body=body)["ETag"]
        s3.complete_multipart_upload(Bucket="alpha", Key=key, UploadId=up, MultipartUpload={
            "Parts": [{"PartNumber": 1, "ETag": etag}]})  # fmt: skip
        objects["alpha", key] = body
    s3.put_bucket_tagging(Bucket="alpha", Tagging={"TagSet": [{"Key": "team", "Value": "a"}]})
    s3.put_bucket_cors(Bucket="alpha", CORSConfiguration={"CORSRules": [
        {"AllowedMethods": ["GET"], "AllowedOrigins": ["https://example.com"]}]})  # fmt: skip
    up = s3.create_multipart_upload(Bucket="alpha", Key="open/upload")["UploadId"]
    s3.upload_part(Bucket="alpha", Key="open/upload", UploadId=up, PartNumber=1, Body=BIG)
    srv.create_user("bob")
    bobs_key = srv.create_key("bob")
    bob = (str(bobs_key["access_key"]), str(bobs_key["secret_key"]))
    b3 = _client(srv, *bob)
    b3.create_bucket(Bucket="bobs")
    b3.put_object(Bucket="bobs", Key="mine", Body=b"bob's own")
    objects["bobs", "mine"] = b"bob's own"
    s3.create_bucket(Bucket="vers")  # a versioned bucket: a noncurrent version, a marker
    s3.put_bucket_versioning(Bucket="vers", VersioningConfiguration={"Status": "Enabled"})
    old = s3.put_object(Bucket="vers", Key="k", Body=OLD)["VersionId"]
    s3.put_object(Bucket="vers", Key="k", Body=SMALL)
    s3.delete_object(Bucket="vers", Key="k")
    s3.create_bucket(Bucket="locked", ObjectLockEnabledForBucket=True)  # a held version
    s3.put_object(Bucket="locked", Key="k", Body=SMALL, ObjectLockLegalHoldStatus="ON")
    return Source(srv, objects, bob, ("alpha", "open/upload", up), old)


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Source]:
    os.environ["OORTGATE_SECRETS_KEY"] = SECRETS_KEY  # keys are sealed at rest
    try:
        srv = ServerProcess(data_dir=tmp_path_factory.mktemp("migrate") / "src")
        with srv:
            filled = _fill(srv)
        yield filled
    finally:
        del os.environ["OORTGATE_SECRETS_KEY"]


def _oortgate(srv: ServerProcess, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([PYTHON, "-m", "oortgate", "admin", *args], cwd=str(REPO_ROOT),
                          env=srv.env(), capture_output=True, text=True, timeout=120)  # fmt: skip


def _migrate_meta(src: Source, url: str, *extra: str) -> subprocess.CompletedProcess[str]:
    return _oortgate(src.srv, "migrate-meta", "--from", f"sqlite://{src.srv.data_dir}/meta.sqlite3",
                     "--to", url, "--json", *extra)  # fmt: skip


def _schema(url: str) -> None:
    from oortgate.meta.pg_schema import migrate

    async def run() -> None:
        async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
            await migrate(conn)

    asyncio.run(run())


def test_a_running_source_and_a_foreign_target_are_refused(source: Source) -> None:
    url = pg_service.create_database("mig")
    try:
        with source.srv:
            res = _migrate_meta(source, url)
        assert res.returncode == 2, res.stdout + res.stderr
        assert "stop it first" in res.stderr
        _schema(url)  # a database a gateway has used: its root user is in it
        with psycopg.connect(url) as pg:
            pg.execute("INSERT INTO users (name, canonical_id, created) VALUES ('root', 'c', 0)")
        for extra, says in (((), "not empty"), (("--resume",), "no migration copied")):
            res = _migrate_meta(source, url, *extra)
            assert res.returncode == 2 and says in res.stderr, res.stdout + res.stderr
        with psycopg.connect(url) as pg:
            assert pg.execute("SELECT count(*) FROM users").fetchone() == (1,)
    finally:
        pg_service.drop_database(url)


def _kill_mid_table(source: Source, url: str) -> None:
    """A migration SIGKILLed after committing completed_uploads' first row, not its second."""
    with sqlite3.connect(source.srv.data_dir / "meta.sqlite3") as lite:
        ids = [r[0] for r in lite.execute("SELECT upload_id FROM completed_uploads ORDER BY 1")]
    assert len(ids) == 2
    _schema(url)
    with psycopg.connect(url) as blocker:
        blocker.execute("INSERT INTO completed_uploads VALUES (%s, 1, 'k', 'e', 0, 0)", (ids[1],))
        proc = subprocess.Popen([PYTHON, "-m", "oortgate", "admin", "migrate-meta", "--from",
                                 str(source.srv.data_dir), "--to", url, "--batch-rows", "1"],
                                cwd=str(REPO_ROOT), env=source.srv.env(),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
        try:
            with psycopg.connect(url, autocommit=True) as watch:

                def first_row_in() -> bool:
                    made = watch.execute("SELECT to_regclass('og_migration') IS NOT NULL")
                    if made.fetchone() != (True,):
                        return False
                    copied = watch.execute(
                        "SELECT copied FROM og_migration WHERE tbl = 'completed_uploads'"
                    ).fetchone()
                    waiting = watch.execute(
                        "SELECT count(*) FROM pg_stat_activity WHERE"
                        " wait_event_type = 'Lock' AND datname ="
                        " current_database()"
                    ).fetchone()
                    return copied == (1,) and waiting is not None and waiting[0] > 0

                wait_for(
                    "the copy waits on the second row",
                    lambda: proc.poll() is None and first_row_in(),
                    poll=0.05,
                )
                proc.send_signal(signal.SIGKILL)
                proc.wait(10)
                watch.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE"
                              " datname = current_database() AND pid <> pg_backend_pid()"
                              " AND pid <> %s", (blocker.info.backend_pid,))  # fmt: skip
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
        blocker.rollback()


def test_killed_migration_resumes_and_the_new_stores_serve_everything(
    source: Source, tmp_path: Path
) -> None:
    url = pg_service.create_database("mig")
    try:
        _kill_mid_table(source, url)
        refused = _migrate_meta(source, url)  # not empty any more: only --resume goes on
        assert refused.returncode == 2, refused.stdout + refused.stderr
        assert "not empty" in refused.stderr and "--resume" in refused.stderr
        res = _migrate_meta(source, url, "--resume")
        assert res.returncode == 0, res.stdout + res.stderr
        summary = json.loads(res.stdout)
        assert summary["verified"] and summary["resumed"], summary
        assert all(t["verified"] for t in summary["tables"].values()), summary
        assert summary["tables"]["completed_uploads"]["rows"] == 2
        in_alpha = sum(1 for b, _ in source.objects if b == "alpha")
        assert summary["buckets"]["alpha"]["keys"] == in_alpha
        assert summary["buckets"]["bobs"]["keys"] == 1
        with psycopg.connect(url) as pg:  # the secrets were copied sealed, never opened
            stored = [r[0] for r in pg.execute("SELECT secret_key FROM access_keys")]
        assert len(stored) == 2 and all(k.startswith("enc:v1:") for k in stored), stored
        blobs = tmp_path / "blobs"
        blobs.mkdir()
        args = ("migrate-blobs", "--from", str(source.srv.data_dir), "--to", blobs.as_uri(),
                "--meta", url, "--json")  # fmt: skip
        first = _oortgate(source.srv, *args)
        assert first.returncode == 0, first.stdout + first.stderr
        copied = json.loads(first.stdout)
        assert copied["verified"] and copied["copied"] == copied["blobs"] == 5, (
            copied
        )  # big (and its copy), 3 parts, the noncurrent version
        src_files = _files(source.srv.data_dir)
        assert _files(blobs) == src_files  # every blob named was copied; the source kept its own
        again = json.loads(_oortgate(source.srv, *args).stdout)
        assert again["skipped"] == copied["blobs"] and again["copied"] == 0, again
        _serve_from_new_stores(source, url, blobs, tmp_path / "dst")
    finally:
        pg_service.drop_database(url)


def _files(root: Path) -> set[str]:
    return {p.name for p in (root / "blobs").rglob("*") if p.is_file()}


def _serve_from_new_stores(source: Source, url: str, blobs: Path, data_dir: Path) -> None:
    srv = ServerProcess(data_dir=data_dir, root_access_key=source.srv.root_access_key,
                        root_secret_key=source.srv.root_secret_key, metadata_url=url,
                        extra_args=["--blob-url", blobs.as_uri()])  # fmt: skip
    with srv:
        s3 = _client(srv, srv.root_access_key, srv.root_secret_key)
        for (bucket, key), body in source.objects.items():
            client = _client(srv, *source.bob) if bucket == "bobs" else s3
            assert client.get_object(Bucket=bucket, Key=key)["Body"].read() == body, key
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket="alpha")["Contents"]]
        assert keys == sorted(k for b, k in source.objects if b == "alpha")
        tags = s3.get_object_tagging(Bucket="alpha", Key="small.txt")["TagSet"]
        assert tags == [{"Key": "color", "Value": "blue"}]
        grants = s3.get_object_acl(Bucket="alpha", Key="dir/big.bin")["Grants"]
        assert any(g["Grantee"].get("URI", "").endswith("AllUsers") for g in grants), grants
        assert s3.get_bucket_tagging(Bucket="alpha")["TagSet"] == [{"Key": "team", "Value": "a"}]
        assert s3.get_bucket_cors(Bucket="alpha")["CORSRules"][0]["AllowedMethods"] == ["GET"]
        bucket, key, upload = source.open_upload
        parts = s3.list_parts(Bucket=bucket, Key=key, UploadId=upload)["Parts"]
        done = s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=upload,
            MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": parts[0]["ETag"]}]})  # fmt: skip
        assert done["ETag"]
        assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == BIG
        versions = s3.list_object_versions(Bucket="vers")
        assert versions["DeleteMarkers"][0]["IsLatest"] and len(versions["Versions"]) == 2
        old = s3.get_object(Bucket="vers", Key="k", VersionId=source.old_version)
        assert old["Body"].read() == OLD
        assert s3.get_object_lock_configuration(Bucket="locked")["ObjectLockConfiguration"]
        held = s3.head_object(Bucket="locked", Key="k")
        assert held["ObjectLockLegalHoldStatus"] == "ON"
        with s3_error("AccessDenied", 403):  # still held, on the new stores
            s3.delete_object(Bucket="locked", Key="k", VersionId=held["VersionId"])
        s3.create_bucket(Bucket="after-move")  # the id sequences moved past the copied ids
        assert srv.create_user("carol")["name"] == "carol"
        bobs = [b["Name"] for b in _client(srv, *source.bob).list_buckets()["Buckets"]]
        assert bobs == ["bobs"]
