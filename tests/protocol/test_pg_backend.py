"""A real server on the PostgreSQL metadata store (``metadata_url``), on a fresh database
whose default collation is ICU en-US, driven with boto3: the object operations, listings
in byte order, multipart, copy; and how start-up and the tools treat a metadata_url."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import boto3
import psycopg
import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ClientError

from tests import pg_service

from ._server import REGION, REPO_ROOT, ServerProcess, free_port
from ._types import S3Client

# Mixed case, Latin-1, a BMP symbol, an astral character, and their byte order (which an
# en-US collation would sort as "a/…", "B", "b", "é", "Z", ...).
KEYS = ["Z", "a/1", "a/2", "b", "B", "é", "ÿ/x", "€", "\U0001f600", "b/c/d"]


@pytest.fixture(scope="module")
def pg_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    url = pg_service.create_database("proto")
    srv = ServerProcess(data_dir=tmp_path_factory.mktemp("pg") / "data", workers=2,
                        metadata_url=url)  # fmt: skip
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()
        pg_service.drop_database(url)


@pytest.fixture(scope="module")
def pg_s3(pg_server: ServerProcess) -> S3Client:
    client: S3Client = boto3.session.Session().client(
        "s3", endpoint_url=pg_server.endpoint, region_name=REGION,
        aws_access_key_id=pg_server.root_access_key,
        aws_secret_access_key=pg_server.root_secret_key, verify=pg_server.cert,
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
    )  # fmt: skip
    return client


def test_objects_and_listings_in_byte_order(pg_s3: S3Client) -> None:
    pg_s3.create_bucket(Bucket="pg-list")
    for key in KEYS:
        pg_s3.put_object(Bucket="pg-list", Key=key, Body=key.encode())
    flat = pg_s3.list_objects_v2(Bucket="pg-list")
    assert [o["Key"] for o in flat["Contents"]] == sorted(KEYS, key=lambda k: k.encode())
    rolled = pg_s3.list_objects_v2(Bucket="pg-list", Delimiter="/")
    assert [o["Key"] for o in rolled["Contents"]] == ["B", "Z", "b", "é", "€", "\U0001f600"]
    assert [p["Prefix"] for p in rolled["CommonPrefixes"]] == ["a/", "b/", "ÿ/"]
    paged = pg_s3.list_objects_v2(Bucket="pg-list", Delimiter="/", MaxKeys=3)
    assert paged["IsTruncated"] and paged["KeyCount"] == 3
    rest = pg_s3.list_objects_v2(Bucket="pg-list", Delimiter="/",
                                 ContinuationToken=paged["NextContinuationToken"])  # fmt: skip
    seen = [o["Key"] for o in paged.get("Contents", []) + rest.get("Contents", [])]
    seen += [p["Prefix"] for p in paged.get("CommonPrefixes", []) + rest.get("CommonPrefixes", [])]
    assert len(seen) == 9
    got = pg_s3.get_object(Bucket="pg-list", Key="é")
    assert got["Body"].read() == "é".encode()
    head = pg_s3.head_object(Bucket="pg-list", Key="\U0001f600")
    assert head["ContentLength"] == 4
    pg_s3.delete_object(Bucket="pg-list", Key="é")
    with pytest.raises(ClientError) as err:
        pg_s3.head_object(Bucket="pg-list", Key="é")
    assert err.value.response["Error"]["Code"] == "404"
    names = [b["Name"] for b in pg_s3.list_buckets()["Buckets"]]
    assert "pg-list" in names


def test_large_copy_and_multipart(pg_s3: S3Client) -> None:
    pg_s3.create_bucket(Bucket="pg-mp")
    big = os.urandom(300_000)  # above the inline limit: a blob file
    pg_s3.put_object(Bucket="pg-mp", Key="big", Body=big)
    pg_s3.copy_object(Bucket="pg-mp", Key="copy", CopySource={"Bucket": "pg-mp", "Key": "big"})
    pg_s3.delete_object(Bucket="pg-mp", Key="big")  # the copy keeps the shared blob
    assert pg_s3.get_object(Bucket="pg-mp", Key="copy")["Body"].read() == big
    upload = pg_s3.create_multipart_upload(Bucket="pg-mp", Key="mp")["UploadId"]
    parts = [os.urandom(5 * 1024 * 1024), b"tail"]
    etags = [pg_s3.upload_part(Bucket="pg-mp", Key="mp", UploadId=upload, PartNumber=n + 1,
                               Body=body)["ETag"] for n, body in enumerate(parts)]  # fmt: skip
    listed = pg_s3.list_multipart_uploads(Bucket="pg-mp")
    assert [u["UploadId"] for u in listed["Uploads"]] == [upload]
    done = pg_s3.complete_multipart_upload(
        Bucket="pg-mp", Key="mp", UploadId=upload,
        MultipartUpload={"Parts": [{"ETag": e, "PartNumber": n + 1} for n, e in enumerate(etags)]},
    )  # fmt: skip
    assert done["ETag"].endswith('-2"')
    assert pg_s3.get_object(Bucket="pg-mp", Key="mp")["Body"].read() == b"".join(parts)
    ranged = pg_s3.get_object(Bucket="pg-mp", Key="mp", Range="bytes=5242878-5242881")
    assert ranged["Body"].read() == parts[0][-2:] + b"ta"
    with pytest.raises(ClientError) as err:
        pg_s3.delete_bucket(Bucket="pg-mp")
    assert err.value.response["Error"]["Code"] == "BucketNotEmpty"


def test_a_key_holding_nul_is_refused_alike_on_every_store(pg_s3: S3Client, s3: S3Client) -> None:
    for client, bucket in ((pg_s3, "pg-nul"), (s3, f"emb-nul-{os.getpid()}")):
        client.create_bucket(Bucket=bucket)
        with pytest.raises(ClientError) as err:
            client.put_object(Bucket=bucket, Key="nul\x00key", Body=b"x")
        assert err.value.response["Error"]["Code"] == "InvalidURI"
        with pytest.raises(ClientError) as err:
            client.get_object(Bucket=bucket, Key="nul\x00key")
        assert err.value.response["Error"]["Code"] == "InvalidURI"
        client.delete_bucket(Bucket=bucket)


def test_an_unreachable_database_stops_the_start(tmp_path: Path) -> None:
    url = f"postgresql://postgres@127.0.0.1:{free_port()}/nothing"
    env = {k: v for k, v in os.environ.items() if not k.startswith("OORTGATE_")}
    done = subprocess.run(
        [sys.executable, "-m", "oortgate", "serve", "--data-dir", str(tmp_path / "d"),
         "--https-port", str(free_port()), "--http-port", "0", "--metadata-url", url],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert "metadata_url" in done.stderr


@pytest.mark.parametrize("command", ["gc", "admin stats", "fsck"])
def test_the_tools_on_an_unusable_metadata_url_exit_2(tmp_path: Path, command: str) -> None:
    """Each names the setting, and none falls back to a SQLite file in the data directory."""
    url = f"postgresql://postgres@127.0.0.1:{free_port()}/x"
    env = {**os.environ, "OORTGATE_METADATA_URL": url}
    tool, *rest = command.split()
    done = subprocess.run(
        [sys.executable, "-m", "oortgate", tool, "--data-dir", str(tmp_path), *rest],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert "metadata_url" in done.stderr
    assert not (tmp_path / "meta.sqlite3").exists()


def test_admin_manages_users_and_keys_on_postgres(pg_server: ServerProcess) -> None:
    """admin user/key work on PostgreSQL (OORTGATE_METADATA_URL); without it, the data
    directory of a PostgreSQL gateway is refused, never opened as SQLite."""
    pg_server.admin("user", "create", "pg-admin")
    created = pg_server.admin_json("key", "create", "pg-admin")
    assert isinstance(created, dict) and created["user"] == "pg-admin"
    listed = pg_server.admin_json("key", "list", "pg-admin")
    assert isinstance(listed, list) and [k["access_key"] for k in listed] == [created["access_key"]]
    env = {k: v for k, v in pg_server.env().items() if k != "OORTGATE_METADATA_URL"}
    done = subprocess.run(
        [sys.executable, "-m", "oortgate", "admin", "--data-dir", str(pg_server.data_dir),
         "user", "list"], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2 and "metadata_url=postgresql" in done.stderr
    assert not (pg_server.data_dir / "meta.sqlite3").exists()


def _fresh_status(url: str, cert: str) -> int:
    """One request on a new connection (so, over a run, on every worker of the server)."""
    return requests.get(url, verify=cert, timeout=30).status_code


def test_a_disabled_key_is_refused_by_every_worker_within_a_second(
    pg_server: ServerProcess,
) -> None:
    """Each worker caches keys; the admin's change reaches both by LISTEN/NOTIFY."""
    pg_server.admin("user", "create", "pg-cached")
    key = pg_server.admin_json("key", "create", "pg-cached")
    assert isinstance(key, dict)
    client = boto3.session.Session().client(
        "s3", endpoint_url=pg_server.endpoint, region_name=REGION,
        aws_access_key_id=key["access_key"], aws_secret_access_key=key["secret_key"],
        verify=pg_server.cert, config=Config(s3={"addressing_style": "path"}),
    )  # fmt: skip
    url = client.generate_presigned_url("list_buckets", ExpiresIn=600)
    assert all(_fresh_status(url, pg_server.cert) == 200 for _ in range(12))  # cached now
    pg_server.admin("key", "disable", str(key["access_key"]))
    disabled = time.monotonic()
    statuses: list[int] = []
    while time.monotonic() - disabled < 1.0:
        statuses.append(_fresh_status(url, pg_server.cert))
    assert statuses and statuses[-1] == 403, statuses
    refused = statuses.index(403)
    assert set(statuses[refused:]) == {403}, statuses  # and from then on, by every worker
    assert all(_fresh_status(url, pg_server.cert) == 403 for _ in range(12))


