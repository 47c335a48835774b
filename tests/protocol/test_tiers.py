"""Two endpoints, two tiers (issue 6): Standard and Archive endpoints by host name (path
and virtual-host style) and by the archive HTTPS port; wrong-tier access (301
PermanentRedirect, or served with --serve-cross-tier); archive objects (GLACIER_IR,
zstd-compressed blobs, transparent to clients); storage-class validation; moving objects
between tiers by CopyObject; Glacier restore semantics (--archive-restore-required).

Every test here runs against servers of its own (module scope, one set per xdist
worker). Names like ``s3-standard.example.test`` resolve to 127.0.0.1 through a patched
``socket.getaddrinfo`` (urllib3 resolves with it), and curl gets ``--resolve``.
"""

from __future__ import annotations

import contextlib
import email.utils
import hashlib
import random
import socket
import subprocess
import time
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Literal, cast

import boto3
import pytest
import requests
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import ClientError

from oortgate.config import Settings

from ._s3raw import sign
from ._server import REGION, ServerProcess, free_port
from ._util import etag, s3_error

DOMAIN = "example.test"
STD = f"s3-standard.{DOMAIN}"
ARC = f"s3-archive.{DOMAIN}"
# A server naming its endpoints explicitly (--standard-endpoint / --archive-endpoint).
OTHER_STD = "std.other.test"
OTHER_ARC = "arc.other.test"

# The addressing styles botocore knows, as its Config takes them.
Style = Literal["path", "virtual"]
ARCHIVE_CLASS = "GLACIER_IR"
MiB = 1 << 20
S3NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"


# --------------------------------------------------------------------------- fake DNS
_real_getaddrinfo = socket.getaddrinfo


def _fake_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
    name = host.decode() if isinstance(host, bytes) else host
    if isinstance(name, str) and name.lower().rstrip(".").endswith(".test"):
        host = "127.0.0.1"
    return _real_getaddrinfo(host, *args, **kwargs)


@pytest.fixture(scope="module", autouse=True)
def fake_dns() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(socket, "getaddrinfo", _fake_getaddrinfo)
        yield


# --------------------------------------------------------------------------- servers
class TierServer:
    """A ServerProcess with an archive HTTPS port, and clients for its endpoints."""

    def __init__(self, base: Path, *extra: str, std: str = STD, arc: str = ARC) -> None:
        self.archive_port = free_port()
        self.std, self.arc = std, arc
        self.srv = ServerProcess(
            data_dir=base / "data",
            extra_args=["--archive-https-port", str(self.archive_port), *extra],
        )

    def start(self) -> None:
        self.srv.start()
        deadline = time.monotonic() + 20
        while True:  # the archive listener is a child process of its own
            try:
                requests.get(self.archive_ip_url + "/_health/live", verify=self.cert, timeout=2)
                return
            except requests.RequestException:
                if time.monotonic() > deadline:
                    self.srv.stop()
                    raise RuntimeError("archive port not ready:\n" + self.srv.log_text()) from None
                time.sleep(0.1)

    @property
    def cert(self) -> str:
        return self.srv.cert

    @property
    def std_url(self) -> str:
        return f"https://{self.std}:{self.srv.port}"

    @property
    def arc_url(self) -> str:
        return f"https://{self.arc}:{self.srv.port}"

    @property
    def archive_ip_url(self) -> str:
        return f"https://127.0.0.1:{self.archive_port}"

    @property
    def archive_named_url(self) -> str:
        return f"https://{self.arc}:{self.archive_port}"

    def client(self, url: str, style: Style = "path", **config: Any) -> Any:
        return boto3.session.Session().client(
            "s3",
            endpoint_url=url,
            region_name=REGION,
            aws_access_key_id=self.srv.root_access_key,
            aws_secret_access_key=self.srv.root_secret_key,
            verify=self.cert,
            config=Config(s3={"addressing_style": style}, **config),
        )

    def endpoint(self, kind: str) -> tuple[str, Style]:
        """(url, addressing style) for an endpoint kind used in parametrized tests."""
        endpoints: dict[str, tuple[str, Style]] = {
            "standard-path": (self.std_url, "path"),
            "standard-virtual": (self.std_url, "virtual"),
            "archive-path": (self.arc_url, "path"),
            "archive-virtual": (self.arc_url, "virtual"),
            "archive-port": (self.archive_ip_url, "path"),
            "archive-port-virtual": (self.archive_named_url, "virtual"),
            "ip": (self.srv.endpoint, "path"),
        }
        return endpoints[kind]

    @property
    def ip(self) -> Any:
        """Path style on the IP address: no tier, reaches buckets of either tier."""
        return self.client(self.srv.endpoint)

    @property
    def std_v(self) -> Any:
        return self.client(self.std_url, "virtual")

    @property
    def arc_v(self) -> Any:
        return self.client(self.arc_url, "virtual")

    def blob_files(self) -> dict[str, int]:
        root = self.srv.data_dir / "blobs"
        return {str(p): p.stat().st_size for p in root.rglob("*") if p.is_file()}


def _start(base: Path, *extra: str, **names: str) -> Iterator[TierServer]:
    ts = TierServer(base, *extra, **names)
    ts.start()
    try:
        yield ts
    finally:
        ts.srv.stop()


@pytest.fixture(scope="module")
def tiers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TierServer]:
    yield from _start(tmp_path_factory.mktemp("tiers"), "--domain", DOMAIN)


@pytest.fixture(scope="module")
def cross(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TierServer]:
    yield from _start(
        tmp_path_factory.mktemp("cross"),
        "--serve-cross-tier",
        "true",
        "--standard-endpoint",
        OTHER_STD,
        "--archive-endpoint",
        OTHER_ARC,
        std=OTHER_STD,
        arc=OTHER_ARC,
    )


