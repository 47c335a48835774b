"""Hand-built S3 requests: SigV4 signing with botocore's signer, aws-chunked bodies
(signed and unsigned, with trailers), raw TLS sockets, XML error parsing.

Used where boto3 would hide what is on the wire (exact headers, framing, status codes).
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import hashlib
import hmac
import http.client
import socket
import ssl
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from unittest import mock
from urllib.parse import quote, urlsplit

import botocore.auth
import botocore.httpchecksum as bhc
import requests
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

S3NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
UNSIGNED = "UNSIGNED-PAYLOAD"
STREAMING_SIGNED = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
STREAMING_SIGNED_TRAILER = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
STREAMING_UNSIGNED_TRAILER = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"


# --------------------------------------------------------------------------- checksums
def md5_b64(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data).digest()).decode()


def md5_hex(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


_CHECKSUM_CLS = {
    "CRC32": bhc.Crc32Checksum,
    "CRC32C": bhc.CrtCrc32cChecksum,
    "CRC64NVME": bhc.CrtCrc64NvmeChecksum,
    "SHA1": bhc.Sha1Checksum,
    "SHA256": bhc.Sha256Checksum,
}
ALGORITHMS = tuple(_CHECKSUM_CLS)


def checksum_b64(algorithm: str, data: bytes) -> str:
    c = _CHECKSUM_CLS[algorithm.upper()]()
    c.update(data)
    return str(c.b64digest())


def checksum_header(algorithm: str) -> str:
    return f"x-amz-checksum-{algorithm.lower()}"


# --------------------------------------------------------------------------- URLs
def s3_quote(s: str) -> str:
    """URI-encode like SigV4 wants: everything but unreserved characters and '/'."""
    return quote(s, safe="/~")


def object_path(bucket: str | None = None, key: str | None = None) -> str:
    if bucket is None:
        return "/"
    if key is None:
        return "/" + s3_quote(bucket)
    return "/" + s3_quote(bucket) + "/" + s3_quote(key)


def query_string(query: Mapping[str, str | None] | Iterable[tuple[str, str | None]] | None) -> str:
    if not query:
        return ""
    items = query.items() if isinstance(query, Mapping) else query
    parts = []
    for k, v in items:
        if v is None:
            parts.append(quote(k, safe="-_.~"))
        else:
            parts.append(quote(k, safe="-_.~") + "=" + quote(v, safe="-_.~"))
    return "?" + "&".join(parts)


# --------------------------------------------------------------------------- signing
class _FixedPayloadSigV4(botocore.auth.SigV4Auth):
    """botocore's SigV4 signer with S3 path handling and a caller-chosen payload hash."""

    def __init__(self, credentials: Credentials, service: str, region: str, payload: str) -> None:
        super().__init__(credentials, service, region)
        self._payload = payload

    def payload(self, request: AWSRequest) -> str:
        return self._payload

    def _normalize_url_path(self, path: str) -> str:
        return path


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


@dataclass
class Signed:
    url: str
    headers: dict[str, str]
    timestamp: str  # 20130524T000000Z
    scope: str  # 20130524/us-east-1/s3/aws4_request
    seed_signature: str
    signing_key: bytes


def signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    k = hmac.new(("AWS4" + secret).encode(), date.encode(), hashlib.sha256).digest()
    k = hmac.new(k, region.encode(), hashlib.sha256).digest()
    k = hmac.new(k, service.encode(), hashlib.sha256).digest()
    return hmac.new(k, b"aws4_request", hashlib.sha256).digest()


def sign(
    method: str,
    url: str,
    headers: Mapping[str, str] | None,
    *,
    access_key: str,
    secret_key: str,
    payload_hash: str = UNSIGNED,
    region: str = "us-east-1",
    service: str = "s3",
    when: dt.datetime | None = None,
) -> Signed:
    """Sign (method, url, headers) with SigV4 using botocore's signer.

    ``url`` must already be percent-encoded. ``payload_hash`` is sent as
    x-amz-content-sha256 and used in the canonical request. ``when`` overrides the clock.
    """
    hdrs = dict(headers or {})
    hdrs["X-Amz-Content-SHA256"] = payload_hash
    req = AWSRequest(method=method, url=url, headers=hdrs, data=b"")
    signer = _FixedPayloadSigV4(Credentials(access_key, secret_key), service, region, payload_hash)
    moment = when or utcnow()
    with patched_clock(moment):
        signer.add_auth(req)
    out = {k: v for k, v in req.headers.items()}
    auth = out["Authorization"]
    seed = auth.rsplit("Signature=", 1)[1].strip()
    ts = out["X-Amz-Date"]
    scope = f"{ts[:8]}/{region}/{service}/aws4_request"
    return Signed(url, out, ts, scope, seed, signing_key(secret_key, ts[:8], region, service))


