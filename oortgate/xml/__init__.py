"""All XML in and out: the primitives (re-exported here) and one module per family of
shapes (listing, multipart, delete, acl, cors, tagging, ...). Untrusted XML is parsed with
defusedxml only. The package imports nothing from ops/ or http/."""

from oortgate.xml.core import (
    HEADER,
    S3_NS,
    Node,
    child_text,
    document,
    error_document,
    escape,
    leaf,
    parse,
    timestamp,
)

__all__ = [
    "HEADER",
    "S3_NS",
    "Node",
    "child_text",
    "document",
    "error_document",
    "escape",
    "leaf",
    "parse",
    "timestamp",
]
