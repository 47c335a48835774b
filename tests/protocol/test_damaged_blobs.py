"""A blob file damaged behind the server's back is an error, never a short or wrong
success: a 500-class S3 error (and a log line) when it shows before the status line, a
cut connection when it shows mid-stream. A flipped byte is found by the integrity CRC
every blob carries, on every read of the whole blob. HEAD and LIST still show the object
(they read metadata only)."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ClientError, ResponseStreamingError

from ._server import REGION, ServerProcess

MiB = 1024 * 1024


def _flip(path: Path, offset: int) -> None:
    with open(path, "r+b") as handle:
        handle.seek(offset)
        byte = handle.read(1)
        handle.seek(offset)
        handle.write(bytes([byte[0] ^ 0x01]))


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    # Every object in a file of its own (no inline objects), and no collector surprises.
    data_dir = tmp_path_factory.mktemp("damaged") / "data"
    with ServerProcess(data_dir, extra_args=["--inline-max-size", "0"]) as server:
        yield server


@pytest.fixture(scope="module")
def client(srv: ServerProcess) -> Any:
    return boto3.client(
        "s3", endpoint_url=srv.endpoint, region_name=REGION, verify=srv.cert,
        aws_access_key_id=srv.root_access_key, aws_secret_access_key=srv.root_secret_key,
        config=Config(retries={"max_attempts": 0}, s3={"addressing_style": "path"}),
    )  # fmt: skip


@pytest.fixture(scope="module")
def bucket(client: Any) -> str:
    client.create_bucket(Bucket="damaged")
    return "damaged"


def blob_paths(srv: ServerProcess, key: str) -> list[Path]:
    """The files behind an object, in order (read-only look at the metadata)."""
    db = sqlite3.connect(f"file:{srv.data_dir / 'meta.sqlite3'}?mode=ro", uri=True)
    try:
        (blob_id,) = db.execute("SELECT blob_id FROM objects WHERE key = ?", (key,)).fetchone()
        ids = [blob_id] if blob_id else [
            row[0] for row in db.execute(
                "SELECT blob_id FROM object_parts WHERE key = ? ORDER BY idx", (key,)
            )
        ]  # fmt: skip
    finally:
        db.close()
    return [srv.data_dir / "blobs" / b[:2] / b[2:4] / b for b in ids]


def _internal_error(exc: pytest.ExceptionInfo[ClientError]) -> None:
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
    assert exc.value.response["Error"]["Code"] == "InternalError"


def test_a_blob_truncated_to_nothing(client: Any, bucket: str, srv: ServerProcess) -> None:
    client.put_object(Bucket=bucket, Key="zeroed", Body=os.urandom(100_000))
    (path,) = blob_paths(srv, "zeroed")
    os.truncate(path, 0)
    with pytest.raises(ClientError) as exc:
        client.get_object(Bucket=bucket, Key="zeroed")
    _internal_error(exc)
    assert "damaged object" in srv.log_text() and "'zeroed'" in srv.log_text()
    for _ in range(30):  # a client retrying in a loop: the log does not flood
        with pytest.raises(ClientError):
            client.get_object(Bucket=bucket, Key="zeroed")
    assert srv.log_text().count("'zeroed'") <= 2
    # Metadata alone still answers: HEAD shows what the object should be.
    assert client.head_object(Bucket=bucket, Key="zeroed")["ContentLength"] == 100_000


def test_a_range_past_a_truncation(client: Any, bucket: str, srv: ServerProcess) -> None:
    client.put_object(Bucket=bucket, Key="halved", Body=os.urandom(100_000))
    (path,) = blob_paths(srv, "halved")
    os.truncate(path, 50_000)
    with pytest.raises(ClientError) as exc:
        client.get_object(Bucket=bucket, Key="halved", Range="bytes=60000-69999")
    _internal_error(exc)
    # The part that is still there reads back as it was.
    part = client.get_object(Bucket=bucket, Key="halved", Range="bytes=0-9999")
    assert part["ContentLength"] == 10_000


def test_a_deleted_blob_file_is_damage_not_a_missing_key(
    client: Any, bucket: str, srv: ServerProcess
) -> None:
    client.put_object(Bucket=bucket, Key="vanished", Body=b"x" * 50_000)
    (path,) = blob_paths(srv, "vanished")
    path.unlink()
    with pytest.raises(ClientError) as exc:
        client.get_object(Bucket=bucket, Key="vanished")
    _internal_error(exc)


def test_damage_found_mid_stream_cuts_the_connection(
    client: Any, bucket: str, srv: ServerProcess
) -> None:
    parts = [os.urandom(5 * MiB), os.urandom(5 * MiB)]
    upload = client.create_multipart_upload(Bucket=bucket, Key="multi")
    done = [
        {"PartNumber": n, "ETag": client.upload_part(
            Bucket=bucket, Key="multi", UploadId=upload["UploadId"], PartNumber=n, Body=body
        )["ETag"]}
        for n, body in enumerate(parts, 1)
    ]  # fmt: skip
    client.complete_multipart_upload(
        Bucket=bucket, Key="multi", UploadId=upload["UploadId"], MultipartUpload={"Parts": done}
    )
    os.truncate(blob_paths(srv, "multi")[1], 1000)
    # The first part streams (the status line is out), then the second is found short.
    with pytest.raises(ResponseStreamingError):
        client.get_object(Bucket=bucket, Key="multi")["Body"].read()
    params = {"Bucket": bucket, "Key": "multi"}
    presigned = client.generate_presigned_url("get_object", Params=params)
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        requests.get(presigned, verify=srv.cert, timeout=30).content  # noqa: B018
    # The server lives on and serves healthy objects.
    client.put_object(Bucket=bucket, Key="healthy", Body=b"fine")
    assert client.get_object(Bucket=bucket, Key="healthy")["Body"].read() == b"fine"
    assert "Traceback" not in srv.log_text()


def test_a_flipped_byte_is_an_error_not_wrong_data(
    client: Any, bucket: str, srv: ServerProcess
) -> None:
    # Within the first read (256 KiB): found before the status line, a 500.
    client.put_object(Bucket=bucket, Key="flipped", Body=os.urandom(200_000))
    (path,) = blob_paths(srv, "flipped")
    _flip(path, 199_999)  # the very last byte
    with pytest.raises(ClientError) as exc:
        client.get_object(Bucket=bucket, Key="flipped")
    _internal_error(exc)
    # Larger: found before the last bytes go out, so the body is cut short.
    client.put_object(Bucket=bucket, Key="flipped-big", Body=os.urandom(3 * MiB))
    (path,) = blob_paths(srv, "flipped-big")
    _flip(path, 12345)
    with pytest.raises(ResponseStreamingError):
        client.get_object(Bucket=bucket, Key="flipped-big")["Body"].read()
    # A range is served as stored (a whole-blob CRC cannot check part of a blob).
    ranged = client.get_object(Bucket=bucket, Key="flipped-big", Range="bytes=0-99")
    assert len(ranged["Body"].read()) == 100


def test_a_flipped_byte_in_a_later_part_cuts_the_connection(
    client: Any, bucket: str, srv: ServerProcess
) -> None:
    parts = [os.urandom(5 * MiB), os.urandom(MiB)]
    upload = client.create_multipart_upload(Bucket=bucket, Key="multi-flipped")
    done = [
        {"PartNumber": n, "ETag": client.upload_part(
            Bucket=bucket, Key="multi-flipped", UploadId=upload["UploadId"], PartNumber=n,
            Body=body,
        )["ETag"]}
        for n, body in enumerate(parts, 1)
    ]  # fmt: skip
    client.complete_multipart_upload(Bucket=bucket, Key="multi-flipped",
                                     UploadId=upload["UploadId"],
                                     MultipartUpload={"Parts": done})  # fmt: skip
    _flip(blob_paths(srv, "multi-flipped")[1], 12345)
    with pytest.raises(ResponseStreamingError):
        client.get_object(Bucket=bucket, Key="multi-flipped")["Body"].read()
    # A part copied from the damaged one is refused too: damage does not spread.
    target = client.create_multipart_upload(Bucket=bucket, Key="copied")
    with pytest.raises(ClientError) as exc:
        client.upload_part_copy(
            Bucket=bucket, Key="copied", UploadId=target["UploadId"], PartNumber=1,
            CopySource={"Bucket": bucket, "Key": "multi-flipped"},
            CopySourceRange="bytes=5242880-6291455",
        )  # fmt: skip
    _internal_error(exc)


def test_damaged_inline_bytes_are_an_error(tmp_path: Path) -> None:
    """Small objects live inside the metadata store: a damaged cell is found the same way."""
    with ServerProcess(tmp_path / "data") as server:
        client = boto3.client(
            "s3", endpoint_url=server.endpoint, region_name=REGION, verify=server.cert,
            aws_access_key_id=server.root_access_key,
            aws_secret_access_key=server.root_secret_key,
            config=Config(retries={"max_attempts": 0}),
        )  # fmt: skip
        client.create_bucket(Bucket="inline")
        client.put_object(Bucket="inline", Key="small", Body=b"small and inline")
        db = sqlite3.connect(server.data_dir / "meta.sqlite3")
        with db:
            db.execute("UPDATE inline_blobs SET data = ?", (b"small and INLINE",))
        db.close()
        with pytest.raises(ClientError) as exc:
            client.get_object(Bucket="inline", Key="small")
        _internal_error(exc)
