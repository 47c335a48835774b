"""Input that used to answer 500: undecodable bytes, huge numbers, CR/LF, odd dates.

Each gets a 4xx S3 error with an XML body (or is served, where AWS serves it). Sent with
``requests`` (which sends a str header as its latin-1 bytes, so "\\xff" is one byte that
is not UTF-8) or a raw TLS socket: boto3 would refuse to send most of it.
"""

from __future__ import annotations

import base64
import datetime as dt
import email.utils
import hashlib
import hmac
from typing import Any

import requests

from ._s3raw import EMPTY_SHA256, UNSIGNED, RawClient, error_code, raw_exchange, signing_key, utcnow
from ._server import ServerProcess
from ._types import S3Client

BODY = b"hello, bytes"


def _put(s3: S3Client, bucket: str, key: str = "k") -> str:
    s3.put_object(Bucket=bucket, Key=key, Body=BODY)
    return key


def _get(server: ServerProcess, path: str, headers: dict[str, str]) -> requests.Response:
    return requests.get(server.endpoint + path, headers=headers, verify=server.cert, timeout=30)


def _assert_error(resp: requests.Response, status: int, code: str) -> None:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"] == "application/xml"
    assert error_code(resp.content) == code, resp.text


def _sigv4_headers(
    server: ServerProcess,
    method: str,
    path: str,
    extra: dict[str, str],
    *,
    when: dt.datetime | None = None,
) -> dict[str, str]:
    """SigV4 header auth over the latin-1 bytes of the header values, as they go out
    (botocore would encode them as UTF-8, so it cannot sign a raw 0xFF byte)."""
    stamp = (when or utcnow()).strftime("%Y%m%dT%H%M%SZ")
    headers = {"host": server.host, "x-amz-content-sha256": UNSIGNED, "x-amz-date": stamp}
    headers.update({k.lower(): v for k, v in extra.items()})
    names = sorted(headers)
    canonical = "\n".join(
        [method, path, "", *(f"{n}:{headers[n]}" for n in names), "", ";".join(names), UNSIGNED]
    )
    scope = f"{stamp[:8]}/us-east-1/s3/aws4_request"
    digest = hashlib.sha256(canonical.encode("latin-1")).hexdigest()
    sts = f"AWS4-HMAC-SHA256\n{stamp}\n{scope}\n{digest}"
    key = signing_key(server.root_secret_key, stamp[:8], "us-east-1", "s3")
    signature = hmac.new(key, sts.encode(), hashlib.sha256).hexdigest()
    headers["authorization"] = (
        f"AWS4-HMAC-SHA256 Credential={server.root_access_key}/{scope}, "
        f"SignedHeaders={';'.join(names)}, Signature={signature}"
    )
    return headers


def _sigv2(secret: str, string_to_sign: str) -> str:
    mac = hmac.new(secret.encode(), string_to_sign.encode("latin-1"), hashlib.sha1)
    return base64.b64encode(mac.digest()).decode()


def _http_date(moment: dt.datetime) -> str:
    return email.utils.format_datetime(moment.replace(tzinfo=dt.UTC), usegmt=True)


# ------------------------------------------------------------------ (a) the access key
def test_sigv4_access_key_not_utf8_is_malformed_header(
    server: ServerProcess, s3: S3Client, bucket: str
) -> None:
    key = _put(s3, bucket)
    today = utcnow().strftime("%Y%m%d")
    auth = (
        f"AWS4-HMAC-SHA256 Credential=AK\xffID/{today}/us-east-1/s3/aws4_request, "
        "SignedHeaders=host, Signature=00"
    )
    headers = {"Authorization": auth, "x-amz-date": today + "T000000Z"}
    headers["x-amz-content-sha256"] = EMPTY_SHA256
    _assert_error(_get(server, f"/{bucket}/{key}", headers), 400, "AuthorizationHeaderMalformed")


def test_sigv2_access_key_not_utf8_is_invalid_argument(
    server: ServerProcess, s3: S3Client, bucket: str
) -> None:
    key = _put(s3, bucket)
    headers = {"Authorization": "AWS AK\xffID:c2ln", "Date": _http_date(utcnow())}
    _assert_error(_get(server, f"/{bucket}/{key}", headers), 400, "InvalidArgument")


