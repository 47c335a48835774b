"""SigV4 properties: arbitrary input raises only S3Error; botocore-signed requests verify,
and changing any one signed character makes them fail."""

from __future__ import annotations

import urllib.parse
from datetime import UTC, datetime
from typing import Any
from unittest import mock

from botocore.auth import S3SigV4Auth, S3SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from oortgate.auth import sigv4
from oortgate.auth.sigv4 import NotSigV4, RequestView
from oortgate.errors import S3Error
from oortgate.http.routing import parse_query
from tests.unit._strategies import (
    anything,
    header_value,
    headers,
    latin1,
    mostly,
    query_pairs,
    query_text,
    tokens,
)

NOW = datetime(2026, 5, 4, 3, 2, 1, tzinfo=UTC)
STAMP = NOW.strftime("%Y%m%dT%H%M%SZ")
AK, SK = "AKIDEXAMPLE", "secret/with+chars="
CASES = settings(max_examples=200, deadline=None)


def _parse_and_verify(view: RequestView) -> None:
    try:
        creds = sigv4.parse(view)
        if creds is not None:
            sigv4.verify(view, creds, SK, region="us-east-1", now=NOW)
    except (S3Error, NotSigV4):
        pass


def _authorization() -> st.SearchStrategy[str]:
    """Authorization values close enough to valid to reach every parser branch."""
    return st.one_of(
        anything,
        st.builds(
            lambda algo, cred, signed, sig, sep: (
                f"{algo} Credential={cred}{sep}SignedHeaders={signed}{sep}Signature={sig}"
            ),
            mostly("AWS4-HMAC-SHA256", st.sampled_from(["AWS4-HMAC-SHA1", "AWS", ""])),
            mostly(f"{AK}/{STAMP[:8]}/us-east-1/s3/aws4_request", anything),
            mostly("host;x-amz-date;x-amz-meta-a", tokens),
            mostly("0" * 64, anything),
            mostly(", ", st.sampled_from([",", " ", ";", ""])),
        ),
    )


@CASES
@given(auth=_authorization(), extra=headers, date=mostly(STAMP, header_value),
       method=st.sampled_from(["GET", "PUT", "get", ""]), path=latin1,
       query=query_pairs, meta=header_value)
def test_header_auth_raises_only_s3_errors(
    auth: str,
    extra: dict[str, str],
    date: str,
    method: str,
    path: str,
    query: list[tuple[str, str]],
    meta: str,
) -> None:
    hdrs = {**extra, "authorization": auth, "x-amz-date": date, "host": "h", "x-amz-meta-a": meta}
    hdrs.setdefault("x-amz-content-sha256", "UNSIGNED-PAYLOAD")
    _parse_and_verify(RequestView(method, path, query, hdrs))


PRESIGN = ("X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires",
           "X-Amz-SignedHeaders", "X-Amz-Signature")


@CASES
@given(values=st.fixed_dictionaries({name: query_text for name in PRESIGN}),
       keep=st.sets(st.sampled_from(PRESIGN)), extra=query_pairs, hdrs=headers,
       when=mostly(NOW, st.datetimes(min_value=datetime(1, 1, 1), timezones=st.just(UTC))),
       expires=st.sampled_from(["60", "604800", "1"]))
@example(values=dict.fromkeys(PRESIGN, ""), keep=set(), extra=[], hdrs={},
         when=datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC), expires="604800")  # was a 500
def test_presigned_query_raises_only_s3_errors(
    values: dict[str, str],
    keep: set[str],
    extra: list[tuple[str, str]],
    hdrs: dict[str, str],
    when: datetime,
    expires: str,
) -> None:
    stamp = f"{when.year:04d}" + when.strftime("%m%dT%H%M%SZ")  # %Y does not pad year 1
    good = {"X-Amz-Algorithm": "AWS4-HMAC-SHA256", "X-Amz-Date": stamp,
            "X-Amz-Expires": expires, "X-Amz-SignedHeaders": "host",
            "X-Amz-Credential": f"{AK}/{stamp[:8]}/us-east-1/s3/aws4_request"}
    query = [(name, values[name] if name in keep else good.get(name, "0")) for name in PRESIGN]
    _parse_and_verify(RequestView("GET", "/b/k", query + extra, {**hdrs, "host": "h"}))


