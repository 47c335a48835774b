"""Policy variables (``${aws:username}``, Version 2012-10-17 only): a Resource or a
condition value filled in from the request, e.g. a home prefix per user:
``arn:aws:s3:::bkt/home/${aws:username}/*``.

``${*}``, ``${?}`` and ``${$}`` stand for those characters themselves; a variable the
request does not carry makes the element match nothing (AWS). A value filled in from
the request is literal: its ``*`` or ``?`` is no wildcard.
"""

from __future__ import annotations

import functools
import re
from typing import Final

from oortgate.bucket_policy.actions import glob
from oortgate.bucket_policy.conditions import Context

_VARIABLE: Final = re.compile(r"\$\{([^}]*)\}")
_ESCAPED: Final = frozenset("*?$")


def has_variables(text: str) -> bool:
    return "${" in text


def fill(text: str, context: Context) -> str | None:
    """The text with its variables' values (None: a variable the request lacks)."""
    missing = False

    def value(match: re.Match[str]) -> str:
        nonlocal missing
        name = match.group(1).strip()
        if name in _ESCAPED:
            return name
        values = context.get(name.lower())
        if not values:
            missing = True
            return ""
        return values[0]

    filled = _VARIABLE.sub(value, text)
    return None if missing else filled


def pattern_matches(pattern: str, value: str, context: Context) -> bool:
    """A wildcard pattern with variables (a Resource) against ``value``."""
    parts: list[str] = []
    last = 0
    for match in _VARIABLE.finditer(pattern):
        parts.append(glob(pattern[last:match.start()]).pattern)
        name = match.group(1).strip()
        values = (name,) if name in _ESCAPED else context.get(name.lower())
        if not values:
            return False
        parts.append(re.escape(values[0]))
        last = match.end()
    parts.append(glob(pattern[last:]).pattern)
    return _compiled("".join(parts)).fullmatch(value) is not None


@functools.lru_cache(maxsize=4096)
def _compiled(source: str) -> re.Pattern[str]:
    return re.compile(source, re.DOTALL)
