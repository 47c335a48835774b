"""The Range header of GetObject. Pure."""

from __future__ import annotations

import re
import sys

from oortgate.errors import S3Error

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
# Past this many digits a position is beyond any object: no int() of thousands of
# digits (Python refuses over 4,300, and the work grows with the square of the length).
_MAX_DIGITS = 19


def _position(digits: str) -> int:
    return int(digits) if len(digits) <= _MAX_DIGITS else sys.maxsize


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """(first, last) inclusive for a satisfiable single range, None to send the whole
    object (no header, or one S3 ignores: malformed or several ranges), and a 416
    InvalidRange for an unsatisfiable one."""
    if header is None:
        return None
    match = _RANGE.match(header.strip().replace(" ", ""))
    if match is None:
        return None
    first_s, last_s = match.groups()
    if not first_s and not last_s:
        return None
    if not first_s:  # suffix: the last N bytes
        count = _position(last_s)
        if size == 0:
            return None  # AWS answers a tail read of an empty object with the empty object
        if count == 0:
            raise _unsatisfiable(size)
        return max(0, size - count), size - 1
    first = _position(first_s)
    if last_s and _position(last_s) < first:
        return None
    if first >= size:
        raise _unsatisfiable(size)
    last = _position(last_s) if last_s else size - 1
    return first, min(last, size - 1)


def _unsatisfiable(size: int) -> S3Error:
    return S3Error(
        "InvalidRange",
        headers={"content-range": f"bytes */{size}"},
        ActualObjectSize=str(size),
    )


_COPY_RANGE = re.compile(r"^bytes=(\d+)-(\d+)$")


def parse_copy_range(header: str | None, size: int) -> tuple[int, int]:
    """x-amz-copy-source-range of UploadPartCopy: only ``bytes=first-last``, inside the
    source. No header: the whole source."""
    if header is None:
        return 0, size - 1
    match = _COPY_RANGE.match(header.strip())
    if match is None or _position(match.group(1)) > _position(match.group(2)):
        raise S3Error("InvalidArgument", "The x-amz-copy-source-range value must be of the form "
                      "bytes=first-last where first and last are the zero-based offsets of the "
                      "first and last bytes to copy", ArgumentName="x-amz-copy-source-range",
                      ArgumentValue=header)  # fmt: skip
    first, last = _position(match.group(1)), _position(match.group(2))
    if last >= size:
        raise S3Error("InvalidRange", f"The specified copy source range is not satisfiable "
                      f"for an object of size {size}", ActualObjectSize=str(size))  # fmt: skip
    return first, last