# --------------------------------------------------------------------- round trip
KEY_TEXT = st.text(st.characters(codec="utf-8", exclude_characters="\r\n"), min_size=1,
                   max_size=20)
VALUE_TEXT = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1,
                     max_size=20)


def _signed_view(method: str, key: str, params: dict[str, str], meta: dict[str, str],
                 presign: bool) -> RequestView:
    path = "/bucket/" + urllib.parse.quote(key, safe="/~")
    query = urllib.parse.urlencode(params, quote_via=urllib.parse.quote)
    url = "https://s3.example.com" + path + (f"?{query}" if query else "")
    headers = {f"x-amz-meta-{k}": v for k, v in meta.items()}
    req = AWSRequest(method=method, url=url, data=b"", headers=headers)
    signer: Any = (S3SigV4QueryAuth(Credentials(AK, SK), "s3", "us-east-1", expires=300)
                   if presign else S3SigV4Auth(Credentials(AK, SK), "s3", "us-east-1"))
    with mock.patch("botocore.auth.get_current_datetime", lambda: NOW.replace(tzinfo=None)):
        signer.add_auth(req)
    prepared = req.prepare()
    split = urllib.parse.urlsplit(prepared.url)
    hdrs = {"host": split.netloc}
    hdrs.update({k.lower(): v.decode() if isinstance(v, bytes) else v
                 for k, v in prepared.headers.items()})
    return RequestView(method, split.path, parse_query(split.query), hdrs)


def _verifies(view: RequestView) -> bool:
    try:
        creds = sigv4.parse(view)
        assert creds is not None
        sigv4.verify(view, creds, SK, region="us-east-1", now=NOW)
    except S3Error:
        return False
    return True


def _flip(text: str, at: int) -> str:
    """``text`` with its alphanumeric character at (index ``at`` of them) changed."""
    spots = [i for i, c in enumerate(text) if c.isascii() and c.isalnum()
             and "%" not in text[max(0, i - 2) : i]]  # "%2f" is "%2F": not a change
    assume(spots)
    i = spots[at % len(spots)]
    new = "b" if text[i] == "a" else "a"
    return text[:i] + new + text[i + 1 :]


@settings(max_examples=120, deadline=None)
@given(method=st.sampled_from(["GET", "PUT", "DELETE", "HEAD", "POST"]), key=KEY_TEXT,
       params=st.dictionaries(st.sampled_from(["prefix", "uploadId", "marker", "x"]),
                              KEY_TEXT, max_size=3),
       meta=st.dictionaries(st.sampled_from(["a", "b", "long-name"]), VALUE_TEXT, max_size=2),
       presign=st.booleans(), part=st.sampled_from(["path", "query", "header", "signature"]),
       at=st.integers(0, 1000))
def test_botocore_signed_verifies_and_any_change_fails(
    method: str, key: str, params: dict[str, str], meta: dict[str, str], presign: bool, part: str,
    at: int,
) -> None:
    view = _signed_view(method, key, params, meta, presign)
    assert _verifies(view)
    if part == "path":
        view.path = _flip(view.path, at)
    elif part == "query":
        assume(params or presign)
        signed = [(n, v) for n, v in view.query if n != "X-Amz-Signature"]
        i = at % len(signed)
        name, value = signed[i]
        assume(any(c.isascii() and c.isalnum() for c in value))
        view.query[view.query.index(signed[i])] = (name, _flip(value, at))
    elif part == "header":
        names = [n for n in view.headers
                 if n in ("host", "x-amz-date") or n.startswith("x-amz-meta")]
        name = names[at % len(names)]
        assume(not (presign and name == "x-amz-date"))  # unsigned in a presigned URL
        view.headers = {**view.headers, name: _flip(view.headers[name], at)}
    elif presign:
        i = [n for n, _ in view.query].index("X-Amz-Signature")
        view.query[i] = ("X-Amz-Signature", _flip(view.query[i][1], at))
    else:
        auth = view.headers["authorization"]
        head, sig = auth.rsplit("Signature=", 1)
        view.headers = {**view.headers, "authorization": head + "Signature=" + _flip(sig, at)}
    assert not _verifies(view)
