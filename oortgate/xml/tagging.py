"""The Tagging document (Put/Get*Tagging, a POST form's tagging field)."""

from __future__ import annotations

from collections.abc import Mapping

from oortgate.errors import S3Error
from oortgate.xml.core import Node, child_text, document, parse


def parse_tagging(body: bytes) -> list[tuple[str, str]]:
    """The (key, value) pairs of ``<Tagging><TagSet><Tag><Key/><Value/></Tag>...``, in
    document order and unchecked (oortgate.tagging.validate checks them)."""
    root = parse(body)
    tag_set = root.find("TagSet")
    if root.tag != "Tagging" or tag_set is None:
        raise S3Error("MalformedXML")
    pairs = []
    for tag in tag_set.findall("Tag"):
        key, value = child_text(tag, "Key"), child_text(tag, "Value")
        if key is None or value is None:
            raise S3Error("MalformedXML")
        pairs.append((key, value))
    return pairs


def tagging_document(tags: Mapping[str, str]) -> bytes:
    root = Node("Tagging")
    tag_set = root.add("TagSet")
    for key, value in tags.items():
        tag = tag_set.add("Tag")
        tag.add("Key", key)
        tag.add("Value", value)
    return document(root)
