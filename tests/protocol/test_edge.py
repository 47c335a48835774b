"""The edge of the gateway: the plain-HTTP listener that redirects to HTTPS, HSTS, the
health endpoints, and the configuration (``oortgate config check`` and start-up
validation).

Servers: ``edge`` has a redirect listener (``--http-port``) and ``--hsts-max-age 1234``;
``quiet`` has no HSTS (``--hsts-max-age 0``), a redirect listener, and a tiny rate limit
(1/s, burst 1) to show that health checks are not limited; the shared ``server`` fixture
runs with the default HSTS max-age.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ClientError

from ._s3raw import RawClient, error_code, fetch
from ._server import PYTHON, REGION, REPO_ROOT, ServerProcess, free_port

DEFAULT_HSTS = 31536000


# --------------------------------------------------------------------------- servers
def _start(base: Path, **kwargs: Any) -> ServerProcess:
    """A server; ServerProcess.start waits for HTTPS only, so wait for the http port too."""
    srv = ServerProcess(data_dir=base / "data", **kwargs)
    srv.start()
    deadline = time.monotonic() + 10
    while srv.http_port:
        try:
            socket.create_connection(("127.0.0.1", srv.http_port), timeout=2).close()
            break
        except ConnectionRefusedError:
            if time.monotonic() > deadline:
                srv.stop()
                raise RuntimeError("no redirect listener:\n" + srv.log_text()) from None
            time.sleep(0.05)
    return srv


@pytest.fixture(scope="module")
def edge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    srv = _start(
        tmp_path_factory.mktemp("edge"),
        http_port=free_port(),
        extra_args=["--hsts-max-age", "1234"],
    )
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture(scope="module")
def quiet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    srv = _start(
        tmp_path_factory.mktemp("quiet"),
        http_port=free_port(),
        rate_limit=1,
        extra_args=["--hsts-max-age", "0", "--rate-burst", "1"],
    )
    try:
        yield srv
    finally:
        srv.stop()


def _boto(srv: ServerProcess, endpoint: str | None = None, **config: Any) -> Any:
    return boto3.session.Session().client(
        "s3",
        endpoint_url=endpoint or srv.endpoint,
        region_name=REGION,
        aws_access_key_id=srv.root_access_key,
        aws_secret_access_key=srv.root_secret_key,
        verify=srv.cert,
        config=Config(s3={"addressing_style": "path"}, **config),
    )


@pytest.fixture(scope="module")
def edge_s3(edge: ServerProcess) -> Any:
    return _boto(edge)


@pytest.fixture
def edge_bucket(edge_s3: Any) -> Iterator[str]:
    name = f"edge-{uuid.uuid4().hex[:16]}"
    edge_s3.create_bucket(Bucket=name)
    yield name
    resp = edge_s3.list_objects_v2(Bucket=name)
    for obj in resp.get("Contents", []):
        edge_s3.delete_object(Bucket=name, Key=obj["Key"])
    edge_s3.delete_bucket(Bucket=name)


def _http(srv: ServerProcess) -> str:
    return f"http://127.0.0.1:{srv.http_port}"


def _raw_http(port: int, data: bytes, timeout: float = 10.0) -> bytes:
    """Send bytes to the plain-HTTP port (no half-close) and read until the server closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        out = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return out
            out += chunk


def _parse_head(raw: bytes) -> tuple[str, int, dict[str, str]]:
    head = raw.split(b"\r\n\r\n", 1)[0].decode("latin-1")
    status_line, *lines = head.split("\r\n")
    version, status = status_line.split(" ")[:2]
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return version, int(status), headers


# --------------------------------------------------------------------------- redirect
REDIRECT_TARGET = "/my%20bucket/some%20dir/k%C3%A9y%2Bplus?x=1&prefix=a%2Fb&versions"


