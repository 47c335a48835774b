"""The aws-chunked decoder: AWS documentation vector, random splits, every failure."""

from __future__ import annotations

import hashlib
import hmac
import random

import pytest
from botocore.httpchecksum import AwsChunkedWrapper, CrtCrc32Checksum

from oortgate.auth.chunked import MAX_LINE, ChunkedDecoder
from oortgate.auth.sigv4 import SigningContext
from oortgate.auth.sigv4_keys import signing_key
from oortgate.errors import S3Error

SK = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
SEED = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"
SIGNING = SigningContext(
    signing_key(SK, "20130524", "us-east-1", "s3"),
    SEED,
    "20130524T000000Z",
    "20130524/us-east-1/s3/aws4_request",
)
EMPTY = hashlib.sha256(b"").hexdigest()


def _sign(sts: str) -> str:
    return hmac.new(SIGNING.signing_key, sts.encode(), hashlib.sha256).hexdigest()


def encode(
    payload: bytes,
    chunk: int,
    *,
    signed: bool = True,
    trailers: dict[str, str] | None = None,
) -> bytes:
    """An independent aws-chunked encoder, written from the AWS documentation."""
    out, prev = bytearray(), SEED
    pieces = [payload[i : i + chunk] for i in range(0, len(payload), chunk)] + [b""]
    head = f"AWS4-HMAC-SHA256-PAYLOAD\n{SIGNING.amz_date_str}\n{SIGNING.scope}\n"
    for piece in pieces:
        ext = ""
        if signed:
            prev = _sign(f"{head}{prev}\n{EMPTY}\n{hashlib.sha256(piece).hexdigest()}")
            ext = f";chunk-signature={prev}"
        out += f"{len(piece):x}{ext}\r\n".encode() + piece
        if piece:
            out += b"\r\n"
    if trailers is not None:
        lines = "".join(f"{k}:{v}\n" for k, v in sorted(trailers.items()))
        for k, v in trailers.items():
            out += f"{k}:{v}\r\n".encode()
        if signed:
            sts = (
                f"AWS4-HMAC-SHA256-TRAILER\n{SIGNING.amz_date_str}\n{SIGNING.scope}\n{prev}\n"
                + hashlib.sha256(lines.encode()).hexdigest()
            )
            out += f"x-amz-trailer-signature:{_sign(sts)}\r\n".encode()
    return bytes(out + b"\r\n")


def decode(
    body: bytes, sizes: list[int], signing: SigningContext | None = SIGNING, trailer: bool = False
) -> tuple[bytes, dict[str, str]]:
    dec = ChunkedDecoder(signing, trailer=trailer)
    out, pos = bytearray(), 0
    for size in sizes:
        out += dec.feed(body[pos : pos + size])
        pos += size
    out += dec.feed(body[pos:])
    return bytes(out), dec.finish()


def test_aws_documentation_example() -> None:
    doc = (
        b"10000;chunk-signature=ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648"
        b"\r\n" + b"a" * 65536 + b"\r\n"
        b"400;chunk-signature=0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497"
        b"\r\n" + b"a" * 1024 + b"\r\n"
        b"0;chunk-signature=b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9"
        b"\r\n\r\n"
    )
    assert encode(b"a" * 66560, 65536) == doc  # our test encoder agrees with AWS
    data, trailers = decode(doc, [])
    assert data == b"a" * 66560 and trailers == {}


def test_byte_by_byte() -> None:
    payload = bytes(range(256)) * 5
    body = encode(payload, 100, trailers={"x-amz-checksum-crc32": "AAAAAA=="})
    data, trailers = decode(body, [1] * len(body), trailer=True)
    assert data == payload
    assert trailers == {"x-amz-checksum-crc32": "AAAAAA=="}


@pytest.mark.parametrize("seed", range(20))
def test_random_splits(seed: int) -> None:
    rng = random.Random(seed)
    payload = rng.randbytes(rng.randrange(0, 20000))
    signed = seed % 2 == 0
    trailers = {"x-amz-checksum-sha256": "x", "x-amz-meta-z": "y"} if seed % 3 else None
    body = encode(payload, rng.randrange(1, 9000), signed=signed, trailers=trailers)
    sizes = [rng.randrange(0, 50) for _ in range(rng.randrange(0, 600))]
    data, got = decode(body, sizes, SIGNING if signed else None, trailer=trailers is not None)
    assert data == payload
    assert got == (trailers or {})


def test_streams_data_without_buffering_whole_chunk() -> None:
    body = encode(b"x" * 100000, 100000)
    dec = ChunkedDecoder(SIGNING, trailer=False)
    header_end = body.index(b"\r\n") + 2
    assert dec.feed(body[: header_end + 10]) == b"x" * 10
    assert dec.feed(body[header_end + 10 : header_end + 5000]) == b"x" * 4990