@pytest.fixture(scope="module")
def glacier(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TierServer]:
    yield from _start(
        tmp_path_factory.mktemp("glacier"),
        "--domain",
        DOMAIN,
        "--archive-restore-required",
        "true",
        "--archive-restore-seconds",
        "2",
    )


def _name(prefix: str = "t") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:20]}"


def _empty_and_delete(client: Any, name: str) -> None:
    with contextlib.suppress(Exception):
        for upload in client.list_multipart_uploads(Bucket=name).get("Uploads", []):
            client.abort_multipart_upload(
                Bucket=name, Key=upload["Key"], UploadId=upload["UploadId"]
            )
    with contextlib.suppress(Exception):
        for obj in client.list_objects_v2(Bucket=name).get("Contents", []):
            client.delete_object(Bucket=name, Key=obj["Key"])
    with contextlib.suppress(Exception):
        client.delete_bucket(Bucket=name)


@pytest.fixture
def buckets() -> Iterator[Callable[..., str]]:
    """make(ts, client, prefix) -> a new bucket created with ``client`` (so through that
    client's endpoint), emptied and deleted through the tierless IP endpoint afterwards."""
    made: list[tuple[TierServer, str]] = []

    def make(ts: TierServer, client: Any, prefix: str = "t", name: str | None = None) -> str:
        name = name or _name(prefix)
        client.create_bucket(Bucket=name)
        made.append((ts, name))
        return name

    yield make
    for ts, name in reversed(made):
        _empty_and_delete(ts.ip, name)


# --------------------------------------------------------------------------- data
def compressible(n: int) -> bytes:
    line_count = n // 40 + 1
    text = b"".join(b"%08d archived log line, mostly the same\n" % i for i in range(line_count))
    return text[:n]


def incompressible(n: int, seed: int = 7) -> bytes:
    return random.Random(seed + n).randbytes(n)


def storage_class_of_head(resp: dict[str, Any]) -> str:
    # S3 (like AWS) omits x-amz-storage-class for STANDARD objects.
    return str(resp.get("StorageClass", "STANDARD"))


def xml_error(body: bytes) -> dict[str, str]:
    root = ET.fromstring(body)
    return {child.tag.replace(S3NS, ""): child.text or "" for child in root}


def signed_request(
    ts: TierServer, method: str, url: str, body: bytes = b"", headers: dict[str, str] | None = None
) -> requests.Response:
    """A SigV4-signed request (signed for the URL's host) sent with requests."""
    payload = hashlib.sha256(body).hexdigest()
    signed = sign(
        method,
        url,
        headers or {},
        access_key=ts.srv.root_access_key,
        secret_key=ts.srv.root_secret_key,
        payload_hash=payload,
    )
    return requests.request(
        method, url, headers=signed.headers, data=body, verify=ts.cert, allow_redirects=False
    )


def expect_redirect(
    exc: pytest.ExceptionInfo[ClientError], code: str = "PermanentRedirect"
) -> None:
    resp = exc.value.response
    assert resp["Error"]["Code"] == code, resp
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 301, resp
    assert resp["ResponseMetadata"]["HTTPHeaders"].get("x-amz-bucket-region") == REGION, resp


# =========================================================================== endpoints
ENDPOINT_KINDS = [
    "standard-path",
    "standard-virtual",
    "archive-path",
    "archive-virtual",
    "archive-port",
    "archive-port-virtual",
    "ip",
]


@pytest.mark.parametrize("kind", ENDPOINT_KINDS)
def test_create_bucket_through_each_endpoint(
    tiers: TierServer, buckets: Callable[..., str], kind: str
) -> None:
    url, style = tiers.endpoint(kind)
    client = tiers.client(url, style)
    archive = kind.startswith("archive")
    expected_class = ARCHIVE_CLASS if archive else "STANDARD"

    name = buckets(tiers, client, "ep")
    client.head_bucket(Bucket=name)
    assert name in [b["Name"] for b in client.list_buckets()["Buckets"]]
    data = b"hello from " + kind.encode()
    client.put_object(Bucket=name, Key="k", Body=data)
    head = client.head_object(Bucket=name, Key="k")
    assert storage_class_of_head(head) == expected_class
    assert head["ETag"] == etag(data)
    assert client.get_object(Bucket=name, Key="k")["Body"].read() == data
    listed = client.list_objects_v2(Bucket=name)["Contents"]
    assert [(o["Key"], o["StorageClass"]) for o in listed] == [("k", expected_class)]

    # The tierless IP endpoint reaches the bucket whatever its tier, and reports the class.
    assert tiers.ip.get_object(Bucket=name, Key="k")["Body"].read() == data
    assert storage_class_of_head(tiers.ip.head_object(Bucket=name, Key="k")) == expected_class

    # The bucket's own tier answers in both styles, the other tier redirects.
    own, other = (tiers.arc_url, tiers.std_url) if archive else (tiers.std_url, tiers.arc_url)
    style2: Style
    for style2 in ("path", "virtual"):
        own_client = tiers.client(own, style2)
        assert own_client.get_object(Bucket=name, Key="k")["Body"].read() == data
        with pytest.raises(ClientError) as ei:
            tiers.client(other, style2).get_object(Bucket=name, Key="k")
        expect_redirect(ei)

    client.delete_object(Bucket=name, Key="k")
    client.delete_bucket(Bucket=name)
    with s3_error("NoSuchBucket", 404):
        tiers.ip.get_object(Bucket=name, Key="k")


