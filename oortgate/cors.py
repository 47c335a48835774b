"""Bucket CORS rules: parsing, storage form, and evaluation for browsers. Pure."""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from xml.etree.ElementTree import Element

from oortgate import xml
from oortgate.errors import S3Error
from oortgate.headertext import is_header_value
from oortgate.numbers import parse_count

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


def parse(body: bytes) -> list[Rule]:
    root = xml.parse(body)
    if root.tag != "CORSConfiguration":
        raise S3Error("MalformedXML")
    rules = [_rule(node) for node in root.findall("CORSRule")]
    if not rules or len(rules) > MAX_RULES:
        raise S3Error("MalformedXML")
    return rules


def _rule(node: Element) -> Rule:
    def texts(tag: str) -> list[str]:
        return [(e.text or "").strip() for e in node.findall(tag)]

    origins, methods = texts("AllowedOrigin"), texts("AllowedMethod")
    if not origins or not methods:
        raise S3Error("MalformedXML")
    for method in methods:
        if method not in METHODS:
            raise S3Error("InvalidRequest", f"Found unsupported HTTP method in CORS config. "
                          f"Unsupported method is {method}")  # fmt: skip
    echoed = origins + texts("AllowedHeader") + texts("ExposeHeader")
    if not all(is_header_value(v) for v in echoed):
        raise S3Error("MalformedXML")  # each may come back in a response header
    for value in origins + texts("AllowedHeader"):
        if value.count("*") > 1:
            raise S3Error("InvalidRequest", f'AllowedOrigin "{value}" can not have more than '
                          "one wildcard.")  # fmt: skip
    max_age = xml.child_text(node, "MaxAgeSeconds")
    age = parse_count(max_age)
    if max_age is not None and age is None:
        raise S3Error("MalformedXML")
    return Rule(origins, methods, texts("AllowedHeader"), texts("ExposeHeader"), age,
                xml.child_text(node, "ID"))  # fmt: skip


def dumps(rules: list[Rule]) -> str:
    return json.dumps([asdict(r) for r in rules])


def loads(text: str) -> list[Rule]:
    return [Rule(**item) for item in json.loads(text)]


def document(rules: list[Rule]) -> xml.Node:
    root = xml.Node("CORSConfiguration")
    for rule in rules:
        node = root.add("CORSRule")
        if rule.id:
            node.add("ID", rule.id)
        for tag, values in (("AllowedHeader", rule.allowed_headers),
                            ("AllowedMethod", rule.allowed_methods),
                            ("AllowedOrigin", rule.allowed_origins),
                            ("ExposeHeader", rule.expose_headers)):  # fmt: skip
            for value in values:
                node.add(tag, value)
        if rule.max_age is not None:
            node.add("MaxAgeSeconds", rule.max_age)
    return root


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
