"""SigV4: AWS documentation vectors, botocore's own signers, and every error path."""

from __future__ import annotations

import hashlib
import urllib.parse
from datetime import UTC, datetime, timedelta
from typing import Any
from unittest import mock

import pytest
from botocore.auth import S3SigV4Auth, S3SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from oortgate.auth import sigv4, sigv4_keys
from oortgate.auth.sigv4 import NotSigV4, RequestView, parse, verify
from oortgate.errors import S3Error

AK = "AKIAIOSFODNN7EXAMPLE"
SK = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
T0 = datetime(2013, 5, 24, tzinfo=UTC)
EMPTY_SHA = hashlib.sha256(b"").hexdigest()
HOST = "examplebucket.s3.amazonaws.com"


def view(
    method: str, target: str, headers: dict[str, str], *, auth: str | None = None
) -> RequestView:
    path, _, qs = target.partition("?")
    hdrs = {k.lower(): v for k, v in headers.items()}
    if auth is not None:
        hdrs["authorization"] = auth
    query = urllib.parse.parse_qsl(qs, keep_blank_values=True)
    return RequestView(method, path, query, hdrs)


def doc_auth(signed: str, signature: str) -> str:
    return (
        f"AWS4-HMAC-SHA256 Credential={AK}/20130524/us-east-1/s3/aws4_request,"
        f"SignedHeaders={signed},Signature={signature}"
    )


def check(v: RequestView, *, now: datetime = T0, secret: str = SK) -> sigv4.SigningContext:
    creds = parse(v)
    assert creds is not None
    return verify(v, creds, secret, region="us-east-1", now=now)


# ------------------------------------------------------------- AWS documentation vectors

DOC_HEADERS = {"Host": HOST, "x-amz-date": "20130524T000000Z", "x-amz-content-sha256": EMPTY_SHA}


def test_doc_get_object_with_range() -> None:
    sig = "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
    hdrs = {**DOC_HEADERS, "Range": "bytes=0-9"}
    v = view(
        "GET", "/test.txt", hdrs, auth=doc_auth("host;range;x-amz-content-sha256;x-amz-date", sig)
    )
    ctx = check(v)
    assert ctx.seed_signature == sig
    assert ctx.scope == "20130524/us-east-1/s3/aws4_request"
    assert ctx.amz_date_str == "20130524T000000Z"


def test_doc_put_object() -> None:
    sig = "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd"
    hdrs = {
        "Host": HOST,
        "Date": "Fri, 24 May 2013 00:00:00 GMT",
        "x-amz-date": "20130524T000000Z",
        "x-amz-storage-class": "REDUCED_REDUNDANCY",
        "x-amz-content-sha256": hashlib.sha256(b"Welcome to Amazon S3.").hexdigest(),
    }
    signed = "date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class"
    check(view("PUT", "/test$file.text", hdrs, auth=doc_auth(signed, sig)))
    # The same request with "$" already percent-encoded by the client.
    check(view("PUT", "/test%24file.text", hdrs, auth=doc_auth(signed, sig)))


def test_doc_get_lifecycle() -> None:
    sig = "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543"
    auth = doc_auth("host;x-amz-content-sha256;x-amz-date", sig)
    check(view("GET", "/?lifecycle", DOC_HEADERS, auth=auth))


def test_doc_list_objects() -> None:
    sig = "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"
    auth = doc_auth("host;x-amz-content-sha256;x-amz-date", sig)
    check(view("GET", "/?max-keys=2&prefix=J", DOC_HEADERS, auth=auth))
    # Parameter order on the wire does not matter.
    check(view("GET", "/?prefix=J&max-keys=2", DOC_HEADERS, auth=auth))


PRESIGNED_DOC = (
    "/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256"
    "&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"
    "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host"
    "&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"
)


def test_doc_presigned_get() -> None:
    v = view("GET", PRESIGNED_DOC, {"Host": HOST})
    creds = parse(v)
    assert creds is not None and creds.presigned and creds.expires == 86400
    assert creds.payload_hash == "UNSIGNED-PAYLOAD"
    check(v, now=T0 + timedelta(hours=23))


