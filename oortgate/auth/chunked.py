"""A sans-I/O decoder for ``Content-Encoding: aws-chunked`` request bodies.

Wire format::

    hex-size[;chunk-signature=sig]\\r\\n data \\r\\n   ...repeated...
    0[;chunk-signature=sig]\\r\\n
    [name:value\\r\\n ... [x-amz-trailer-signature:sig\\r\\n]]   (trailer modes only)
    \\r\\n

Memory is bounded: only one header/trailer line (at most ``MAX_LINE`` bytes) is ever
buffered; chunk data is hashed and handed back as it arrives. Data is therefore
released *before* its chunk signature is checked: callers must treat everything as
provisional until ``finish()`` returns (the object is only committed after that).

Errors: a bad signature is ``SignatureDoesNotMatch``; malformed framing (non-hex size,
missing CRLF, an oversize line, bytes after the end) is ``InvalidRequest`` with a
message saying what was wrong; a stream that stops early is ``IncompleteBody``.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Final

from oortgate.auth.sigv4 import SigningContext
from oortgate.errors import S3Error

MAX_LINE: Final = 4096
MAX_TRAILER_BYTES: Final = 16384
_EMPTY_SHA256: Final = hashlib.sha256(b"").hexdigest()
_HEX: Final = frozenset("0123456789abcdefABCDEF")

# Parser states.
_SIZE, _DATA, _DATA_END, _TRAILER, _END, _DONE = range(6)


class ChunkedDecoder:
    """Feed raw aws-chunked bytes, get decoded payload bytes back; ``finish()`` at EOF."""

    def __init__(self, signing: SigningContext | None, *, trailer: bool) -> None:
        self._signing = signing
        self._trailer = trailer
        self._state = _SIZE
        self._line = bytearray()
        self._remaining = 0
        self._chunk_hash = hashlib.sha256()
        self._chunk_sig = ""
        self._previous = signing.seed_signature if signing else ""
        self._trailers: dict[str, str] = {}
        self._trailer_sig: str | None = None
        self._trailer_bytes = 0

    @property
    def has_trailer(self) -> bool:
        return self._trailer

    def feed(self, data: bytes) -> bytes:
        """Consume ``data``; return the payload bytes it completed (possibly b"")."""
        pieces: list[memoryview] = []  # views into data: copied once, at the end
        view = memoryview(data)
        pos, end = 0, len(data)
        while pos < end:
            if self._state == _DONE:
                raise _framing("Unexpected data after the end of the aws-chunked body")
            if self._state == _DATA:
                take = min(self._remaining, end - pos)
                piece = view[pos : pos + take]
                if self._signing is not None:
                    self._chunk_hash.update(piece)
                pieces.append(piece)
                self._remaining -= take
                pos += take
                if self._remaining == 0:
                    self._state = _DATA_END
                continue
            newline = data.find(b"\n", pos)
            stop = end if newline < 0 else newline + 1
            if len(self._line) + stop - pos > MAX_LINE:
                raise _framing(f"An aws-chunked line is longer than {MAX_LINE} bytes")
            self._line += data[pos:stop]
            pos = stop
            if newline >= 0:
                line = bytes(self._line)
                self._line.clear()
                self._on_line(line)
        if len(pieces) == 1 and len(pieces[0]) == end:
            return data  # all of it was chunk data: no copy at all
        return b"".join(pieces)

    def finish(self) -> dict[str, str]:
        """Check the body ended cleanly; return the trailers (lowercase names)."""
        # Some clients omit the blank line after unsigned trailers; the trailers
        # themselves arrived whole, so accept that rather than fail the upload.
        lenient = (
            self._state == _TRAILER
            and not self._line
            and bool(self._trailers)
            and self._signing is None
        )
        if self._state != _DONE and not lenient:
            raise S3Error("IncompleteBody", "The aws-chunked request body ended early.")
        return dict(self._trailers)

    # ------------------------------------------------------------------ line handling

    def _on_line(self, line: bytes) -> None:
        if not line.endswith(b"\r\n"):
            raise _framing("An aws-chunked line does not end with CRLF")
        text = line[:-2]
        if self._state == _SIZE:
            self._on_size(text)
        elif self._state == _DATA_END:
            if text:
                raise _framing("Chunk data is longer than its declared size")
            self._verify_chunk()
            self._state = _SIZE
        elif self._state == _TRAILER:
            self._on_trailer(text)
        elif text:  # _END: only the closing blank line may follow the final chunk
            raise _framing("Unexpected data after the final aws-chunked chunk")
        else:
            self._state = _DONE

    def _on_size(self, text: bytes) -> None:
        size_text, _, ext = text.decode("latin-1").partition(";")
        size_text = size_text.strip()
        if not size_text or len(size_text) > 16 or not set(size_text) <= _HEX:
            raise _framing(f"Invalid aws-chunked chunk size: {size_text[:32]!r}")
        self._chunk_sig = _chunk_signature(ext)
        if self._signing is not None and not self._chunk_sig:
            raise S3Error("SignatureDoesNotMatch", "A chunk-signature is missing.")
        self._chunk_hash = hashlib.sha256()
        self._remaining = int(size_text, 16)
        if self._remaining:
            self._state = _DATA
            return
        self._verify_chunk()  # the final, empty chunk is signed too
        self._state = _TRAILER if self._trailer else _END

    def _on_trailer(self, text: bytes) -> None:
        if not text:
            self._verify_trailer()
            self._state = _DONE
            return
        self._trailer_bytes += len(text)
        if self._trailer_bytes > MAX_TRAILER_BYTES:
            raise _framing("The aws-chunked trailers are too large")
        name, sep, value = text.decode("utf-8", "replace").partition(":")
        if not sep:
            raise S3Error(
                "MalformedTrailerError",
                "The request contained trailing data "
                "that was not well-formed or did not conform to our published schema.",
            )
        name = name.strip().lower()
        if name == "x-amz-trailer-signature":
            self._trailer_sig = value.strip()
        else:
            self._trailers[name] = value.strip()

    # -------------------------------------------------------------------- signatures

    def _verify_chunk(self) -> None:
        signing = self._signing
        if signing is None:
            return
        sts = "\n".join(
            (
                "AWS4-HMAC-SHA256-PAYLOAD",
                signing.amz_date_str,
                signing.scope,
                self._previous,
                _EMPTY_SHA256,
                self._chunk_hash.hexdigest(),
            )
        )
        self._previous = _check(signing, sts, self._chunk_sig)

    def _verify_trailer(self) -> None:
        signing = self._signing
        if signing is None:
            return
        if self._trailer_sig is None:
            raise S3Error("SignatureDoesNotMatch", "The x-amz-trailer-signature is missing.")
        canonical = "".join(f"{name}:{value}\n" for name, value in sorted(self._trailers.items()))
        sts = "\n".join(
            (
                "AWS4-HMAC-SHA256-TRAILER",
                signing.amz_date_str,
                signing.scope,
                self._previous,
                hashlib.sha256(canonical.encode("utf-8")).hexdigest(),
            )
        )
        self._previous = _check(signing, sts, self._trailer_sig)


def _chunk_signature(ext: str) -> str:
    for part in ext.split(";"):
        name, _, value = part.partition("=")
        if name.strip() == "chunk-signature":
            return value.strip()
    return ""


def _check(signing: SigningContext, sts: str, provided: str) -> str:
    """Constant-time check of one chunk/trailer signature; returns it for chaining."""
    expected = hmac.new(signing.signing_key, sts.encode("utf-8"), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected.encode("ascii"), provided.encode("utf-8")):
        raise S3Error("SignatureDoesNotMatch", StringToSign=sts, SignatureProvided=provided)
    return expected


def _framing(message: str) -> S3Error:
    return S3Error("InvalidRequest", message)
