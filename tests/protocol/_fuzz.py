"""Request generation for the fuzz loop (test_fuzz.py): valid, signed S3 requests of
every operation family, then one or two mutations of method, path, query, headers or
body. Pure: a seeded ``random.Random`` in, raw HTTP/1.1 request bytes out.

Mutations stay inside HTTP itself (no CR/LF or other control bytes in a header, a
Content-Length that matches the body): what breaks HTTP is the HTTP server's to refuse,
before any S3 code runs. Everything else is fair game, bytes that are not UTF-8 included.
"""

from __future__ import annotations

import base64
import email.utils
import hashlib
import hmac
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import quote, urlencode

from ._s3raw import (
    STREAMING_SIGNED,
    STREAMING_SIGNED_TRAILER,
    checksum_b64,
    md5_b64,
    sign,
    signed_chunked_body,
    unsigned_chunked_body,
)

SUBRESOURCES = (
    "acl cors delete uploads uploadId partNumber versioning versions location list-type "
    "restore tagging select versionId prefix delimiter marker max-keys continuation-token "
    "start-after encoding-type max-uploads max-parts part-number-marker key-marker fetch-owner "
    "response-content-type response-content-disposition response-expires x-id".split()
)
HEADERS = (
    "range if-match if-none-match if-modified-since if-unmodified-since content-type "
    "content-md5 x-amz-content-sha256 x-amz-date date x-amz-copy-source x-amz-copy-source-range "
    "x-amz-acl x-amz-meta-a content-encoding x-amz-trailer x-amz-decoded-content-length "
    "x-amz-checksum-crc32 x-amz-checksum-sha256 x-amz-sdk-checksum-algorithm expect origin "
    "x-amz-metadata-directive x-amz-storage-class cache-control content-disposition "
    "access-control-request-method access-control-request-headers authorization "
    "x-amz-copy-source-if-match x-amz-copy-source-if-modified-since x-amz-checksum-algorithm "
    "x-amz-bucket-region x-amz-expected-bucket-owner x-forwarded-host host "
    "x-amz-if-match-size x-amz-if-match-last-modified-time x-amz-mp-object-size "
    "x-amz-checksum-type x-amz-tagging x-amz-tagging-directive x-amz-grant-read "
    "x-amz-object-ownership x-amz-object-attributes x-amz-max-parts "
    "x-amz-part-number-marker x-amz-if-match-initiated-time".split()
)
NUMBERS = ("0", "1", "-1", "\u00b2", "9" * 40, "9" * 5000, "1e3", "0x10", " 7", "10000", "10001")
STRINGS = ("", "*", "null", "%", "%ZZ", "%FF", "%00", "\xff", "caf\xe9", "\xc3\x28", "a\tb",
           "<x>&amp;", '"', "W/\"x\"", "bytes=", "bytes=0-", "bytes=-0", "bytes=5-1",
           "bytes=0-1,2-3", "Mon, 04 May 1950 03:02:01 GMT", "Mon, 04 May 99999 03:02:01 GMT",
           "Fri, 31 Dec 9999 23:59:59 -2359",
           "20260101T000000Z", "99991231T235959Z", "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
           "aws-chunked", "CRC32",
           "/", "//", "../..", "AAAA====", "GET", "REPLACE", "x" * 3000)
XML_BODIES = (b"", b"<", b"<Delete><Object><Key>k</Key></Object></Delete>", b"\xff\xfe",
              b"<CompleteMultipartUpload><Part><PartNumber>\xc2\xb2</PartNumber><ETag>e</ETag>"
              b"</Part></CompleteMultipartUpload>", b"<a>" * 3000, b'<?xml version="1.0"?>',
              b"<!DOCTYPE x [<!ENTITY a 'b'>]><x>&a;</x>", b"<RestoreRequest><Days>0</Days>"
              b"</RestoreRequest>", b"<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin>"
              b"<AllowedMethod>PUT</AllowedMethod><AllowedHeader>*</AllowedHeader><MaxAgeSeconds>"
              b"10</MaxAgeSeconds></CORSRule></CORSConfiguration>")  # fmt: skip