def test_header_tolerates_spaces_and_param_order() -> None:
    sig = "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
    auth = (
        f"AWS4-HMAC-SHA256  Signature={sig} ,  SignedHeaders=host;range;x-amz-content-sha256;"
        f"x-amz-date, Credential={AK}/20130524/us-east-1/s3/aws4_request"
    )
    check(view("GET", "/test.txt", {**DOC_HEADERS, "Range": "bytes=0-9"}, auth=auth))


def test_signing_key_is_cached() -> None:
    sigv4_keys.signing_key.cache_clear()
    sigv4_keys.signing_key(SK, "20130524", "us-east-1", "s3")
    sigv4_keys.signing_key(SK, "20130524", "us-east-1", "s3")
    assert sigv4_keys.signing_key.cache_info().hits == 1


# ------------------------------------------------------------------- botocore signers

KEYS = [
    "plain.txt",
    "with space.txt",
    "plus+sign",
    "equals=sign",
    "percent%41literal",
    "tilde~and_under-score.dot",
    "unicode/ÄÖÜ/日本語/😀",
    "../../etc/passwd",
    "braces{}[]()!*'@,;:$&",
    "a//double/slash/",
]


def botocore_view(
    method: str,
    key: str,
    *,
    params: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    presign: int | None = None,
    body: bytes = b"",
    when: datetime = T0,
) -> RequestView:
    """Sign like boto3 would (path encoded by the serializer) and convert to a view."""
    path = "/bucket/" + urllib.parse.quote(key, safe="/~")
    query = urllib.parse.urlencode(params or {}, quote_via=urllib.parse.quote)
    url = f"https://s3.example.com{path}" + (f"?{query}" if query else "")
    req = AWSRequest(method=method, url=url, data=body, headers=headers or {})
    req.context["timestamp"] = when.strftime("%Y%m%dT%H%M%SZ")
    creds = Credentials("AKIDEXAMPLE", "secret/with+chars=")
    signer: Any = (
        S3SigV4QueryAuth(creds, "s3", "us-east-1", expires=presign)
        if presign is not None
        else S3SigV4Auth(creds, "s3", "us-east-1")
    )
    # botocore reads the clock itself; pin it so the signature is deterministic.
    with mock.patch("botocore.auth.get_current_datetime", lambda: when.replace(tzinfo=None)):
        signer.add_auth(req)
    prepared = req.prepare()
    split = urllib.parse.urlsplit(prepared.url)
    hdrs: dict[str, str] = {"host": split.netloc}
    for name, value in prepared.headers.items():
        name = name.lower()
        value = value.decode() if isinstance(value, bytes) else value
        hdrs[name] = f"{hdrs[name]},{value}" if name in hdrs and name != "host" else value
    q = urllib.parse.parse_qsl(split.query, keep_blank_values=True)
    return RequestView(method, split.path, q, hdrs)


def bcheck(v: RequestView, now: datetime = T0) -> sigv4.SigningContext:
    creds = parse(v)
    assert creds is not None
    return verify(v, creds, "secret/with+chars=", region="us-east-1", now=now)


@pytest.mark.parametrize("key", KEYS)
@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "HEAD"])
def test_botocore_header_auth(key: str, method: str) -> None:
    body = b"hello" if method == "PUT" else b""
    bcheck(botocore_view(method, key, body=body))


@pytest.mark.parametrize("key", KEYS)
def test_botocore_presigned(key: str) -> None:
    v = botocore_view("GET", key, presign=3600, params={"versionId": "v 1+2"})
    ctx = bcheck(v, now=T0 + timedelta(minutes=59))
    assert ctx.seed_signature == dict(v.query)["X-Amz-Signature"]


def test_botocore_query_params_and_repeated_headers() -> None:
    params = {"list-type": "2", "prefix": "a b/c+d=e%f~", "delimiter": "/", "empty": ""}
    headers = {"x-amz-meta-list": "a,b", "x-amz-meta-spaces": "x   y  z", "Range": "bytes=0-1"}
    bcheck(botocore_view("GET", "k", params=params, headers=headers))


