"""Bucket lifecycle rules (issue 20): Put/Get/DeleteBucketLifecycleConfiguration with
AWS's shapes and errors, and rules applied for real by ``oortgate lifecycle run`` and by
the gateway's own worker, on a server whose "day" is one second long
(lifecycle_day_seconds).

Expiration removes objects as DeleteObject does; AbortIncompleteMultipartUpload aborts
uploads; a Transition moves Standard objects to the Archive tier's storage class, read
back unchanged. On versioned buckets: noncurrent versions expire or move to the Archive
tier (the newest N kept), and lone delete markers go (ExpiredObjectDeleteMarker)."""

from __future__ import annotations

import datetime
import json
import os
import re
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

from tests import pg_service

from ._s3raw import RawClient, error_code
from ._server import PYTHON, REGION, REPO_ROOT, ServerProcess
from ._types import S3Client
from ._util import s3_error
from .conftest import backends_for

BACKENDS = backends_for("test_lifecycle")  # its own servers, on the suite's backends
DAY = 1.0  # seconds: the servers' lifecycle day
PAST = datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC)
ARCHIVE_CLASS = "GLACIER_IR"


def _start(base: Path, backend: str, interval: float) -> tuple[ServerProcess, str]:
    url = pg_service.create_database("lifecycle") if backend == "postgres" else ""
    srv = ServerProcess(data_dir=base / "data", metadata_url=url, extra_args=[
        "--lifecycle-day-seconds", str(DAY), "--lifecycle-interval", str(interval),
    ])  # fmt: skip
    srv.start()
    return srv, url


