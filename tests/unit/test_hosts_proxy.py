import pytest

from oortgate.endpoints import ARCHIVE, STANDARD, Addressed, Endpoints
from oortgate.http.hosts import resolve, strip_port
from oortgate.http.proxy import origin
from oortgate.http.redirect import https_location, serves_host
from oortgate.http.routing import route
from oortgate.networks import parse_networks

EP = Endpoints("s3-standard.example.com", "s3-archive.example.com")


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("s3-standard.example.com", Addressed(STANDARD, None)),
        ("S3-Standard.Example.com:8443", Addressed(STANDARD, None)),
        ("photos.s3-standard.example.com", Addressed(STANDARD, "photos")),
        ("photos.s3-archive.example.com:443", Addressed(ARCHIVE, "photos")),
        ("my.photos.v2.s3-standard.example.com", Addressed(STANDARD, "my.photos.v2")),
        ("s3-archive.example.com", Addressed(ARCHIVE, None)),
        ("127.0.0.1:8443", Addressed(None, None)),
        ("[::1]:8443", Addressed(None, None)),
        ("evil-s3-standard.example.com", Addressed(None, None)),
        (".s3-standard.example.com", Addressed(None, None)),
        (None, Addressed(None, None)),
    ],
)
def test_resolve(host: str | None, expected: Addressed) -> None:
    assert resolve(host, EP) == expected


def test_strip_port() -> None:
    assert strip_port("[::1]:8443") == "[::1]"
    assert strip_port("Host.Example:80") == "host.example"
    assert strip_port("::1") == "::1"


def test_virtual_host_routing_takes_the_whole_path_as_key() -> None:
    r = route("GET", "/a/b%20c", {}, {}, "photos")
    assert (r.op, r.bucket, r.key) == ("GetObject", "photos", "a/b c")
    r = route("GET", "/", {"list-type": "2"}, {}, "photos")
    assert (r.op, r.bucket, r.key) == ("ListObjectsV2", "photos", None)
    r = route("PUT", "/", {}, {}, "photos")
    assert r.op == "CreateBucket"


TRUSTED = parse_networks("10.0.0.0/8, 192.168.1.7")


def test_forwarded_headers_only_from_trusted_proxies() -> None:
    headers = {
        "host": "internal:8443",
        "x-forwarded-host": "s3.example.com",
        "x-forwarded-proto": "https",
        "x-forwarded-for": "203.0.113.9, 10.1.2.3",
    }
    seen = origin("10.0.0.5", headers, False, TRUSTED)
    assert (seen.host, seen.client, seen.https) == ("s3.example.com", "203.0.113.9", True)
    forged = origin("198.51.100.1", headers, False, TRUSTED)
    assert (forged.host, forged.client, forged.https) == ("internal:8443", "198.51.100.1", False)
    assert origin("10.0.0.5", {"host": "h"}, True, ()).client == "10.0.0.5"


def test_forwarded_for_skips_our_own_proxies() -> None:
    headers = {"x-forwarded-for": "1.2.3.4, 203.0.113.9, 192.168.1.7"}
    assert origin("10.9.9.9", headers, True, TRUSTED).client == "203.0.113.9"


def test_bad_networks() -> None:
    with pytest.raises(ValueError, match="nope"):
        parse_networks("10.0.0.0/8, nope")
    assert parse_networks("") == ()


@pytest.mark.parametrize(
    ("host", "port", "target", "expected"),
    [
        ("example.com:8080", 8443, "/b/k?x=1", "https://example.com:8443/b/k?x=1"),
        ("example.com", 443, "/", "https://example.com/"),
        (None, 443, "/k", "https://fallback/k"),
        ("[::1]:80", 8443, "/", "https://[::1]:8443/"),
        ("evil.com\r\nSet-Cookie: x", 443, "/", "https://fallback/"),
    ],
)
def test_https_location(host: str | None, port: int, target: str, expected: str) -> None:
    assert https_location(host, "fallback", port, target) == expected


@pytest.mark.parametrize(
    ("host", "served"),
    [
        ("s3-standard.example.com", True),
        ("S3-Archive.Example.com:8080", True),
        ("photos.s3-standard.example.com", True),
        ("localhost:8080", True),
        ("127.0.0.5", True),
        ("[::1]:80", True),
        ("10.1.2.3", True),  # the address the connection came to
        ("10.1.2.4", False),
        ("evil.example", False),
        ("s3-standard.example.com.evil.example", False),
        ("", False),
    ],
)
def test_serves_host(host: str, served: bool) -> None:
    assert serves_host(host, EP, "10.1.2.3") is served