def test_repeated_header_joined_with_comma() -> None:
    v = botocore_view("GET", "k", headers={"x-amz-meta-a": "one,two"})
    bcheck(v)  # botocore signs it as one value; the server joins repeats the same way


@pytest.mark.parametrize(
    "tamper",
    [
        lambda v: RequestView(v.method, v.path + "x", v.query, v.headers),
        lambda v: RequestView("POST", v.path, v.query, v.headers),
        lambda v: RequestView(v.method, v.path, [*v.query, ("extra", "1")], v.headers),
        lambda v: RequestView(v.method, v.path, v.query, {**v.headers, "host": "evil.example"}),
        lambda v: RequestView(v.method, v.path, v.query, {**v.headers, "x-amz-meta-a": "b"}),
    ],
)
def test_tampering_breaks_signature(tamper: Any) -> None:
    v = botocore_view("PUT", "some key", params={"p": "1"}, headers={"x-amz-meta-a": "a"})
    bcheck(v)
    with pytest.raises(S3Error) as info:
        bcheck(tamper(v))
    assert info.value.code == "SignatureDoesNotMatch"
    assert info.value.status == 403
    for field in ("AWSAccessKeyId", "StringToSign", "SignatureProvided", "CanonicalRequest"):
        assert field in info.value.fields


def test_tampering_presigned_breaks_signature() -> None:
    v = botocore_view("GET", "k", presign=60)
    bad = RequestView(v.method, "/bucket/other", v.query, v.headers)
    with pytest.raises(S3Error, match="SignatureDoesNotMatch"):
        bcheck(bad)


def test_wrong_secret() -> None:
    v = botocore_view("GET", "k")
    creds = parse(v)
    assert creds is not None
    with pytest.raises(S3Error, match="SignatureDoesNotMatch"):
        verify(v, creds, "other", region="us-east-1", now=T0)


def test_raw_path_fallback() -> None:
    """A client that signs its own (differently encoded) path is still accepted."""
    raw_path = "/bucket/a%2Fb%20c"  # encodes "/" inside the key, which botocore would not
    hdrs = {"host": "h", "x-amz-date": "20130524T000000Z", "x-amz-content-sha256": EMPTY_SHA}
    partial = RequestView("GET", raw_path, [], hdrs)
    creds = sigv4.SigV4Credentials(
        AK,
        "20130524",
        "us-east-1",
        "s3",
        ("host", "x-amz-content-sha256", "x-amz-date"),
        "",
        T0,
        False,
        None,
        EMPTY_SHA,
    )
    cr = sigv4.canonical_request(partial, creds, uri=raw_path)
    key = sigv4_keys.signing_key(SK, "20130524", "us-east-1", "s3")
    import hmac

    sig = hmac.new(key, sigv4.string_to_sign(creds, cr).encode(), hashlib.sha256).hexdigest()
    auth = doc_auth("host;x-amz-content-sha256;x-amz-date", sig)
    check(RequestView("GET", raw_path, [], {**hdrs, "authorization": auth}))


# ------------------------------------------------------------------------ canonical forms


def test_canonical_uri_does_not_double_encode() -> None:
    assert sigv4.canonical_uri("/b/a%20b") == "/b/a%20b"
    assert sigv4.canonical_uri("/b/a b+c") == "/b/a%20b%2Bc"
    assert sigv4.canonical_uri("/b/%E2%82%AC~") == "/b/%E2%82%AC~"
    assert sigv4.canonical_uri("") == "/"


def test_canonical_query_encoding_and_order() -> None:
    q = [("b", "x y"), ("a", "2"), ("a", "1"), ("c", "/"), ("X-Amz-Signature", "s")]
    assert sigv4.canonical_query(q, presigned=True) == "a=1&a=2&b=x%20y&c=%2F"
    assert "X-Amz-Signature=s" in sigv4.canonical_query(q, presigned=False)


# ---------------------------------------------------------------------------- parse


def test_anonymous() -> None:
    assert parse(view("GET", "/b/k?x=1", {"host": "h"})) is None


