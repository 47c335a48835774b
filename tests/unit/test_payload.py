"""PayloadVerifier: every x-amz-content-sha256 mode and every checksum rule."""

from __future__ import annotations

import hashlib
import hmac
import io
import random

import pytest
from botocore.httpchecksum import AwsChunkedWrapper, CrtCrc32cChecksum, CrtCrc32Checksum

from oortgate.auth.checksums import Checksum
from oortgate.auth.payload import PayloadVerifier
from oortgate.auth.sigv4 import SigningContext
from oortgate.auth.sigv4_keys import signing_key
from oortgate.errors import S3Error

SIGNING = SigningContext(
    signing_key("secret", "20130524", "us-east-1", "s3"),
    "a" * 64,
    "20130524T000000Z",
    "20130524/us-east-1/s3/aws4_request",
)
PAYLOAD = random.Random(7).randbytes(5000)
EMPTY = hashlib.sha256(b"").hexdigest()


def b64(algorithm: str, data: bytes = PAYLOAD) -> str:
    c = Checksum(algorithm)
    c.update(data)
    return c.b64()


def _sign(sts: str) -> str:
    return hmac.new(SIGNING.signing_key, sts.encode(), hashlib.sha256).hexdigest()


def signed_chunks(payload: bytes, trailers: dict[str, str] | None = None) -> bytes:
    """Signed aws-chunked body (1000-byte chunks), with signed trailers if given."""
    out, prev = bytearray(), SIGNING.seed_signature
    head = f"{SIGNING.amz_date_str}\n{SIGNING.scope}\n"
    for i in [*range(0, len(payload), 1000), len(payload)]:
        piece = payload[i : i + 1000]
        sha = hashlib.sha256(piece).hexdigest()
        prev = _sign(f"AWS4-HMAC-SHA256-PAYLOAD\n{head}{prev}\n{EMPTY}\n{sha}")
        out += f"{len(piece):x};chunk-signature={prev}\r\n".encode() + piece
        out += b"\r\n" if piece else b""
    if trailers is not None:
        canon = "".join(f"{k}:{v}\n" for k, v in sorted(trailers.items()))
        out += canon.replace("\n", "\r\n").encode()
        sha = hashlib.sha256(canon.encode()).hexdigest()
        sig = _sign(f"AWS4-HMAC-SHA256-TRAILER\n{head}{prev}\n{sha}")
        out += f"x-amz-trailer-signature:{sig}\r\n".encode()
    return bytes(out + b"\r\n")


def unsigned_trailer_body(
    payload: bytes, cls: type = CrtCrc32Checksum, name: str = "x-amz-checksum-crc32"
) -> bytes:
    """Exactly what boto3 >= 1.36 sends by default."""
    return bytes(AwsChunkedWrapper(io.BytesIO(payload), cls, name, chunk_size=1024).read())


def run(
    headers: dict[str, str], body: bytes, signing: SigningContext | None = SIGNING, step: int = 777
) -> tuple[bytes, PayloadVerifier]:
    v = PayloadVerifier(headers, signing)
    out = bytearray()
    for i in range(0, len(body), step):
        out += v.feed(body[i : i + step])
    v.finish()
    return bytes(out), v


def fails(
    code: str,
    headers: dict[str, str],
    body: bytes = PAYLOAD,
    signing: SigningContext | None = SIGNING,
) -> S3Error:
    with pytest.raises(S3Error) as info:
        run(headers, body, signing)
    assert info.value.code == code, info.value.message
    return info.value


def streaming(mode: str, **extra: str) -> dict[str, str]:
    return {
        "x-amz-content-sha256": mode,
        "x-amz-decoded-content-length": str(len(PAYLOAD)),
        "content-encoding": "aws-chunked",
        **extra,
    }


# -------------------------------------------------------------------------------- modes


@pytest.mark.parametrize("headers", [{}, {"x-amz-content-sha256": "UNSIGNED-PAYLOAD"}])
def test_unsigned_passthrough(headers: dict[str, str]) -> None:
    out, v = run(headers, PAYLOAD, signing=None)
    assert out == PAYLOAD and v.checksum is None and v.decoded_length_hint is None


def test_sha256_mode() -> None:
    sha = hashlib.sha256(PAYLOAD).hexdigest()
    assert run({"x-amz-content-sha256": sha}, PAYLOAD)[0] == PAYLOAD
    assert run({"x-amz-content-sha256": sha.upper()}, PAYLOAD)[0] == PAYLOAD