def test_copy_and_multipart_answer_with_the_database_clocks_time(
    pg_server: ServerProcess, pg_s3: S3Client
) -> None:
    """The stored time is the database's: with its clock an hour ahead of the gateway's,
    what CopyObject, UploadPartCopy and ListParts answer is what HEAD and listings show."""
    url = pg_server.metadata_url
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(_SKEWED_NOW.format(offset=3600))
    try:
        pg_s3.create_bucket(Bucket="pg-clock")
        before = time.time()
        pg_s3.put_object(Bucket="pg-clock", Key="src", Body=b"source")
        copied = pg_s3.copy_object(Bucket="pg-clock", Key="copy",
                                   CopySource={"Bucket": "pg-clock", "Key": "src"})  # fmt: skip
        shown = copied["CopyObjectResult"]["LastModified"]
        head = pg_s3.head_object(Bucket="pg-clock", Key="copy")
        assert shown.replace(microsecond=0) == head["LastModified"]  # (HTTP: whole seconds)
        assert shown.timestamp() > before + 3000  # the database's hour ahead
        listed = pg_s3.list_objects_v2(Bucket="pg-clock", Prefix="copy")["Contents"]
        assert [o["LastModified"] for o in listed] == [shown]
        upload = pg_s3.create_multipart_upload(Bucket="pg-clock", Key="mp")["UploadId"]
        part = pg_s3.upload_part_copy(Bucket="pg-clock", Key="mp", UploadId=upload,
                                      PartNumber=1,
                                      CopySource={"Bucket": "pg-clock", "Key": "src"})
        parts = pg_s3.list_parts(Bucket="pg-clock", Key="mp", UploadId=upload)["Parts"]
        assert [p["LastModified"] for p in parts] == [part["CopyPartResult"]["LastModified"]]
        pg_s3.abort_multipart_upload(Bucket="pg-clock", Key="mp", UploadId=upload)
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(_SKEWED_NOW.format(offset=0))


# og_now(): where every stored time comes from (see oortgate.meta.pg_schema).
_SKEWED_NOW = (
    "CREATE OR REPLACE FUNCTION og_now() RETURNS double precision LANGUAGE sql STABLE"
    " AS $$ SELECT extract(epoch FROM statement_timestamp())::double precision + {offset} $$"
)