def test_sigv2_header_and_query_are_not_sigv4() -> None:
    with pytest.raises(NotSigV4):
        parse(view("GET", "/b/k", {"host": "h"}, auth="AWS AKID:c2ln"))
    with pytest.raises(NotSigV4):
        parse(view("GET", "/b/k?AWSAccessKeyId=A&Expires=1&Signature=x", {"host": "h"}))


def expect(code: str, v: RequestView, message: str | None = None, **kw: Any) -> S3Error:
    with pytest.raises(S3Error) as info:
        creds = parse(v)
        assert creds is not None
        verify(v, creds, SK, region="us-east-1", now=kw.get("now", T0))
    assert info.value.code == code
    if message is not None:
        assert message in info.value.message
    return info.value


SIGNED = "host;x-amz-content-sha256;x-amz-date"


@pytest.mark.parametrize(
    "auth",
    [
        "AWS4-HMAC-SHA256",
        "AWS4-HMAC-SHA256 Credential=AK/20130524/us-east-1/s3/aws4_request",
        "AWS4-HMAC-SHA256 garbage",
        f"AWS4-HMAC-SHA1 Credential={AK}/20130524/us-east-1/s3/aws4_request,"
        f"SignedHeaders={SIGNED},Signature=abc",
        f"AWS4-HMAC-SHA256 Credential={AK}/2013-05-24/us-east-1/s3/aws4_request,"
        f"SignedHeaders={SIGNED},Signature=abc",
        f"AWS4-HMAC-SHA256 Credential={AK}/20130524/us-east-1/s3/aws5_request,"
        f"SignedHeaders={SIGNED},Signature=abc",
        f"AWS4-HMAC-SHA256 Credential=20130524/us-east-1/s3/aws4_request,"
        f"SignedHeaders={SIGNED},Signature=abc",
        f"AWS4-HMAC-SHA256 Credential={AK}/20130524/us-east-1/s3/aws4_request,"
        "SignedHeaders=x-amz-content-sha256;x-amz-date,Signature=abc",
    ],
)
def test_malformed_header(auth: str) -> None:
    expect("AuthorizationHeaderMalformed", view("GET", "/", DOC_HEADERS, auth=auth))


def test_missing_content_sha256() -> None:
    hdrs = {"host": HOST, "x-amz-date": "20130524T000000Z"}
    err = expect("InvalidRequest", view("GET", "/", hdrs, auth=doc_auth(SIGNED, "a")))
    assert err.message == "Missing required header for this request: x-amz-content-sha256"


@pytest.mark.parametrize("hdrs", [{}, {"x-amz-date": "yesterday"}, {"date": "nope"}])
def test_missing_or_bad_date(hdrs: dict[str, str]) -> None:
    v = view("GET", "/", {"host": HOST, "x-amz-content-sha256": EMPTY_SHA, **hdrs})
    with pytest.raises(S3Error) as info:
        parse(
            RequestView(
                v.method, v.path, v.query, {**v.headers, "authorization": doc_auth(SIGNED, "a")}
            )
        )
    assert info.value.code == "AccessDenied"
    assert info.value.message == "AWS authentication requires a valid Date or x-amz-date header"


def test_date_header_fallback() -> None:
    hdrs = {
        "host": HOST,
        "x-amz-content-sha256": EMPTY_SHA,
        "date": "Fri, 24 May 2013 00:00:00 GMT",
    }
    creds = parse(view("GET", "/", hdrs, auth=doc_auth("date;host", "a")))
    assert creds is not None and creds.amz_date == T0


def test_both_mechanisms_rejected() -> None:
    v = view("GET", PRESIGNED_DOC, DOC_HEADERS, auth=doc_auth(SIGNED, "a"))
    expect("InvalidArgument", v)


def test_wrong_region() -> None:
    auth = doc_auth(SIGNED, "a").replace("us-east-1", "eu-west-1")
    err = expect("AuthorizationHeaderMalformed", view("GET", "/", DOC_HEADERS, auth=auth))
    assert err.message == (
        "The authorization header is malformed; the region 'eu-west-1' is wrong; "
        "expecting 'us-east-1'"
    )
    assert err.fields["Region"] == "us-east-1"