def test_bucket_named_like_an_endpoint_label(
    tiers: TierServer, buckets: Callable[..., str]
) -> None:
    """Virtual host ``s3-archive.s3-standard.example.test``: bucket "s3-archive" on the
    Standard endpoint (the host suffix, not the first label, decides)."""
    name = buckets(tiers, tiers.std_v, name="s3-archive")
    tiers.std_v.put_object(Bucket=name, Key="x", Body=b"std")
    assert storage_class_of_head(tiers.std_v.head_object(Bucket=name, Key="x")) == "STANDARD"
    with pytest.raises(ClientError) as ei:
        tiers.arc_v.get_object(Bucket=name, Key="x")
    expect_redirect(ei)
    # and the other way round: bucket "s3-standard" on the Archive endpoint
    name2 = buckets(tiers, tiers.arc_v, name="s3-standard")
    tiers.arc_v.put_object(Bucket=name2, Key="x", Body=b"arc")
    assert storage_class_of_head(tiers.arc_v.head_object(Bucket=name2, Key="x")) == ARCHIVE_CLASS


def test_archive_port_named_and_ip_agree(tiers: TierServer, buckets: Callable[..., str]) -> None:
    """A bucket made on the archive port is an Archive bucket on the named endpoint too."""
    port_client = tiers.client(tiers.archive_ip_url)
    name = buckets(tiers, port_client, "ap")
    port_client.put_object(Bucket=name, Key="k", Body=b"1")
    assert tiers.arc_v.get_object(Bucket=name, Key="k")["StorageClass"] == ARCHIVE_CLASS
    # a Standard bucket through the archive port redirects
    std_name = buckets(tiers, tiers.std_v, "sp")
    with pytest.raises(ClientError) as ei:
        port_client.list_objects_v2(Bucket=std_name)
    expect_redirect(ei)


# =========================================================================== wrong tier
@pytest.fixture
def two_buckets(tiers: TierServer, buckets: Callable[..., str]) -> tuple[str, str]:
    """(standard bucket, archive bucket), each with object "obj"."""
    std = buckets(tiers, tiers.std_v, "std")
    arc = buckets(tiers, tiers.arc_v, "arc")
    tiers.std_v.put_object(Bucket=std, Key="obj", Body=b"standard bytes")
    tiers.arc_v.put_object(Bucket=arc, Key="obj", Body=b"archive bytes")
    return std, arc


@pytest.mark.parametrize("style", ["path", "virtual"])
def test_wrong_tier_boto3(tiers: TierServer, two_buckets: tuple[str, str], style: Style) -> None:
    std, arc = two_buckets
    for bucket, wrong_url in ((std, tiers.arc_url), (arc, tiers.std_url)):
        wrong = tiers.client(wrong_url, style, retries={"total_max_attempts": 1})
        call: Callable[[], object]
        for call in (
            lambda b=bucket, c=wrong: c.get_object(Bucket=b, Key="obj"),
            lambda b=bucket, c=wrong: c.list_objects_v2(Bucket=b),
            lambda b=bucket, c=wrong: c.put_object(Bucket=b, Key="new", Body=b"x"),
            lambda b=bucket, c=wrong: c.delete_object(Bucket=b, Key="obj"),
            lambda b=bucket, c=wrong: c.create_multipart_upload(Bucket=b, Key="mpu"),
            lambda b=bucket, c=wrong: c.delete_bucket(Bucket=b),
        ):
            with pytest.raises(ClientError) as ei:
                call()
            expect_redirect(ei)
        # HEAD has no body: a bare 301 (botocore names the error after the status)
        for call in (
            lambda b=bucket, c=wrong: c.head_object(Bucket=b, Key="obj"),
            lambda b=bucket, c=wrong: c.head_bucket(Bucket=b),
        ):
            with pytest.raises(ClientError) as ei:
                call()
            expect_redirect(ei, code="301")
        # nothing was touched
        assert tiers.ip.get_object(Bucket=bucket, Key="obj")["Body"].read()
        keys = [o["Key"] for o in tiers.ip.list_objects_v2(Bucket=bucket)["Contents"]]
        assert keys == ["obj"]
        assert not tiers.ip.list_multipart_uploads(Bucket=bucket).get("Uploads")


def test_wrong_tier_error_fields_boto3(tiers: TierServer, two_buckets: tuple[str, str]) -> None:
    std, _ = two_buckets
    with pytest.raises(ClientError) as ei:
        tiers.arc_v.get_object(Bucket=std, Key="obj")
    err = cast(dict[str, str], ei.value.response["Error"])
    assert err["Code"] == "PermanentRedirect"
    assert err.get("Bucket") == std
    assert STD in err.get("Endpoint", ""), err


@pytest.mark.parametrize("style", ["path", "virtual"])
def test_wrong_tier_raw_xml(tiers: TierServer, two_buckets: tuple[str, str], style: Style) -> None:
    std, arc = two_buckets
    cases = ((std, ARC, STD), (arc, STD, ARC))
    for bucket, wrong_host, right_host in cases:
        if style == "path":
            url = f"https://{wrong_host}:{tiers.srv.port}/{bucket}/obj"
        else:
            url = f"https://{bucket}.{wrong_host}:{tiers.srv.port}/obj"
        resp = signed_request(tiers, "GET", url)
        assert resp.status_code == 301, resp.text
        assert resp.headers.get("x-amz-bucket-region") == REGION
        assert "xml" in resp.headers.get("content-type", "")
        fields = xml_error(resp.content)
        assert fields["Code"] == "PermanentRedirect"
        assert fields.get("Bucket") == bucket
        if style == "virtual":
            assert fields["Endpoint"] == f"{bucket}.{right_host}", fields
        else:
            # AWS names the endpoint to use; the bucket-prefixed form is fine too
            assert fields["Endpoint"] in (right_host, f"{bucket}.{right_host}"), fields
        # the redirect carries no object data
        assert b"bytes" not in resp.content

        head = signed_request(tiers, "HEAD", url)
        assert head.status_code == 301
        assert head.content == b""
        assert head.headers.get("x-amz-bucket-region") == REGION

        put = signed_request(tiers, "PUT", url.replace("/obj", "/put-obj"), body=b"nope")
        assert put.status_code == 301
        assert xml_error(put.content)["Code"] == "PermanentRedirect"
        with s3_error("NoSuchKey", 404):
            tiers.ip.get_object(Bucket=bucket, Key="put-obj")