def test_sha256_mismatch() -> None:
    err = fails("XAmzContentSHA256Mismatch", {"x-amz-content-sha256": EMPTY})
    assert err.fields["ClientComputedContentSHA256"] == EMPTY
    assert err.fields["S3ComputedContentSHA256"] == hashlib.sha256(PAYLOAD).hexdigest()


@pytest.mark.parametrize("mode", ["abc", "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD", "x" * 64])
def test_invalid_mode(mode: str) -> None:
    err = fails("InvalidArgument", {"x-amz-content-sha256": mode})
    assert err.message.startswith("x-amz-content-sha256 must be UNSIGNED-PAYLOAD")


def test_streaming_signed() -> None:
    headers = streaming("STREAMING-AWS4-HMAC-SHA256-PAYLOAD")
    out, v = run(headers, signed_chunks(PAYLOAD))
    assert out == PAYLOAD and v.decoded_length_hint == len(PAYLOAD)


def test_streaming_signed_bad_chunk() -> None:
    body = signed_chunks(PAYLOAD).replace(PAYLOAD[:20], bytes(20), 1)
    fails("SignatureDoesNotMatch", streaming("STREAMING-AWS4-HMAC-SHA256-PAYLOAD"), body)


def test_streaming_signed_trailer() -> None:
    trailer = {"x-amz-checksum-crc32c": b64("CRC32C")}
    headers = streaming(
        "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER", **{"x-amz-trailer": "x-amz-checksum-crc32c"}
    )
    out, v = run(headers, signed_chunks(PAYLOAD, trailer))
    assert out == PAYLOAD and v.checksum == ("CRC32C", b64("CRC32C"))


def test_streaming_signed_trailer_bad_value() -> None:
    trailer = {"x-amz-checksum-crc32c": b64("CRC32C", b"other")}
    headers = streaming(
        "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER", **{"x-amz-trailer": "x-amz-checksum-crc32c"}
    )
    err = fails("BadDigest", headers, signed_chunks(PAYLOAD, trailer))
    assert err.message == "The CRC32C you specified did not match the calculated checksum."


