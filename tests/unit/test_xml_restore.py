"""oortgate.xml.restore: the RestoreRequest of RestoreObject."""

from __future__ import annotations

import pytest

from oortgate.errors import S3Error
from oortgate.xml.restore import MAX_RESTORE_DAYS, parse_restore_days
from tests.unit._shapes import request_body


def test_reads_what_botocore_sends() -> None:
    params = {"Bucket": "b", "Key": "k", "RestoreRequest": {"Days": 7}}
    assert parse_restore_days(request_body("RestoreObject", params)) == 7


@pytest.mark.parametrize("body", [b"", b"  \n", b"<RestoreRequest/>"])
def test_one_day_by_default(body: bytes) -> None:
    assert parse_restore_days(body) == 1


@pytest.mark.parametrize(
    ("body", "code"),
    [(b"<RestoreRequest><Days>x</Days></RestoreRequest>", "MalformedXML"),
     (b"<Restore><Days>2</Days></Restore>", "MalformedXML"),
     (b"<RestoreRequest", "MalformedXML"),
     (b"<RestoreRequest><Days>0</Days></RestoreRequest>", "InvalidArgument"),
     (f"<RestoreRequest><Days>{MAX_RESTORE_DAYS + 1}</Days></RestoreRequest>".encode(),
      "InvalidArgument")],
)  # fmt: skip
def test_refuses_bad_days(body: bytes, code: str) -> None:
    with pytest.raises(S3Error) as caught:
        parse_restore_days(body)
    assert caught.value.code == code