def test_wrong_tier_archive_port_raw(tiers: TierServer, two_buckets: tuple[str, str]) -> None:
    std, arc = two_buckets
    resp = signed_request(tiers, "GET", f"{tiers.archive_ip_url}/{std}/obj")
    assert resp.status_code == 301
    fields = xml_error(resp.content)
    assert fields["Code"] == "PermanentRedirect"
    assert fields["Endpoint"] in (STD, f"{std}.{STD}"), fields
    ok = signed_request(tiers, "GET", f"{tiers.archive_ip_url}/{arc}/obj")
    assert ok.status_code == 200 and ok.content == b"archive bytes"
    assert ok.headers["x-amz-storage-class"] == ARCHIVE_CLASS


def test_wrong_tier_with_curl(tiers: TierServer, two_buckets: tuple[str, str]) -> None:
    std, _ = two_buckets
    port = tiers.srv.port

    def curl(host: str, path: str) -> tuple[int, bytes]:
        out = subprocess.run(
            [
                "curl",
                "-sS",
                "--resolve",
                f"{host}:{port}:127.0.0.1",
                "--cacert",
                tiers.cert,
                "--aws-sigv4",
                f"aws:amz:{REGION}:s3",
                "--user",
                f"{tiers.srv.root_access_key}:{tiers.srv.root_secret_key}",
                "-H",
                "x-amz-content-sha256: UNSIGNED-PAYLOAD",
                "-w",
                "\n%{http_code}",
                f"https://{host}:{port}{path}",
            ],
            capture_output=True,
            timeout=30,
        )
        assert out.returncode == 0, out.stderr
        body, _, code = out.stdout.rpartition(b"\n")
        return int(code), body

    code, body = curl(f"{std}.{STD}", "/obj")
    assert (code, body) == (200, b"standard bytes")
    code, body = curl(f"{std}.{ARC}", "/obj")
    assert code == 301
    fields = xml_error(body)
    assert fields["Code"] == "PermanentRedirect"
    assert fields["Endpoint"] == f"{std}.{STD}"
    code, body = curl(ARC, f"/{std}/obj")
    assert code == 301


def test_serve_cross_tier(cross: TierServer, buckets: Callable[..., str]) -> None:
    """--serve-cross-tier true: the other tier's endpoint serves the bucket; the bucket's
    own tier still decides the storage class. Endpoints named by
    --standard-endpoint/--archive-endpoint."""
    std = buckets(cross, cross.std_v, "xs")
    arc = buckets(cross, cross.arc_v, "xa")
    std_path = cross.client(cross.std_url)
    arc_path = cross.client(cross.arc_url)
    for client in (cross.arc_v, arc_path):
        client.put_object(Bucket=std, Key="via-archive", Body=b"s")
        assert client.get_object(Bucket=std, Key="via-archive")["Body"].read() == b"s"
        head = client.head_object(Bucket=std, Key="via-archive")
        assert storage_class_of_head(head) == "STANDARD"
        client.head_bucket(Bucket=std)
    for client in (cross.std_v, std_path):
        client.put_object(Bucket=arc, Key="via-standard", Body=b"a")
        got = client.get_object(Bucket=arc, Key="via-standard")
        assert got["Body"].read() == b"a"
        assert got["StorageClass"] == ARCHIVE_CLASS
        listed = client.list_objects_v2(Bucket=arc)["Contents"]
        assert {o["StorageClass"] for o in listed} == {ARCHIVE_CLASS}
    # the archive port too
    port_client = cross.client(cross.archive_ip_url)
    assert port_client.get_object(Bucket=std, Key="via-archive")["Body"].read() == b"s"
    # the default --domain names are no endpoints here: path style, no tier
    assert cross.srv.endpoint  # (the IP endpoint works as everywhere)
    assert cross.ip.get_object(Bucket=arc, Key="via-standard")["StorageClass"] == ARCHIVE_CLASS