@pytest.mark.parametrize(
    "mode", ["STREAMING-AWS4-HMAC-SHA256-PAYLOAD", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"]
)
def test_signed_streaming_needs_signature(mode: str) -> None:
    fails("AccessDenied", streaming(mode), signing=None)


def test_unsigned_trailer_like_boto3() -> None:
    headers = streaming(
        "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
        **{"x-amz-trailer": "x-amz-checksum-crc32", "x-amz-sdk-checksum-algorithm": "CRC32"},
    )
    out, v = run(headers, unsigned_trailer_body(PAYLOAD), step=1)
    assert out == PAYLOAD
    assert v.checksum == ("CRC32", b64("CRC32"))


def test_unsigned_trailer_crc32c_empty_body() -> None:
    headers = streaming(
        "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
        **{"x-amz-trailer": "x-amz-checksum-crc32c", "x-amz-decoded-content-length": "0"},
    )
    body = unsigned_trailer_body(b"", CrtCrc32cChecksum, "x-amz-checksum-crc32c")
    assert run(headers, body)[1].checksum == ("CRC32C", "AAAAAA==")


def test_unsigned_trailer_corrupted_data() -> None:
    headers = streaming(
        "STREAMING-UNSIGNED-PAYLOAD-TRAILER", **{"x-amz-trailer": "x-amz-checksum-crc32"}
    )
    body = unsigned_trailer_body(PAYLOAD).replace(PAYLOAD[100:120], bytes(20), 1)
    err = fails("BadDigest", headers, body)
    assert "CRC32" in err.message


def test_declared_trailer_never_sent() -> None:
    headers = streaming(
        "STREAMING-UNSIGNED-PAYLOAD-TRAILER", **{"x-amz-trailer": "x-amz-checksum-crc32"}
    )
    body = AwsChunkedWrapper(io.BytesIO(PAYLOAD), chunk_size=1024).read()
    fails("MalformedTrailerError", headers, body)


def test_invalid_trailer_value() -> None:
    headers = streaming(
        "STREAMING-UNSIGNED-PAYLOAD-TRAILER", **{"x-amz-trailer": "x-amz-checksum-crc32"}
    )
    body = unsigned_trailer_body(PAYLOAD)
    body = body[: body.rindex(b":") + 1] + b"nope\r\n\r\n"
    err = fails("InvalidRequest", headers, body)
    assert err.message == "Value for x-amz-checksum-crc32 trailing header is invalid."


def test_trailer_declared_without_trailer_mode() -> None:
    fails("InvalidRequest", {"x-amz-trailer": "x-amz-checksum-crc32"}, signing=None)


# ------------------------------------------------------------------------ decoded length


def test_missing_decoded_length() -> None:
    headers = {"x-amz-content-sha256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER"}
    err = fails("MissingContentLength", headers, unsigned_trailer_body(PAYLOAD))
    assert err.status == 411


@pytest.mark.parametrize("length", [len(PAYLOAD) - 1, len(PAYLOAD) + 1])
def test_decoded_length_mismatch(length: int) -> None:
    headers = streaming("STREAMING-AWS4-HMAC-SHA256-PAYLOAD")
    headers["x-amz-decoded-content-length"] = str(length)
    fails("IncompleteBody", headers, signed_chunks(PAYLOAD))


def test_bad_decoded_length() -> None:
    headers = streaming("STREAMING-AWS4-HMAC-SHA256-PAYLOAD")
    headers["x-amz-decoded-content-length"] = "-1"
    fails("InvalidArgument", headers, signed_chunks(PAYLOAD))


def test_truncated_stream() -> None:
    headers = streaming("STREAMING-AWS4-HMAC-SHA256-PAYLOAD")
    fails("IncompleteBody", headers, signed_chunks(PAYLOAD)[:-300])


# ----------------------------------------------------------------------- header checksums


@pytest.mark.parametrize("algorithm", ["CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256"])
def test_checksum_header(algorithm: str) -> None:
    name = f"x-amz-checksum-{algorithm.lower()}"
    _, v = run({name: b64(algorithm)}, PAYLOAD, signing=None)
    assert v.checksum == (algorithm, b64(algorithm))
    err = fails("BadDigest", {name: b64(algorithm, b"x")}, signing=None)
    assert err.message == f"The {algorithm} you specified did not match the calculated checksum."


def test_checksum_header_with_sha256_mode() -> None:
    headers = {
        "x-amz-content-sha256": hashlib.sha256(PAYLOAD).hexdigest(),
        "x-amz-checksum-crc64nvme": b64("CRC64NVME"),
        "x-amz-sdk-checksum-algorithm": "CRC64NVME",
    }
    assert run(headers, PAYLOAD)[1].checksum == ("CRC64NVME", b64("CRC64NVME"))


@pytest.mark.parametrize("value", ["not base64!", "AAAA", "AAAAAAAAAAA="])
def test_invalid_checksum_header(value: str) -> None:
    err = fails("InvalidRequest", {"x-amz-checksum-crc32": value}, signing=None)
    assert err.message == "Value for x-amz-checksum-crc32 header is invalid."


def test_multiple_checksums() -> None:
    headers = {"x-amz-checksum-crc32": b64("CRC32"), "x-amz-checksum-sha1": b64("SHA1")}
    fails("InvalidRequest", headers, signing=None)
    headers = streaming(
        "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
        **{"x-amz-trailer": "x-amz-checksum-crc32", "x-amz-checksum-sha1": b64("SHA1")},
    )
    fails("InvalidRequest", headers, unsigned_trailer_body(PAYLOAD))


def test_checksum_type_header_is_not_a_checksum() -> None:
    headers = {"x-amz-checksum-crc32": b64("CRC32"), "x-amz-checksum-type": "FULL_OBJECT"}
    assert run(headers, PAYLOAD, signing=None)[1].checksum == ("CRC32", b64("CRC32"))


def test_sdk_algorithm_alone_computes() -> None:
    _, v = run({"x-amz-sdk-checksum-algorithm": "sha256"}, PAYLOAD, signing=None)
    assert v.checksum == ("SHA256", b64("SHA256"))


@pytest.mark.parametrize(
    "headers",
    [
        {"x-amz-sdk-checksum-algorithm": "MD5"},
        {"x-amz-sdk-checksum-algorithm": "CRC32", "x-amz-checksum-sha1": b64("SHA1")},
    ],
)
def test_sdk_algorithm_invalid(headers: dict[str, str]) -> None:
    err = fails("InvalidRequest", headers, signing=None)
    assert "x-amz-sdk-checksum-algorithm" in err.message


def test_checksum_none_before_finish() -> None:
    v = PayloadVerifier({"x-amz-checksum-crc32": b64("CRC32")}, None)
    v.feed(PAYLOAD)
    assert v.checksum is None
    v.finish()
    assert v.checksum == ("CRC32", b64("CRC32"))
