"""RestoreObject of an archived noncurrent version (versionId), with boto3, on each of
the suite's metadata stores: with --archive-restore-required, a noncurrent version of
the Archive tier follows the current one's Glacier rules (GET refused until restored,
x-amz-restore on HEAD, 202 then 409 while in progress, 200 when extended)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
from botocore.config import Config

from tests import pg_service

from ._server import REGION, ServerProcess, free_port
from ._util import s3_error
from .conftest import backends_for

RESTORE_SECONDS = 1.0


class _ArchiveServer:
    """A server whose second HTTPS port stands for the Archive endpoint."""

    def __init__(self, base: Path, metadata_url: str) -> None:
        self.archive_port = free_port()
        self.srv = ServerProcess(data_dir=base / "data", metadata_url=metadata_url, extra_args=[
            "--archive-https-port", str(self.archive_port), "--archive-restore-required",
            "true", "--archive-restore-seconds", str(RESTORE_SECONDS),
        ])  # fmt: skip

    def start(self) -> None:
        self.srv.start()
        deadline = time.monotonic() + 20
        while True:  # the archive listener is a child process of its own
            try:
                requests.get(f"{self.url}/_health/live", verify=self.srv.cert, timeout=2)
                return
            except requests.RequestException:
                if time.monotonic() > deadline:
                    self.srv.stop()
                    raise RuntimeError("archive port not ready:\n" + self.srv.log_text()) from None
                time.sleep(0.1)

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.archive_port}"


@pytest.fixture(scope="module", params=backends_for("test_archive_versions"))
def archive(request: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A root client of the Archive endpoint."""
    url = pg_service.create_database("archive") if request.param == "postgres" else ""
    server = _ArchiveServer(tmp_path_factory.mktemp("archive-versions"), url)
    server.start()
    try:
        yield boto3.session.Session().client(
            "s3", endpoint_url=server.url, region_name=REGION,
            aws_access_key_id=server.srv.root_access_key,
            aws_secret_access_key=server.srv.root_secret_key, verify=server.srv.cert,
            config=Config(s3={"addressing_style": "path"}),
        )  # fmt: skip
    finally:
        server.srv.stop()
        if url:
            pg_service.drop_database(url)


@pytest.fixture
def versioned(archive: Any) -> str:
    name = f"arcv-{uuid.uuid4().hex[:16]}"
    archive.create_bucket(Bucket=name)
    archive.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    return name


def _status(resp: dict[str, Any]) -> int:
    return int(resp["ResponseMetadata"]["HTTPStatusCode"])


def test_restore_of_a_noncurrent_version(archive: Any, versioned: str) -> None:
    old = archive.put_object(Bucket=versioned, Key="k", Body=b"old bytes")["VersionId"]
    new = archive.put_object(Bucket=versioned, Key="k", Body=b"new bytes")["VersionId"]
    with s3_error("InvalidObjectState", 403):
        archive.get_object(Bucket=versioned, Key="k", VersionId=old)
    assert "Restore" not in archive.head_object(Bucket=versioned, Key="k", VersionId=old)

    first = archive.restore_object(Bucket=versioned, Key="k", VersionId=old,
                                   RestoreRequest={"Days": 1})  # fmt: skip
    assert _status(first) == 202
    with s3_error("RestoreAlreadyInProgress", 409):
        archive.restore_object(Bucket=versioned, Key="k", VersionId=old,
                               RestoreRequest={"Days": 1})  # fmt: skip
    head = archive.head_object(Bucket=versioned, Key="k", VersionId=old)
    assert head["Restore"] == 'ongoing-request="true"'
    # The restore is the version's alone: the current one is still not restored.
    assert "Restore" not in archive.head_object(Bucket=versioned, Key="k")
    with s3_error("InvalidObjectState", 403):
        archive.get_object(Bucket=versioned, Key="k")

    deadline = time.monotonic() + 15
    while 'ongoing-request="true"' in archive.head_object(
        Bucket=versioned, Key="k", VersionId=old
    ).get("Restore", ""):
        assert time.monotonic() < deadline, "restore never completed"
        time.sleep(0.2)
    head = archive.head_object(Bucket=versioned, Key="k", VersionId=old)
    assert head["Restore"].startswith('ongoing-request="false", expiry-date=')
    got = archive.get_object(Bucket=versioned, Key="k", VersionId=old)
    assert got["Body"].read() == b"old bytes" and got["VersionId"] == old
    again = archive.restore_object(Bucket=versioned, Key="k", VersionId=old,
                                   RestoreRequest={"Days": 3})  # fmt: skip
    assert _status(again) == 200
    extended = archive.head_object(Bucket=versioned, Key="k", VersionId=old)["Restore"]
    assert extended != head["Restore"]  # the expiry moved on
    with s3_error("InvalidObjectState", 403):
        archive.get_object(Bucket=versioned, Key="k", VersionId=new)


def test_restore_of_missing_versions_and_markers(archive: Any, versioned: str) -> None:
    archive.put_object(Bucket=versioned, Key="k", Body=b"x")
    marker = archive.delete_object(Bucket=versioned, Key="k")["VersionId"]
    with s3_error("MethodNotAllowed", 405):
        archive.restore_object(Bucket=versioned, Key="k", VersionId=marker,
                               RestoreRequest={"Days": 1})  # fmt: skip
    with s3_error("NoSuchKey", 404):  # the current version is the marker
        archive.restore_object(Bucket=versioned, Key="k", RestoreRequest={"Days": 1})
    with s3_error("NoSuchVersion", 404):
        archive.restore_object(Bucket=versioned, Key="k", VersionId="0" * 23,
                               RestoreRequest={"Days": 1})  # fmt: skip
