"""ops/cors_ops.py: Put/Get/DeleteBucketCors and preflight (OPTIONS) answers."""

from __future__ import annotations

from ._client import Client

RULES = (
    b"<CORSConfiguration><CORSRule><AllowedOrigin>https://app.example</AllowedOrigin>"
    b"<AllowedMethod>GET</AllowedMethod><AllowedMethod>PUT</AllowedMethod>"
    b"<AllowedHeader>x-amz-*</AllowedHeader><ExposeHeader>ETag</ExposeHeader>"
    b"<MaxAgeSeconds>600</MaxAgeSeconds></CORSRule></CORSConfiguration>"
)
ORIGIN = "https://app.example"


def test_cors_round_trip(owner: Client, bucket: str) -> None:
    path = f"/{bucket}"
    assert owner.request("GET", path, "cors").error == (404, "NoSuchCORSConfiguration")
    assert owner.request("PUT", path, "cors", RULES).status == 200
    got = owner.request("GET", path, "cors")
    assert got.status == 200
    assert got.texts("CORSRule/AllowedMethod") == ["GET", "PUT"]
    assert got.texts("CORSRule/AllowedOrigin") == [ORIGIN]
    assert got.xml().findtext("CORSRule/MaxAgeSeconds") == "600"
    assert owner.request("DELETE", path, "cors").status == 204
    assert owner.request("GET", path, "cors").status == 404


def test_cors_refuses_bad_rules(owner: Client, other: Client, bucket: str) -> None:
    path = f"/{bucket}"
    bad_method = RULES.replace(b"<AllowedMethod>PUT", b"<AllowedMethod>PATCH")
    assert owner.request("PUT", path, "cors", bad_method).error == (400, "InvalidRequest")
    assert owner.request("PUT", path, "cors", b"<CORSConfiguration/>").error == (
        400, "MalformedXML",
    )  # fmt: skip
    assert other.request("PUT", path, "cors", RULES).error == (403, "AccessDenied")
    assert other.request("GET", path, "cors").error == (403, "AccessDenied")


def test_preflight(owner: Client, anon: Client, bucket: str) -> None:
    asked = {"origin": ORIGIN, "access-control-request-method": "PUT",
             "access-control-request-headers": "x-amz-meta-a"}  # fmt: skip
    assert anon.request("OPTIONS", f"/{bucket}/k", headers=asked).error == (403, "AccessForbidden")
    owner.request("PUT", f"/{bucket}", "cors", RULES)
    reply = anon.request("OPTIONS", f"/{bucket}/k", headers=asked)
    assert reply.status == 200
    assert reply.headers["access-control-allow-origin"] == ORIGIN
    assert "PUT" in reply.headers["access-control-allow-methods"]
    assert reply.headers["access-control-max-age"] == "600"
    assert "x-amz-meta-a" in reply.headers["access-control-allow-headers"].lower()
    denied = dict(asked, origin="https://evil.example")
    assert anon.request("OPTIONS", f"/{bucket}/k", headers=denied).error == (
        403, "AccessForbidden",
    )  # fmt: skip
    no_method = {"origin": ORIGIN}
    assert anon.request("OPTIONS", f"/{bucket}/k", headers=no_method).error == (400, "BadRequest")


def test_actual_requests_get_cors_headers(owner: Client, bucket: str) -> None:
    owner.put(bucket, "k")
    plain = owner.get(bucket, "k", origin=ORIGIN)
    assert "access-control-allow-origin" not in plain.headers
    owner.request("PUT", f"/{bucket}", "cors", RULES)
    reply = owner.get(bucket, "k", origin=ORIGIN)
    assert reply.headers["access-control-allow-origin"] == ORIGIN
    assert "etag" in reply.headers["access-control-expose-headers"].lower()