def test_botocore_unsigned_trailer_body() -> None:
    import io

    payload = b"hello world" * 1000
    wrapper = AwsChunkedWrapper(
        io.BytesIO(payload), CrtCrc32Checksum, "x-amz-checksum-crc32", chunk_size=4096
    )
    body = wrapper.read()
    want = CrtCrc32Checksum()
    want.update(payload)
    data, trailers = decode(body, [7] * 300, signing=None, trailer=True)
    assert data == payload
    assert trailers == {"x-amz-checksum-crc32": want.b64digest()}


def test_unsigned_trailer_missing_final_blank_line_is_tolerated() -> None:
    body = b"3\r\nabc\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\r\n"
    assert decode(body, [], signing=None, trailer=True) == (
        b"abc",
        {"x-amz-checksum-crc32": "AAAAAA=="},
    )


def test_unsigned_without_trailers() -> None:
    assert decode(b"3\r\nabc\r\n0\r\n\r\n", [2, 2], signing=None) == (b"abc", {})


def test_empty_payload_signed() -> None:
    assert decode(encode(b"", 10), []) == (b"", {})


# ---------------------------------------------------------------------------- failures


def expect(
    code: str, body: bytes, *, signing: SigningContext | None = SIGNING, trailer: bool = False
) -> S3Error:
    with pytest.raises(S3Error) as info:
        decode(body, [3] * (len(body) // 3), signing, trailer)
    assert info.value.code == code, info.value.message
    return info.value


def test_bad_chunk_signature() -> None:
    body = bytearray(encode(b"a" * 100, 40))
    body[25] ^= 1  # flip a bit in the first chunk's signature
    expect("SignatureDoesNotMatch", bytes(body))


def test_tampered_data() -> None:
    body = encode(b"a" * 100, 40).replace(b"aaaa", b"aaab", 1)
    expect("SignatureDoesNotMatch", body)


def test_reordered_chunks_fail() -> None:
    first, second = encode(b"a" * 10 + b"b" * 10, 10).split(b"\r\n")[0:4:2]
    body = second + b"\r\n" + b"b" * 10 + b"\r\n" + first + b"\r\n" + b"a" * 10 + b"\r\n"
    expect("SignatureDoesNotMatch", body)


def test_missing_chunk_signature() -> None:
    expect("SignatureDoesNotMatch", b"3\r\nabc\r\n0\r\n\r\n")


def test_bad_trailer_signature() -> None:
    body = encode(b"abc", 10, trailers={"x-amz-checksum-crc32": "AAAAAA=="})
    expect("SignatureDoesNotMatch", body.replace(b"AAAAAA==", b"AAAAAB=="), trailer=True)


def test_missing_trailer_signature() -> None:
    signed_body = encode(b"abc", 10, trailers={})
    # Signed chunks, but the trailer part has no x-amz-trailer-signature line.
    body = signed_body[:-2] + b"x-amz-checksum-crc32:AAAAAA==\r\n\r\n"
    expect("SignatureDoesNotMatch", body, trailer=True)


@pytest.mark.parametrize(
    "body",
    [
        b"zz\r\nabc\r\n0\r\n\r\n",  # non-hex size
        b";x\r\nabc\r\n0\r\n\r\n",  # empty size
        b"3\nabc\r\n0\r\n\r\n",  # bare LF
        b"3\r\nabcd\r\n0\r\n\r\n",  # data longer than declared
        b"3\r\nabc\r\n0\r\n\r\nextra",  # data after the end
        b"3\r\nabc\r\n0\r\nx:y\r\n\r\n",  # trailer line without trailer mode
        b"1" * (MAX_LINE + 1),  # oversize header line
        b"11111111111111111\r\n",  # size too large to be real
    ],
)
def test_bad_framing(body: bytes) -> None:
    expect("InvalidRequest", body, signing=None)


def test_oversize_line_rejected_before_buffering() -> None:
    dec = ChunkedDecoder(None, trailer=False)
    dec.feed(b"1" * MAX_LINE)
    with pytest.raises(S3Error, match="longer than"):
        dec.feed(b"1")


def test_malformed_trailer() -> None:
    expect("MalformedTrailerError", b"0\r\nnocolon\r\n\r\n", signing=None, trailer=True)


@pytest.mark.parametrize("cut", [0, 1, 5, 20, 60])
def test_truncated(cut: int) -> None:
    body = encode(b"a" * 50, 20, signed=False)
    with pytest.raises(S3Error) as info:
        decode(body[:cut], [], None)
    assert info.value.code == "IncompleteBody"


def test_truncated_just_before_final_crlf() -> None:
    body = encode(b"a" * 50, 20)
    dec = ChunkedDecoder(SIGNING, trailer=False)
    dec.feed(body[:-2])
    with pytest.raises(S3Error, match="IncompleteBody"):
        dec.finish()