@pytest.mark.parametrize(
    ("method", "status"),
    [("GET", 301), ("HEAD", 301), ("PUT", 308), ("POST", 308), ("DELETE", 308)],
)
def test_every_method_is_redirected_to_the_same_url_on_https(
    edge: ServerProcess, method: str, status: int
) -> None:
    """301 for GET/HEAD, 308 (method and body kept) for the rest; the Location is the
    same path and query, byte for byte, on the HTTPS port; no body, no HSTS (RFC 6797
    8.1: HSTS over plain HTTP must be ignored, so it is not sent)."""
    body = b"some body" if method in ("PUT", "POST") else None
    resp = requests.request(
        method, _http(edge) + REDIRECT_TARGET, data=body, allow_redirects=False, timeout=10
    )
    assert resp.status_code == status
    assert resp.headers["Location"] == f"https://127.0.0.1:{edge.port}{REDIRECT_TARGET}"
    assert resp.content == b""
    assert "strict-transport-security" not in resp.headers


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("s3-standard.localhost:8080", "s3-standard.localhost"),
        ("photos.s3-archive.localhost", "photos.s3-archive.localhost"),
        ("localhost", "localhost"),
        ("127.0.0.1:80", "127.0.0.1"),
        ("[::1]:8080", "[::1]"),
    ],
)
def test_location_uses_the_clients_host_with_the_https_port(
    edge: ServerProcess, host: str, expected: str
) -> None:
    resp = requests.get(
        _http(edge) + "/b/k?q=1", headers={"Host": host}, allow_redirects=False, timeout=10
    )
    assert resp.status_code == 301
    assert resp.headers["Location"] == f"https://{expected}:{edge.port}/b/k?q=1"


@pytest.mark.parametrize(
    "host",
    ["files.example.com", "evil.example:8080", "s3-standard.localhost.evil.example", "8.8.8.8"],
)
def test_a_host_that_is_not_ours_is_refused_not_redirected(edge: ServerProcess, host: str) -> None:
    """Echoing any Host into Location would make the port an open redirect."""
    resp = requests.get(
        _http(edge) + "/b/k", headers={"Host": host}, allow_redirects=False, timeout=10
    )
    assert resp.status_code == 400
    assert "location" not in resp.headers
    assert error_code(resp.content) == "InvalidArgument"


def test_a_junk_host_header_is_not_echoed_into_location(edge: ServerProcess) -> None:
    raw = _raw_http(edge.http_port, b'GET /x HTTP/1.1\r\nHost: ev"il<script>\r\n\r\n')
    _, status, headers = _parse_head(raw)
    assert status == 400
    assert "location" not in headers


def test_redirect_reads_no_body_and_stores_nothing(
    edge: ServerProcess, edge_s3: Any, edge_bucket: str
) -> None:
    """A correctly signed PUT (for the http URL) with a body, sent to the http port: 308,
    and over HTTPS the object does not exist. A CreateBucket there creates nothing."""
    over_http = RawClient(
        _http(edge),
        f"127.0.0.1:{edge.http_port}",
        edge.cert,
        edge.root_access_key,
        edge.root_secret_key,
    )
    resp = over_http.request("PUT", edge_bucket, "sneaky", body=b"must not be stored")
    assert resp.status_code == 308
    assert resp.headers["Location"] == f"https://127.0.0.1:{edge.port}/{edge_bucket}/sneaky"
    with pytest.raises(ClientError) as ei:
        edge_s3.get_object(Bucket=edge_bucket, Key="sneaky")
    assert ei.value.response["Error"]["Code"] == "NoSuchKey"

    new_bucket = f"edge-{uuid.uuid4().hex[:16]}"
    assert over_http.request("PUT", new_bucket).status_code == 308
    assert over_http.request("DELETE", edge_bucket).status_code == 308
    names = {b["Name"] for b in edge_s3.list_buckets()["Buckets"]}
    assert edge_bucket in names and new_bucket not in names


