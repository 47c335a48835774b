"""Decimal numbers in requests (headers, query parameters, XML elements).

``str.isdigit()`` is the wrong guard for ``int()``: it accepts "²" and other scripts'
digits, which ``int()`` refuses with a ValueError (a 500 if unchecked); and ``int()``
refuses more than 4,300 digits. Every count a request carries goes through here.
"""

from __future__ import annotations

from typing import Final

MAX_DIGITS: Final = 18  # below 2**63: fits SQLite's integers and any size on a disk


def parse_count(text: str | None, *, max_digits: int = MAX_DIGITS) -> int | None:
    """The non-negative integer ``text`` spells in ASCII digits (surrounding whitespace
    allowed), or None when it is missing, not such a number, or longer than
    ``max_digits``."""
    if text is None:
        return None
    digits = text.strip()
    if not digits or len(digits) > max_digits or not (digits.isascii() and digits.isdigit()):
        return None
    return int(digits)
