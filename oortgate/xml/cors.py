"""The CORSConfiguration document: parsed from PutBucketCors (each rule checked as S3
checks it), built for GetBucketCors."""

from __future__ import annotations

from collections.abc import Sequence
from xml.etree.ElementTree import Element

from oortgate.cors import MAX_RULES, METHODS, Rule
from oortgate.errors import S3Error
from oortgate.headertext import is_header_value
from oortgate.numbers import parse_count
from oortgate.xml.core import Node, child_text, document, parse


def parse_cors(body: bytes) -> list[Rule]:
    root = parse(body)
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
    max_age = child_text(node, "MaxAgeSeconds")
    age = parse_count(max_age)
    if max_age is not None and age is None:
        raise S3Error("MalformedXML")
    return Rule(origins, methods, texts("AllowedHeader"), texts("ExposeHeader"), age,
                child_text(node, "ID"))  # fmt: skip


def cors_document(rules: Sequence[Rule]) -> bytes:
    root = Node("CORSConfiguration")
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
    return document(root)
