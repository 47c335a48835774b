"""Bucket CORS rules: their limits, storage form, and evaluation for browsers. Pure (the
CORSConfiguration XML is in oortgate.xml.cors)."""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field

METHODS = frozenset({"GET", "PUT", "POST", "DELETE", "HEAD"})
MAX_RULES = 100


@dataclass(frozen=True, slots=True)
class Rule:
    allowed_origins: list[str]
    allowed_methods: list[str]
    allowed_headers: list[str] = field(default_factory=list)
    expose_headers: list[str] = field(default_factory=list)
    max_age: int | None = None
    id: str | None = None

    def matches(self, origin: str, method: str, headers: list[str]) -> bool:
        if method not in self.allowed_methods:
            return False
        if not any(_wildcard(pattern, origin) for pattern in self.allowed_origins):
            return False
        allowed = [h.lower() for h in self.allowed_headers]
        return all(any(_wildcard(p, h) for p in allowed) for h in headers)


def _wildcard(pattern: str, value: str) -> bool:
    """S3 allows one '*' wildcard in origins and header names; nothing else is special."""
    if "*" not in pattern:
        return pattern == value
    escaped = pattern.replace("[", "[[]").replace("?", "[?]")
    return fnmatch.fnmatchcase(value, escaped)


def dumps(rules: list[Rule]) -> str:
    return json.dumps([asdict(r) for r in rules])


def loads(text: str) -> list[Rule]:
    return [Rule(**item) for item in json.loads(text)]


def find(rules: list[Rule], origin: str, method: str, headers: list[str]) -> Rule | None:
    """The first rule allowing this origin, method and request headers (S3: first wins)."""
    return next((r for r in rules if r.matches(origin, method, headers)), None)


def requested_headers(headers: Mapping[str, str]) -> list[str]:
    value = headers.get("access-control-request-headers", "")
    return [h.strip().lower() for h in value.split(",") if h.strip()]


def response_headers(
    rule: Rule, origin: str, *, preflight: bool, request_headers: Sequence[str] = ()
) -> list[tuple[str, str]]:
    """What S3 answers for a rule that matched: the origin echoed (or * for an
    any-origin rule), methods, headers, exposure and max age."""
    wildcard = "*" in rule.allowed_origins
    out = [("access-control-allow-origin", "*" if wildcard else origin)]
    if not wildcard:
        out.append(("access-control-allow-credentials", "true"))
    out.append(("vary", "Origin, Access-Control-Request-Headers, Access-Control-Request-Method"))
    out.append(("access-control-allow-methods", ", ".join(rule.allowed_methods)))
    if preflight and request_headers:
        out.append(("access-control-allow-headers", ", ".join(request_headers)))
    if rule.expose_headers:
        out.append(("access-control-expose-headers", ", ".join(rule.expose_headers)))
    if rule.max_age is not None:
        out.append(("access-control-max-age", str(rule.max_age)))
    return out
