"""Header text: bytes that were not UTF-8, and characters no header value may carry.

The server decodes header values as UTF-8 with ``surrogateescape``, so a signature can
cover the bytes exactly as they were sent; a byte that was not UTF-8 stays a lone
surrogate, which SQLite, the XML writer and the response encoder all refuse. Whatever
keeps a header value (stored metadata, a response override) checks it here first.
"""

from __future__ import annotations

import re
from typing import Final

_UNDECODED: Final = re.compile("[\udc80-\udcff]")  # what surrogateescape makes of a byte
_CONTROL: Final = re.compile("[\x00-\x08\x0a-\x1f\x7f]")  # all but tab: CR/LF split headers
_TOKEN: Final = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]*")  # RFC 9110 tchar


def is_text(value: str) -> bool:
    """False when ``value`` holds bytes that were not UTF-8."""
    return value.isascii() or not _UNDECODED.search(value)


def is_header_value(value: str) -> bool:
    """True when ``value`` can be sent back as a response header, as it is."""
    return is_text(value) and not _CONTROL.search(value)


def is_header_name(name: str) -> bool:
    """True when ``name`` can be sent back as a response header's name (a POST form's
    field names are any text; names that came as headers always are)."""
    return _TOKEN.fullmatch(name) is not None
