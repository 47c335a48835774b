"""Behind a proxy (issue 6): with ``--trusted-proxies`` the gateway believes
X-Forwarded-Host (the host the client signed), X-Forwarded-Proto (an HTTPS request the
proxy forwarded to the plain-HTTP port is served, not redirected) and X-Forwarded-For
(the client address, for anonymous rate limits) — from the trusted addresses only.

The "proxy" is this test process on 127.0.0.1: requests are signed with botocore's SigV4
signer for the public host, then sent to the gateway's own address with the
X-Forwarded-* headers a proxy would add. Servers are private to this module.
"""

from __future__ import annotations

import hashlib
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest
import requests
from botocore.config import Config

from ._s3raw import sign
from ._server import REGION, ServerProcess, free_port

PUBLIC = "s3.proxy.test"
DOMAIN = "proxy.test"  # endpoints s3-standard.proxy.test and s3-archive.proxy.test
S3NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"


# --------------------------------------------------------------------------- helpers
def _start(base: Path, rate_limit: float = 0, *extra: str) -> Iterator[ServerProcess]:
    with ServerProcess(
        data_dir=base / "data",
        http_port=free_port(),
        rate_limit=rate_limit,
        extra_args=["--domain", DOMAIN, *extra],
    ) as srv:
        yield srv


def boto(srv: ServerProcess) -> Any:
    return boto3.session.Session().client(
        "s3",
        endpoint_url=srv.endpoint,
        region_name=REGION,
        aws_access_key_id=srv.root_access_key,
        aws_secret_access_key=srv.root_secret_key,
        verify=srv.cert,
        config=Config(s3={"addressing_style": "path"}, retries={"total_max_attempts": 1}),
    )


def signed_for(
    srv: ServerProcess, method: str, host: str, path: str, body: bytes = b""
) -> dict[str, str]:
    """SigV4 headers for ``method https://host/path`` (botocore's signer, Host header
    ``host``), without the Host header itself: the proxy sends its own."""
    signed = sign(
        method,
        f"https://{host}{path}",
        {"Host": host},
        access_key=srv.root_access_key,
        secret_key=srv.root_secret_key,
        payload_hash=hashlib.sha256(body).hexdigest(),
    )
    headers = {k: v for k, v in signed.headers.items() if k.lower() != "host"}
    assert "host" in signed.headers["Authorization"].lower()  # Host is a signed header
    return headers


def send(
    srv: ServerProcess,
    method: str,
    path: str,
    headers: dict[str, str],
    body: bytes = b"",
    plain: bool = False,
) -> requests.Response:
    base = f"http://127.0.0.1:{srv.http_port}" if plain else srv.endpoint
    return requests.request(
        method,
        base + path,
        headers=headers,
        data=body,
        verify=srv.cert,
        allow_redirects=False,
        timeout=30,
    )


def error_code(resp: requests.Response) -> str:
    root = ET.fromstring(resp.content)
    node = root.find("Code")
    if node is None:
        node = root.find(f"{S3NS}Code")
    return node.text if node is not None and node.text else ""


def error_fields(resp: requests.Response) -> dict[str, str]:
    return {c.tag.replace(S3NS, ""): c.text or "" for c in ET.fromstring(resp.content)}


class Seeded:
    def __init__(self, srv: ServerProcess) -> None:
        self.srv = srv
        self.bucket = f"px-{uuid.uuid4().hex[:16]}"
        self.key = "dir/obj.bin"
        self.data = b"proxied bytes " * 1000
        client = boto(srv)
        client.create_bucket(Bucket=self.bucket)
        client.put_object(Bucket=self.bucket, Key=self.key, Body=self.data)

    @property
    def path(self) -> str:
        return f"/{self.bucket}/{self.key}"

    def exists(self, key: str) -> bool:
        keys = boto(self.srv).list_objects_v2(Bucket=self.bucket, Prefix=key).get("Contents", [])
        return any(o["Key"] == key for o in keys)


