import random
from email.utils import formatdate

import pytest

from oortgate.errors import S3Error
from oortgate.ops.conditions import etag_matches, evaluate
from oortgate.ops.metadata import http_date
from oortgate.ops.ranges import parse_range

ETAG = "0123abcd"
MODIFIED = 1_700_000_000.7  # Tue, 14 Nov 2023 22:13:20 GMT
BEFORE = "Tue, 14 Nov 2023 22:13:19 GMT"
SAME = "Tue, 14 Nov 2023 22:13:20 GMT"
AFTER = "Tue, 14 Nov 2023 22:13:21 GMT"


def test_etag_lists_and_star() -> None:
    assert etag_matches('"x", "0123abcd"', ETAG)
    assert etag_matches("*", ETAG)
    assert etag_matches('W/"0123abcd"', ETAG)
    assert not etag_matches('"other"', ETAG)


@pytest.mark.parametrize(
    ("headers", "outcome"),
    [
        ({}, None),
        ({"if-match": f'"{ETAG}"'}, None),
        ({"if-match": '"nope"'}, 412),
        ({"if-unmodified-since": BEFORE}, 412),
        ({"if-unmodified-since": SAME}, None),
        ({"if-none-match": f'"{ETAG}"'}, "not-modified"),
        ({"if-none-match": '"nope"'}, None),
        ({"if-modified-since": SAME}, "not-modified"),
        ({"if-modified-since": BEFORE}, None),
        ({"if-modified-since": "garbage"}, None),
        # AWS precedence: If-Match true beats If-Unmodified-Since false ...
        ({"if-match": f'"{ETAG}"', "if-unmodified-since": BEFORE}, None),
        # ... and If-None-Match false beats If-Modified-Since true.
        ({"if-none-match": f'"{ETAG}"', "if-modified-since": BEFORE}, "not-modified"),
        ({"if-none-match": '"nope"', "if-modified-since": AFTER}, None),
    ],
)
def test_evaluate(headers: dict[str, str], outcome: object) -> None:
    if outcome == 412:
        with pytest.raises(S3Error) as info:
            evaluate(headers, ETAG, MODIFIED)
        assert info.value.code == "PreconditionFailed"
    else:
        assert evaluate(headers, ETAG, MODIFIED) == outcome


def test_copy_source_prefix() -> None:
    headers = {"x-amz-copy-source-if-none-match": f'"{ETAG}"'}
    assert evaluate(headers, ETAG, MODIFIED, prefix="x-amz-copy-source-if-") == "not-modified"
    assert evaluate(headers, ETAG, MODIFIED) is None


@pytest.mark.parametrize(
    ("header", "size", "expected"),
    [
        (None, 10, None),
        ("bytes=0-4", 10, (0, 4)),
        ("bytes=5-", 10, (5, 9)),
        ("bytes=-3", 10, (7, 9)),
        ("bytes=-30", 10, (0, 9)),
        ("bytes=8-100", 10, (8, 9)),
        ("bytes=9-9", 10, (9, 9)),
        ("bytes=4-2", 10, None),  # invalid: ignored, whole object
        ("bytes=0-1,3-4", 10, None),  # several ranges: ignored as S3 does
        ("items=0-1", 10, None),
        ("bytes=-", 10, None),
        ("bytes=-5", 0, None),  # a tail read of an empty object is the empty object
    ],
)
def test_ranges(header: str | None, size: int, expected: tuple[int, int] | None) -> None:
    assert parse_range(header, size) == expected


@pytest.mark.parametrize(
    ("header", "size"),
    [("bytes=10-", 10), ("bytes=10-20", 10), ("bytes=-0", 10), ("bytes=0-", 0), ("bytes=0-0", 0)],
)
def test_unsatisfiable_ranges(header: str, size: int) -> None:
    with pytest.raises(S3Error) as info:
        parse_range(header, size)
    assert info.value.status == 416
    assert info.value.headers == {"content-range": f"bytes */{size}"}


def test_http_date_writes_what_formatdate_writes() -> None:
    rng = random.Random(7)
    epochs = [0.0, MODIFIED, 951_782_400.0, 4_102_444_799.9]  # incl. 29 Feb 2000, 2099
    epochs += [rng.uniform(0, 4_102_444_800) for _ in range(20_000)]
    for epoch in epochs:
        assert http_date(epoch) == formatdate(int(epoch), usegmt=True), epoch
    assert http_date(MODIFIED) == SAME
