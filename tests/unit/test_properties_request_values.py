"""Properties of the parsers of single request values: Range, the conditional headers,
the POST policy document and form credentials, and the payload verifier's headers."""

from __future__ import annotations

import base64
import contextlib
import json
from datetime import UTC, datetime

from hypothesis import example, given, settings
from hypothesis import strategies as st

from oortgate.auth import clock, post_policy
from oortgate.auth.payload import PayloadVerifier
from oortgate.errors import S3Error
from oortgate.ops import conditions
from oortgate.ops.ranges import parse_copy_range, parse_range
from tests.unit._strategies import anything, header_value, headers, mostly, query_text

NOW = datetime(2026, 5, 4, 3, 2, 1, tzinfo=UTC)
NUMBER = st.one_of(st.integers(0, 10**25).map(str), st.just("9" * 5000), st.just("\u00b2"),
                   st.just(""), st.just("-1"))
RANGES = st.one_of(anything, st.builds(lambda unit, a, b: f"{unit}={a}-{b}",
                                       mostly("bytes", anything), NUMBER, NUMBER))


@settings(max_examples=400, deadline=None)
@given(header=st.one_of(st.none(), RANGES), size=st.integers(0, 10**15))
def test_ranges_are_inside_the_object_or_an_s3_error(header: str | None, size: int) -> None:
    try:
        found = parse_range(header, size)
    except S3Error as err:
        assert err.code == "InvalidRange"
        return
    if found is not None:
        first, last = found
        assert 0 <= first <= last < size
    with contextlib.suppress(S3Error):
        first, last = parse_copy_range(header, size)
        assert 0 <= first <= last < size or (header is None and (first, last) == (0, size - 1))


HTTP_DATES = st.one_of(
    header_value,
    st.builds(lambda d, zone: d.strftime("%a, %d %b %Y %H:%M:%S ") + zone,
              st.datetimes(min_value=datetime(100, 1, 1), max_value=datetime(9999, 12, 31)),
              st.sampled_from(["GMT", "+2359", "-2359", "-0000", "+0100"])),
    st.builds(lambda y, z: f"Mon, 04 May {y} 03:02:01 {z}", st.integers(-99999, 99999),
              st.sampled_from(["GMT", "+2359", "-2359", "+9999", "UT", "EST", "z"])),
)


@settings(max_examples=400, deadline=None)
@given(values=st.fixed_dictionaries({}, optional={
    "if-match": header_value, "if-none-match": header_value,
    "if-modified-since": HTTP_DATES, "if-unmodified-since": HTTP_DATES}),
    modified=st.floats(0, 2**33, allow_nan=False))
def test_conditions_decide_or_raise_412(values: dict[str, str], modified: float) -> None:
    try:
        result = conditions.evaluate(values, "0123abc", modified)
    except S3Error as err:
        assert err.code == "PreconditionFailed"
        return
    assert result in (None, "not-modified")


@settings(max_examples=400, deadline=None)
@given(raw=st.one_of(st.none(), HTTP_DATES, st.builds(
    lambda y, rest: f"{y:04d}{rest}", st.integers(0, 9999), st.text("0123456789TZ", max_size=12))),
    iso=st.booleans())
@example(raw="Fri, 31 Dec 9999 23:59:59 -2359", iso=False)  # past 9999 in UTC: was a 500
def test_signed_request_times_parse_or_are_access_denied(raw: str | None, iso: bool) -> None:
    try:
        moment = clock.signed_request_time(raw, iso=iso)
    except S3Error as err:
        assert err.code == "AccessDenied"
        return
    assert moment.tzinfo is not None


JSON = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=10)),
    lambda kids: st.one_of(st.lists(kids, max_size=4),
                           st.dictionaries(st.text(max_size=8), kids, max_size=4)),
    max_leaves=20,
)
CONDITION = st.one_of(
    JSON,
    st.builds(lambda op, name, value: [op, name, value],
              st.sampled_from(["eq", "starts-with", "content-length-range", "EQ", "x"]),
              st.one_of(st.sampled_from(["$key", "$Content-Type", "$bucket"]), JSON), JSON),
    st.dictionaries(st.sampled_from(["key", "bucket", "acl"]), JSON, min_size=1, max_size=1),
)
DOCUMENT = st.fixed_dictionaries(
    {"expiration": st.one_of(st.just("2030-01-01T00:00:00Z"), JSON, st.text(max_size=30))},
    optional={"conditions": st.one_of(st.lists(CONDITION, max_size=4), JSON)},
)


def _policy(doc: object) -> str:
    return base64.b64encode(json.dumps(doc).encode()).decode()


@settings(max_examples=300, deadline=None)
@given(policy=st.one_of(DOCUMENT.map(_policy), query_text,
                        st.just(base64.b64encode(b"[" * 100_000).decode())),
       fields=st.dictionaries(st.sampled_from(["key", "content-type", "acl", "x-amz-meta-a",
                                               "x-amz-credential", "x-amz-algorithm",
                                               "x-amz-signature", "awsaccesskeyid",
                                               "signature"]), query_text, max_size=5))
def test_post_policy_and_form_credentials_raise_only_s3_errors(
    policy: str, fields: dict[str, str]
) -> None:
    # Form fields are decoded as UTF-8 with "replace" (post_object): text, never surrogates.
    with contextlib.suppress(S3Error):
        doc = post_policy.PostPolicy.parse(policy)
        doc.content_length_range()
        doc.check(fields, "bucket", NOW)
    with contextlib.suppress(S3Error):
        creds = post_policy.form_credentials(fields)
        if creds is not None:
            post_policy.verify_signature(creds, policy, "secret", "us-east-1")


MODES = st.sampled_from(["UNSIGNED-PAYLOAD", "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
                         "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", "0" * 64, "x"])


@settings(max_examples=300, deadline=None)
@given(mode=mostly("STREAMING-UNSIGNED-PAYLOAD-TRAILER", st.one_of(MODES, header_value)),
       extra=headers, trailer=st.one_of(st.none(), header_value, st.just("x-amz-checksum-crc32")),
       body=st.lists(st.binary(max_size=30), max_size=4))
def test_payload_verifier_raises_only_s3_errors(
    mode: str, extra: dict[str, str], trailer: str | None, body: list[bytes]
) -> None:
    hdrs = {**extra, "x-amz-content-sha256": mode}
    if trailer is not None:
        hdrs["x-amz-trailer"] = trailer
    with contextlib.suppress(S3Error):
        verifier = PayloadVerifier(hdrs, None)
        for piece in body:
            verifier.feed(piece)
        verifier.finish()
