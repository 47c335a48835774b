"""PostResponse: what a browser-form POST upload answers with success_action_status 201."""

from __future__ import annotations

from oortgate.xml.core import Node, document


def post_response(location: str, bucket: str, key: str, etag: str) -> bytes:
    """etag: quoted, as the ETag header shows it."""
    root = Node("PostResponse")
    root.add("Location", location)
    root.add("Bucket", bucket)
    root.add("Key", key)
    root.add("ETag", etag)
    return document(root)