# ------------------------------------------------------------------ (b) a huge Range
def test_range_of_thousands_of_digits(
    server: ServerProcess, s3: S3Client, bucket: str, raw: RawClient
) -> None:
    key = _put(s3, bucket)
    start = raw.request("GET", bucket, key, headers={"Range": "bytes=" + "9" * 5000 + "-"})
    _assert_error(start, 416, "InvalidRange")
    assert start.headers["content-range"] == f"bytes */{len(BODY)}"
    end = raw.request("GET", bucket, key, headers={"Range": "bytes=1-" + "9" * 5000})
    assert end.status_code == 206, end.text
    assert end.content == BODY[1:]
    suffix = raw.request("GET", bucket, key, headers={"Range": "bytes=-" + "9" * 5000})
    assert suffix.status_code == 206, suffix.text
    assert suffix.content == BODY


# ------------------------------------------------------------------ (c) CR/LF in response-*
def test_response_override_with_crlf_is_invalid_argument(
    s3: S3Client, bucket: str, raw: RawClient
) -> None:
    key = _put(s3, bucket)
    for param in ("response-content-type", "response-content-disposition"):
        resp = raw.request("GET", bucket, key, query={param: "a\r\nx-injected: 1"})
        _assert_error(resp, 400, "InvalidArgument")
        assert "x-injected" not in resp.headers
    fine = raw.request("GET", bucket, key, query={"response-content-type": "text/x-fine"})
    assert fine.status_code == 200 and fine.headers["content-type"] == "text/x-fine"


# ------------------------------------------------------------------ (d) SigV2 Expires
def test_sigv2_presigned_expires_far_past_year_9999(
    server: ServerProcess, s3: S3Client, bucket: str
) -> None:
    key = _put(s3, bucket)
    expires = str(10**23)
    signature = _sigv2(server.root_secret_key, f"GET\n\n\n{expires}\n/{bucket}/{key}")
    query = {"AWSAccessKeyId": server.root_access_key, "Expires": expires}
    url = f"{server.endpoint}/{bucket}/{key}"
    good = requests.get(url, params={**query, "Signature": signature}, verify=server.cert)
    assert good.status_code == 200, good.text  # SigV2 has no upper bound on Expires
    assert good.content == BODY
    bad = requests.get(url, params={**query, "Signature": "c2ln"}, verify=server.cert)
    _assert_error(bad, 403, "SignatureDoesNotMatch")
    huge = requests.get(url, params={**query, "Expires": "9" * 5000, "Signature": "c2ln"},
                        verify=server.cert)  # fmt: skip
    _assert_error(huge, 403, "AccessDenied")


# ------------------------------------------------------------------ (e) a signed header
def test_sigv4_signed_header_not_utf8(server: ServerProcess, s3: S3Client, bucket: str) -> None:
    key = _put(s3, bucket)
    path = f"/{bucket}/{key}"
    headers = _sigv4_headers(server, "GET", path, {"x-amz-meta-odd": "caf\xe9"})
    ok = _get(server, path, headers)  # the signature covers the bytes as sent
    assert ok.status_code == 200, ok.text
    headers["x-amz-meta-odd"] = "caf\xff"
    _assert_error(_get(server, path, headers), 403, "SignatureDoesNotMatch")


def test_sigv4_signed_header_not_utf8_over_a_raw_socket(
    server: ServerProcess, s3: S3Client, bucket: str
) -> None:
    key = _put(s3, bucket)
    path = f"/{bucket}/{key}"
    headers = _sigv4_headers(server, "GET", path, {"x-amz-meta-odd": "x"})
    head = f"GET {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    request = head.replace("x-amz-meta-odd: x", "x-amz-meta-odd: \xc3\x28").encode("latin-1")
    status, _, body = raw_exchange(server.port, server.cert, request + b"\r\n", "GET")
    assert status == 403, body
    assert error_code(body) == "SignatureDoesNotMatch", body


