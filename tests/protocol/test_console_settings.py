"""The console's second slice over TLS with a real HTTP client: public/private and CORS
of a bucket (presigned S3 requests, so S3's own checks apply), restore of archived
objects, QR codes of share links, per-key rate limits and the dashboard's request chart.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import segno

from oortgate.console.presign import OPERATIONS

from ._console import ConsoleClient
from ._server import ServerProcess

CORS = (
    "<CORSConfiguration><CORSRule><AllowedOrigin>https://app.example</AllowedOrigin>"
    "<AllowedMethod>GET</AllowedMethod></CORSRule></CORSConfiguration>"
)


@pytest.fixture
def root_console(server: ServerProcess) -> ConsoleClient:
    client = ConsoleClient(server)
    assert client.sign_in(server.root_access_key, server.root_secret_key).status_code == 303
    return client


def _signed_in(server: ServerProcess, user: Any) -> ConsoleClient:
    client = ConsoleClient(server)
    assert client.sign_in(user.access_key, user.secret_key).status_code == 303
    return client


def _send(server: ServerProcess, client: ConsoleClient, op: str, bucket: str, key: str = "",
          headers: dict[str, str] | None = None, data: bytes | None = None,
          **extra: Any) -> requests.Response:  # fmt: skip
    """A request the way the pages send it: a presigned URL, the signed headers with it."""
    answer = client.presign(op, bucket, key, headers=headers or {}, **extra)
    assert answer.status_code == 200, answer.text
    method = OPERATIONS[op].method
    return requests.request(method, answer.json()["absolute"], headers=headers, data=data,
                            verify=server.cert, timeout=30)  # fmt: skip


def test_public_private_toggle_is_a_canned_acl_the_s3_api_checks(
    server: ServerProcess, make_user: Any, client_for: Any, make_bucket: Any
) -> None:
    owner, other = make_user(), make_user()
    s3 = client_for(*owner)
    bucket = make_bucket(s3)
    s3.put_object(Bucket=bucket, Key="photo.jpg", Body=b"jpeg")
    anonymous = f"{server.endpoint}/{bucket}/photo.jpg"
    client = _signed_in(server, owner)
    assert requests.get(anonymous, verify=server.cert, timeout=30).status_code == 403
    public, private = {"x-amz-acl": "public-read"}, {"x-amz-acl": "private"}
    assert _send(server, client, "PutBucketAcl", bucket, headers=public).status_code == 200
    acl = _send(server, client, "GetBucketAcl", bucket).text
    assert "http://acs.amazonaws.com/groups/global/AllUsers" in acl
    listing = requests.get(f"{server.endpoint}/{bucket}?list-type=2", verify=server.cert,
                           timeout=30)  # fmt: skip
    assert listing.status_code == 200 and "photo.jpg" in listing.text
    # A public bucket lists its keys; its objects stay private until each is made public.
    assert requests.get(anonymous, verify=server.cert, timeout=30).status_code == 403
    assert _send(server, client, "PutObjectAcl", bucket, "photo.jpg", headers=public).ok
    assert "AllUsers" in _send(server, client, "GetObjectAcl", bucket, "photo.jpg").text
    assert requests.get(anonymous, verify=server.cert, timeout=30).content == b"jpeg"
    assert _send(server, client, "PutObjectAcl", bucket, "photo.jpg", headers=private).ok
    assert _send(server, client, "PutBucketAcl", bucket, headers=private).status_code == 200
    assert "AllUsers" not in _send(server, client, "GetBucketAcl", bucket).text
    # The header is signed: a URL for "private" sent with "public-read" is refused.
    url = client.url("PutBucketAcl", bucket, headers=private)
    swapped = requests.put(url, headers=public, verify=server.cert, timeout=30)
    assert swapped.status_code == 403, swapped.text
    # Another user's key may not, and a PublicAccessBlock refuses a public ACL.
    stranger = _signed_in(server, other)
    refused = _send(server, stranger, "PutBucketAcl", bucket, headers=public)
    assert refused.status_code == 403 and "<Code>AccessDenied</Code>" in refused.text
    s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration={
        "BlockPublicAcls": True, "IgnorePublicAcls": False, "BlockPublicPolicy": False,
        "RestrictPublicBuckets": False})  # fmt: skip
    blocked = _send(server, client, "PutBucketAcl", bucket, headers=public)
    assert blocked.status_code == 403 and "<Code>AccessDenied</Code>" in blocked.text
    assert requests.get(anonymous, verify=server.cert, timeout=30).status_code == 403


def test_presign_signs_only_the_headers_an_operation_takes(root_console: ConsoleClient) -> None:
    cases: list[dict[str, Any]] = [
        {"op": "PutBucketAcl", "bucket": "b"},  # the canned ACL is needed
        {"op": "PutBucketAcl", "bucket": "b", "headers": {"x-amz-acl": "public-read-write"}},
        {
            "op": "PutBucketAcl",
            "bucket": "b",
            "headers": {"x-amz-acl": "private", "x-amz-grant-read": "x"},
        },
        {"op": "GetObject", "bucket": "b", "key": "k", "headers": {"x-amz-acl": "private"}},
        {"op": "GetBucketCors", "bucket": "b", "headers": "x-amz-acl"},
    ]
    for body in cases:
        answer = root_console.action("api/presign", body)
        assert answer.status_code == 400, (body, answer.text)
        assert answer.json()["error"]
    ok = root_console.presign("PutBucketAcl", "b", headers={"X-Amz-Acl": "private"})
    assert ok.status_code == 200
    assert "X-Amz-SignedHeaders=host%3Bx-amz-acl" in ok.json()["url"]


def test_cors_view_edit_and_delete_through_presigned_requests(
    server: ServerProcess, make_user: Any, client_for: Any, make_bucket: Any
) -> None:
    owner = make_user()
    s3 = client_for(*owner)
    bucket = make_bucket(s3)
    client = _signed_in(server, owner)
    none = _send(server, client, "GetBucketCors", bucket)
    assert none.status_code == 404 and "NoSuchCORSConfiguration" in none.text
    put = _send(server, client, "PutBucketCors", bucket, data=CORS.encode())
    assert put.status_code == 200, put.text
    rules = s3.get_bucket_cors(Bucket=bucket)["CORSRules"]
    assert rules[0]["AllowedOrigins"] == ["https://app.example"]
    assert "https://app.example" in _send(server, client, "GetBucketCors", bucket).text
    # The rules work: a preflight from that origin is answered.
    preflight = requests.options(f"{server.endpoint}/{bucket}/x", verify=server.cert,
                                 headers={"Origin": "https://app.example",
                                          "Access-Control-Request-Method": "GET"},
                                 timeout=30)  # fmt: skip
    assert preflight.headers.get("access-control-allow-origin") == "https://app.example"
    bad = _send(server, client, "PutBucketCors", bucket, data=b"<CORSConfiguration><oops")
    assert bad.status_code == 400 and "<Code>MalformedXML</Code>" in bad.text
    assert _send(server, client, "DeleteBucketCors", bucket).status_code == 204
    assert _send(server, client, "GetBucketCors", bucket).status_code == 404
    stranger = _signed_in(server, make_user())
    assert _send(server, stranger, "PutBucketCors", bucket, data=CORS.encode()).status_code == 403


def test_a_share_link_comes_with_its_qr_code(root_console: ConsoleClient) -> None:
    body = {"op": "GetObject", "bucket": "b", "key": "a b/ü.txt", "expires": 86400, "qr": True}
    answer = root_console.action("api/presign", body).json()
    # The code is the share link's own (the same encoder makes the same symbol).
    same = segno.make(answer["absolute"], error="l").svg_data_uri(scale=4, border=2)
    assert answer["qr"] == same
    assert answer["qr"].startswith("data:image/svg+xml")
    assert "qr" not in root_console.action("api/presign", {**body, "qr": False}).json()
    # A link too long for any QR code (a 1024-byte key, percent-encoded) has none.
    long = root_console.action("api/presign", {**body, "key": "ü" * 512}).json()
    assert long["absolute"] and long["qr"] is None
    # Restores are only offered where the server requires them (not on this one).
    assert 'data-restore-required="no"' in root_console.get("b/b/").text


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """Rate limiting on: 50 requests/s per key by default, bursts of 5."""
    data = tmp_path_factory.mktemp("console-rate") / "data"
    with ServerProcess(data_dir=data, rate_limit=50, extra_args=["--rate-burst", "5"]) as srv:
        yield srv


def _slowed_down(server: ServerProcess, client: ConsoleClient, tries: int = 12) -> int:
    url = client.url("ListBuckets")
    answers = [requests.get(url, verify=server.cert, timeout=30) for _ in range(tries)]
    return sum(a.status_code == 503 and "<Code>SlowDown</Code>" in a.text for a in answers)


def test_a_keys_rate_limit_is_set_by_root_or_lowered_by_its_owner(limited: ServerProcess) -> None:
    limited.create_user("ratey")
    key = limited.create_key("ratey")
    owner = ConsoleClient(limited)
    assert owner.sign_in(str(key["access_key"]), str(key["secret_key"])).status_code == 303
    access_key = str(key["access_key"])
    assert "default (50/s)" in owner.get("keys").text
    lowered = owner.action("api/keys/rate", {"access_key": access_key, "rate": 0.5})
    assert lowered.status_code == 200 and lowered.json()["rate_limit"] == 0.5
    assert "0.5/s" in owner.get("keys").text
    assert _slowed_down(limited, owner) >= 5  # the burst of 5 passes, the rest wait
    raised = owner.action("api/keys/rate", {"access_key": access_key, "rate": 500})
    assert raised.status_code == 409 and "only the root user" in raised.json()["error"]
    for bad in (0, -1, "fast", True, 10**7):
        answer = owner.action("api/keys/rate", {"access_key": access_key, "rate": bad})
        assert answer.status_code == 400, bad
    root = ConsoleClient(limited)
    root.sign_in(limited.root_access_key, limited.root_secret_key)
    assert root.action("api/keys/rate", {"access_key": access_key, "rate": 500}).ok
    assert "500/s" in root.get("keys").text
    # Nobody else's key; null goes back to the server's default.
    limited.create_user("other")
    other_key = limited.create_key("other")
    stranger = ConsoleClient(limited)
    stranger.sign_in(str(other_key["access_key"]), str(other_key["secret_key"]))
    refused = stranger.action("api/keys/rate", {"access_key": access_key, "rate": 1})
    assert refused.status_code == 409
    assert owner.action("api/keys/rate", {"access_key": access_key, "rate": None}).ok
    assert "default (50/s)" in owner.get("keys").text


RESTORE_SECONDS = 5


def test_restore_of_an_archived_object_when_restore_is_required(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """A restore takes RESTORE_SECONDS from the server's clock, which is this machine's:
    answered just after the restore started, a HEAD says ongoing (a few seconds leave a
    busy machine room); once that long has passed since the restore's answer, done."""
    data = tmp_path_factory.mktemp("console-glacier") / "data"
    args = ["--archive-restore-required", "true",
            "--archive-restore-seconds", str(RESTORE_SECONDS)]  # fmt: skip
    with ServerProcess(data_dir=data, extra_args=args) as srv:
        root = ConsoleClient(srv)
        root.sign_in(srv.root_access_key, srv.root_secret_key)
        made = root.action("api/buckets", {"name": "cold-photos", "tier": "archive"})
        assert made.status_code == 200, made.text
        page = root.get("b/cold-photos/").text
        assert 'data-restore-required="yes"' in page and 'id="restore-start"' in page
        key = "2026/ä b.jpg"
        assert _send(srv, root, "PutObject", "cold-photos", key, data=b"cold").status_code == 200
        locked = _send(srv, root, "GetObject", "cold-photos", key)
        assert locked.status_code == 403 and "InvalidObjectState" in locked.text
        assert "x-amz-restore" not in _send(srv, root, "HeadObject", "cold-photos", key).headers
        body = b"<RestoreRequest><Days>2</Days></RestoreRequest>"
        asked = time.time()
        started = _send(srv, root, "RestoreObject", "cold-photos", key, data=body)
        answered = time.time()
        assert started.status_code == 202, started.text
        head = _send(srv, root, "HeadObject", "cold-photos", key)
        again = _send(srv, root, "RestoreObject", "cold-photos", key, data=body)
        assert time.time() < asked + RESTORE_SECONDS, "the machine took the restore's time"
        assert head.headers["x-amz-restore"] == 'ongoing-request="true"'
        assert again.status_code == 409 and "RestoreAlreadyInProgress" in again.text
        time.sleep(max(0.0, answered + RESTORE_SECONDS + 0.2 - time.time()))
        head = _send(srv, root, "HeadObject", "cold-photos", key)
        assert head.headers["x-amz-restore"].startswith('ongoing-request="false", expiry-date=')
        assert _send(srv, root, "GetObject", "cold-photos", key).content == b"cold"


