"""aws-chunked decoder properties: arbitrary bytes split anywhere give data or an S3Error;
a valid encoding split anywhere decodes to the original payload and trailers."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from oortgate.auth.chunked import ChunkedDecoder
from oortgate.errors import S3Error
from tests.unit.test_chunked import SIGNING, encode

CASES = settings(max_examples=200, deadline=None)
FRAMING = st.lists(st.one_of(
    st.binary(max_size=20),
    st.sampled_from([b"\r\n", b"0\r\n", b"5\r\n", b";chunk-signature=", b"x-amz-checksum-crc32:",
                     b"10;chunk-signature=" + b"0" * 64 + b"\r\n", b"ffffffffffffffff\r\n",
                     b"\xff\r\n", b":", b"\n"])), max_size=12).map(b"".join)


def _split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts} | {0, len(data)})
    return [data[a:b] for a, b in itertools.pairwise(points)]


def _decode(pieces: list[bytes], *, signed: bool, trailer: bool) -> tuple[bytes, dict[str, str]]:
    decoder = ChunkedDecoder(SIGNING if signed else None, trailer=trailer)
    out = b"".join(decoder.feed(piece) for piece in pieces)
    return out, decoder.finish()


@CASES
@given(data=FRAMING, cuts=st.lists(st.integers(0, 10_000), max_size=6), signed=st.booleans(),
       trailer=st.booleans())
def test_arbitrary_bytes_give_data_or_an_s3_error(
    data: bytes, cuts: list[int], signed: bool, trailer: bool
) -> None:
    try:
        out, trailers = _decode(_split(data, cuts), signed=signed, trailer=trailer)
    except S3Error:
        return
    assert isinstance(out, bytes) and isinstance(trailers, dict)


@CASES
@given(payload=st.binary(max_size=300), chunk=st.integers(1, 64),
       cuts=st.lists(st.integers(0, 10_000), max_size=8), signed=st.booleans(),
       trailers=st.one_of(st.none(), st.dictionaries(
           st.sampled_from(["x-amz-checksum-crc32", "x-amz-checksum-sha256", "x-amz-meta"]),
           st.text("abcXYZ0189+/=", min_size=1, max_size=12), max_size=2)))
def test_valid_encoding_split_anywhere_decodes(
    payload: bytes, chunk: int, cuts: list[int], signed: bool, trailers: dict[str, str] | None
) -> None:
    body = encode(payload, chunk, signed=signed, trailers=trailers)
    out, got = _decode(_split(body, cuts), signed=signed, trailer=trailers is not None)
    assert out == payload
    assert got == (trailers or {})


@CASES
@given(payload=st.binary(min_size=1, max_size=200), chunk=st.integers(1, 64),
       at=st.integers(0, 10_000), byte=st.integers(0, 255))
def test_signed_encoding_with_one_byte_changed_fails(
    payload: bytes, chunk: int, at: int, byte: int
) -> None:
    body = bytearray(encode(payload, chunk, signed=True))
    i = at % len(body)
    if body[i] == byte or (chr(body[i]) in "abcdef" and chr(byte) in "ABCDEF"):
        byte = body[i] ^ 0x01  # a different byte; hex case is not a change
    body[i] = byte
    try:
        _decode([bytes(body)], signed=True, trailer=False)
    except S3Error:
        return
    raise AssertionError(f"a change at {i} went unnoticed")