@pytest.mark.parametrize(
    "framing",
    [
        b"Content-Length: 1000000000\r\n",
        b"Content-Length: 1000000000\r\nExpect: 100-continue\r\n",
        b"Transfer-Encoding: chunked\r\n",
    ],
)
def test_redirect_is_answered_before_any_body_is_sent(edge: ServerProcess, framing: bytes) -> None:
    """Headers announcing a 1 GB body, and no body at all: the 308 comes at once (no
    "100 Continue" invitation, no waiting for bytes), and the connection is closed."""
    started = time.monotonic()
    raw = _raw_http(
        edge.http_port, b"PUT /b/big HTTP/1.1\r\nHost: 127.0.0.1\r\n" + framing + b"\r\n"
    )
    assert time.monotonic() - started < 5
    assert not raw.startswith(b"HTTP/1.1 100"), raw[:200]
    _, status, headers = _parse_head(raw)
    assert status == 308
    assert headers["location"] == f"https://127.0.0.1:{edge.port}/b/big"


def test_http_1_0_without_host_is_redirected(edge: ServerProcess) -> None:
    raw = _raw_http(edge.http_port, b"GET /a%20b/c?d=e HTTP/1.0\r\n\r\n")
    version, status, headers = _parse_head(raw)
    assert version.startswith("HTTP/1.")
    assert status == 301
    location = headers["location"]
    assert location.startswith("https://")
    host_port, _, rest = location[len("https://") :].partition("/")
    assert host_port.endswith(f":{edge.port}") and len(host_port) > len(f":{edge.port}")
    assert "/" + rest == "/a%20b/c?d=e"


GARBAGE = {
    "tls-client-hello": b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(range(64)),
    "words": b"garbage garbage garbage\r\n\r\n",
    "binary": b"\x00\xff\xfe\xfd\r\n\r\n",
    "bad-version": b"GET / FOO/1.1\r\nHost: x\r\n\r\n",
    "no-target": b"GET\r\n\r\n",
    "http2-request-line": b"GET / HTTP/2.0\r\nHost: x\r\n\r\n",
    "huge-target": b"GET /" + b"a" * 100_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
}


@pytest.mark.parametrize("name", sorted(GARBAGE))
def test_garbage_on_the_http_port_gets_a_clean_4xx_and_the_listener_lives_on(
    edge: ServerProcess, name: str
) -> None:
    raw = _raw_http(edge.http_port, GARBAGE[name])
    assert raw.startswith(b"HTTP/1."), raw[:200]
    _, status, _ = _parse_head(raw)
    assert 400 <= status < 500, raw[:200]
    resp = requests.get(_http(edge) + "/still/there", allow_redirects=False, timeout=10)
    assert resp.status_code == 301