# ------------------------------------------------------------------ SigV2 dates
def _sigv2_headers(
    server: ServerProcess, path: str, date_header: str, date_value: str
) -> dict[str, str]:
    date_line = "" if date_header == "x-amz-date" else date_value
    amz = f"x-amz-date:{date_value}\n" if date_header == "x-amz-date" else ""
    signature = _sigv2(server.root_secret_key, f"GET\n\n\n{date_line}\n{amz}{path}")
    headers = {"Authorization": f"AWS {server.root_access_key}:{signature}"}
    headers[date_header] = date_value
    return headers


def test_sigv2_empty_x_amz_date_is_refused_even_with_a_date(
    server: ServerProcess, s3: S3Client, bucket: str
) -> None:
    key = _put(s3, bucket)
    path = f"/{bucket}/{key}"
    headers = _sigv2_headers(server, path, "x-amz-date", "")
    headers["Date"] = _http_date(utcnow())
    _assert_error(_get(server, path, headers), 403, "AccessDenied")


def test_sigv2_date_before_1970_is_access_denied(
    server: ServerProcess, s3: S3Client, bucket: str
) -> None:
    key = _put(s3, bucket)
    path = f"/{bucket}/{key}"
    old = _http_date(dt.datetime(1950, 7, 7, 21, 53, 4, tzinfo=dt.UTC))
    for header in ("Date", "x-amz-date"):
        resp = _get(server, path, _sigv2_headers(server, path, header, old))
        _assert_error(resp, 403, "AccessDenied")
        assert b"valid Date or x-amz-date" in resp.content
    late = _http_date(dt.datetime(9999, 7, 7, 21, 53, 4, tzinfo=dt.UTC))
    resp = _get(server, path, _sigv2_headers(server, path, "x-amz-date", late))
    _assert_error(resp, 403, "RequestTimeTooSkewed")
    now = _get(server, path, _sigv2_headers(server, path, "x-amz-date", _http_date(utcnow())))
    assert now.status_code == 200, now.text


def test_sigv4_x_amz_date_before_1970_is_access_denied(
    server: ServerProcess, s3: S3Client, bucket: str
) -> None:
    key = _put(s3, bucket)
    path = f"/{bucket}/{key}"
    when = dt.datetime(1950, 7, 7, 21, 53, 4)
    _assert_error(_get(server, path, _sigv4_headers(server, "GET", path, {}, when=when)),
                  403, "AccessDenied")  # fmt: skip


# ------------------------------------------------------------------ stored header values
def test_stored_header_not_utf8_is_invalid_argument(
    server: ServerProcess, s3: S3Client, bucket: str
) -> None:
    path = f"/{bucket}/stored"
    for name in ("x-amz-meta-odd", "content-type", "content-disposition", "cache-control"):
        signed = _sigv4_headers(server, "PUT", path, {name: "caf\xe9"})
        resp = requests.put(server.endpoint + path, headers=signed, data=b"x", verify=server.cert)
        _assert_error(resp, 400, "InvalidArgument")
        if name.startswith("x-amz-"):
            continue  # an unsigned x-amz-* header is refused before anything reads it
        unsigned = _sigv4_headers(server, "PUT", path, {})
        unsigned[name] = "caf\xff"
        resp = requests.put(server.endpoint + path, headers=unsigned, data=b"x", verify=server.cert)
        _assert_error(resp, 400, "InvalidArgument")
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)


def test_if_match_not_utf8_matches_nothing(
    server: ServerProcess, s3: S3Client, bucket: str
) -> None:
    """An ETag of bytes that are not UTF-8 is no stored object's: 412, the object stays
    (on every metadata store: PostgreSQL text cannot hold such a string)."""
    key = _put(s3, bucket)
    path = f"/{bucket}/{key}"
    for method in ("DELETE", "PUT"):
        headers = _sigv4_headers(server, method, path, {})
        headers["if-match"] = '"j\xda\xd1\xf9m3\xd7"'
        resp = requests.request(method, server.endpoint + path, headers=headers, data=b"new",
                                verify=server.cert, timeout=30)  # fmt: skip
        _assert_error(resp, 412, "PreconditionFailed")
    assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == BODY