@dataclass
class FuzzRequest:
    method: str
    path: str  # percent-encoded, latin-1 text
    query: list[tuple[str, str]] = field(default_factory=list)  # raw (already encoded)
    headers: dict[str, str] = field(default_factory=dict)  # latin-1 text
    body: bytes = b""
    note: str = ""  # the template and mutations, for the report

    def wire(self) -> bytes:
        target = self.path + ("?" + "&".join(f"{k}={v}" if v is not None else k
                                              for k, v in self.query) if self.query else "")
        headers = {k: v for k, v in self.headers.items() if k.lower() != "content-length"}
        headers["Content-Length"] = str(len(self.body))
        headers["Connection"] = "close"
        head = f"{self.method} {target} HTTP/1.1\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        return (head + "\r\n").encode("latin-1") + self.body


@dataclass
class Target:
    """The server and the objects the templates name."""

    endpoint: str
    host: str
    access_key: str
    secret_key: str
    bucket: str
    key: str
    upload_id: str
    presign: Callable[[str, str], str]  # (bucket, key) -> presigned GET URL
    # A signed POST form's fields; its policy allows any key, meta, type, acl and the
    # one extra field named.
    post_fields: Callable[[str], dict[str, str]]


def _encoded_query(pairs: dict[str, str]) -> list[tuple[str, str]]:
    return [(quote(k, safe=""), quote(v, safe="-_.~")) for k, v in pairs.items()]


def _signed(t: Target, method: str, key: str | None, query: dict[str, str],
            headers: dict[str, str], body: bytes, note: str, bucket: str | None = None,
            payload: str | None = None, host: str | None = None) -> FuzzRequest:  # fmt: skip
    bucket = t.bucket if bucket is None else bucket
    host = host or t.host
    path = "/" + "/".join(p for p in (bucket, None if key is None else quote(key, safe="/~")) if p)
    encoded = _encoded_query(query)
    url = t.endpoint + path + ("?" + urlencode(query, quote_via=quote) if query else "")
    digest = payload or hashlib.sha256(body).hexdigest()
    signed = sign(method, url, {**headers, "host": host}, access_key=t.access_key,
                  secret_key=t.secret_key, payload_hash=digest)  # fmt: skip
    out = {k: v for k, v in signed.headers.items() if k.lower() != "host"}
    return FuzzRequest(method, path, encoded, {"Host": host, **out}, body, note)


def _sigv2(t: Target, rng: random.Random) -> FuzzRequest:
    date = email.utils.formatdate(usegmt=True)
    path = f"/{t.bucket}/{t.key}"
    sts = f"GET\n\n\n{date}\n{path}"
    mac = hmac.new(t.secret_key.encode(), sts.encode(), hashlib.sha1).digest()
    auth = f"AWS {t.access_key}:{base64.b64encode(mac).decode()}"
    return FuzzRequest("GET", path, [], {"Host": t.host, "Date": date, "Authorization": auth},
                       note="sigv2-get")  # fmt: skip


def _presigned(t: Target, rng: random.Random) -> FuzzRequest:
    url = t.presign(t.bucket, t.key)
    target = url[len(t.endpoint):]
    path, _, query = target.partition("?")
    pairs = [tuple(p.split("=", 1)) if "=" in p else (p, "") for p in query.split("&")]
    return FuzzRequest("GET", path, pairs, {"Host": t.host}, note="presigned-get")  # type: ignore[arg-type]


def _chunked_put(t: Target, rng: random.Random) -> FuzzRequest:
    data = rng.randbytes(rng.randint(0, 300))
    body = unsigned_chunked_body(data, rng.randint(1, 64))
    headers = {"content-encoding": "aws-chunked", "x-amz-decoded-content-length": str(len(data))}
    return _signed(t, "PUT", f"fz-{rng.randint(0, 9)}", {}, headers, body, "chunked-put",
                   payload="STREAMING-UNSIGNED-PAYLOAD-TRAILER")  # fmt: skip


FORM_FIELDS = ("x-amz-meta-a", "Content-Type", "acl", "success_action_status", "key",
               "success_action_redirect", "Cache-Control", "x-ignore-me", "policy", "file")


def _post_form(t: Target, rng: random.Random) -> FuzzRequest:
    extra = "x-amz-meta-" + _junk(rng).replace('"', "") if rng.random() < 0.2 else ""
    key = f"fz-{rng.randint(0, 9)}-" + ("${filename}" if rng.random() < 0.7 else _junk(rng))
    fields = {**t.post_fields(extra), "key": key}
    if rng.random() < 0.5:
        fields[rng.choice(FORM_FIELDS)] = _junk(rng)
    if extra:  # a field name is any text, unlike a header's
        fields[extra] = "v"
    boundary = f"fz{rng.randrange(10**9)}"
    body = "".join(f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'
                   for k, v in fields.items())
    body += (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="f.txt"'
             '\r\nContent-Type: text/plain\r\n\r\n')
    data = body.encode("latin-1") + rng.randbytes(rng.randint(0, 100))
    data += f"\r\n--{boundary}--\r\n".encode()
    headers = {"Host": t.host, "Content-Type": f"multipart/form-data; boundary={boundary}"}
    return FuzzRequest("POST", f"/{t.bucket}", [], headers, data, note="post-form")