def test_wrong_service_and_scope_date() -> None:
    auth = doc_auth(SIGNED, "a").replace("/s3/", "/ec2/")
    expect("AuthorizationHeaderMalformed", view("GET", "/", DOC_HEADERS, auth=auth), "service")
    auth = doc_auth(SIGNED, "a").replace("20130524/", "20130523/")
    expect("AuthorizationHeaderMalformed", view("GET", "/", DOC_HEADERS, auth=auth), "date")


@pytest.mark.parametrize("delta", [timedelta(minutes=16), -timedelta(minutes=16)])
def test_clock_skew(delta: timedelta) -> None:
    v = botocore_view("GET", "k")
    creds = parse(v)
    assert creds is not None
    with pytest.raises(S3Error) as info:
        verify(v, creds, "secret/with+chars=", region="us-east-1", now=T0 + delta)
    err = info.value
    assert err.code == "RequestTimeTooSkewed" and err.status == 403
    assert err.fields["RequestTime"] == "20130524T000000Z"
    assert err.fields["ServerTime"] == (T0 + delta).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert err.fields["MaxAllowedSkewMilliseconds"] == "900000"
    bcheck(v, now=T0 + delta / 2)  # within 15 minutes: fine


def test_presigned_expired_and_not_yet_valid() -> None:
    v = view("GET", PRESIGNED_DOC, {"Host": HOST})
    err = expect("AccessDenied", v, now=T0 + timedelta(seconds=86401))
    assert err.message == "Request has expired"
    assert err.fields["X-Amz-Expires"] == "86400"
    assert err.fields["Expires"] == "2013-05-25T00:00:00Z"
    assert err.fields["ServerTime"] == "2013-05-25T00:00:01Z"
    err = expect("AccessDenied", v, now=T0 - timedelta(minutes=16))
    assert err.message == "Request is not valid yet"


def presigned(**changes: str | None) -> RequestView:
    q = dict(urllib.parse.parse_qsl(PRESIGNED_DOC.partition("?")[2]))
    for name, value in changes.items():
        name = name.replace("_", "-")
        if value is None:
            del q[name]
        else:
            q[name] = value
    return RequestView("GET", "/test.txt", list(q.items()), {"host": HOST})


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"X_Amz_Signature": None}, "requires the X-Amz-Algorithm"),
        ({"X_Amz_Date": None}, "requires the X-Amz-Algorithm"),
        ({"X_Amz_Algorithm": "AWS4-HMAC-SHA1"}, "X-Amz-Algorithm"),
        ({"X_Amz_Credential": "nope"}, "X-Amz-Credential"),
        ({"X_Amz_Date": "2013-05-24"}, "ISO8601"),
        ({"X_Amz_Expires": "604801"}, "X-Amz-Expires must be less than a week"),
        ({"X_Amz_Expires": "-1"}, "X-Amz-Expires must be non-negative"),
        ({"X_Amz_Expires": "soon"}, "X-Amz-Expires should be a number"),
        ({"X_Amz_SignedHeaders": "range"}, "host"),
    ],
)
def test_presigned_param_errors(changes: dict[str, str | None], message: str) -> None:
    expect("AuthorizationQueryParametersError", presigned(**changes), message)


def test_presigned_scope_errors_are_query_errors() -> None:
    cred = "AKIAIOSFODNN7EXAMPLE/20130524/eu-west-1/s3/aws4_request"
    err = expect("AuthorizationQueryParametersError", presigned(X_Amz_Credential=cred), "region")
    assert err.fields["Region"] == "us-east-1"


def test_presigned_content_sha256_param() -> None:
    creds = parse(presigned(X_Amz_Content_Sha256=EMPTY_SHA))
    assert creds is not None and creds.payload_hash == EMPTY_SHA


