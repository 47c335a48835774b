"""The LifecycleConfiguration document GetBucketLifecycleConfiguration answers with (the
request's is read by oortgate.lifecycle.parse)."""

from __future__ import annotations

from oortgate.lifecycle.rules import Filter, Lifecycle, Rule
from oortgate.xml.core import Node, document, timestamp


def lifecycle_document(lifecycle: Lifecycle) -> bytes:
    root = Node("LifecycleConfiguration")
    root.extend(_rule(r) for r in lifecycle.rules)
    return document(root)


def _rule(rule: Rule) -> Node:
    node = Node("Rule")
    node.add("ID", rule.id)
    _filter(node, rule.filter)
    node.add("Status", "Enabled" if rule.enabled else "Disabled")
    if rule.expiration_days is not None or rule.expiration_date is not None:
        _when(node.add("Expiration"), rule.expiration_days, rule.expiration_date)
    if rule.transition_class is not None:
        transition = node.add("Transition")
        _when(transition, rule.transition_days, rule.transition_date)
        transition.add("StorageClass", rule.transition_class)
    if rule.abort_days is not None:
        node.add("AbortIncompleteMultipartUpload").add("DaysAfterInitiation", rule.abort_days)
    return node


def _when(node: Node, days: int | None, date: float | None) -> None:
    if days is not None:
        node.add("Days", days)
    else:
        assert date is not None
        node.add("Date", timestamp(date))


def _filter(rule: Node, f: Filter) -> None:
    if f.form == "prefix":
        rule.add("Prefix", f.prefix)
        return
    node = rule.add("Filter")
    if f.form == "and":
        node = node.add("And")
    if f.prefix:
        node.add("Prefix", f.prefix)
    for key, value in f.tags:
        tag = node.add("Tag")
        tag.add("Key", key)
        tag.add("Value", value)
    if f.size_greater_than is not None:
        node.add("ObjectSizeGreaterThan", f.size_greater_than)
    if f.size_less_than is not None:
        node.add("ObjectSizeLessThan", f.size_less_than)
    if not node.children:  # an empty filter (every object), as AWS shows it
        node.add("Prefix", "")