def test_copy_source_not_utf8_is_invalid_argument(
    server: ServerProcess, s3: S3Client, bucket: str
) -> None:
    key = _put(s3, bucket)
    path = f"/{bucket}/copy"
    headers = _sigv4_headers(server, "PUT", path, {"x-amz-copy-source": f"/{bucket}/{key}\xff"})
    resp = requests.put(server.endpoint + path, headers=headers, verify=server.cert)
    _assert_error(resp, 400, "InvalidArgument")


def test_post_form_field_with_crlf_is_invalid_argument(
    s3: S3Client, bucket: str, server: ServerProcess
) -> None:
    form = s3.generate_presigned_post(
        bucket, "form", Conditions=[["starts-with", "$x-amz-meta-a", ""],
                                    ["starts-with", "$Content-Type", ""]],
    )  # fmt: skip
    for field in ("x-amz-meta-a", "Content-Type"):
        fields = {**form["fields"], field: "a\r\nx-injected: 1"}
        parts: list[tuple[str, tuple[Any, ...]]] = [(k, (None, v)) for k, v in fields.items()]
        parts.append(("file", ("f.txt", b"data", "text/plain")))
        resp = requests.post(form["url"], files=parts, verify=server.cert, timeout=60)
        _assert_error(resp, 400, "InvalidArgument")
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)


def test_post_form_metadata_name_that_is_no_header_name(
    s3: S3Client, bucket: str, server: ServerProcess
) -> None:
    for name in ("x-amz-meta-a b", "x-amz-meta-caf\u00e9", "x-amz-meta-a:b"):
        form = s3.generate_presigned_post(bucket, "form", Conditions=[["starts-with", f"${name}",
                                                                        ""]])
        parts: list[tuple[str, tuple[Any, ...]]] = [
            (k, (None, v)) for k, v in {**form["fields"], name: "v"}.items()
        ]
        parts.append(("file", ("f.txt", b"data", "text/plain")))
        resp = requests.post(form["url"], files=parts, verify=server.cert, timeout=60)
        _assert_error(resp, 400, "InvalidArgument")
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)


def test_post_form_key_with_crlf_and_a_redirect_with_crlf(
    s3: S3Client, bucket: str, server: ServerProcess
) -> None:
    key = "line\r\nbreak"
    form = s3.generate_presigned_post(bucket, key, Conditions=[
        ["starts-with", "$success_action_redirect", ""]])
    for redirect in (None, "https://example.com/\r\nx-injected: 1"):
        fields = dict(form["fields"])
        if redirect is not None:
            fields["success_action_redirect"] = redirect
        parts: list[tuple[str, tuple[Any, ...]]] = [(k, (None, v)) for k, v in fields.items()]
        parts.append(("file", ("f.txt", b"data", "text/plain")))
        resp = requests.post(form["url"], files=parts, verify=server.cert, timeout=60,
                             allow_redirects=False)
        assert resp.status_code == 204, resp.text  # a redirect AWS cannot use is ignored
        assert resp.headers["location"].endswith(f"/{bucket}/line%0D%0Abreak")
        assert "x-injected" not in resp.headers
    assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == b"data"


def test_date_past_year_9999_in_utc_is_access_denied(
    server: ServerProcess, s3: S3Client, bucket: str
) -> None:
    key = _put(s3, bucket)
    path = f"/{bucket}/{key}"
    late = "Fri, 31 Dec 9999 23:59:59 -2359"
    headers = _sigv4_headers(server, "GET", path, {})
    del headers["x-amz-date"]  # then Date is the request's time
    headers["Date"] = late
    _assert_error(_get(server, path, headers), 403, "AccessDenied")
    resp = _get(server, path, _sigv2_headers(server, path, "x-amz-date", late))
    _assert_error(resp, 403, "AccessDenied")


def test_virtual_host_bucket_not_utf8_is_invalid_bucket_name(server: ServerProcess) -> None:
    for extra in (b"", b"Origin: https://example.com\r\n"):
        request = (b"GET /k HTTP/1.1\r\nHost: a\xffb.s3-standard.localhost\r\n" + extra
                   + b"Connection: close\r\n\r\n")
        status, _, body = raw_exchange(server.port, server.cert, request, "GET")
        assert status == 400, body
        assert error_code(body) == "InvalidBucketName", body
