"""The dashboard's request chart for a user who is not root: only the requests signed
with their keys or sent to their buckets, on a server of two workers, with two users."""

from __future__ import annotations

import time
from collections.abc import Iterator

import boto3
import pytest
import requests
from botocore.config import Config

from ._console import ConsoleClient
from ._server import REGION, ServerProcess
from ._types import S3Client
from ._util import s3_error


@pytest.fixture(scope="module")
def two_workers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    data = tmp_path_factory.mktemp("console-user-traffic") / "data"
    with ServerProcess(data_dir=data, workers=2) as srv:
        yield srv


def _user(srv: ServerProcess, name: str) -> tuple[S3Client, ConsoleClient]:
    srv.create_user(name)
    key = srv.create_key(name)
    access_key, secret_key = str(key["access_key"]), str(key["secret_key"])
    client = boto3.session.Session().client(
        "s3", endpoint_url=srv.endpoint, region_name=REGION, aws_access_key_id=access_key,
        aws_secret_access_key=secret_key, verify=srv.cert,
        config=Config(s3={"addressing_style": "path"}, retries={"total_max_attempts": 1}),
    )  # fmt: skip
    console = ConsoleClient(srv)
    assert console.sign_in(access_key, secret_key).status_code == 303
    return client, console


def _totals(console: ConsoleClient) -> tuple[int, int, int]:
    answer = console.get("api/traffic")
    assert answer.status_code == 200, answer.text
    minutes = answer.json()["minutes"]
    assert len(minutes) == 60 and answer.json()["scope"] == "user"
    return (sum(m["requests"] for m in minutes), sum(m["client_errors"] for m in minutes),
            sum(m["server_errors"] for m in minutes))  # fmt: skip


def test_each_user_sees_only_their_own_keys_and_buckets_traffic(
    two_workers: ServerProcess,
) -> None:
    srv = two_workers
    alice, alice_console = _user(srv, "alice")
    bob, bob_console = _user(srv, "bob")
    assert _totals(alice_console) == _totals(bob_console) == (0, 0, 0)
    # Alice: 1 CreateBucket + 3 PUTs + 2 GETs of missing keys (404) = 6 requests, 2 errors.
    alice.create_bucket(Bucket="alice-b")
    for i in range(3):
        alice.put_object(Bucket="alice-b", Key=f"k{i}", Body=b"x")
    for _ in range(2):
        with s3_error("NoSuchKey", 404):
            alice.get_object(Bucket="alice-b", Key="missing")
    # Anyone's request to Alice's bucket is hers to see: one anonymous refusal (403).
    anonymous = requests.get(f"{srv.endpoint}/alice-b/k0", verify=srv.cert, timeout=30)
    assert anonymous.status_code == 403
    # Bob: 1 CreateBucket + 4 ListObjectsV2 on his bucket, and one refused request to
    # Alice's bucket: his key's and her bucket's, so both count it.
    bob.create_bucket(Bucket="bob-b")
    for _ in range(4):
        bob.list_objects_v2(Bucket="bob-b")
    with s3_error("AccessDenied", 403):
        bob.list_objects_v2(Bucket="alice-b")
    # Root's own traffic, to a bucket of neither: in neither chart.
    root = ConsoleClient(srv)
    root.sign_in(srv.root_access_key, srv.root_secret_key)
    root_s3 = boto3.session.Session().client(
        "s3", endpoint_url=srv.endpoint, region_name=REGION,
        aws_access_key_id=srv.root_access_key, aws_secret_access_key=srv.root_secret_key,
        verify=srv.cert, config=Config(s3={"addressing_style": "path"}),
    )  # fmt: skip
    root_s3.create_bucket(Bucket="root-b")
    root_s3.list_objects_v2(Bucket="root-b")
    deadline = time.monotonic() + 5
    while _totals(alice_console) != (8, 4, 0) and time.monotonic() < deadline:
        time.sleep(0.2)  # (counted as each answer is sent: the last may be a moment late)
    assert _totals(alice_console) == (8, 4, 0)
    assert _totals(bob_console) == (6, 1, 0)
    server = root.get("api/traffic").json()
    assert server["scope"] == "server"
    assert sum(m["requests"] for m in server["minutes"]) >= 8 + 6 - 1 + 2
    # Each dashboard draws the chart; its caption says whose requests it counts.
    page = alice_console.get("").text
    assert 'id="traffic"' in page and "signed with your keys or sent to your buckets" in page
