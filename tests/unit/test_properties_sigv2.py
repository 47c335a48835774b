"""SigV2 properties: arbitrary input raises only S3Error; botocore-signed requests verify,
and changing any one signed character makes them fail."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime
from unittest import mock
from urllib.parse import quote, urlencode, urlsplit

from botocore.auth import HmacV1Auth, HmacV1QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from oortgate.auth import sigv2
from oortgate.auth.sigv4 import RequestView
from oortgate.errors import S3Error
from oortgate.http.routing import parse_query
from tests.unit._strategies import anything, header_value, headers, latin1, mostly, query_pairs

NOW = datetime(2026, 5, 4, 3, 2, 1, tzinfo=UTC)
DATE = "Mon, 04 May 2026 03:02:01 GMT"
AK, SK = "AKIDEXAMPLE", "secret/with+chars="


def _parse_and_verify(view: RequestView) -> None:
    with contextlib.suppress(S3Error):
        sigv2.verify(view, sigv2.parse(view), SK, now=NOW)


@settings(max_examples=300, deadline=None)
@given(auth=st.one_of(anything, st.builds(lambda ak, sig: f"AWS {ak}:{sig}",
                                          mostly(AK, anything), anything)),
       date=mostly(DATE, header_value), amz_date=st.one_of(st.none(), header_value),
       extra=headers, path=latin1, query=query_pairs, meta=header_value)
def test_header_auth_raises_only_s3_errors(
    auth: str, date: str, amz_date: str | None, extra: dict[str, str], path: str,
    query: list[tuple[str, str]], meta: str,
) -> None:
    hdrs = {**extra, "authorization": auth, "date": date, "x-amz-meta-a": meta}
    if amz_date is not None:
        hdrs["x-amz-date"] = amz_date
    _parse_and_verify(RequestView("GET", path, query, hdrs))


@settings(max_examples=300, deadline=None)
@given(ak=mostly(AK, st.text()), sig=st.text(), expires=st.one_of(
    st.integers(-(10**30), 10**30).map(str), st.integers(10**11, 10**30).map(str),
    st.integers(-(10**30), -(10**11)).map(str), st.text(max_size=30),
    st.text("0123456789", min_size=1, max_size=5000)), extra=query_pairs)
def test_presigned_query_raises_only_s3_errors(
    ak: str, sig: str, expires: str, extra: list[tuple[str, str]]
) -> None:
    query = [("AWSAccessKeyId", ak), ("Signature", sig), ("Expires", expires), *extra]
    _parse_and_verify(RequestView("GET", "/b/k", query, {"host": "h"}))


# --------------------------------------------------------------------- round trip
KEY_TEXT = st.text(st.characters(codec="utf-8", exclude_characters="\r\n"), min_size=1,
                   max_size=20)
VALUE_TEXT = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1,
                     max_size=20)


def _signed_view(method: str, key: str, params: dict[str, str], meta: dict[str, str],
                 presign: bool) -> RequestView:
    url = "https://h/bucket/" + quote(key, safe="/~")
    if params:
        url += "?" + urlencode(params, quote_via=quote)
    req = AWSRequest(method=method, url=url, headers={f"x-amz-meta-{k}": v
                                                      for k, v in meta.items()})
    with mock.patch("botocore.auth.formatdate", lambda usegmt: DATE), \
            mock.patch("time.time", lambda: NOW.timestamp()):
        auth = HmacV1QueryAuth(Credentials(AK, SK), expires=300) if presign else HmacV1Auth(
            Credentials(AK, SK))
        auth.add_auth(req)
    assert req.url is not None
    split = urlsplit(req.url)
    hdrs = {k.lower(): v.decode() if isinstance(v, bytes) else v for k, v in req.headers.items()}
    return RequestView(method, split.path, parse_query(split.query), hdrs)


def _verifies(view: RequestView) -> bool:
    try:
        sigv2.verify(view, sigv2.parse(view), SK, now=NOW)
    except S3Error:
        return False
    return True


def _flip(text: str, at: int) -> str:
    spots = [i for i, c in enumerate(text) if c.isascii() and c.isalnum()
             and "%" not in text[max(0, i - 2) : i]]
    assume(spots)
    i = spots[at % len(spots)]
    return text[:i] + ("b" if text[i] == "a" else "a") + text[i + 1 :]


@settings(max_examples=150, deadline=None)
@given(method=st.sampled_from(["GET", "PUT", "DELETE", "HEAD"]), key=KEY_TEXT,
       params=st.dictionaries(st.sampled_from(["uploadId", "partNumber", "acl", "prefix"]),
                              VALUE_TEXT, max_size=2),
       meta=st.dictionaries(st.sampled_from(["a", "b"]), VALUE_TEXT, max_size=2),
       presign=st.booleans(), part=st.sampled_from(["method", "path", "header", "signature"]),
       at=st.integers(0, 1000))
def test_botocore_signed_verifies_and_any_change_fails(
    method: str, key: str, params: dict[str, str], meta: dict[str, str], presign: bool, part: str,
    at: int,
) -> None:
    view = _signed_view(method, key, params, meta, presign)
    assert _verifies(view), view
    if part == "method":
        view.method = "POST"
    elif part == "path":
        view.path = _flip(view.path, at)
    elif part == "header":
        assume(meta)
        name = sorted(f"x-amz-meta-{k}" for k in meta)[at % len(meta)]
        view.headers = {**view.headers, name: _flip(view.headers[name], at)}
    elif presign:
        i = [n for n, _ in view.query].index("Signature")
        view.query[i] = ("Signature", _flip(view.query[i][1], at))
    else:
        head, sig = view.headers["authorization"].rsplit(":", 1)
        view.headers = {**view.headers, "authorization": f"{head}:{_flip(sig, at)}"}
    assert not _verifies(view)