@contextlib.contextmanager
def patched_clock(when: dt.datetime) -> Iterator[None]:
    """Make botocore sign as if the time were ``when`` (naive UTC).

    Patches both the Python signers (botocore.auth) and, when awscrt is installed, the CRT
    signers botocore then prefers (botocore.crt.auth); SigV2 query expiry too.
    """

    def fake(remove_tzinfo: bool = True) -> dt.datetime:
        return when if remove_tzinfo else when.replace(tzinfo=dt.UTC)

    offset = (when - utcnow()).total_seconds()

    def fake_v2_date(self: Any) -> str:
        return str(int(time.time() + offset + int(self._expires)))

    with contextlib.ExitStack() as stack:
        stack.enter_context(mock.patch.object(botocore.auth, "get_current_datetime", fake))
        stack.enter_context(
            mock.patch.object(botocore.auth.HmacV1QueryAuth, "_get_date", fake_v2_date)
        )
        try:
            import botocore.crt.auth as crt_auth

            stack.enter_context(mock.patch.object(crt_auth, "get_current_datetime", fake))
        except ImportError:  # pragma: no cover - awscrt not installed
            pass
        yield


def fetch(
    url: str,
    cert: str,
    method: str = "GET",
    body: bytes | None = None,
    headers: Mapping[str, str] | None = None,
) -> tuple[int, dict[str, str], bytes]:
    """One request with http.client, which (unlike requests/urllib3) sends the path exactly
    as given: no dot-segment removal, no re-quoting."""
    parts = urlsplit(url)
    ctx = ssl.create_default_context(cafile=cert)
    assert parts.hostname, url
    conn = http.client.HTTPSConnection(parts.hostname, parts.port, context=ctx, timeout=60)
    try:
        target = parts.path + ("?" + parts.query if parts.query else "")
        conn.request(method, target, body=body, headers=dict(headers or {}))
        resp = conn.getresponse()
        data = resp.read()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, data
    finally:
        conn.close()


