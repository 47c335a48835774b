"""SigV2 verification against requests signed by botocore's own HmacV1 signers."""

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, urlsplit

import pytest
from botocore.auth import HmacV1Auth, HmacV1QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from oortgate.auth import sigv2, sigv4
from oortgate.errors import S3Error

AK, SK = "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
CREDS = Credentials(AK, SK)


def view_of(request: AWSRequest) -> sigv4.RequestView:
    assert request.url is not None and request.method is not None
    url = urlsplit(request.url)
    headers: dict[str, str] = {}
    for name, value in request.headers.items():
        name = name.lower()
        value = value.decode() if isinstance(value, bytes) else value
        headers[name] = f"{headers[name]},{value}" if name in headers else value
    query = parse_qsl(url.query, keep_blank_values=True)
    return sigv4.RequestView(request.method, url.path, query, headers)


def signed(method: str, url: str, headers: dict[str, str] | None = None) -> AWSRequest:
    request = AWSRequest(method=method, url=url, headers=headers or {})
    HmacV1Auth(CREDS).add_auth(request)
    return request


def presigned(method: str, url: str, expires: int = 3600) -> AWSRequest:
    request = AWSRequest(method=method, url=url)
    HmacV1QueryAuth(CREDS, expires=expires).add_auth(request)
    return request


URLS = [
    "https://h/bucket/key",
    "https://h/bucket/a%20b%2Bc%3Dd/%C3%A9",
    "https://h/bucket/k?uploadId=abc&partNumber=3",
    "https://h/bucket?delete",
    "https://h/bucket?list-type=2&prefix=a%2Fb&max-keys=7",
    "https://h/bucket/k?response-content-type=text%2Fplain&versionId=null",
    "https://h/",
]


@pytest.mark.parametrize("url", URLS)
@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "HEAD", "POST"])
def test_header_auth_from_botocore(method: str, url: str) -> None:
    request = signed(
        method,
        url,
        {
            "Content-Type": "text/plain",
            "x-amz-meta-A": " v ",
            "Content-MD5": "1B2M2Y8AsgTpgAmY7PhCfg==",
        },
    )
    view = view_of(request)
    creds = sigv2.parse(view)
    assert creds.access_key == AK and not creds.presigned
    sigv2.verify(view, creds, SK, now=datetime.now(UTC))


@pytest.mark.parametrize("url", URLS)
def test_presigned_from_botocore(url: str) -> None:
    view = view_of(presigned("GET", url))
    creds = sigv2.parse(view)
    assert creds.presigned
    sigv2.verify(view, creds, SK, now=datetime.now(UTC))


def test_sigv4_parser_hands_sigv2_over() -> None:
    with pytest.raises(sigv4.NotSigV4):
        sigv4.parse(view_of(signed("GET", "https://h/b/k")))
    with pytest.raises(sigv4.NotSigV4):
        sigv4.parse(view_of(presigned("GET", "https://h/b/k")))


def test_amz_date_signs_an_empty_date_line() -> None:
    """s3cmd's style: x-amz-date present, the Date line of the string to sign empty."""
    now = datetime.now(UTC)
    headers = {"x-amz-date": now.strftime("%a, %d %b %Y %H:%M:%S GMT")}
    view = sigv4.RequestView("GET", "/b/k", [], headers)
    sts = sigv2.string_to_sign(view, "")
    import base64
    import hashlib
    import hmac

    sig = base64.b64encode(hmac.new(SK.encode(), sts.encode(), hashlib.sha1).digest()).decode()
    view = sigv4.RequestView("GET", "/b/k", [], {**headers, "authorization": f"AWS {AK}:{sig}"})
    sigv2.verify(view, sigv2.parse(view), SK, now=now)


def expect(code: str, view: sigv4.RequestView, now: datetime | None = None) -> S3Error:
    with pytest.raises(S3Error) as info:
        sigv2.verify(view, sigv2.parse(view), SK, now=now or datetime.now(UTC))
    assert info.value.code == code
    return info.value


def test_wrong_secret_and_tampering() -> None:
    view = view_of(signed("GET", "https://h/bucket/key"))
    with pytest.raises(S3Error) as info:
        sigv2.verify(view, sigv2.parse(view), "other", now=datetime.now(UTC))
    assert info.value.code == "SignatureDoesNotMatch"
    tampered = sigv4.RequestView("GET", "/bucket/other", view.query, view.headers)
    expect("SignatureDoesNotMatch", tampered)
    meta = sigv4.RequestView("GET", view.path, view.query, {**view.headers, "x-amz-meta-x": "1"})
    expect("SignatureDoesNotMatch", meta)


def test_expired_presigned_url() -> None:
    view = view_of(presigned("GET", "https://h/bucket/key", expires=60))
    err = expect("AccessDenied", view, datetime.now(UTC) + timedelta(seconds=120))
    assert err.message == "Request has expired"


def test_clock_skew() -> None:
    view = view_of(signed("GET", "https://h/bucket/key"))
    err = expect("RequestTimeTooSkewed", view, datetime.now(UTC) + timedelta(minutes=20))
    assert "ServerTime" in err.fields and "RequestTime" in err.fields


@pytest.mark.parametrize("auth", ["AWS ", "AWS nocolon", "AWS :sig", "AWS ak:"])
def test_malformed_header(auth: str) -> None:
    view = sigv4.RequestView("GET", "/b", [], {"authorization": auth})
    with pytest.raises(S3Error) as info:
        sigv2.parse(view)
    assert info.value.code == "InvalidArgument"