def _virtual_host(t: Target, rng: random.Random) -> FuzzRequest:
    """Virtual-host style: the bucket in the Host header, the key as the whole path."""
    host = f"{t.bucket}.s3-standard.localhost"
    return _signed(t, "GET", t.key, {}, {}, b"", "virtual-host", bucket="", host=host)


def _signed_chunked_put(t: Target, rng: random.Random) -> FuzzRequest:
    """STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]: chunk signatures chained from the
    request's, and a signed checksum trailer one time in two."""
    data = rng.randbytes(rng.randint(0, 300))
    trailer = rng.random() < 0.5
    mode = STREAMING_SIGNED_TRAILER if trailer else STREAMING_SIGNED
    headers = {"content-encoding": "aws-chunked", "x-amz-decoded-content-length": str(len(data))}
    if trailer:
        headers["x-amz-trailer"] = "x-amz-checksum-crc32"
    key = f"fz-{rng.randint(0, 9)}"
    url = f"{t.endpoint}/{t.bucket}/{key}"
    signed = sign("PUT", url, {**headers, "host": t.host}, access_key=t.access_key,
                  secret_key=t.secret_key, payload_hash=mode)  # fmt: skip
    trailers = {"x-amz-checksum-crc32": checksum_b64("CRC32", data)} if trailer else None
    body = signed_chunked_body(signed, data, rng.randint(1, 64), trailers)
    out = {k: v for k, v in signed.headers.items() if k.lower() != "host"}
    return FuzzRequest("PUT", f"/{t.bucket}/{key}", [], {"Host": t.host, **out}, body,
                       note="signed-chunked-put")  # fmt: skip


def _template(t: Target, rng: random.Random) -> FuzzRequest:
    k, uid = t.key, t.upload_id
    xml = rng.choice(XML_BODIES)
    choices: list[Callable[[], FuzzRequest]] = [
        lambda: _signed(t, "GET", k, {}, {}, b"", "get"),
        lambda: _signed(t, "GET", k, {}, {"range": "bytes=1-3"}, b"", "get-range"),
        lambda: _signed(t, "HEAD", k, {}, {"if-none-match": '"x"'}, b"", "head"),
        lambda: _signed(t, rng.choice(["GET", "HEAD"]), rng.choice(
            [f"fz-{rng.randint(0, 9)}", f"fz-{rng.randint(0, 9)}-f.txt"]), {}, {}, b"",
            "get-written"),  # what the fuzzed PUTs and forms stored
        lambda: _signed(t, "PUT", f"fz-{rng.randint(0, 9)}", {},
                        {"content-type": "text/plain", "x-amz-meta-a": "b"},
                        rng.randbytes(rng.randint(0, 200)), "put"),
        lambda: _signed(t, "GET", None, {"list-type": "2", "prefix": "f", "delimiter": "/",
                                         "max-keys": "3"}, {}, b"", "list-v2"),
        lambda: _signed(t, "GET", None, {"marker": "a", "max-keys": "2"}, {}, b"", "list-v1"),
        lambda: _signed(t, "POST", None, {"delete": ""}, {"content-md5": md5_b64(xml)}, xml,
                        "delete-objects"),
        lambda: _signed(t, "PUT", k, {"acl": ""}, {"x-amz-acl": "private"}, b"", "put-acl"),
        lambda: _signed(t, "PUT", None, {"cors": ""}, {"content-md5": md5_b64(xml)}, xml,
                        "put-cors"),
        lambda: _signed(t, "GET", None, {rng.choice(["acl", "cors", "location", "versioning",
                                                      "uploads", "versions"]): ""}, {}, b"",
                        "get-bucket-sub"),
        lambda: _signed(t, "POST", f"fz-{rng.randint(0, 9)}", {"uploads": ""}, {}, b"",
                        "create-multipart"),
        lambda: _signed(t, "PUT", "mp", {"partNumber": "1", "uploadId": uid}, {},
                        rng.randbytes(50), "upload-part"),
        lambda: _signed(t, "POST", "mp", {"uploadId": uid}, {}, xml, "complete"),
        lambda: _signed(t, "PUT", f"fz-{rng.randint(0, 9)}", {},
                        {"x-amz-copy-source": f"/{t.bucket}/{k}"}, b"", "copy"),
        lambda: _signed(t, "POST", k, {"restore": ""}, {}, xml, "restore"),
        lambda: _signed(t, "DELETE", f"fz-{rng.randint(0, 9)}", {}, {}, b"", "delete"),
        lambda: _signed(t, "GET", None, {}, {}, b"", "list-buckets", bucket=""),
        lambda: FuzzRequest("OPTIONS", f"/{t.bucket}/{k}", [], {
            "Host": t.host, "Origin": "https://example.com",
            "Access-Control-Request-Method": "PUT"}, note="preflight"),
        lambda: _sigv2(t, rng),
        lambda: _presigned(t, rng),
        lambda: _chunked_put(t, rng),
        lambda: _signed_chunked_put(t, rng),
        lambda: _post_form(t, rng),
        lambda: _virtual_host(t, rng),
        lambda: FuzzRequest("GET", f"/{t.bucket}/{k}", [], {"Host": t.host}, note="anonymous"),
    ]
    return rng.choice(choices)()


