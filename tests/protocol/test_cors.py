"""Bucket CORS over the wire: Put/Get/DeleteBucketCors with boto3, preflight (OPTIONS)
evaluation and the CORS headers of actual cross-origin requests, sent with ``requests``
the way a browser would send them."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
import requests

from ._s3raw import error_code
from ._util import s3_error

APP = "http://app.example.test:8080"

WEB_RULES: list[dict[str, Any]] = [
    {
        "ID": "webapp",
        "AllowedOrigins": [APP],
        "AllowedMethods": ["GET", "PUT", "POST", "HEAD"],
        "AllowedHeaders": ["Content-Type", "x-amz-*"],
        "ExposeHeaders": ["ETag", "x-amz-request-id"],
        "MaxAgeSeconds": 600,
    },
    {"ID": "readers", "AllowedOrigins": ["*"], "AllowedMethods": ["GET"]},
]


def put_cors(s3: Any, bucket: str, rules: list[dict[str, Any]]) -> None:
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": rules})


def preflight(
    server: Any,
    bucket: str,
    key: str | None = "obj",
    origin: str | None = APP,
    method: str | None = "PUT",
    headers: str | None = None,
) -> requests.Response:
    h: dict[str, str] = {}
    if origin is not None:
        h["Origin"] = origin
    if method is not None:
        h["Access-Control-Request-Method"] = method
    if headers is not None:
        h["Access-Control-Request-Headers"] = headers
    path = f"/{bucket}" + (f"/{key}" if key else "")
    return requests.options(server.endpoint + path, headers=h, verify=server.cert, timeout=30)


def split(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split(",") if v.strip()]


def cors_headers(resp: requests.Response) -> dict[str, str]:
    return {k.lower(): v for k, v in resp.headers.items() if k.lower().startswith("access-control")}


# -- preflight ----------------------------------------------------------------------


@pytest.mark.parametrize("key", ["obj", None], ids=["object", "bucket"])
def test_preflight_without_configuration(
    s3: Any, bucket: str, server: Any, key: str | None
) -> None:
    resp = preflight(server, bucket, key)
    assert resp.status_code == 403, resp.text
    assert error_code(resp.content) == "AccessForbidden", resp.text
    assert "access-control-allow-origin" not in cors_headers(resp)


def test_preflight_allowed(s3: Any, bucket: str, server: Any) -> None:
    put_cors(s3, bucket, WEB_RULES)
    resp = preflight(server, bucket, "some/key.txt", headers="content-type,x-amz-meta-color")
    assert resp.status_code == 200, resp.text
    h = resp.headers
    assert h["Access-Control-Allow-Origin"] == APP
    assert set(split(h["Access-Control-Allow-Methods"])) == {"GET", "PUT", "POST", "HEAD"}
    assert {x.lower() for x in split(h["Access-Control-Allow-Headers"])} == {
        "content-type",
        "x-amz-meta-color",
    }
    assert h["Access-Control-Max-Age"] == "600"
    assert split(h["Access-Control-Expose-Headers"]) == ["ETag", "x-amz-request-id"]
    assert h.get("Access-Control-Allow-Credentials") == "true"


def test_preflight_on_bucket_path(s3: Any, bucket: str, server: Any) -> None:
    # a presigned POST goes to the bucket itself
    put_cors(s3, bucket, WEB_RULES)
    resp = preflight(server, bucket, None, method="POST")
    assert resp.status_code == 200, resp.text
    assert resp.headers["Access-Control-Allow-Origin"] == APP


def test_preflight_header_names_case_insensitive(s3: Any, bucket: str, server: Any) -> None:
    put_cors(s3, bucket, WEB_RULES)
    resp = preflight(server, bucket, headers="Content-Type, X-Amz-Date, X-AMZ-Content-SHA256")
    assert resp.status_code == 200, resp.text
    assert {x.lower() for x in split(resp.headers["Access-Control-Allow-Headers"])} == {
        "content-type",
        "x-amz-date",
        "x-amz-content-sha256",
    }


def test_preflight_any_origin_rule(s3: Any, bucket: str, server: Any) -> None:
    put_cors(s3, bucket, WEB_RULES)
    resp = preflight(server, bucket, origin="https://elsewhere.test", method="GET")
    assert resp.status_code == 200, resp.text
    assert resp.headers["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Credentials" not in resp.headers
    assert split(resp.headers["Access-Control-Allow-Methods"]) == ["GET"]
    assert "Access-Control-Max-Age" not in resp.headers


def test_preflight_wildcard_origin_is_echoed(s3: Any, bucket: str, server: Any) -> None:
    put_cors(
        s3, bucket, [{"AllowedOrigins": ["https://*.example.test"], "AllowedMethods": ["DELETE"]}]
    )
    resp = preflight(server, bucket, origin="https://a.b.example.test", method="DELETE")
    assert resp.status_code == 200, resp.text
    assert resp.headers["Access-Control-Allow-Origin"] == "https://a.b.example.test"
    refused = preflight(server, bucket, origin="https://example.test", method="DELETE")
    assert refused.status_code == 403


@pytest.mark.parametrize(
    ("origin", "method", "headers"),
    [
        ("http://evil.example.test", "PUT", None),
        ("http://app.example.test:9090", "PUT", None),  # another port is another origin
        (APP, "DELETE", None),
        (APP, "PUT", "content-type,authorization"),
        ("https://elsewhere.test", "PUT", None),  # the any-origin rule is GET only
        ("https://elsewhere.test", "GET", "x-amz-date"),  # ... and allows no headers
    ],
    ids=["origin", "port", "method", "header", "any-origin-method", "any-origin-header"],
)
def test_preflight_refused(
    s3: Any, bucket: str, server: Any, origin: str, method: str, headers: str | None
) -> None:
    put_cors(s3, bucket, WEB_RULES)
    resp = preflight(server, bucket, origin=origin, method=method, headers=headers)
    assert resp.status_code == 403, resp.text
    assert error_code(resp.content) == "AccessForbidden", resp.text
    assert "access-control-allow-origin" not in cors_headers(resp)


def test_preflight_first_matching_rule_wins(s3: Any, bucket: str, server: Any) -> None:
    put_cors(
        s3,
        bucket,
        [
            {"AllowedOrigins": [APP], "AllowedMethods": ["GET"], "MaxAgeSeconds": 11},
            {"AllowedOrigins": ["*"], "AllowedMethods": ["GET", "PUT"], "MaxAgeSeconds": 22},
        ],
    )
    assert preflight(server, bucket, method="GET").headers["Access-Control-Max-Age"] == "11"
    resp = preflight(server, bucket, method="PUT")
    assert resp.status_code == 200
    assert resp.headers["Access-Control-Max-Age"] == "22"
    assert resp.headers["Access-Control-Allow-Origin"] == "*"


@pytest.mark.parametrize(
    ("origin", "method"), [(None, "PUT"), (APP, None)], ids=["no-origin", "no-method"]
)
def test_preflight_missing_information(
    s3: Any, bucket: str, server: Any, origin: str | None, method: str | None
) -> None:
    put_cors(s3, bucket, WEB_RULES)
    resp = preflight(server, bucket, origin=origin, method=method)
    assert 400 <= resp.status_code < 500, resp.text
    assert "access-control-allow-origin" not in cors_headers(resp)


def test_preflight_is_unauthenticated_and_changes_nothing(
    s3: Any, bucket: str, server: Any
) -> None:
    put_cors(s3, bucket, WEB_RULES)
    assert preflight(server, bucket, "k", method="PUT").status_code == 200
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0


@pytest.mark.parametrize("version", ["s3", "s3v4"], ids=["sigv2", "sigv4"])
@pytest.mark.parametrize("operation", ["put_object", "get_object"])
def test_preflight_to_presigned_url(
    s3: Any, bucket: str, server: Any, client_for: Any, version: str, operation: str
) -> None:
    # A browser sends the preflight to the very URL it will fetch, query-string signature
    # included. OPTIONS is never authenticated (the signature is for the PUT/GET that
    # follows), so the answer comes from the CORS rules alone.
    put_cors(s3, bucket, WEB_RULES)
    signer = client_for(server.root_access_key, server.root_secret_key, signature_version=version)
    url = signer.generate_presigned_url(operation, Params={"Bucket": bucket, "Key": "obj"})
    method = "PUT" if operation == "put_object" else "GET"
    origin = APP if method == "PUT" else "https://elsewhere.test"
    resp = requests.options(
        url,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": method,
            **({"Access-Control-Request-Headers": "content-type"} if method == "PUT" else {}),
        },
        verify=server.cert,
    )
    assert resp.status_code == 200, resp.text
    assert resp.headers["Access-Control-Allow-Origin"] == (APP if method == "PUT" else "*")
    assert method in split(resp.headers["Access-Control-Allow-Methods"])


def test_preflight_to_presigned_url_refused_by_rules(s3: Any, bucket: str, server: Any) -> None:
    put_cors(s3, bucket, WEB_RULES)
    url = s3.generate_presigned_url("delete_object", Params={"Bucket": bucket, "Key": "obj"})
    resp = requests.options(
        url, headers={"Origin": APP, "Access-Control-Request-Method": "DELETE"}, verify=server.cert
    )
    assert resp.status_code == 403, resp.text
    assert error_code(resp.content) == "AccessForbidden", resp.text


# -- configuration ------------------------------------------------------------------


def test_get_round_trip(s3: Any, bucket: str) -> None:
    put_cors(s3, bucket, WEB_RULES)
    assert s3.get_bucket_cors(Bucket=bucket)["CORSRules"] == WEB_RULES


def test_put_replaces_configuration(s3: Any, bucket: str, server: Any) -> None:
    put_cors(s3, bucket, WEB_RULES)
    new = [{"AllowedOrigins": ["https://only.test"], "AllowedMethods": ["PUT"]}]
    put_cors(s3, bucket, new)
    assert s3.get_bucket_cors(Bucket=bucket)["CORSRules"] == new
    assert preflight(server, bucket).status_code == 403
    assert preflight(server, bucket, origin="https://only.test").status_code == 200


def test_get_without_configuration(s3: Any, bucket: str) -> None:
    with s3_error("NoSuchCORSConfiguration", 404):
        s3.get_bucket_cors(Bucket=bucket)


def test_delete(s3: Any, bucket: str, server: Any) -> None:
    put_cors(s3, bucket, WEB_RULES)
    resp = s3.delete_bucket_cors(Bucket=bucket)
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 204
    with s3_error("NoSuchCORSConfiguration", 404):
        s3.get_bucket_cors(Bucket=bucket)
    resp = preflight(server, bucket)
    assert resp.status_code == 403
    assert error_code(resp.content) == "AccessForbidden"
    # deleting again is fine
    s3.delete_bucket_cors(Bucket=bucket)


@pytest.mark.parametrize(
    ("rules", "code"),
    [
        ([{"AllowedOrigins": ["*"], "AllowedMethods": ["PATCH"]}], "InvalidRequest"),
        ([{"AllowedOrigins": ["https://*.*.test"], "AllowedMethods": ["GET"]}], "InvalidRequest"),
        ([], "MalformedXML"),
    ],
    ids=["method", "two-wildcards", "no-rules"],
)
def test_invalid_configuration(
    s3: Any, bucket: str, rules: list[dict[str, Any]], code: str
) -> None:
    with s3_error(code, 400):
        put_cors(s3, bucket, rules)
    with s3_error("NoSuchCORSConfiguration", 404):
        s3.get_bucket_cors(Bucket=bucket)


def test_cors_on_missing_bucket(s3: Any, unique_name: Any) -> None:
    name = unique_name("nb")
    with s3_error("NoSuchBucket", 404):
        s3.get_bucket_cors(Bucket=name)
    with s3_error("NoSuchBucket", 404):
        put_cors(s3, name, WEB_RULES)


def test_configuration_is_owner_only(
    s3: Any, bucket: str, make_user: Any, client_for: Any, server: Any
) -> None:
    other = client_for(*make_user())
    with s3_error("AccessDenied", 403):
        put_cors(other, bucket, WEB_RULES)
    with s3_error("NoSuchCORSConfiguration", 404):
        s3.get_bucket_cors(Bucket=bucket)
    put_cors(s3, bucket, WEB_RULES)
    with s3_error("AccessDenied", 403):
        other.get_bucket_cors(Bucket=bucket)
    with s3_error("AccessDenied", 403):
        other.delete_bucket_cors(Bucket=bucket)
    with s3_error("AccessDenied", 403):
        put_cors(other, bucket, [{"AllowedOrigins": ["*"], "AllowedMethods": ["PUT"]}])
    assert s3.get_bucket_cors(Bucket=bucket)["CORSRules"] == WEB_RULES


def test_configuration_owner_only_even_on_public_bucket(
    s3: Any, bucket: str, make_user: Any, client_for: Any, server: Any
) -> None:
    s3.put_bucket_acl(Bucket=bucket, ACL="public-read-write")
    other = client_for(*make_user())
    with s3_error("AccessDenied", 403):
        put_cors(other, bucket, WEB_RULES)
    anon = requests.put(
        f"{server.endpoint}/{bucket}?cors",
        data=b"<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin>"
        b"<AllowedMethod>PUT</AllowedMethod></CORSRule></CORSConfiguration>",
        verify=server.cert,
    )
    assert anon.status_code == 403, anon.text
    with s3_error("NoSuchCORSConfiguration", 404):
        s3.get_bucket_cors(Bucket=bucket)


def test_user_configures_own_bucket(
    make_user: Any, client_for: Any, make_bucket: Any, server: Any
) -> None:
    c = client_for(*make_user())
    name = make_bucket(c)
    put_cors(c, name, WEB_RULES)
    assert c.get_bucket_cors(Bucket=name)["CORSRules"] == WEB_RULES
    assert preflight(server, name).status_code == 200


# -- actual cross-origin requests ----------------------------------------------------


def test_actual_get_with_origin(s3: Any, bucket: str, server: Any) -> None:
    put_cors(s3, bucket, WEB_RULES)
    s3.put_object(Bucket=bucket, Key="doc", Body=b"shared")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "doc"})
    resp = requests.get(url, headers={"Origin": APP}, verify=server.cert)
    assert resp.status_code == 200
    assert resp.content == b"shared"
    assert resp.headers["Access-Control-Allow-Origin"] == APP
    assert split(resp.headers["Access-Control-Expose-Headers"]) == ["ETag", "x-amz-request-id"]
    plain = requests.get(url, verify=server.cert)
    assert plain.status_code == 200
    assert cors_headers(plain) == {}


def test_actual_get_from_any_origin(s3: Any, bucket: str, server: Any) -> None:
    put_cors(s3, bucket, WEB_RULES)
    s3.put_object(Bucket=bucket, Key="doc", Body=b"shared")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "doc"})
    resp = requests.get(url, headers={"Origin": "https://elsewhere.test"}, verify=server.cert)
    assert resp.status_code == 200
    assert resp.headers["Access-Control-Allow-Origin"] == "*"


def test_actual_put_with_origin(s3: Any, bucket: str, server: Any, client_for: Any) -> None:
    put_cors(s3, bucket, WEB_RULES)
    v4 = client_for(server.root_access_key, server.root_secret_key, signature_version="s3v4")
    url = v4.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": "up"})
    data = b"from the browser"
    resp = requests.put(url, data=data, headers={"Origin": APP}, verify=server.cert)
    assert resp.status_code == 200, resp.text
    assert resp.headers["Access-Control-Allow-Origin"] == APP
    assert "ETag" in split(resp.headers["Access-Control-Expose-Headers"])
    assert resp.headers["ETag"] == '"' + hashlib.md5(data).hexdigest() + '"'
    assert s3.get_object(Bucket=bucket, Key="up")["Body"].read() == data


def test_actual_request_from_disallowed_origin(
    s3: Any, bucket: str, server: Any, client_for: Any
) -> None:
    # CORS is enforced by the browser: S3 still serves the (authorised) request, but
    # without the headers that would let a page on that origin read the answer.
    put_cors(s3, bucket, [{"AllowedOrigins": [APP], "AllowedMethods": ["GET"]}])
    s3.put_object(Bucket=bucket, Key="doc", Body=b"x")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "doc"})
    resp = requests.get(url, headers={"Origin": "http://evil.test"}, verify=server.cert)
    assert resp.status_code == 200
    assert cors_headers(resp) == {}


def test_actual_request_method_not_in_rule(
    s3: Any, bucket: str, server: Any, client_for: Any
) -> None:
    put_cors(s3, bucket, [{"AllowedOrigins": [APP], "AllowedMethods": ["GET"]}])
    v4 = client_for(server.root_access_key, server.root_secret_key, signature_version="s3v4")
    url = v4.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": "up"})
    resp = requests.put(url, data=b"x", headers={"Origin": APP}, verify=server.cert)
    assert resp.status_code == 200
    assert "access-control-allow-origin" not in cors_headers(resp)


def test_actual_request_without_configuration(s3: Any, bucket: str, server: Any) -> None:
    s3.put_object(Bucket=bucket, Key="doc", Body=b"x")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "doc"})
    resp = requests.get(url, headers={"Origin": APP}, verify=server.cert)
    assert resp.status_code == 200
    assert cors_headers(resp) == {}


def test_actual_head_with_origin(s3: Any, bucket: str, server: Any) -> None:
    put_cors(s3, bucket, WEB_RULES)
    s3.put_object(Bucket=bucket, Key="doc", Body=b"x")
    url = s3.generate_presigned_url("head_object", Params={"Bucket": bucket, "Key": "doc"})
    resp = requests.head(url, headers={"Origin": APP}, verify=server.cert)
    assert resp.status_code == 200
    assert resp.headers["Access-Control-Allow-Origin"] == APP


def test_actual_presigned_post_with_origin(s3: Any, bucket: str, server: Any) -> None:
    put_cors(s3, bucket, WEB_RULES)
    form = s3.generate_presigned_post(bucket, "posted")
    resp = requests.post(
        form["url"],
        data=form["fields"],
        files={"file": ("f.txt", b"posted")},
        headers={"Origin": APP},
        verify=server.cert,
    )
    assert resp.status_code == 204, resp.text
    assert resp.headers["Access-Control-Allow-Origin"] == APP
    assert s3.get_object(Bucket=bucket, Key="posted")["Body"].read() == b"posted"