# --------------------------------------------------------------------------- aws-chunked
def chunk_sizes(n: int, chunk: int) -> list[int]:
    sizes = [chunk] * (n // chunk)
    if n % chunk:
        sizes.append(n % chunk)
    return sizes


def unsigned_chunked_body(
    data: bytes,
    chunk: int = 8192,
    trailers: Mapping[str, str] | None = None,
) -> bytes:
    """aws-chunked without signatures (STREAMING-UNSIGNED-PAYLOAD-TRAILER)."""
    out = bytearray()
    pos = 0
    for size in chunk_sizes(len(data), chunk):
        out += b"%x\r\n" % size + data[pos : pos + size] + b"\r\n"
        pos += size
    out += b"0\r\n"
    for name, value in (trailers or {}).items():
        out += f"{name}:{value}\r\n".encode()
    out += b"\r\n"
    return bytes(out)


def _hmac_hex(key: bytes, msg: str) -> str:
    return hmac.new(key, msg.encode(), hashlib.sha256).hexdigest()


def signed_chunked_body(
    signed: Signed,
    data: bytes,
    chunk: int = 8192,
    trailers: Mapping[str, str] | None = None,
    corrupt_chunk: int | None = None,
    corrupt_trailer_signature: bool = False,
) -> bytes:
    """aws-chunked with chunk signatures (STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER])."""
    prev = signed.seed_signature
    out = bytearray()
    pos = 0
    sizes = [*chunk_sizes(len(data), chunk), 0]
    for i, size in enumerate(sizes):
        piece = data[pos : pos + size]
        pos += size
        sts = "\n".join(
            [
                "AWS4-HMAC-SHA256-PAYLOAD",
                signed.timestamp,
                signed.scope,
                prev,
                EMPTY_SHA256,
                hashlib.sha256(piece).hexdigest(),
            ]
        )
        sig = _hmac_hex(signed.signing_key, sts)
        prev = sig
        if corrupt_chunk == i:
            sig = ("0" if sig[0] != "0" else "1") + sig[1:]
        out += f"{size:x};chunk-signature={sig}\r\n".encode() + piece
        if size:
            out += b"\r\n"
    if trailers is not None:
        canon = "".join(f"{k.lower()}:{v}\n" for k, v in trailers.items())
        sts = "\n".join(
            [
                "AWS4-HMAC-SHA256-TRAILER",
                signed.timestamp,
                signed.scope,
                prev,
                hashlib.sha256(canon.encode()).hexdigest(),
            ]
        )
        tsig = _hmac_hex(signed.signing_key, sts)
        if corrupt_trailer_signature:
            tsig = ("0" if tsig[0] != "0" else "1") + tsig[1:]
        for k, v in trailers.items():
            out += f"{k}:{v}\r\n".encode()
        out += f"x-amz-trailer-signature:{tsig}\r\n".encode()
        out += b"\r\n"
    else:
        out += b"\r\n"
    return bytes(out)


# --------------------------------------------------------------------------- XML
def error_code(body: bytes) -> str | None:
    if not body:
        return None
    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        return None
    code = root.findtext("Code")
    if code is None:
        code = root.findtext(S3NS + "Code")
    return code


def error_field(body: bytes, name: str) -> str | None:
    root = ET.fromstring(body)
    v = root.findtext(name)
    return v if v is not None else root.findtext(S3NS + name)


def xml_root(body: bytes) -> ET.Element:
    return ET.fromstring(body)


def findall(el: ET.Element, path: str) -> list[ET.Element]:
    """findall with the S3 namespace added to each step (and also without it)."""
    ns_path = "/".join(S3NS + p if p not in (".", "..") else p for p in path.split("/"))
    found = el.findall(ns_path)
    return found if found else el.findall(path)


def findtext(el: ET.Element, path: str) -> str | None:
    ns_path = "/".join(S3NS + p for p in path.split("/"))
    v = el.findtext(ns_path)
    return v if v is not None else el.findtext(path)


# --------------------------------------------------------------------------- clients
class RawClient:
    """Signed HTTP requests to the test server through ``requests``."""

    def __init__(
        self, endpoint: str, host: str, cert: str, access_key: str, secret_key: str
    ) -> None:
        self.endpoint = endpoint
        self.host = host
        self.cert = cert
        self.access_key = access_key
        self.secret_key = secret_key
        self.session = requests.Session()

    def url(self, bucket: str | None = None, key: str | None = None, query: object = None) -> str:
        return self.endpoint + object_path(bucket, key) + query_string(query)  # type: ignore[arg-type]

    def signed_headers(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str] | None = None,
        payload_hash: str = UNSIGNED,
        access_key: str | None = None,
        secret_key: str | None = None,
        region: str = "us-east-1",
        service: str = "s3",
        when: dt.datetime | None = None,
    ) -> Signed:
        return sign(
            method,
            url,
            headers,
            access_key=access_key or self.access_key,
            secret_key=secret_key or self.secret_key,
            payload_hash=payload_hash,
            region=region,
            service=service,
            when=when,
        )

    def request(
        self,
        method: str,
        bucket: str | None = None,
        key: str | None = None,
        query: object = None,
        headers: Mapping[str, str] | None = None,
        body: bytes = b"",
        payload_hash: str | None = None,
        sign_request: bool = True,
        **sign_kwargs: object,
    ) -> requests.Response:
        """Send one request; ``payload_hash`` defaults to the body's hex SHA-256."""
        url = self.url(bucket, key, query)
        hdrs = dict(headers or {})
        if sign_request:
            ph = payload_hash if payload_hash is not None else hashlib.sha256(body).hexdigest()
            hdrs = self.signed_headers(method, url, hdrs, ph, **sign_kwargs).headers  # type: ignore[arg-type]
        return self.send(method, url, hdrs, body)

    def send(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes = b"", retries: int = 5
    ) -> requests.Response:
        for attempt in range(retries):
            resp = self.session.request(
                method,
                url,
                headers=dict(headers),
                data=body,
                verify=self.cert,
                timeout=60,
                allow_redirects=False,
            )
            if resp.status_code == 503 and attempt < retries - 1:  # SlowDown: back off
                time.sleep(float(resp.headers.get("Retry-After", "1") or 1))
                continue
            return resp
        return resp


def tls_connect(port: int, cert: str, timeout: float = 30.0) -> ssl.SSLSocket:
    ctx = ssl.create_default_context(cafile=cert)
    raw = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    return ctx.wrap_socket(raw, server_hostname="127.0.0.1")


def build_head(method: str, path: str, headers: Mapping[str, str]) -> bytes:
    lines = [f"{method} {path} HTTP/1.1"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")


def read_response(sock: ssl.SSLSocket, method: str = "GET") -> tuple[int, dict[str, str], bytes]:
    """Read one HTTP response (final, after any 1xx) from a socket."""
    resp = http.client.HTTPResponse(sock, method=method)
    resp.begin()
    body = resp.read()
    return resp.status, {k.lower(): v for k, v in resp.getheaders()}, body


def raw_exchange(
    port: int, cert: str, request: bytes, method: str = "PUT", timeout: float = 30.0
) -> tuple[int, dict[str, str], bytes]:
    with tls_connect(port, cert, timeout) as s:
        s.sendall(request)
        return read_response(s, method)
