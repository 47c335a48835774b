"""oortgate.xml.post: PostResponse (the model has no POST upload: checked as AWS's
documentation shows it)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from oortgate.xml import S3_NS
from oortgate.xml.post import post_response


def test_post_response() -> None:
    body = post_response("https://h/b/a%26b", "b", "a&b", '"etag"')
    root = ET.fromstring(body)
    assert root.tag == f"{{{S3_NS}}}PostResponse"
    assert [(child.tag.split("}")[1], child.text) for child in root] == [
        ("Location", "https://h/b/a%26b"), ("Bucket", "b"), ("Key", "a&b"), ("ETag", '"etag"'),
    ]  # fmt: skip