# =========================================================================== archive data
SIZES = [1, 100 * 1024, 3 * MiB // 2, 5 * MiB]
INLINE_MAX = Settings().inline_max_size
KINDS = {"compressible": compressible, "incompressible": incompressible}


def range_cases(size: int) -> list[tuple[str, int, int]]:
    """(Range header, first, last) across the 1 MiB frame boundaries."""
    out = [("bytes=0-0", 0, 0), (f"bytes={size - 1}-", size - 1, size - 1)]
    out.append(("bytes=-1000", max(0, size - 1000), size - 1))
    out.append((f"bytes=0-{size + 5000}", 0, size - 1))  # end clipped to the size
    for boundary in range(MiB, size, MiB):
        out.append((f"bytes={boundary - 1}-{boundary}", boundary - 1, boundary))
        out.append((f"bytes={boundary}-{boundary}", boundary, boundary))
        out.append((f"bytes={boundary - 1}-{boundary - 1}", boundary - 1, boundary - 1))
        first, last = boundary - 12345, min(size - 1, boundary + 54321)
        out.append((f"bytes={first}-{last}", first, last))
    if size > 3 * MiB:
        out.append((f"bytes={MiB - 7}-{3 * MiB + 7}", MiB - 7, 3 * MiB + 7))
    if size > MiB:
        out.append((f"bytes={MiB}-", MiB, size - 1))
    return out


def check_ranges(client: Any, bucket: str, key: str, data: bytes) -> None:
    size = len(data)
    for header, first, last in range_cases(size):
        got = client.get_object(Bucket=bucket, Key=key, Range=header)
        body = got["Body"].read()
        assert body == data[first : last + 1], header
        assert got["ContentLength"] == last - first + 1, header
        assert got["ContentRange"] == f"bytes {first}-{last}/{size}", header
        assert got["ResponseMetadata"]["HTTPStatusCode"] == 206
        assert got["ETag"] == etag(data)


@pytest.fixture
def archive_bucket(tiers: TierServer, buckets: Callable[..., str]) -> str:
    return buckets(tiers, tiers.arc_v, "ab")


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("size", SIZES, ids=["1B", "100KiB", "1.5MiB", "5MiB"])
def test_archive_round_trip(
    tiers: TierServer, archive_bucket: str, tmp_path: Path, kind: str, size: int
) -> None:
    data = KINDS[kind](size)
    client = tiers.arc_v
    before = tiers.blob_files()
    put = client.put_object(Bucket=archive_bucket, Key="obj", Body=data)
    assert put["ETag"] == etag(data)
    new = {p: s for p, s in tiers.blob_files().items() if p not in before}

    head = client.head_object(Bucket=archive_bucket, Key="obj")
    assert head["ContentLength"] == size
    assert head["ETag"] == etag(data)
    assert head["StorageClass"] == ARCHIVE_CLASS
    got = client.get_object(Bucket=archive_bucket, Key="obj")
    assert got["ContentLength"] == size
    assert got["ETag"] == etag(data)
    assert got["StorageClass"] == ARCHIVE_CLASS
    assert got["Body"].read() == data
    check_ranges(client, archive_bucket, "obj", data)

    target = tmp_path / "down.bin"
    small_chunks = TransferConfig(multipart_threshold=MiB, multipart_chunksize=MiB + 4099)
    client.download_file(archive_bucket, "obj", str(target), Config=small_chunks)
    assert target.read_bytes() == data
    # the same bytes through the tierless endpoint and the archive port
    assert tiers.ip.get_object(Bucket=archive_bucket, Key="obj")["Body"].read() == data
    port = tiers.client(tiers.archive_ip_url)
    assert port.get_object(Bucket=archive_bucket, Key="obj")["Body"].read() == data

    if size <= INLINE_MAX:  # small: its bytes live in the metadata store, no file
        assert not new, new
        return
    # storage: one compressed (framed) blob, "z" at the end of its id
    zblobs = {p: s for p, s in new.items() if p.endswith("z")}
    assert zblobs, f"no compressed blob among the new blob files {new}"
    assert len(new) == len(zblobs), f"uncompressed blobs for an archive object: {new}"
    stored = sum(zblobs.values())
    if size >= MiB and kind == "compressible":
        assert stored < size / 10, (stored, size)
    elif size >= MiB:
        # raw frames plus a table and footer: hardly bigger
        assert size <= stored <= size + 1024 + 16 * (size // MiB + 1), (stored, size)
    else:
        assert stored <= size + 256


def test_archive_multipart(tiers: TierServer, archive_bucket: str, tmp_path: Path) -> None:
    client = tiers.arc_v
    parts_data = [compressible(5 * MiB), incompressible(5 * MiB), compressible(3 * MiB // 2)]
    data = b"".join(parts_data)
    before = tiers.blob_files()
    mpu = client.create_multipart_upload(Bucket=archive_bucket, Key="mp", ContentType="a/b")
    assert mpu.get("StorageClass", ARCHIVE_CLASS) == ARCHIVE_CLASS
    upload_id = mpu["UploadId"]
    uploads = client.list_multipart_uploads(Bucket=archive_bucket)["Uploads"]
    assert [(u["Key"], u["StorageClass"]) for u in uploads] == [("mp", ARCHIVE_CLASS)]
    parts = []
    for number, chunk in enumerate(parts_data, 1):
        resp = client.upload_part(
            Bucket=archive_bucket, Key="mp", UploadId=upload_id, PartNumber=number, Body=chunk
        )
        assert resp["ETag"] == etag(chunk)
        parts.append({"PartNumber": number, "ETag": resp["ETag"]})
    listed = client.list_parts(Bucket=archive_bucket, Key="mp", UploadId=upload_id)
    assert listed["StorageClass"] == ARCHIVE_CLASS
    assert [p["Size"] for p in listed["Parts"]] == [len(p) for p in parts_data]
    done = client.complete_multipart_upload(
        Bucket=archive_bucket, Key="mp", UploadId=upload_id, MultipartUpload={"Parts": parts}
    )
    md5s = b"".join(hashlib.md5(p).digest() for p in parts_data)
    expected_etag = f'"{hashlib.md5(md5s).hexdigest()}-3"'
    assert done["ETag"] == expected_etag

    head = client.head_object(Bucket=archive_bucket, Key="mp")
    assert head["ContentLength"] == len(data)
    assert head["ETag"] == expected_etag
    assert head["StorageClass"] == ARCHIVE_CLASS
    assert client.get_object(Bucket=archive_bucket, Key="mp")["Body"].read() == data
    for number, chunk in enumerate(parts_data, 1):
        got = client.get_object(Bucket=archive_bucket, Key="mp", PartNumber=number)
        assert got["Body"].read() == chunk
        assert got["PartsCount"] == 3
    # ranges across part and frame boundaries
    for first, last in ((5 * MiB - 3, 5 * MiB + 3), (MiB - 1, 10 * MiB + 1), (9 * MiB, 11 * MiB)):
        got = client.get_object(Bucket=archive_bucket, Key="mp", Range=f"bytes={first}-{last}")
        assert got["Body"].read() == data[first : last + 1]
        assert got["ContentLength"] == last - first + 1
    target = tmp_path / "mp.bin"
    client.download_file(
        archive_bucket, "mp", str(target), Config=TransferConfig(multipart_chunksize=3 * MiB)
    )
    assert target.read_bytes() == data
    new = {p: s for p, s in tiers.blob_files().items() if p not in before}
    assert new and all(p.endswith("z") for p in new), new
    # 6.5 MiB compressible + 5 MiB random: the random part dominates what is stored
    assert sum(new.values()) < 5 * MiB + MiB, sum(new.values())
    listing = client.list_objects_v2(Bucket=archive_bucket)["Contents"]
    assert [(o["Key"], o["Size"], o["StorageClass"]) for o in listing] == [
        ("mp", len(data), ARCHIVE_CLASS)
    ]


def test_archive_upload_file_multipart(
    tiers: TierServer, archive_bucket: str, tmp_path: Path
) -> None:
    data = compressible(7 * MiB) + incompressible(4 * MiB)
    src = tmp_path / "src.bin"
    src.write_bytes(data)
    cfg = TransferConfig(multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB)
    tiers.arc_v.upload_file(str(src), archive_bucket, "up", Config=cfg)
    head = tiers.arc_v.head_object(Bucket=archive_bucket, Key="up")
    assert head["ETag"].endswith('-3"')
    assert head["StorageClass"] == ARCHIVE_CLASS
    assert head["ContentLength"] == len(data)
    dst = tmp_path / "dst.bin"
    tiers.arc_v.download_file(
        archive_bucket, "up", str(dst), Config=TransferConfig(multipart_chunksize=MiB + 1)
    )
    assert dst.read_bytes() == data


def test_listings_report_archive_class(
    tiers: TierServer, buckets: Callable[..., str], archive_bucket: str
) -> None:
    std = buckets(tiers, tiers.std_v, "ls")
    for key in ("a", "dir/b", "dir/c"):
        tiers.arc_v.put_object(Bucket=archive_bucket, Key=key, Body=key.encode())
        tiers.std_v.put_object(Bucket=std, Key=key, Body=key.encode())
    for client, bucket, cls in ((tiers.arc_v, archive_bucket, ARCHIVE_CLASS),
                                (tiers.std_v, std, "STANDARD"),
                                (tiers.ip, archive_bucket, ARCHIVE_CLASS)):  # fmt: skip
        v2 = client.list_objects_v2(Bucket=bucket)["Contents"]
        assert {o["StorageClass"] for o in v2} == {cls}
        v1 = client.list_objects(Bucket=bucket)["Contents"]
        assert {o["StorageClass"] for o in v1} == {cls}
        delimited = client.list_objects_v2(Bucket=bucket, Prefix="dir/", Delimiter="/")
        assert {o["StorageClass"] for o in delimited["Contents"]} == {cls}
    raw = signed_request(tiers, "GET", f"https://{archive_bucket}.{ARC}:{tiers.srv.port}/")
    assert raw.status_code == 200
    classes = [e.text for e in ET.fromstring(raw.content).iter(f"{S3NS}StorageClass")]
    assert classes == [ARCHIVE_CLASS] * 3
    raw_head = signed_request(tiers, "HEAD", f"https://{archive_bucket}.{ARC}:{tiers.srv.port}/a")
    assert raw_head.headers["x-amz-storage-class"] == ARCHIVE_CLASS
    std_head = signed_request(tiers, "HEAD", f"https://{std}.{STD}:{tiers.srv.port}/a")
    assert std_head.headers.get("x-amz-storage-class", "STANDARD") == "STANDARD"


# =========================================================================== storage class
def test_invalid_storage_class(
    tiers: TierServer, buckets: Callable[..., str], archive_bucket: str
) -> None:
    std = buckets(tiers, tiers.std_v, "sc")
    arc = archive_bucket
    s, a = tiers.std_v, tiers.arc_v
    # the bucket's own class, explicitly, is fine
    s.put_object(Bucket=std, Key="ok", Body=b"1", StorageClass="STANDARD")
    a.put_object(Bucket=arc, Key="ok", Body=b"1", StorageClass=ARCHIVE_CLASS)
    assert a.head_object(Bucket=arc, Key="ok")["StorageClass"] == ARCHIVE_CLASS
    bad = [
        (s, std, ARCHIVE_CLASS),
        (s, std, "GLACIER"),
        (s, std, "NOT_A_CLASS"),
        (a, arc, "STANDARD"),
        (a, arc, "STANDARD_IA"),
        (a, arc, "bogus"),
    ]
    for client, bucket, cls in bad:
        with s3_error("InvalidStorageClass", 400):
            client.put_object(Bucket=bucket, Key="bad", Body=b"x", StorageClass=cls)
        with s3_error("InvalidStorageClass", 400):
            client.create_multipart_upload(Bucket=bucket, Key="bad", StorageClass=cls)
        with s3_error("InvalidStorageClass", 400):
            client.copy_object(
                Bucket=bucket, Key="bad", CopySource={"Bucket": bucket, "Key": "ok"},
                StorageClass=cls,
            )  # fmt: skip
        with s3_error("NoSuchKey", 404):
            client.get_object(Bucket=bucket, Key="bad")
        assert not client.list_multipart_uploads(Bucket=bucket).get("Uploads")
    # explicit own class on CreateMultipartUpload works
    up = a.create_multipart_upload(Bucket=arc, Key="m", StorageClass=ARCHIVE_CLASS)
    a.abort_multipart_upload(Bucket=arc, Key="m", UploadId=up["UploadId"])


# =========================================================================== copy
def _copy_checks(dst_client: Any, bucket: str, key: str, data: bytes, cls: str) -> None:
    head = dst_client.head_object(Bucket=bucket, Key=key)
    assert storage_class_of_head(head) == cls
    assert head["ETag"] == etag(data)
    assert head["ContentLength"] == len(data)
    got = dst_client.get_object(Bucket=bucket, Key=key, Range="bytes=1048570-1048580")
    assert got["Body"].read() == data[1048570:1048581]
    assert dst_client.get_object(Bucket=bucket, Key=key)["Body"].read() == data
    listed = dst_client.list_objects_v2(Bucket=bucket, Prefix=key)["Contents"]
    assert [o["StorageClass"] for o in listed] == [cls]


def test_copy_between_tiers_via_ip_endpoint(
    tiers: TierServer, buckets: Callable[..., str], archive_bucket: str
) -> None:
    std = buckets(tiers, tiers.std_v, "cp")
    arc = archive_bucket
    data = compressible(2 * MiB + 5)
    tiers.std_v.put_object(Bucket=std, Key="orig", Body=data, Metadata={"m": "v"})
    ip = tiers.ip
    resp = ip.copy_object(Bucket=arc, Key="moved", CopySource={"Bucket": std, "Key": "orig"})
    assert resp["CopyObjectResult"]["ETag"] == etag(data)
    _copy_checks(tiers.arc_v, arc, "moved", data, ARCHIVE_CLASS)
    assert tiers.arc_v.head_object(Bucket=arc, Key="moved")["Metadata"] == {"m": "v"}
    # and back
    ip.copy_object(Bucket=std, Key="back", CopySource={"Bucket": arc, "Key": "moved"})
    _copy_checks(tiers.std_v, std, "back", data, "STANDARD")
    # explicit storage classes matching the destination are fine
    ip.copy_object(
        Bucket=arc, Key="moved2", CopySource={"Bucket": std, "Key": "orig"},
        StorageClass=ARCHIVE_CLASS,
    )  # fmt: skip
    _copy_checks(tiers.arc_v, arc, "moved2", data, ARCHIVE_CLASS)


def test_copy_between_tiers_via_destination_endpoint(
    tiers: TierServer, buckets: Callable[..., str], archive_bucket: str
) -> None:
    """Through the named endpoint of the destination's tier, as an SDK user would (AWS
    copies from a bucket of another region the same way: x-amz-copy-source names it)."""
    std = buckets(tiers, tiers.std_v, "cd")
    arc = archive_bucket
    data = incompressible(MiB + 100)
    tiers.std_v.put_object(Bucket=std, Key="orig", Body=data)
    tiers.arc_v.copy_object(Bucket=arc, Key="moved", CopySource={"Bucket": std, "Key": "orig"})
    _copy_checks(tiers.arc_v, arc, "moved", data, ARCHIVE_CLASS)
    tiers.std_v.copy_object(Bucket=std, Key="back", CopySource={"Bucket": arc, "Key": "moved"})
    _copy_checks(tiers.std_v, std, "back", data, "STANDARD")


# =========================================================================== restore
def _restore_status(resp: dict[str, Any]) -> int:
    return int(resp["ResponseMetadata"]["HTTPStatusCode"])


def _expiry(restore_header: str) -> float:
    assert 'ongoing-request="false"' in restore_header, restore_header
    value = restore_header.split('expiry-date="', 1)[1].split('"', 1)[0]
    return email.utils.parsedate_to_datetime(value).timestamp()


def test_restore_required_end_to_end(glacier: TierServer, buckets: Callable[..., str]) -> None:
    arc = buckets(glacier, glacier.arc_v, "gl")
    std = buckets(glacier, glacier.std_v, "gs")
    a = glacier.arc_v
    data = compressible(MiB + 333)
    a.put_object(Bucket=arc, Key="cold", Body=data)
    head = a.head_object(Bucket=arc, Key="cold")  # HEAD works, no restore yet
    assert head["StorageClass"] == ARCHIVE_CLASS
    assert head["ContentLength"] == len(data)
    assert "Restore" not in head
    assert [o["Key"] for o in a.list_objects_v2(Bucket=arc)["Contents"]] == ["cold"]

    with s3_error("InvalidObjectState", 403):
        a.get_object(Bucket=arc, Key="cold")
    with s3_error("InvalidObjectState", 403):
        a.get_object(Bucket=arc, Key="cold", Range="bytes=0-9")
    with s3_error("InvalidObjectState", 403):
        glacier.ip.get_object(Bucket=arc, Key="cold")
    with s3_error("InvalidObjectState", 403):
        glacier.ip.copy_object(Bucket=std, Key="copy", CopySource={"Bucket": arc, "Key": "cold"})
    with s3_error("InvalidObjectState", 403):
        a.copy_object(Bucket=arc, Key="copy", CopySource={"Bucket": arc, "Key": "cold"})

    started = time.time()
    first = a.restore_object(Bucket=arc, Key="cold", RestoreRequest={"Days": 1})
    assert _restore_status(first) == 202
    with s3_error("RestoreAlreadyInProgress", 409):
        a.restore_object(Bucket=arc, Key="cold", RestoreRequest={"Days": 1})
    head = a.head_object(Bucket=arc, Key="cold")
    assert head["Restore"] == 'ongoing-request="true"'
    with s3_error("InvalidObjectState", 403):
        a.get_object(Bucket=arc, Key="cold")

    deadline = time.monotonic() + 15
    while 'ongoing-request="true"' in a.head_object(Bucket=arc, Key="cold").get("Restore", ""):
        assert time.monotonic() < deadline, "restore never completed"
        time.sleep(0.2)
    assert time.time() - started >= 1.5  # it took (about) --archive-restore-seconds
    head = a.head_object(Bucket=arc, Key="cold")
    expiry = _expiry(head["Restore"])
    assert time.time() + 20 * 3600 < expiry < time.time() + 2 * 86400, head["Restore"]

    got = a.get_object(Bucket=arc, Key="cold")
    assert got["Body"].read() == data
    assert got["ETag"] == etag(data)
    part = a.get_object(Bucket=arc, Key="cold", Range=f"bytes={MiB - 2}-{MiB + 2}")
    assert part["Body"].read() == data[MiB - 2 : MiB + 3]
    # a restored object may be copied; the copy into Standard is readable at once
    glacier.ip.copy_object(Bucket=std, Key="copy", CopySource={"Bucket": arc, "Key": "cold"})
    copied = glacier.std_v.get_object(Bucket=std, Key="copy")
    assert copied["Body"].read() == data
    assert copied.get("StorageClass", "STANDARD") == "STANDARD"

    again = a.restore_object(Bucket=arc, Key="cold", RestoreRequest={"Days": 3})
    assert _restore_status(again) == 200
    head = a.head_object(Bucket=arc, Key="cold")
    extended = _expiry(head["Restore"])
    assert extended > expiry + 86400, (expiry, extended)


def test_restore_rules(glacier: TierServer, buckets: Callable[..., str]) -> None:
    arc = buckets(glacier, glacier.arc_v, "gr")
    std = buckets(glacier, glacier.std_v, "gq")
    glacier.std_v.put_object(Bucket=std, Key="hot", Body=b"hot bytes")
    # Standard objects are readable and refuse a restore
    assert glacier.std_v.get_object(Bucket=std, Key="hot")["Body"].read() == b"hot bytes"
    assert "Restore" not in glacier.std_v.head_object(Bucket=std, Key="hot")
    with s3_error("InvalidObjectState", 403):
        glacier.std_v.restore_object(Bucket=std, Key="hot", RestoreRequest={"Days": 1})
    with s3_error("NoSuchKey", 404):
        glacier.arc_v.restore_object(Bucket=arc, Key="missing", RestoreRequest={"Days": 1})
    # a copy of an unrestored archive object is refused even within the archive tier
    glacier.arc_v.put_object(Bucket=arc, Key="cold", Body=b"cold")
    with s3_error("InvalidObjectState", 403):
        glacier.arc_v.copy_object(
            Bucket=arc, Key="cold2", CopySource={"Bucket": arc, "Key": "cold"}
        )
    # a Standard object copied into the archive tier becomes cold
    glacier.ip.copy_object(Bucket=arc, Key="frozen", CopySource={"Bucket": std, "Key": "hot"})
    assert glacier.arc_v.head_object(Bucket=arc, Key="frozen")["StorageClass"] == ARCHIVE_CLASS
    with s3_error("InvalidObjectState", 403):
        glacier.arc_v.get_object(Bucket=arc, Key="frozen")


def test_restore_raw_status_and_headers(glacier: TierServer, buckets: Callable[..., str]) -> None:
    arc = buckets(glacier, glacier.arc_v, "gw")
    glacier.arc_v.put_object(Bucket=arc, Key="k", Body=b"abc")
    url = f"https://{arc}.{ARC}:{glacier.srv.port}/k"
    get = signed_request(glacier, "GET", url)
    assert get.status_code == 403
    assert xml_error(get.content)["Code"] == "InvalidObjectState"
    assert b"abc" not in get.content
    body = b"<RestoreRequest><Days>2</Days></RestoreRequest>"
    post = signed_request(glacier, "POST", url + "?restore", body=body)
    assert post.status_code == 202, post.text
    again = signed_request(glacier, "POST", url + "?restore", body=body)
    assert again.status_code == 409
    assert xml_error(again.content)["Code"] == "RestoreAlreadyInProgress"
    head = signed_request(glacier, "HEAD", url)
    assert head.status_code == 200
    assert head.headers["x-amz-restore"] == 'ongoing-request="true"'
    assert head.headers["x-amz-storage-class"] == ARCHIVE_CLASS


@pytest.mark.parametrize("via", ["ip", "destination-endpoint"])
def test_upload_part_copy_between_tiers(
    tiers: TierServer, buckets: Callable[..., str], archive_bucket: str, via: str
) -> None:
    """UploadPartCopy from a Standard object into an Archive multipart upload: the parts
    (and so the object) are archive ones, bytes and part ETags unchanged."""
    std = buckets(tiers, tiers.std_v, "pc")
    data = compressible(6 * MiB)
    tiers.std_v.put_object(Bucket=std, Key="src", Body=data)
    client = tiers.ip if via == "ip" else tiers.arc_v
    up = client.create_multipart_upload(Bucket=archive_bucket, Key="dst")["UploadId"]
    parts = []
    for number, (first, last) in enumerate(((0, 5 * MiB - 1), (5 * MiB, 6 * MiB - 1)), 1):
        resp = client.upload_part_copy(
            Bucket=archive_bucket, Key="dst", UploadId=up, PartNumber=number,
            CopySource={"Bucket": std, "Key": "src"}, CopySourceRange=f"bytes={first}-{last}",
        )  # fmt: skip
        assert resp["CopyPartResult"]["ETag"] == etag(data[first : last + 1])
        parts.append({"PartNumber": number, "ETag": resp["CopyPartResult"]["ETag"]})
    client.complete_multipart_upload(
        Bucket=archive_bucket, Key="dst", UploadId=up, MultipartUpload={"Parts": parts}
    )
    got = tiers.arc_v.get_object(Bucket=archive_bucket, Key="dst")
    assert got["StorageClass"] == ARCHIVE_CLASS
    assert got["Body"].read() == data


def test_object_attributes_of_an_archived_object(
    glacier: TierServer, buckets: Callable[..., str]
) -> None:
    """GetObjectAttributes reads metadata only: like HEAD, it needs no restore."""
    arc = buckets(glacier, glacier.arc_v, "ga")
    put = glacier.arc_v.put_object(Bucket=arc, Key="cold", Body=b"frozen bytes")
    with s3_error("InvalidObjectState", 403):
        glacier.arc_v.get_object(Bucket=arc, Key="cold")
    got = glacier.arc_v.get_object_attributes(
        Bucket=arc, Key="cold", ObjectAttributes=["StorageClass", "ObjectSize", "ETag"]
    )
    assert (got["StorageClass"], got["ObjectSize"]) == (ARCHIVE_CLASS, 12)
    assert got["ETag"] == put["ETag"].strip('"')