def _since(minutes: list[dict[str, int]], start: float) -> tuple[int, int, int]:
    mine = [m for m in minutes if m["minute"] >= int(start // 60) * 60]
    return (sum(m["requests"] for m in mine), sum(m["client_errors"] for m in mine),
            sum(m["server_errors"] for m in mine))  # fmt: skip


def test_the_dashboard_chart_counts_requests_and_errors_of_every_worker(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    data = tmp_path_factory.mktemp("console-traffic") / "data"
    with ServerProcess(data_dir=data, workers=2) as srv:
        root = ConsoleClient(srv)
        root.sign_in(srv.root_access_key, srv.root_secret_key)
        start = time.time()
        before = root.get("api/traffic").json()["minutes"]
        assert len(before) == 60
        assert [m["minute"] for m in before] == sorted(m["minute"] for m in before)
        old = _since(before, start)
        http = requests.Session()
        for _ in range(20):  # new connections: both workers answer some of them
            requests.get(f"{srv.endpoint}/no-such-bucket-here", verify=srv.cert, timeout=30)
            http.get(f"{srv.endpoint}/_health", verify=srv.cert, timeout=30)
        assert len(list((data / "console-traffic").glob("*.bin"))) >= 2
        after = _since(root.get("api/traffic").json()["minutes"], start)
        assert after[0] - old[0] >= 40 + 1  # and the first api/traffic itself
        assert after[1] - old[1] >= 20
        assert "dashboard.js" in root.get("").text and 'id="traffic"' in root.get("").text
        plain = ConsoleClient(srv)
        srv.create_user("plain")
        key = srv.create_key("plain")
        plain.sign_in(str(key["access_key"]), str(key["secret_key"]))
        mine = plain.get("api/traffic")  # their own requests only: see test_console_traffic
        assert mine.status_code == 200 and mine.json()["scope"] == "user"
        assert 'id="traffic"' in plain.get("").text
        signed_out = ConsoleClient(srv).get("api/traffic")
        assert signed_out.status_code == 401 and signed_out.json() == {"error": "signed out"}