# ------------------------------------------------------------------------- mutations
def _junk(rng: random.Random) -> str:
    """A header value or query text: interesting, or random bytes HTTP allows."""
    roll = rng.random()
    if roll < 0.4:
        return rng.choice(STRINGS)
    if roll < 0.6:
        return rng.choice(NUMBERS)
    allowed = [b for b in range(0x20, 0x100) if b != 0x7F] + [0x09]
    return bytes(rng.choice(allowed) for _ in range(rng.randint(0, 40))).decode("latin-1")


def _path_junk(rng: random.Random) -> str:
    return rng.choice(["%FF", "%00", "%2F", "%", "%G1", "//", "/..", "?", "#", "~", "%C3%28",
                       "x" * rng.randint(1, 1100), "%E2%82%AC", ";", "@", "%25"])


def _quoted(text: str) -> str:
    return quote(text.encode("latin-1"), safe="")


def _mutate(req: FuzzRequest, rng: random.Random) -> str:
    kind = rng.choice(["method", "path", "query-add", "query-value", "header-set",
                       "header-set", "header-drop", "auth-byte", "body", "body-cut"])
    if kind == "method":
        req.method = rng.choice(["GET", "PUT", "POST", "DELETE", "HEAD", "OPTIONS", "PATCH",
                                 "PROPFIND", "get"])
    elif kind == "path":
        at = rng.randint(1, len(req.path))  # after the "/": HTTP wants an origin-form target
        req.path = req.path[:at] + _path_junk(rng) + req.path[at:]
    elif kind == "query-add":
        name = rng.choice(SUBRESOURCES) if rng.random() < 0.8 else _junk(rng)
        req.query.append((_quoted(name), _quoted(_junk(rng))))
    elif kind == "query-value" and req.query:
        i = rng.randrange(len(req.query))
        req.query[i] = (req.query[i][0], _quoted(_junk(rng)))
    elif kind == "header-set":
        name = rng.choice(HEADERS)
        value = _junk(rng)
        if name == "host":  # replaces the one Host; half the time a virtual host
            req.headers.pop("Host", None)
            value += ".s3-standard.localhost" if rng.random() < 0.5 else ""
        req.headers[name] = value
    elif kind == "header-drop" and req.headers:
        req.headers.pop(rng.choice(sorted(req.headers)))
    elif kind == "auth-byte" and "Authorization" in req.headers:
        auth = req.headers["Authorization"]
        at = rng.randrange(len(auth))
        char = chr(rng.choice([b for b in range(0x20, 0x100) if b != 0x7F]))
        req.headers["Authorization"] = auth[:at] + char + auth[at + 1 :]
    elif kind == "body":
        req.body = rng.choice(XML_BODIES) if rng.random() < 0.5 else rng.randbytes(
            rng.randint(0, 500))
    elif kind == "body-cut" and req.body:
        req.body = req.body[: rng.randrange(len(req.body))]
    return kind


def fuzz_request(target: Target, rng: random.Random) -> FuzzRequest:
    """A valid request of some operation, then one mutation (two, one time in four)."""
    req = _template(target, rng)
    kinds = [_mutate(req, rng) for _ in range(2 if rng.random() < 0.25 else 1)]
    req.note += " + " + ", ".join(kinds)
    return req