@pytest.fixture(scope="module", params=BACKENDS)
def server(request: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """Its own worker never gets a turn (an hour between passes): the tests run them."""
    srv, url = _start(tmp_path_factory.mktemp("lifecycle"), request.param, 3600.0)
    try:
        yield srv
    finally:
        srv.stop()
        if url:
            pg_service.drop_database(url)


def _client(server: ServerProcess) -> S3Client:
    return boto3.session.Session().client(
        "s3", endpoint_url=server.endpoint, region_name=REGION,
        aws_access_key_id=server.root_access_key, aws_secret_access_key=server.root_secret_key,
        verify=server.cert, config=Config(s3={"addressing_style": "path"}),
    )  # fmt: skip


@pytest.fixture(scope="module")
def s3(server: ServerProcess) -> S3Client:
    return _client(server)


@pytest.fixture
def bucket(s3: S3Client) -> str:
    name = f"lc-{uuid.uuid4().hex[:16]}"
    s3.create_bucket(Bucket=name)
    return name


def run_lifecycle(server: ServerProcess, day: float = DAY) -> dict[str, int]:
    """``oortgate lifecycle run --json`` on the server's stores, as an operator runs it."""
    env = server.env() | {"OORTGATE_LIFECYCLE_DAY_SECONDS": str(day)}
    res = subprocess.run(
        [PYTHON, "-m", "oortgate", "lifecycle", "--data-dir", str(server.data_dir), "run",
         "--json"], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    summary: dict[str, int] = json.loads(res.stdout.strip().splitlines()[-1])
    return summary


VARIES = "varies_by_storage_class"  # no 128 KiB floor on transitions to the Archive tier


def put_rules(s3: S3Client, bucket: str, *rules: dict[str, Any], minimum: str = "") -> Any:
    """PutBucketLifecycleConfiguration; ``minimum``: its default minimum object size."""
    extra = {"TransitionDefaultMinimumObjectSize": minimum} if minimum else {}
    return s3.put_bucket_lifecycle_configuration(
        Bucket=bucket, LifecycleConfiguration={"Rules": list(rules)}, **extra
    )


def keys(s3: S3Client, bucket: str) -> list[str]:
    return [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]


# -- the configuration ------------------------------------------------------------------
def test_put_get_delete(s3: S3Client, bucket: str) -> None:
    with s3_error("NoSuchLifecycleConfiguration", 404):
        s3.get_bucket_lifecycle_configuration(Bucket=bucket)
    rules: list[dict[str, Any]] = [
        {"ID": "logs", "Filter": {"Prefix": "logs/"}, "Status": "Enabled",
         "Expiration": {"Days": 30}},
        {"ID": "big", "Status": "Disabled",
         "Filter": {"And": {"Prefix": "v/", "Tags": [{"Key": "k", "Value": "v"}],
                            "ObjectSizeGreaterThan": 10, "ObjectSizeLessThan": 1000}},
         "Transitions": [{"Days": 5, "StorageClass": ARCHIVE_CLASS}]},
        {"ID": "dated", "Filter": {"Tag": {"Key": "t", "Value": "1"}}, "Status": "Enabled",
         "Expiration": {"Date": datetime.datetime(2031, 5, 1, tzinfo=datetime.UTC)}},
        {"ID": "uploads", "Filter": {}, "Status": "Enabled",
         "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7}},
    ]  # fmt: skip
    put_rules(s3, bucket, *rules)
    got = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    assert [r["ID"] for r in got] == ["logs", "big", "dated", "uploads"]
    assert got[0]["Filter"] == {"Prefix": "logs/"} and got[0]["Expiration"] == {"Days": 30}
    assert got[1]["Filter"] == rules[1]["Filter"] and got[1]["Status"] == "Disabled"
    assert got[1]["Transitions"] == [{"Days": 5, "StorageClass": ARCHIVE_CLASS}]
    assert got[2]["Expiration"]["Date"] == rules[2]["Expiration"]["Date"]
    assert got[3]["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 7}
    s3.delete_bucket_lifecycle(Bucket=bucket)
    with s3_error("NoSuchLifecycleConfiguration", 404):
        s3.get_bucket_lifecycle_configuration(Bucket=bucket)


def test_legacy_prefix_rule_shown_as_put(s3: S3Client, bucket: str) -> None:
    s3.put_bucket_lifecycle(Bucket=bucket, LifecycleConfiguration={"Rules": [
        {"ID": "old", "Prefix": "tmp/", "Status": "Enabled", "Expiration": {"Days": 1}}]})
    (rule,) = s3.get_bucket_lifecycle(Bucket=bucket)["Rules"]
    assert rule["Prefix"] == "tmp/" and rule["Expiration"] == {"Days": 1}


@pytest.mark.parametrize(
    ("rule", "code", "status"),
    [
        ({"ID": "r", "Filter": {}, "Status": "Enabled", "Expiration": {"Days": 0}},
         "InvalidArgument", 400),
        ({"ID": "r", "Filter": {}, "Status": "Enabled"}, "InvalidArgument", 400),
        ({"ID": "r", "Filter": {}, "Status": "Enabled",
          "Expiration": {"Date": datetime.datetime(2031, 1, 1, 12, tzinfo=datetime.UTC)}},
         "InvalidArgument", 400),
        ({"ID": "r", "Filter": {}, "Status": "Enabled",
          "Transitions": [{"Days": 1, "StorageClass": "STANDARD_IA"}]}, "InvalidArgument", 400),
        ({"ID": "r", "Filter": {"Tag": {"Key": "k", "Value": "v"}}, "Status": "Enabled",
          "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1}}, "InvalidRequest", 400),
        ({"ID": "r", "Filter": {}, "Status": "Enabled", "NoncurrentVersionTransitions": [
            {"NoncurrentDays": 3, "StorageClass": "STANDARD_IA"}]}, "InvalidArgument", 400),
        ({"ID": "r", "Filter": {}, "Status": "Enabled",
          "NoncurrentVersionExpiration": {"NoncurrentDays": 0}}, "InvalidArgument", 400),
        ({"ID": "r", "Filter": {}, "Status": "Enabled",
          "NoncurrentVersionExpiration": {"NoncurrentDays": 2}, "NoncurrentVersionTransitions": [
              {"NoncurrentDays": 2, "StorageClass": ARCHIVE_CLASS}]}, "InvalidArgument", 400),
        ({"ID": "r", "Filter": {}, "Status": "Enabled",
          "Expiration": {"Days": 3, "ExpiredObjectDeleteMarker": True}}, "MalformedXML", 400),
        ({"ID": "r", "Filter": {"Tag": {"Key": "k", "Value": "v"}}, "Status": "Enabled",
          "Expiration": {"ExpiredObjectDeleteMarker": True}}, "InvalidRequest", 400),
    ],
)  # fmt: skip
def test_refused_and_nothing_stored(
    s3: S3Client, bucket: str, rule: dict[str, Any], code: str, status: int
) -> None:
    with s3_error(code, status):
        put_rules(s3, bucket, rule)
    with s3_error("NoSuchLifecycleConfiguration", 404):
        s3.get_bucket_lifecycle_configuration(Bucket=bucket)


def test_duplicate_ids_refused(s3: S3Client, bucket: str) -> None:
    rule = {"ID": "same", "Filter": {}, "Status": "Enabled", "Expiration": {"Days": 1}}
    with s3_error("InvalidArgument", 400):
        put_rules(s3, bucket, rule, rule)


def test_raw_errors(server: ServerProcess, bucket: str) -> None:
    raw = RawClient(server.endpoint, server.host, server.cert, server.root_access_key,
                    server.root_secret_key)  # fmt: skip
    body = (b"<LifecycleConfiguration><Rule><ID>r</ID><Filter/><Status>Enabled</Status>"
            b"<Expiration><Days>1</Days></Expiration></Rule></LifecycleConfiguration>")
    resp = raw.request("PUT", bucket, query={"lifecycle": ""}, body=body)
    assert resp.status_code == 400 and b"Content-MD5" in resp.content, resp.text
    assert error_code(resp.content) == "InvalidRequest"
    import base64
    import hashlib

    md5 = {"Content-MD5": base64.b64encode(hashlib.md5(b"<x").digest()).decode()}
    resp = raw.request("PUT", bucket, query={"lifecycle": ""}, headers=md5, body=b"<x")
    assert error_code(resp.content) == "MalformedXML", resp.text
    md5 = {"Content-MD5": base64.b64encode(hashlib.md5(body).digest()).decode()}
    resp = raw.request("PUT", bucket, query={"lifecycle": ""}, headers=md5, body=body)
    assert resp.status_code == 200, resp.text


def test_other_users_may_not(server: ServerProcess, s3: S3Client, bucket: str) -> None:
    user = server.create_user(f"lc{uuid.uuid4().hex[:8]}")
    key = server.create_key(user["name"])
    other = boto3.session.Session().client(
        "s3", endpoint_url=server.endpoint, region_name=REGION,
        aws_access_key_id=str(key["access_key"]), aws_secret_access_key=str(key["secret_key"]),
        verify=server.cert, config=Config(s3={"addressing_style": "path"}),
    )  # fmt: skip
    with s3_error("AccessDenied", 403):
        put_rules(other, bucket, {"ID": "r", "Filter": {}, "Status": "Enabled",
                                  "Expiration": {"Days": 1}})  # fmt: skip
    with s3_error("AccessDenied", 403):
        other.get_bucket_lifecycle_configuration(Bucket=bucket)


# -- the rules applied ------------------------------------------------------------------
def test_expiration_by_prefix_tag_and_size(
    server: ServerProcess, s3: S3Client, bucket: str
) -> None:
    put_rules(
        s3, bucket,
        {"ID": "p", "Filter": {"Prefix": "logs/"}, "Status": "Enabled",
         "Expiration": {"Date": PAST}},
        {"ID": "t", "Filter": {"Tag": {"Key": "temp", "Value": "yes"}}, "Status": "Enabled",
         "Expiration": {"Date": PAST}},
        {"ID": "s", "Filter": {"ObjectSizeGreaterThan": 100}, "Status": "Enabled",
         "Expiration": {"Date": PAST}},
        {"ID": "off", "Filter": {"Prefix": "keep/"}, "Status": "Disabled",
         "Expiration": {"Date": PAST}},
    )  # fmt: skip
    s3.put_object(Bucket=bucket, Key="logs/a", Body=b"a")
    s3.put_object(Bucket=bucket, Key="tagged", Body=b"b", Tagging="temp=yes")
    s3.put_object(Bucket=bucket, Key="other-tag", Body=b"c", Tagging="temp=no")
    s3.put_object(Bucket=bucket, Key="big", Body=b"x" * 200_000)
    s3.put_object(Bucket=bucket, Key="keep/small", Body=b"d")
    summary = run_lifecycle(server)
    assert summary["expired"] >= 3
    assert keys(s3, bucket) == ["keep/small", "other-tag"]
    with s3_error("NoSuchKey", 404):
        s3.get_object(Bucket=bucket, Key="big")
    assert s3.get_object(Bucket=bucket, Key="other-tag")["Body"].read() == b"c"
    run_lifecycle(server)  # a second pass finds nothing more to do
    assert keys(s3, bucket) == ["keep/small", "other-tag"]


def test_expiration_on_a_versioned_bucket_writes_a_delete_marker(
    server: ServerProcess, s3: S3Client, bucket: str
) -> None:
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    v1 = s3.put_object(Bucket=bucket, Key="logs/a", Body=b"a")["VersionId"]
    put_rules(s3, bucket, {"ID": "p", "Filter": {"Prefix": "logs/"}, "Status": "Enabled",
                           "Expiration": {"Date": PAST}})  # fmt: skip
    assert run_lifecycle(server)["expired"] >= 1
    assert keys(s3, bucket) == []
    page = s3.list_object_versions(Bucket=bucket)
    [marker] = page["DeleteMarkers"]
    assert marker["Key"] == "logs/a" and marker["IsLatest"] is True
    assert [(v["VersionId"], v["IsLatest"]) for v in page["Versions"]] == [(v1, False)]
    assert s3.get_object(Bucket=bucket, Key="logs/a", VersionId=v1)["Body"].read() == b"a"
    run_lifecycle(server)  # the marker is no current object: nothing more expires
    assert len(s3.list_object_versions(Bucket=bucket)["DeleteMarkers"]) == 1


def test_noncurrent_versions_expire(server: ServerProcess, s3: S3Client, bucket: str) -> None:
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    made = [s3.put_object(Bucket=bucket, Key="k", Body=str(n).encode())["VersionId"]
            for n in range(5)]  # fmt: skip
    s3.put_object(Bucket=bucket, Key="other/k", Body=b"1")
    old_other = s3.put_object(Bucket=bucket, Key="other/k", Body=b"2")  # under no rule
    action = {"NoncurrentDays": 4, "NewerNoncurrentVersions": 2}
    put_rules(s3, bucket, {"ID": "nc", "Filter": {"Prefix": "k"}, "Status": "Enabled",
                           "NoncurrentVersionExpiration": action})  # fmt: skip
    got = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"][0]
    assert got["NoncurrentVersionExpiration"] == action
    run_lifecycle(server, day=3600)  # 4 days have not passed yet: every version stays
    assert len(s3.list_object_versions(Bucket=bucket, Prefix="k")["Versions"]) == 5
    newest = s3.head_object(Bucket=bucket, Key="k")["LastModified"].timestamp()
    time.sleep(max(0.0, newest + 6 * DAY - time.time()))  # 4 days, rounded up, have passed
    run_lifecycle(server)
    left = [v["VersionId"] for v in s3.list_object_versions(Bucket=bucket, Prefix="k")["Versions"]]
    assert left == [made[4], made[3], made[2]]  # the current and the 2 newest noncurrent
    others = s3.list_object_versions(Bucket=bucket, Prefix="other/")["Versions"]
    assert len(others) == 2 and others[0]["VersionId"] == old_other["VersionId"]


def test_locked_versions_outlive_their_rules(server: ServerProcess, s3: S3Client) -> None:
    """NoncurrentVersionExpiration skips a version under a legal hold or a retention;
    the others go as usual (and the held one goes on a later run once released)."""
    name = f"lc-{uuid.uuid4().hex[:16]}"
    s3.create_bucket(Bucket=name, ObjectLockEnabledForBucket=True)
    far = datetime.datetime(2100, 1, 1, tzinfo=datetime.UTC)
    held = s3.put_object(Bucket=name, Key="k", Body=b"1")["VersionId"]
    s3.put_object_legal_hold(Bucket=name, Key="k", VersionId=held, LegalHold={"Status": "ON"})
    retained = s3.put_object(Bucket=name, Key="k", Body=b"2", ObjectLockMode="GOVERNANCE",
                             ObjectLockRetainUntilDate=far)["VersionId"]  # fmt: skip
    free = s3.put_object(Bucket=name, Key="k", Body=b"3")["VersionId"]
    current = s3.put_object(Bucket=name, Key="k", Body=b"4")["VersionId"]
    put_rules(s3, name, {"ID": "nc", "Filter": {}, "Status": "Enabled",
                         "NoncurrentVersionExpiration": {"NoncurrentDays": 1}})  # fmt: skip
    newest = s3.head_object(Bucket=name, Key="k")["LastModified"].timestamp()
    time.sleep(max(0.0, newest + 3 * DAY - time.time()))  # a day, rounded up, has passed
    run_lifecycle(server)
    left = [v["VersionId"] for v in s3.list_object_versions(Bucket=name)["Versions"]]
    assert left == [current, retained, held]  # only the unlocked noncurrent one went
    assert free not in left
    s3.put_object_legal_hold(Bucket=name, Key="k", VersionId=held, LegalHold={"Status": "OFF"})
    run_lifecycle(server)
    left = [v["VersionId"] for v in s3.list_object_versions(Bucket=name)["Versions"]]
    assert left == [current, retained]


def test_versioned_actions_put_and_shown(s3: S3Client, bucket: str) -> None:
    rules: list[dict[str, Any]] = [
        {"ID": "markers", "Filter": {"Prefix": "m/"}, "Status": "Enabled",
         "Expiration": {"ExpiredObjectDeleteMarker": True}},
        {"ID": "old", "Filter": {}, "Status": "Enabled",
         "NoncurrentVersionTransitions": [{"NoncurrentDays": 5, "StorageClass": ARCHIVE_CLASS,
                                           "NewerNoncurrentVersions": 3}],
         "NoncurrentVersionExpiration": {"NoncurrentDays": 30}},
    ]  # fmt: skip
    put_rules(s3, bucket, *rules)
    got = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    assert got[0]["Expiration"] == {"ExpiredObjectDeleteMarker": True}
    assert got[1]["NoncurrentVersionTransitions"] == rules[1]["NoncurrentVersionTransitions"]
    assert got[1]["NoncurrentVersionExpiration"] == {"NoncurrentDays": 30}


def _versioned(s3: S3Client, bucket: str) -> None:
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})


def _markers(s3: S3Client, bucket: str) -> list[str]:
    return sorted(m["Key"] for m in s3.list_object_versions(Bucket=bucket).get(
        "DeleteMarkers", []))  # fmt: skip


def test_expired_delete_markers_go(server: ServerProcess, s3: S3Client, bucket: str) -> None:
    _versioned(s3, bucket)
    for key in ("m/lone", "m/shadowing", "m/later", "other/lone"):
        s3.put_object(Bucket=bucket, Key=key, Body=b"v")
        s3.delete_object(Bucket=bucket, Key=key)
    for key in ("m/lone", "other/lone"):  # their only version goes: the marker is alone
        (version,) = s3.list_object_versions(Bucket=bucket, Prefix=key)["Versions"]
        s3.delete_object(Bucket=bucket, Key=key, VersionId=version["VersionId"])
    put_rules(
        s3, bucket,
        {"ID": "dm", "Filter": {"Prefix": "m/"}, "Status": "Enabled",
         "Expiration": {"ExpiredObjectDeleteMarker": True}},
        {"ID": "nc", "Filter": {"Prefix": "m/later"}, "Status": "Enabled",
         "NoncurrentVersionExpiration": {"NoncurrentDays": 1}},
    )  # fmt: skip
    run_lifecycle(server, day=3600)  # m/later's version is not due yet: its marker stays
    assert _markers(s3, bucket) == ["m/later", "m/shadowing", "other/lone"]
    time.sleep(2 * DAY + 0.1)  # a day, rounded up to the next midnight, has passed
    summary = run_lifecycle(server)
    # m/later: its noncurrent version expired, then its marker was alone and went too.
    assert summary["expired"] >= 2
    assert _markers(s3, bucket) == ["m/shadowing", "other/lone"]
    left = s3.list_object_versions(Bucket=bucket, Prefix="m/")
    assert [v["Key"] for v in left["Versions"]] == ["m/shadowing"]
    s3.put_object(Bucket=bucket, Key="m/lone", Body=b"back")  # a key in use again
    assert s3.get_object(Bucket=bucket, Key="m/lone")["Body"].read() == b"back"


def test_expiration_days_also_remove_old_lone_markers(
    server: ServerProcess, s3: S3Client, bucket: str
) -> None:
    """As AWS documents it: an Expiration with Days cleans up a lone delete marker once
    the marker is that old (a Date never does)."""
    _versioned(s3, bucket)
    version = s3.put_object(Bucket=bucket, Key="x/gone", Body=b"v")["VersionId"]
    s3.delete_object(Bucket=bucket, Key="x/gone")
    s3.delete_object(Bucket=bucket, Key="x/gone", VersionId=version)  # the marker is alone
    s3.put_object(Bucket=bucket, Key="x/live", Body=b"v")
    put_rules(s3, bucket, {"ID": "d", "Filter": {"Prefix": "x/"}, "Status": "Enabled",
                           "Expiration": {"Days": 1}})  # fmt: skip
    run_lifecycle(server, day=3600)  # a day has not passed: nothing happens
    assert _markers(s3, bucket) == ["x/gone"] and keys(s3, bucket) == ["x/live"]
    time.sleep(2 * DAY + 0.1)
    run_lifecycle(server)
    # x/live expired under a new marker (not alone: its version stays); x/gone's went.
    assert _markers(s3, bucket) == ["x/live"] and keys(s3, bucket) == []


def _packed(server: ServerProcess) -> int:
    """Compressed blobs (the Archive tier's: their ids end in "z")."""
    return sum(1 for p in (server.data_dir / "blobs").rglob("*z") if p.is_file())


def test_noncurrent_versions_move_to_the_archive_class(
    server: ServerProcess, s3: S3Client, bucket: str
) -> None:
    _versioned(s3, bucket)
    part = os.urandom(5 * 1024 * 1024)  # a multipart version: its parts move one by one
    upload = s3.create_multipart_upload(Bucket=bucket, Key="k")["UploadId"]
    etags = [s3.upload_part(Bucket=bucket, Key="k", UploadId=upload, PartNumber=n, Body=data)[
        "ETag"] for n, data in ((1, part), (2, b"tail"))]  # fmt: skip
    done = s3.complete_multipart_upload(
        Bucket=bucket, Key="k", UploadId=upload,
        MultipartUpload={"Parts": [{"PartNumber": n + 1, "ETag": e} for n, e in enumerate(etags)]},
    )  # fmt: skip
    made = [done["VersionId"]]
    bodies = [part + b"tail", os.urandom(50_000) + b"z" * 300_000, b"tiny",
              os.urandom(1000) * 300, b"now"]  # fmt: skip
    made += [s3.put_object(Bucket=bucket, Key="k", Body=b)["VersionId"] for b in bodies[1:]]
    s3.put_object(Bucket=bucket, Key="other", Body=b"1")
    s3.put_object(Bucket=bucket, Key="other", Body=b"2")  # its noncurrent one: under no rule
    before = {v["VersionId"]: v for v in s3.list_object_versions(Bucket=bucket)["Versions"]}
    move = [{"NoncurrentDays": 1, "StorageClass": ARCHIVE_CLASS, "NewerNoncurrentVersions": 1}]
    put_rules(s3, bucket, {"ID": "nct", "Filter": {"Prefix": "k"}, "Status": "Enabled",
                           "NoncurrentVersionTransitions": move}, minimum=VARIES)  # fmt: skip
    assert run_lifecycle(server, day=3600)["transitioned"] == 0  # not a day old yet
    time.sleep(2 * DAY + 0.1)
    packed = _packed(server)
    assert run_lifecycle(server)["transitioned"] == 3  # all but the newest noncurrent one
    assert _packed(server) >= packed + 3  # two parts and a blob rewritten (tiny is inline)
    listed = s3.list_object_versions(Bucket=bucket)["Versions"]
    classes = {v["VersionId"]: v["StorageClass"] for v in listed}
    assert [classes[v] for v in made] == [ARCHIVE_CLASS] * 3 + ["STANDARD"] * 2
    assert [v["StorageClass"] for v in listed if v["Key"] == "other"] == ["STANDARD"] * 2
    for version_id, data in zip(made, bodies, strict=True):
        got = s3.get_object(Bucket=bucket, Key="k", VersionId=version_id)
        assert got["Body"].read() == data and got["ETag"] == before[version_id]["ETag"]
        modified = before[version_id]["LastModified"].timestamp()  # (a GET says seconds)
        assert got["LastModified"].timestamp() == int(modified)
        assert got.get("StorageClass", "STANDARD") == classes[version_id]
    ranged = s3.get_object(Bucket=bucket, Key="k", VersionId=made[0], Range="bytes=5242870-5242889")
    assert ranged["Body"].read() == bodies[0][5242870:5242890]
    current = s3.head_object(Bucket=bucket, Key="k")
    assert current["VersionId"] == made[4] and "StorageClass" not in current
    assert run_lifecycle(server)["transitioned"] == 0  # done once


def test_expiration_after_days_and_its_header(
    server: ServerProcess, s3: S3Client, bucket: str
) -> None:
    put_rules(s3, bucket, {"ID": 'soon "1"', "Filter": {"Prefix": "d/"}, "Status": "Enabled",
                           "Expiration": {"Days": 2}})  # fmt: skip
    put = s3.put_object(Bucket=bucket, Key="d/x", Body=b"x")
    s3.put_object(Bucket=bucket, Key="e/y", Body=b"y")
    header = put["ResponseMetadata"]["HTTPHeaders"]["x-amz-expiration"]
    head = s3.head_object(Bucket=bucket, Key="d/x")
    assert head["Expiration"] == header == s3.get_object(Bucket=bucket, Key="d/x")["Expiration"]
    match = re.fullmatch(r'expiry-date="([^"]+)", rule-id="soon \\"1\\""', header)
    assert match, header
    expiry = datetime.datetime.strptime(match[1], "%a, %d %b %Y %H:%M:%S GMT").replace(
        tzinfo=datetime.UTC)  # fmt: skip
    modified = head["LastModified"].timestamp()
    assert modified + 2 * DAY <= expiry.timestamp() < modified + 3 * DAY + 1
    assert "Expiration" not in s3.head_object(Bucket=bucket, Key="e/y")
    copied = s3.copy_object(Bucket=bucket, Key="d/copy", CopySource=f"{bucket}/e/y")
    assert 'rule-id="soon \\"1\\""' in copied["Expiration"]
    upload = s3.create_multipart_upload(Bucket=bucket, Key="d/mp")["UploadId"]
    part = s3.upload_part(Bucket=bucket, Key="d/mp", UploadId=upload, PartNumber=1, Body=b"m")
    done = s3.complete_multipart_upload(
        Bucket=bucket, Key="d/mp", UploadId=upload,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]},
    )  # fmt: skip
    assert 'rule-id="soon \\"1\\""' in done["Expiration"]
    run_lifecycle(server)
    if time.time() < expiry.timestamp():  # the pass ran before the expiry: untouched
        assert keys(s3, bucket) == ["d/copy", "d/mp", "d/x", "e/y"]
    time.sleep(max(0.0, expiry.timestamp() - time.time()) + DAY + 0.1)  # all of d/ is due
    run_lifecycle(server)
    assert keys(s3, bucket) == ["e/y"]


def test_abort_incomplete_uploads(server: ServerProcess, s3: S3Client, bucket: str) -> None:
    abort = {"DaysAfterInitiation": 1}
    put_rules(s3, bucket, {"ID": "a", "Filter": {"Prefix": "up/"}, "Status": "Enabled",
                           "AbortIncompleteMultipartUpload": abort})  # fmt: skip
    gone = s3.create_multipart_upload(Bucket=bucket, Key="up/big")["UploadId"]
    s3.upload_part(Bucket=bucket, Key="up/big", UploadId=gone, PartNumber=1, Body=b"p" * 1000)
    kept = s3.create_multipart_upload(Bucket=bucket, Key="other")["UploadId"]
    time.sleep(2 * DAY + 0.1)  # past the next "midnight" after a day
    assert run_lifecycle(server)["aborted"] == 1
    uploads = s3.list_multipart_uploads(Bucket=bucket).get("Uploads", [])
    assert [u["UploadId"] for u in uploads] == [kept]
    with s3_error("NoSuchUpload", 404):
        s3.list_parts(Bucket=bucket, Key="up/big", UploadId=gone)


def test_transition_to_the_archive_class(
    server: ServerProcess, s3: S3Client, bucket: str
) -> None:
    move = [{"Date": PAST, "StorageClass": ARCHIVE_CLASS}]
    put_rules(s3, bucket, {"ID": "arch", "Filter": {"Prefix": "a/"}, "Status": "Enabled",
                           "Transitions": move}, minimum=VARIES)  # fmt: skip
    big = os.urandom(100_000) + b"z" * 400_000  # a blob, partly compressible
    s3.put_object(Bucket=bucket, Key="a/big", Body=big)
    s3.put_object(Bucket=bucket, Key="a/small", Body=b"tiny")  # inline in the metadata
    s3.put_object(Bucket=bucket, Key="b/stays", Body=b"standard")
    before = s3.head_object(Bucket=bucket, Key="a/big")
    assert run_lifecycle(server)["transitioned"] == 2
    # Rewritten compressed (a compressed blob's id ends in "z"), smaller than the object.
    packed = [p for p in (server.data_dir / "blobs").rglob("*z") if p.is_file()]
    assert packed and min(p.stat().st_size for p in packed) < len(big) // 2
    for key, data in (("a/big", big), ("a/small", b"tiny")):
        head = s3.head_object(Bucket=bucket, Key=key)
        assert head["StorageClass"] == ARCHIVE_CLASS
        got = s3.get_object(Bucket=bucket, Key=key)
        assert got["Body"].read() == data and got["StorageClass"] == ARCHIVE_CLASS
    after = s3.head_object(Bucket=bucket, Key="a/big")
    assert (after["ETag"], after["LastModified"]) == (before["ETag"], before["LastModified"])
    assert s3.get_object(Bucket=bucket, Key="a/big", Range="bytes=99990-100009")[
        "Body"].read() == big[99990:100010]  # fmt: skip
    listed = {o["Key"]: o["StorageClass"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]}
    assert listed == {"a/big": ARCHIVE_CLASS, "a/small": ARCHIVE_CLASS, "b/stays": "STANDARD"}
    assert run_lifecycle(server)["transitioned"] == 0  # done once


def test_the_default_minimum_object_size_of_transitions(
    server: ServerProcess, s3: S3Client, bucket: str
) -> None:
    """As AWS since 2024: by default no object under 128 KiB is transitioned, unless its
    rule's own size filter says so; varies_by_storage_class lifts the floor for the
    Archive tier's class (AWS's Glacier classes). Get shows the choice back."""
    move = [{"Date": PAST, "StorageClass": ARCHIVE_CLASS}]
    rules = [{"ID": "plain", "Filter": {"Prefix": "p/"}, "Status": "Enabled", "Transitions": move},
             {"ID": "sized", "Filter": {"And": {"Prefix": "s/", "ObjectSizeGreaterThan": 1}},
              "Status": "Enabled", "Transitions": move}]  # fmt: skip
    put = put_rules(s3, bucket, *rules)
    assert put["TransitionDefaultMinimumObjectSize"] == "all_storage_classes_128K"
    got = s3.get_bucket_lifecycle_configuration(Bucket=bucket)
    assert got["TransitionDefaultMinimumObjectSize"] == "all_storage_classes_128K"
    floor = 128 * 1024
    for key, size in (("p/small", floor - 1), ("p/big", floor), ("s/small", 1000)):
        s3.put_object(Bucket=bucket, Key=key, Body=os.urandom(size))
    assert run_lifecycle(server)["transitioned"] == 2

    def classes() -> dict[str, str]:
        listed = s3.list_objects_v2(Bucket=bucket)["Contents"]
        return {o["Key"]: o["StorageClass"] for o in listed}

    assert classes() == {"p/small": "STANDARD", "p/big": ARCHIVE_CLASS, "s/small": ARCHIVE_CLASS}
    put = put_rules(s3, bucket, *rules, minimum=VARIES)
    assert put["TransitionDefaultMinimumObjectSize"] == VARIES
    got = s3.get_bucket_lifecycle_configuration(Bucket=bucket)
    assert got["TransitionDefaultMinimumObjectSize"] == VARIES
    assert run_lifecycle(server)["transitioned"] == 1
    assert set(classes().values()) == {ARCHIVE_CLASS}
    with s3_error("InvalidArgument", 400):
        put_rules(s3, bucket, *rules, minimum="64K")
    assert s3.get_bucket_lifecycle_configuration(Bucket=bucket)[
        "TransitionDefaultMinimumObjectSize"] == VARIES  # fmt: skip


def test_the_gateway_applies_rules_by_itself(tmp_path: Path) -> None:
    srv, url = _start(tmp_path, BACKENDS[0], 0.5)
    try:
        s3 = _client(srv)
        s3.create_bucket(Bucket="self-applied")
        put_rules(s3, "self-applied", {"ID": "x", "Filter": {}, "Status": "Enabled",
                                       "Expiration": {"Date": PAST}})  # fmt: skip
        s3.put_object(Bucket="self-applied", Key="k", Body=b"v")
        deadline = time.monotonic() + 60  # a bound on the wait, not a speed check
        while keys(s3, "self-applied") and time.monotonic() < deadline:
            time.sleep(0.2)
        assert keys(s3, "self-applied") == []
    finally:
        srv.stop()
        if url:
            pg_service.drop_database(url)