# --------------------------------------------------------------------------- servers
@pytest.fixture(scope="module")
def proxied(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    for srv in _start(tmp_path_factory.mktemp("proxied"), 0, "--trusted-proxies", "127.0.0.0/8"):
        yield Seeded(srv)


@pytest.fixture(scope="module", params=["no-trusted-proxies", "other-network-trusted"])
def untrusted(request: pytest.FixtureRequest, tmp_path_factory: Any) -> Iterator[Seeded]:
    """A gateway that does not trust 127.0.0.1: none configured, or another network."""
    extra = () if request.param == "no-trusted-proxies" else ("--trusted-proxies", "10.0.0.0/8")
    for srv in _start(tmp_path_factory.mktemp("untrusted"), 0, *extra):
        yield Seeded(srv)


# =========================================================================== trusted
def test_forwarded_host_is_the_signed_host(proxied: Seeded) -> None:
    srv = proxied.srv
    headers = signed_for(srv, "GET", PUBLIC, proxied.path)
    ok = send(srv, "GET", proxied.path, {**headers, "X-Forwarded-Host": PUBLIC})
    assert ok.status_code == 200, ok.text
    assert ok.content == proxied.data

    missing = send(srv, "GET", proxied.path, headers)
    assert missing.status_code == 403
    assert error_code(missing) == "SignatureDoesNotMatch"
    assert proxied.data not in missing.content

    other = send(srv, "GET", proxied.path, {**headers, "X-Forwarded-Host": "other.proxy.test"})
    assert other.status_code == 403
    assert error_code(other) == "SignatureDoesNotMatch"

    # a port is part of the host the client signed
    with_port = "s3.proxy.test:8443"
    headers = signed_for(srv, "GET", with_port, proxied.path)
    ok = send(srv, "GET", proxied.path, {**headers, "X-Forwarded-Host": with_port})
    assert ok.status_code == 200 and ok.content == proxied.data
    wrong_port = send(srv, "GET", proxied.path, {**headers, "X-Forwarded-Host": PUBLIC})
    assert wrong_port.status_code == 403


def test_forwarded_host_chain_uses_the_first(proxied: Seeded) -> None:
    """Proxies append: the first X-Forwarded-Host is the one the client used."""
    srv = proxied.srv
    headers = signed_for(srv, "HEAD", PUBLIC, proxied.path)
    resp = send(
        srv, "HEAD", proxied.path, {**headers, "X-Forwarded-Host": f"{PUBLIC}, inner.proxy.test"}
    )
    assert resp.status_code == 200
    assert int(resp.headers["content-length"]) == len(proxied.data)


def test_forwarded_put_and_delete(proxied: Seeded) -> None:
    srv = proxied.srv
    body = b"uploaded through the proxy"
    path = f"/{proxied.bucket}/put-via-proxy"
    headers = signed_for(srv, "PUT", PUBLIC, path, body)
    resp = send(srv, "PUT", path, {**headers, "X-Forwarded-Host": PUBLIC}, body)
    assert resp.status_code == 200, resp.text
    assert resp.headers["etag"] == f'"{hashlib.md5(body).hexdigest()}"'
    got = boto(srv).get_object(Bucket=proxied.bucket, Key="put-via-proxy")
    assert got["Body"].read() == body
    headers = signed_for(srv, "DELETE", PUBLIC, path)
    assert send(srv, "DELETE", path, {**headers, "X-Forwarded-Host": PUBLIC}).status_code == 204
    assert not proxied.exists("put-via-proxy")


def test_forwarded_virtual_host_and_tier(proxied: Seeded) -> None:
    """The forwarded host decides virtual-host addressing and the endpoint's tier."""
    srv = proxied.srv
    std_host = f"{proxied.bucket}.s3-standard.{DOMAIN}"
    headers = signed_for(srv, "GET", std_host, f"/{proxied.key}")
    resp = send(srv, "GET", f"/{proxied.key}", {**headers, "X-Forwarded-Host": std_host})
    assert resp.status_code == 200, resp.text
    assert resp.content == proxied.data

    # an Archive bucket made through the forwarded archive endpoint
    arc_bucket = f"pa-{uuid.uuid4().hex[:16]}"
    arc_host = f"s3-archive.{DOMAIN}"
    headers = signed_for(srv, "PUT", arc_host, f"/{arc_bucket}")
    resp = send(srv, "PUT", f"/{arc_bucket}", {**headers, "X-Forwarded-Host": arc_host})
    assert resp.status_code == 200, resp.text
    body = b"cold"
    vhost = f"{arc_bucket}.{arc_host}"
    headers = signed_for(srv, "PUT", vhost, "/k", body)
    resp = send(srv, "PUT", "/k", {**headers, "X-Forwarded-Host": vhost}, body)
    assert resp.status_code == 200, resp.text
    assert boto(srv).head_object(Bucket=arc_bucket, Key="k")["StorageClass"] == "GLACIER_IR"

    # ... is redirected when asked for through the forwarded standard endpoint
    wrong = f"{arc_bucket}.s3-standard.{DOMAIN}"
    headers = signed_for(srv, "GET", wrong, "/k")
    resp = send(srv, "GET", "/k", {**headers, "X-Forwarded-Host": wrong})
    assert resp.status_code == 301
    fields = error_fields(resp)
    assert fields["Code"] == "PermanentRedirect"
    assert fields["Endpoint"] == vhost
    boto(srv).delete_object(Bucket=arc_bucket, Key="k")
    boto(srv).delete_bucket(Bucket=arc_bucket)


def test_plain_port_serves_what_the_proxy_got_over_https(proxied: Seeded) -> None:
    srv = proxied.srv
    path = proxied.path
    headers = signed_for(srv, "GET", PUBLIC, path)
    fwd = {**headers, "X-Forwarded-Host": PUBLIC, "X-Forwarded-Proto": "https"}
    resp = send(srv, "GET", path, fwd, plain=True)
    assert resp.status_code == 200, resp.text
    assert resp.content == proxied.data

    # without X-Forwarded-Proto (or with http) the plain port redirects, carrying no data
    for proto in (None, "http"):
        hdrs = {**headers, "X-Forwarded-Host": PUBLIC}
        if proto:
            hdrs["X-Forwarded-Proto"] = proto
        resp = send(srv, "GET", path, hdrs, plain=True)
        assert resp.status_code == 301, (proto, resp.status_code, resp.text)
        assert resp.headers["location"].startswith("https://")
        assert urlsplit(resp.headers["location"]).path == path
        assert resp.content == b""

    # signed for the plain port's own host, no X-Forwarded-Host: served too
    own = f"127.0.0.1:{srv.http_port}"
    headers = signed_for(srv, "GET", own, path)
    resp = send(srv, "GET", path, {**headers, "X-Forwarded-Proto": "https"}, plain=True)
    assert resp.status_code == 200 and resp.content == proxied.data


def test_plain_port_put_with_forwarded_proto(proxied: Seeded) -> None:
    srv = proxied.srv
    body = b"sent to the plain port by a TLS-terminating proxy"
    path = f"/{proxied.bucket}/plain-put"
    headers = {**signed_for(srv, "PUT", PUBLIC, path, body), "X-Forwarded-Host": PUBLIC}
    refused = send(srv, "PUT", path, headers, body, plain=True)
    assert refused.status_code in (307, 308)
    assert not proxied.exists("plain-put")
    served = send(srv, "PUT", path, {**headers, "X-Forwarded-Proto": "https"}, body, plain=True)
    assert served.status_code == 200, served.text
    assert boto(srv).get_object(Bucket=proxied.bucket, Key="plain-put")["Body"].read() == body


def test_redirect_behind_proxy_names_the_public_host(proxied: Seeded) -> None:
    """A client that reached the proxy over plain HTTP is sent to HTTPS on the host it
    used (X-Forwarded-Host), not to the gateway's own address behind the proxy."""
    srv = proxied.srv
    resp = send(
        srv,
        "GET",
        proxied.path,
        {"X-Forwarded-Host": PUBLIC, "X-Forwarded-Proto": "http"},
        plain=True,
    )
    assert resp.status_code == 301
    location = urlsplit(resp.headers["location"])
    assert location.scheme == "https"
    assert location.hostname == PUBLIC, resp.headers["location"]
    assert location.path == proxied.path


# =========================================================================== untrusted
def test_untrusted_forwarded_host_ignored(untrusted: Seeded) -> None:
    srv = untrusted.srv
    path = untrusted.path
    # signed for the public host: the gateway checks against the real Host and refuses
    headers = signed_for(srv, "GET", PUBLIC, path)
    resp = send(srv, "GET", path, {**headers, "X-Forwarded-Host": PUBLIC})
    assert resp.status_code == 403
    assert error_code(resp) == "SignatureDoesNotMatch"
    assert untrusted.data not in resp.content
    # signed for the real Host: a forged X-Forwarded-Host changes nothing
    headers = signed_for(srv, "GET", srv.host, path)
    resp = send(srv, "GET", path, {**headers, "X-Forwarded-Host": PUBLIC})
    assert resp.status_code == 200 and resp.content == untrusted.data
    # nor does a forged virtual host: still path style
    vhost = f"{untrusted.bucket}.s3-standard.{DOMAIN}"
    resp = send(srv, "GET", path, {**headers, "X-Forwarded-Host": vhost})
    assert resp.status_code == 200 and resp.content == untrusted.data


def test_untrusted_forwarded_proto_still_redirected(untrusted: Seeded) -> None:
    srv = untrusted.srv
    path = untrusted.path
    own = f"127.0.0.1:{srv.http_port}"
    headers = {**signed_for(srv, "GET", own, path), "X-Forwarded-Proto": "https"}
    resp = send(srv, "GET", path, headers, plain=True)
    assert resp.status_code == 301
    assert resp.headers["location"] == f"https://127.0.0.1:{srv.port}{path}"
    assert resp.content == b""

    body = b"must not be stored"
    put_path = f"/{untrusted.bucket}/forged-proto"
    headers = {**signed_for(srv, "PUT", own, put_path, body), "X-Forwarded-Proto": "https"}
    resp = send(srv, "PUT", put_path, headers, body, plain=True)
    assert resp.status_code in (307, 308)
    assert not untrusted.exists("forged-proto")


# =========================================================================== rate limit
@pytest.fixture(scope="module", params=["trusted", "untrusted"])
def limited(request: pytest.FixtureRequest, tmp_path_factory: Any) -> Iterator[Any]:
    extra = ["--rate-burst", "3"]
    if request.param == "trusted":
        extra += ["--trusted-proxies", "127.0.0.0/8"]
    for srv in _start(tmp_path_factory.mktemp("limited"), 0.5, *extra):
        yield request.param, srv


def _anonymous(srv: ServerProcess, forwarded_for: str) -> int:
    resp = requests.get(
        srv.endpoint + "/",
        headers={"X-Forwarded-For": forwarded_for},
        verify=srv.cert,
        timeout=10,
    )
    if resp.status_code == 503:
        assert error_code(resp) == "SlowDown"
        assert int(resp.headers["retry-after"]) >= 1
    return resp.status_code


def _exhaust(srv: ServerProcess, forwarded_for: str) -> None:
    statuses = [_anonymous(srv, forwarded_for) for _ in range(8)]
    assert 503 in statuses, statuses
    assert statuses[0] != 503, statuses


def test_anonymous_rate_limit_by_forwarded_for(limited: tuple[str, ServerProcess]) -> None:
    """0.5 requests/s with a burst of 3 per client address. Behind a trusted proxy the
    address is X-Forwarded-For's right-most untrusted entry (a client can prepend what it
    likes); from anyone else the header is ignored and the peer address counts."""
    mode, srv = limited
    _exhaust(srv, "10.9.9.1")
    fresh = _anonymous(srv, "10.9.9.2")
    spoofed = _anonymous(srv, "10.9.9.77, 10.9.9.1")  # client-made prefix, proxy's append
    through_inner_proxy = _anonymous(srv, "10.9.9.1, 127.0.0.9")
    if mode == "trusted":
        assert fresh != 503
        assert spoofed == 503
        assert through_inner_proxy == 503
    else:
        # every request is 127.0.0.1's, and that address is used up
        assert fresh == 503
        assert spoofed == 503