def test_non_ascii_signature_is_mismatch_not_crash() -> None:
    auth = doc_auth("host;range;x-amz-content-sha256;x-amz-date", "é" * 64)
    v = view("GET", "/test.txt", {**DOC_HEADERS, "Range": "bytes=0-9"}, auth=auth)
    expect("SignatureDoesNotMatch", v)


def test_canonical_encoding_shortcuts_agree_with_quote() -> None:
    import random
    from urllib.parse import quote, unquote_to_bytes

    from oortgate.auth import sigv4

    rng = random.Random(5)
    alphabet = "aZ09-_.~/%2F+ é☃=&*"
    texts = ["", "/", "/bucket/key", "/b/a%20b", "/b/%E2%98%83", "/b/a b", "/b/~x.y_z-1"]
    texts += ["".join(rng.choice(alphabet) for _ in range(rng.randrange(10))) for _ in range(3000)]
    for text in texts:
        assert sigv4.canonical_uri(text) == quote(unquote_to_bytes(text or "/"), safe="/-_.~")
        pairs = [(text, text), ("X-Amz-Date", "20261125T000000Z")]
        expected = "&".join(
            f"{n}={v}"
            for n, v in sorted((quote(n, safe="-_.~"), quote(v, safe="-_.~")) for n, v in pairs)
        )
        assert sigv4.canonical_query(pairs, presigned=False) == expected


# ------------------------------------------------------ headers the signature must cover


@pytest.mark.parametrize(
    "added",
    [
        {"x-amz-acl": "public-read"},
        {"x-amz-copy-source": "/other/secret"},
        {"x-amz-meta-added": "1"},
        {"content-md5": "1B2M2Y8AsgTpgAmY7PhCfg=="},
        {"x-amz-acl": "public-read", "x-amz-grant-read": "uri=x"},
    ],
)
@pytest.mark.parametrize("presign", [None, 3600])
def test_unsigned_headers_are_refused(added: dict[str, str], presign: int | None) -> None:
    v = botocore_view("PUT", "k", presign=presign)
    bcheck(v)
    tampered = RequestView(v.method, v.path, v.query, {**v.headers, **added})
    with pytest.raises(S3Error) as info:
        bcheck(tampered)
    names = ", ".join(sorted(added))
    assert info.value.code == "AccessDenied"
    assert info.value.status == 403
    assert info.value.message == (
        f"There were headers present in the request which were not signed: {names}"
    )
    assert info.value.fields["HeadersNotSigned"] == names


def test_signed_x_amz_headers_pass() -> None:
    headers = {"x-amz-acl": "public-read", "x-amz-meta-a": "b", "Content-MD5": "abc="}
    bcheck(botocore_view("PUT", "k", headers=headers))
    bcheck(botocore_view("PUT", "k", headers=headers, presign=60))


def test_header_auth_needs_not_list_headers_the_signature_binds() -> None:
    """x-amz-content-sha256 is the canonical request's last line and x-amz-date is in the
    string to sign: a client that leaves them out of SignedHeaders changes nothing."""
    v = view(
        "GET", "/test.txt", DOC_HEADERS, auth=doc_auth("host", "0" * 64)
    )  # the unsigned-header check passes; only the signature is wrong
    expect("SignatureDoesNotMatch", v)
    presigned_view = view("GET", PRESIGNED_DOC, {"Host": HOST, "x-amz-date": "20130524T000000Z"})
    err = expect("AccessDenied", presigned_view)
    assert err.fields["HeadersNotSigned"] == "x-amz-date"


@pytest.mark.parametrize(
    ("expires", "message"),
    [
        ("-1", "X-Amz-Expires must be non-negative"),
        ("604801", "X-Amz-Expires must be less than a week"),
    ],
)
def test_presigned_expires_out_of_range_is_403(expires: str, message: str) -> None:
    err = expect("AuthorizationQueryParametersError", presigned(X_Amz_Expires=expires), message)
    assert err.status == 403


def test_presigned_expires_zero_is_expired() -> None:
    err = expect("AccessDenied", presigned(X_Amz_Expires="0"), now=T0 + timedelta(seconds=1))
    assert err.message == "Request has expired"
