"""Verify a request body as it streams: payload hash, aws-chunked framing, checksums.

``x-amz-content-sha256`` picks the mode; ``x-amz-checksum-*`` headers, an
``x-amz-trailer`` declaration or ``x-amz-sdk-checksum-algorithm`` pick the checksum.
Every end-of-body check runs in ``finish()``; nothing read before it is trustworthy.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Mapping
from typing import Final

from oortgate.auth.checksums import (
    CHECKSUM_HEADER_PREFIX,
    Checksum,
    algorithm_for_header,
    is_valid_b64,
    named_algorithm,
)
from oortgate.auth.chunked import ChunkedDecoder
from oortgate.auth.sigv4 import UNSIGNED_PAYLOAD, SigningContext
from oortgate.errors import S3Error
from oortgate.numbers import parse_count

STREAMING_SIGNED: Final = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
STREAMING_SIGNED_TRAILER: Final = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
STREAMING_UNSIGNED_TRAILER: Final = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
_SHA256_HEX: Final = re.compile(r"[0-9a-fA-F]{64}")
_BAD_MODE: Final = (
    "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, "
    "STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER, "
    "or a valid sha256 value."
)
_MULTIPLE: Final = (
    "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed."
)


class PayloadVerifier:
    """Feed the raw body, store what ``feed`` returns, then call ``finish()``."""

    def __init__(self, headers: Mapping[str, str], signing: SigningContext | None) -> None:
        mode = headers.get("x-amz-content-sha256", UNSIGNED_PAYLOAD).strip()
        self._expected_sha256: str | None = None
        self._sha256: hashlib._Hash | None = None
        self._decoder: ChunkedDecoder | None = None
        self._decoded_length: int | None = None
        self._count = 0
        self._setup_mode(mode, headers, signing)
        self._checksum: Checksum | None = None
        self._expected_checksum: str | None = None  # from a header
        self._trailer_name: str | None = None  # declared in x-amz-trailer
        self._setup_checksum(headers)
        self._result: tuple[str, str] | None = None

    @property
    def checksum(self) -> tuple[str, str] | None:
        """(algorithm, base64) to store with the object; set by a successful ``finish()``."""
        return self._result

    @property
    def decoded_length_hint(self) -> int | None:
        """The announced decoded size in aws-chunked modes (for early size limits)."""
        return self._decoded_length

    def feed(self, data: bytes) -> bytes:
        """Consume raw body bytes; return the decoded payload bytes to store."""
        out = self._decoder.feed(data) if self._decoder is not None else data
        if self._sha256 is not None:
            self._sha256.update(out)
        if self._checksum is not None:
            self._checksum.update(out)
        self._count += len(out)
        if self._decoded_length is not None and self._count > self._decoded_length:
            raise S3Error(
                "IncompleteBody", "The decoded body is longer than x-amz-decoded-content-length."
            )
        return out

    def finish(self) -> None:
        """Run every end-of-body check; raise ``S3Error`` on the first failure."""
        trailers = self._decoder.finish() if self._decoder is not None else {}
        if self._decoded_length is not None and self._count != self._decoded_length:
            raise S3Error(
                "IncompleteBody",
                "The decoded body length does not match x-amz-decoded-content-length.",
            )
        if self._sha256 is not None and self._expected_sha256 is not None:
            computed = self._sha256.hexdigest()
            if computed != self._expected_sha256.lower():
                raise S3Error(
                    "XAmzContentSHA256Mismatch",
                    ClientComputedContentSHA256=self._expected_sha256,
                    S3ComputedContentSHA256=computed,
                )
        if self._checksum is not None:
            self._result = self._check_checksum(self._checksum, trailers)

    # ------------------------------------------------------------------------ setup

    def _setup_mode(
        self, mode: str, headers: Mapping[str, str], signing: SigningContext | None
    ) -> None:
        if mode == UNSIGNED_PAYLOAD:
            return
        if _SHA256_HEX.fullmatch(mode):
            self._expected_sha256 = mode
            self._sha256 = hashlib.sha256()
            return
        if mode not in (STREAMING_SIGNED, STREAMING_SIGNED_TRAILER, STREAMING_UNSIGNED_TRAILER):
            raise S3Error("InvalidArgument", _BAD_MODE)
        signed = mode != STREAMING_UNSIGNED_TRAILER
        if signed and signing is None:
            # Chunk signatures chain from a request signature; anonymous has none.
            raise S3Error("AccessDenied", f"{mode} requires a signed request.")
        self._decoder = ChunkedDecoder(
            signing if signed else None, trailer=mode != STREAMING_SIGNED
        )
        self._decoded_length = _decoded_length(headers)

    def _setup_checksum(self, headers: Mapping[str, str]) -> None:
        # Header names are lowercase here: only the x-amz-checksum- ones need a look.
        found = [
            (alg, value)
            for name, value in headers.items()
            if name.startswith(CHECKSUM_HEADER_PREFIX)
            and (alg := algorithm_for_header(name)) is not None
        ]
        trailer = headers.get("x-amz-trailer")
        declared = [] if trailer is None else [
            name.strip().lower()
            for name in trailer.split(",")
            if algorithm_for_header(name) is not None
        ]  # fmt: skip
        if len(found) + len(declared) > 1:
            raise S3Error("InvalidRequest", _MULTIPLE)
        if declared and (self._decoder is None or not self._decoder.has_trailer):
            raise S3Error(
                "InvalidRequest", "x-amz-trailer requires a STREAMING-...-TRAILER payload."
            )
        algorithm = named_algorithm(headers, "x-amz-sdk-checksum-algorithm")
        if found:
            algorithm = _same(algorithm, found[0][0])
            self._expected_checksum = found[0][1].strip()
            if not is_valid_b64(found[0][0], self._expected_checksum):
                raise _invalid_value(found[0][0], "header")
        elif declared:
            self._trailer_name = declared[0]
            algorithm = _same(algorithm, algorithm_for_header(declared[0]))
        if algorithm is not None:
            self._checksum = Checksum(algorithm)

    # ---------------------------------------------------------------------- checking

    def _check_checksum(self, checksum: Checksum, trailers: dict[str, str]) -> tuple[str, str]:
        computed = checksum.b64()
        expected = self._expected_checksum
        if self._trailer_name is not None:
            expected = trailers.get(self._trailer_name)
            if expected is None:
                raise S3Error(
                    "MalformedTrailerError",
                    f"The {self._trailer_name} trailer was declared but not sent.",
                )
            if not is_valid_b64(checksum.algorithm, expected):
                raise _invalid_value(checksum.algorithm, "trailing header")
        if expected is not None and base64.b64decode(expected) != checksum.digest():
            raise S3Error(
                "BadDigest",
                f"The {checksum.algorithm} you specified did not match the calculated checksum.",
            )
        return checksum.algorithm, computed


def _decoded_length(headers: Mapping[str, str]) -> int:
    value = headers.get("x-amz-decoded-content-length")
    if value is None:
        raise S3Error("MissingContentLength")
    length = parse_count(value)
    if length is None:
        raise S3Error("InvalidArgument", "x-amz-decoded-content-length must be an integer.")
    return length




def _same(sdk: str | None, actual: str | None) -> str | None:
    """The SDK's declared algorithm, if any, must agree with the checksum sent."""
    if sdk is not None and actual is not None and sdk != actual:
        raise S3Error("InvalidRequest", "Value for x-amz-sdk-checksum-algorithm header is invalid.")
    return actual


def _invalid_value(algorithm: str, where: str) -> S3Error:
    return S3Error(
        "InvalidRequest", f"Value for x-amz-checksum-{algorithm.lower()} {where} is invalid."
    )
