"""Inputs the property tests and the fuzzer found answering 500: each is an S3Error now."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from oortgate.auth import sigv2, sigv4
from oortgate.auth.sigv4 import RequestView
from oortgate.errors import S3Error

NOW = datetime(2026, 5, 4, 3, 2, 1, tzinfo=UTC)
STAMP = NOW.strftime("%Y%m%dT%H%M%SZ")
SCOPE = f"AK/{STAMP[:8]}/us-east-1/s3/aws4_request"


def _v4_header(auth: str) -> RequestView:
    headers = {"authorization": auth, "x-amz-date": STAMP, "host": "h",
               "x-amz-content-sha256": "UNSIGNED-PAYLOAD"}  # fmt: skip
    return RequestView("GET", "/b/k", [], headers)


@pytest.mark.parametrize(
    "auth",
    [
        f"AWS4-HMAC-SHA256 Credential={SCOPE}, SignedHeaders=host, Signature=\udc80",
        f"AWS4-HMAC-SHA256 Credential=A\udcffK/{SCOPE[3:]}, SignedHeaders=host, Signature=00",
        f"AWS4-HMAC-SHA256 Credential={SCOPE}, SignedHeaders=host;\udcff, Signature=00",
    ],
    ids=["signature", "access-key", "signed-headers"],
)
def test_sigv4_authorization_not_utf8_is_malformed(auth: str) -> None:
    with pytest.raises(S3Error) as caught:
        sigv4.parse(_v4_header(auth))
    assert caught.value.code == "AuthorizationHeaderMalformed"


@pytest.mark.parametrize("auth", ["AWS A\udcffK:c2ln", "AWS AK:c2\udcffln"])
def test_sigv2_authorization_not_utf8_is_invalid_argument(auth: str) -> None:
    view = RequestView("GET", "/b/k", [], {"authorization": auth, "date": "x"})
    with pytest.raises(S3Error) as caught:
        sigv2.parse(view)
    assert caught.value.code == "InvalidArgument"


def test_sigv4_signed_header_not_utf8_is_signed_as_sent() -> None:
    view = _v4_header(f"AWS4-HMAC-SHA256 Credential={SCOPE}, "
                      "SignedHeaders=host;x-amz-meta-a, Signature=00")  # fmt: skip
    view.headers = {**view.headers, "x-amz-meta-a": "caf\udcff"}
    creds = sigv4.parse(view)
    assert creds is not None
    with pytest.raises(S3Error) as caught:
        sigv4.verify(view, creds, "secret", region="us-east-1", now=NOW)
    assert caught.value.code == "SignatureDoesNotMatch"