def test_curl_follows_the_redirect_to_https(edge: ServerProcess) -> None:
    res = subprocess.run(
        ["curl", "-sS", "-L", "--cacert", edge.cert, "-o", "-",
         "-w", "\n%{http_code} %{num_redirects} %{url_effective}",
         _http(edge) + "/_health/live"],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    body, _, summary = res.stdout.rpartition("\n")
    assert summary == f"200 1 https://127.0.0.1:{edge.port}/_health/live"
    assert body.strip() == "ok"


def test_curl_re_sends_the_body_after_a_308(
    edge: ServerProcess, edge_s3: Any, edge_bucket: str, tmp_path: Path
) -> None:
    """A presigned PUT URL is signed for the HTTPS host; sent to the http port, the 308
    makes curl -L repeat the PUT with its body on HTTPS, where it is stored."""
    url = edge_s3.generate_presigned_url(
        "put_object", Params={"Bucket": edge_bucket, "Key": "via-curl"}, ExpiresIn=300
    )
    assert url.startswith(edge.endpoint + "/")
    http_url = _http(edge) + url[len(edge.endpoint) :]
    payload = tmp_path / "payload"
    payload.write_bytes(b"followed with the body" * 100)
    res = subprocess.run(
        ["curl", "-sS", "-L", "--cacert", edge.cert, "-T", str(payload),
         "-o", "/dev/null", "-w", "%{http_code} %{num_redirects}", http_url],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert res.stdout == "200 1"
    got = edge_s3.get_object(Bucket=edge_bucket, Key="via-curl")["Body"].read()
    assert got == payload.read_bytes()


def test_requests_follows_308_with_the_body(
    edge: ServerProcess, edge_s3: Any, edge_bucket: str
) -> None:
    url = edge_s3.generate_presigned_url(
        "put_object", Params={"Bucket": edge_bucket, "Key": "via-requests"}, ExpiresIn=300
    )
    http_url = _http(edge) + url[len(edge.endpoint) :]
    resp = requests.put(http_url, data=b"kept across the redirect", verify=edge.cert, timeout=30)
    assert resp.status_code == 200
    assert [r.status_code for r in resp.history] == [308]
    got = edge_s3.get_object(Bucket=edge_bucket, Key="via-requests")["Body"].read()
    assert got == b"kept across the redirect"


# --------------------------------------------------------------------------- boto3 + http
def _boto3_ops(bucket: str) -> dict[str, Callable[[Any], Any]]:
    return {
        "list_buckets": lambda c: c.list_buckets(),
        "head_bucket": lambda c: c.head_bucket(Bucket=bucket),
        "list_objects_v2": lambda c: c.list_objects_v2(Bucket=bucket),
        "get_object": lambda c: c.get_object(Bucket=bucket, Key="kept"),
        "head_object": lambda c: c.head_object(Bucket=bucket, Key="kept"),
        "put_object": lambda c: c.put_object(Bucket=bucket, Key="new", Body=b"x"),
        "delete_object": lambda c: c.delete_object(Bucket=bucket, Key="kept"),
    }


@pytest.mark.parametrize("op", list(_boto3_ops("b")))
def test_boto3_pointed_at_the_http_port_fails_promptly_and_clearly(
    edge: ServerProcess, edge_s3: Any, edge_bucket: str, op: str
) -> None:
    """boto3 with ``endpoint_url=http://…:HTTP_PORT`` cannot be expected to work.

    botocore never follows an HTTP redirect's Location (it turns urllib3's redirects off);
    a 301/302/307 from S3 means "this bucket is in another region" to it: its
    S3RegionRedirector looks for ``x-amz-bucket-region`` in the answer (or a Region in an
    XML error body), else HEADs the bucket to learn the region, then re-signs for that
    region and retries against the same (configured) endpoint. So no server behaviour can
    make boto3 follow a redirect to https://; what makes sense for a user who typed
    http:// is a prompt ClientError whose status (301/308) and Location header say where
    to go, and nothing done on the server.

    Found (boto3/botocore 1.44): PUT/POST/DELETE get 308, which botocore does not treat as
    a region redirect: ClientError "(308) Permanent Redirect" at once. GET/HEAD get 301:
    the redirector finds no region, HEADs the bucket, whose 301 sends it to HEAD the
    bucket again, recursively, until Python's recursion limit (HTTPClientError "maximum
    recursion depth exceeded", after ~1000 requests); ListBuckets has no bucket to HEAD
    and dies with a TypeError inside botocore. A redirect answer carrying
    ``x-amz-bucket-region: <region>`` (as S3's own 301s do) makes the redirector retry
    once and then give up with ClientError "(301) Moved Permanently" for all of them
    (checked against a stand-in server).
    """
    edge_s3.put_object(Bucket=edge_bucket, Key="kept", Body=b"stays")
    client = _boto(edge, _http(edge), retries={"mode": "standard", "max_attempts": 3})
    started = time.monotonic()
    with pytest.raises(ClientError) as ei:
        _boto3_ops(edge_bucket)[op](client)
    assert time.monotonic() - started < 10
    meta = ei.value.response["ResponseMetadata"]
    assert meta["HTTPStatusCode"] in (301, 308)
    assert meta["HTTPHeaders"]["location"].startswith(f"https://127.0.0.1:{edge.port}/")
    # nothing happened on the server
    assert edge_s3.get_object(Bucket=edge_bucket, Key="kept")["Body"].read() == b"stays"
    keys = [o["Key"] for o in edge_s3.list_objects_v2(Bucket=edge_bucket).get("Contents", [])]
    assert keys == ["kept"]


# --------------------------------------------------------------------------- HSTS
def _hsts_of(srv: ServerProcess, path: str) -> str | None:
    resp = requests.get(srv.endpoint + path, verify=srv.cert, timeout=10)
    return resp.headers.get("Strict-Transport-Security")


@pytest.mark.parametrize("path", ["/_health/live", "/", "/no-such-bucket-here/k"])
def test_hsts_on_https_answers_with_the_configured_max_age(
    edge: ServerProcess, server: ServerProcess, path: str
) -> None:
    """Successes and errors alike (anonymous "/" and a missing bucket are errors)."""
    assert _hsts_of(edge, path) == "max-age=1234"
    assert _hsts_of(server, path) == f"max-age={DEFAULT_HSTS}"


def test_hsts_on_a_signed_success_and_on_head(edge: ServerProcess, edge_bucket: str) -> None:
    raw = RawClient(edge.endpoint, edge.host, edge.cert, edge.root_access_key, edge.root_secret_key)
    for method, key in (("PUT", "h"), ("GET", "h"), ("HEAD", "h")):
        resp = raw.request(method, edge_bucket, key, body=b"x" if method == "PUT" else b"")
        assert resp.status_code == 200, resp.text
        assert resp.headers.get("Strict-Transport-Security") == "max-age=1234"


def test_no_hsts_with_max_age_zero_and_never_on_the_http_listener(quiet: ServerProcess) -> None:
    for path in ("/_health/live", "/_health/ready", "/"):
        assert _hsts_of(quiet, path) is None
    resp = requests.get(_http(quiet) + "/", allow_redirects=False, timeout=10)
    assert resp.status_code == 301
    assert "strict-transport-security" not in resp.headers


# --------------------------------------------------------------------------- health
@pytest.mark.parametrize(("path", "status"), [
    ("/_health/live", 200),
    ("/_health/ready", 200),
    ("/_health/nope", 404),
    ("/_health/", 404),
    ("/_health/live/extra", 404),
])  # fmt: skip
def test_health_endpoints_need_no_credentials(edge: ServerProcess, path: str, status: int) -> None:
    code, headers, body = fetch(edge.endpoint + path, edge.cert)
    assert code == status, body
    assert headers.get("cache-control") == "no-store" or status == 404
    assert error_code(body) is None  # plain text, not an S3 error document
    if status == 200:
        assert body.strip() in (b"ok", b"ready")


def test_health_is_not_rate_limited(quiet: ServerProcess) -> None:
    """On a server limited to 1 request/s (burst 1): 60 health checks in a row all
    answer 200, while ordinary anonymous requests at that pace are refused."""
    session = requests.Session()
    statuses = [
        session.get(quiet.endpoint + path, verify=quiet.cert, timeout=10).status_code
        for _ in range(30)
        for path in ("/_health/live", "/_health/ready")
    ]
    assert statuses == [200] * 60
    others = [
        session.get(quiet.endpoint + "/", verify=quiet.cert, timeout=10).status_code
        for _ in range(5)
    ]
    assert 503 in others, others


# --------------------------------------------------------------------------- config
def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OORTGATE_")}
    env.update(extra)
    return env


def _oortgate(
    *args: str, env: dict[str, str] | None = None, timeout: float = 30
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PYTHON, "-m", "oortgate", *args],
        cwd=str(REPO_ROOT),
        env=env if env is not None else _clean_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_config_check_precedence_flag_over_env_over_file_over_default(tmp_path: Path) -> None:
    toml = tmp_path / "oortgate.toml"
    toml.write_text(
        'data-dir = "{d}"\n'
        "https_port = 9443\n"
        "http_port = 9080\n"
        "workers = 3\n"
        'region = "eu-west-1"\n'
        "rate_limit = 50.0\n".format(d=tmp_path / "from-file")
    )
    env = _clean_env(OORTGATE_HTTP_PORT="9081", OORTGATE_WORKERS="4", OORTGATE_RATE_BURST="7")
    res = _oortgate("config", "check", "--config", str(toml), "--workers", "5", env=env)
    assert res.returncode == 0, res.stderr
    got = json.loads(res.stdout)
    assert got["workers"] == 5  # flag > env > file
    assert got["http_port"] == 9081  # env > file
    assert got["rate_burst"] == 7  # env > default
    assert got["https_port"] == 9443  # file > default
    assert got["region"] == "eu-west-1"
    assert got["rate_limit"] == 50.0
    assert got["data_dir"] == str(tmp_path / "from-file")
    assert got["hsts_max_age"] == DEFAULT_HSTS  # default
    assert got["host"] == "127.0.0.1"
    assert not (tmp_path / "from-file").exists()  # checking creates nothing


def test_config_check_defaults_without_any_source(tmp_path: Path) -> None:
    res = _oortgate("config", "check", "--data-dir", str(tmp_path / "d"))
    assert res.returncode == 0, res.stderr
    got = json.loads(res.stdout)
    assert got["https_port"] == 8443
    assert got["http_port"] == 8080
    assert got["rate_limit"] == 100.0
    assert got["rate_burst"] == 20
    assert got["hsts_max_age"] == DEFAULT_HSTS


def _config_error(res: subprocess.CompletedProcess[str], *names: str) -> None:
    assert res.returncode == 2, (res.returncode, res.stdout, res.stderr)
    assert "configuration error" in res.stderr, res.stderr
    for name in names:
        assert name in res.stderr, res.stderr
    assert "Traceback" not in res.stderr


def test_config_check_rejects_an_unknown_toml_key(tmp_path: Path) -> None:
    toml = tmp_path / "c.toml"
    toml.write_text("https_port = 9443\nrate_limt = 5\n")
    _config_error(_oortgate("config", "check", "--config", str(toml)), "rate_limt")


@pytest.mark.parametrize(
    ("args", "env", "names"),
    [
        (["--https-port", "70000"], {}, ["https_port"]),
        (["--http-port", "-1"], {}, ["http_port"]),
        ([], {"OORTGATE_HTTP_PORT": "eighty"}, ["http_port", "OORTGATE_HTTP_PORT"]),
        (["--https-port", "9000", "--http-port", "9000"], {}, ["http_port", "https_port"]),
    ],
)
def test_config_check_rejects_a_bad_port(
    tmp_path: Path, args: list[str], env: dict[str, str], names: list[str]
) -> None:
    res = _oortgate("config", "check", "--data-dir", str(tmp_path), *args, env=_clean_env(**env))
    _config_error(res, *names)


def test_config_check_rejects_a_bad_port_in_the_file(tmp_path: Path) -> None:
    toml = tmp_path / "c.toml"
    toml.write_text("https_port = 0\n")
    _config_error(_oortgate("config", "check", "--config", str(toml)), "https_port")


def test_config_check_rejects_tls_cert_without_tls_key(tmp_path: Path) -> None:
    cert = tmp_path / "cert.pem"
    cert.write_text("-----BEGIN CERTIFICATE-----\n")
    res = _oortgate("config", "check", "--data-dir", str(tmp_path), "--tls-cert", str(cert))
    _config_error(res, "tls_cert", "tls_key")


def test_serve_with_a_bad_setting_exits_2_at_once(tmp_path: Path) -> None:
    data_dir = tmp_path / "never-made"
    started = time.monotonic()
    res = _oortgate(
        "serve", "--data-dir", str(data_dir), "--https-port", str(free_port()),
        "--http-port", "99999",
        timeout=20,
    )  # fmt: skip
    assert time.monotonic() - started < 10
    _config_error(res, "http_port")
    assert not data_dir.exists()  # validated before anything was prepared


def test_serve_rejects_a_bad_setting_from_the_environment(tmp_path: Path) -> None:
    res = _oortgate(
        "serve", "--data-dir", str(tmp_path / "d"), "--https-port", str(free_port()),
        env=_clean_env(OORTGATE_RATE_LIMIT="-5", OORTGATE_HTTP_PORT="0"),
        timeout=20,
    )  # fmt: skip
    _config_error(res, "rate_limit")
