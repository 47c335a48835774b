"""The LifecycleConfiguration document: PutBucketLifecycleConfiguration's, parsed and
checked as AWS checks it, and the one GetBucketLifecycleConfiguration answers with.

A rule is never stored with a part of it ignored: what this server cannot do (a second
transition: it has one archive tier) is refused."""

from __future__ import annotations

import calendar
import re
import secrets
from xml.etree.ElementTree import Element

from oortgate.errors import MALFORMED_XML, S3Error
from oortgate.lifecycle.rules import Filter, Lifecycle, Rule
from oortgate.xml.core import Node, document, parse, timestamp

MAX_RULES = 1000
MAX_ID = 255
MAX_NEWER_NONCURRENT = 100
_RULE_CHILDREN = frozenset(
    "ID Prefix Filter Status Expiration Transition AbortIncompleteMultipartUpload"
    " NoncurrentVersionExpiration NoncurrentVersionTransition".split()
)
_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(Z|[+-]00:?00)?)?")


def _bad(message: str) -> S3Error:
    return S3Error("InvalidArgument", message)


def _invalid_request(message: str) -> S3Error:
    return S3Error("InvalidRequest", message)


def _malformed() -> S3Error:
    return S3Error(MALFORMED_XML)


def parse_lifecycle(body: bytes, archive_classes: frozenset[str]) -> Lifecycle:
    """The rules of ``<LifecycleConfiguration>``; ``archive_classes``: the storage
    classes a Transition may name (the Archive tier's)."""
    root = parse(body)
    if root.tag != "LifecycleConfiguration":
        raise _malformed()
    elements = root.findall("Rule")
    if not elements or len(elements) != len(root):
        raise _malformed()
    if len(elements) > MAX_RULES:
        raise _bad(f"The number of lifecycle rules must not exceed {MAX_RULES}")
    rules = tuple(_rule(e, archive_classes) for e in elements)
    ids = [r.id for r in rules]
    if len(set(ids)) != len(ids):
        raise _bad("Rule ID must be unique. Found same ID for more than one rule")
    return Lifecycle(rules)


def _only(element: Element, tag: str) -> Element | None:
    found = element.findall(tag)
    if len(found) > 1:
        raise _malformed()
    return found[0] if found else None


def _text(element: Element, tag: str) -> str | None:
    found = _only(element, tag)
    return None if found is None else (found.text or "").strip()


def _int(text: str) -> int:
    if not re.fullmatch(r"-?\d{1,18}", text):
        raise _malformed()
    return int(text)


def _rule(element: Element, archive_classes: frozenset[str]) -> Rule:
    for child in element:
        if child.tag not in _RULE_CHILDREN:
            raise _malformed()
    rule_id = _text(element, "ID")
    if rule_id is None or rule_id == "":
        rule_id = secrets.token_hex(24)  # AWS names a rule that has no ID
    if len(rule_id) > MAX_ID:
        raise _bad(f"ID length should not exceed allowed limit of {MAX_ID}")
    status = _text(element, "Status")
    if status not in ("Enabled", "Disabled"):
        raise _malformed()
    rule_filter = _rule_filter(element)
    exp_days, exp_date, marker = _expiration(_only(element, "Expiration"))
    tr_days, tr_date, tr_class = _transition(element, archive_classes)
    abort = _abort(_only(element, "AbortIncompleteMultipartUpload"))
    noncurrent, newer = _noncurrent(_only(element, "NoncurrentVersionExpiration"))
    nc_days, nc_class, nc_newer = _noncurrent_transition(element, archive_classes)
    if (exp_days is None and exp_date is None and tr_class is None and abort is None
            and noncurrent is None and not marker and nc_class is None):  # fmt: skip
        raise _bad("At least one action needs to be specified in a rule")
    if abort is not None and rule_filter.tags:
        raise _invalid_request("AbortIncompleteMultipartUpload cannot be specified with Tags.")
    if marker and rule_filter.tags:
        raise _invalid_request("ExpiredObjectDeleteMarker cannot be specified with Tags.")
    if exp_days is not None and tr_days is not None and exp_days <= tr_days:
        raise _bad(f"'Days' in the Expiration action for filter '{rule_filter.prefix}' must be "
                   f"greater than 'Days' in the Transition action")  # fmt: skip
    if noncurrent is not None and nc_days is not None and noncurrent <= nc_days:
        raise _bad(f"'NoncurrentDays' in the NoncurrentVersionExpiration action for filter "
                   f"'{rule_filter.prefix}' must be greater than 'NoncurrentDays' in the "
                   f"NoncurrentVersionTransition action")  # fmt: skip
    return Rule(rule_id, status == "Enabled", rule_filter, exp_days, exp_date, tr_days, tr_date,
                tr_class, abort, noncurrent, newer, marker, nc_days, nc_class,
                nc_newer)  # fmt: skip


def _rule_filter(element: Element) -> Filter:
    legacy_element = _only(element, "Prefix")
    legacy = None if legacy_element is None else (legacy_element.text or "")
    found = _only(element, "Filter")
    if (legacy is None) == (found is None):  # one of them, as AWS requires
        raise _malformed()
    if found is None:
        return Filter(prefix=legacy or "", form="prefix")
    if len(found) > 1:
        raise _malformed()
    if len(found) == 0:
        return Filter()
    child = found[0]
    if child.tag == "And":
        return _conditions(child, "and")
    return _conditions(found, "filter")


def _conditions(element: Element, form: str) -> Filter:
    prefix, tags = "", []
    greater = less = None
    for child in element:
        text = (child.text or "").strip()
        if child.tag == "Prefix":
            prefix = child.text or ""
        elif child.tag == "Tag":
            key, value = _text(child, "Key"), _text(child, "Value")
            if key is None or value is None:
                raise _malformed()
            tags.append((key, value))
        elif child.tag == "ObjectSizeGreaterThan":
            greater = _int(text)
        elif child.tag == "ObjectSizeLessThan":
            less = _int(text)
        else:
            raise _malformed()
    if len({k for k, _ in tags}) != len(tags):
        raise _invalid_request("Duplicate Tag Keys are not allowed.")
    if (greater is not None and greater < 0) or (less is not None and less <= 0):
        raise _bad("'ObjectSizeGreaterThan' and 'ObjectSizeLessThan' must be positive")
    if greater is not None and less is not None and greater >= less:
        raise _bad("ObjectSizeGreaterThan must be less than ObjectSizeLessThan")
    return Filter(prefix, tuple(tags), greater, less, form)


def _date(text: str) -> float:
    match = _DATE.fullmatch(text)
    if match is None:
        raise _malformed()
    y, mo, d, h, mi, s, _ = match.groups()
    if (h, mi, s) not in ((None, None, None), ("00", "00", "00")):
        raise _bad("'Date' must be at midnight GMT")
    try:
        return float(calendar.timegm((int(y), int(mo), int(d), 0, 0, 0)))
    except ValueError:
        raise _malformed() from None


def _expiration(element: Element | None) -> tuple[int | None, float | None, bool]:
    """(Days, Date, ExpiredObjectDeleteMarker): the marker flag alone, or one of the
    others (AWS answers MalformedXML to the flag beside Days or Date)."""
    if element is None:
        return None, None, False
    flag = _text(element, "ExpiredObjectDeleteMarker")
    if flag is not None:
        if flag not in ("true", "false") or len(element) != 1:
            raise _malformed()
        return None, None, flag == "true"
    days, date = _text(element, "Days"), _text(element, "Date")
    if (days is None) == (date is None) or len(element) != 1:
        raise _malformed()
    if days is not None:
        if _int(days) <= 0:
            raise _bad("'Days' for Expiration action must be a positive integer")
        return _int(days), None, False
    assert date is not None
    return None, _date(date), False


def _transition(
    rule: Element, archive_classes: frozenset[str]
) -> tuple[int | None, float | None, str | None]:
    found = rule.findall("Transition")
    if not found:
        return None, None, None
    if len(found) > 1:
        raise _bad("'StorageClass' must be different for 'Transition' actions in same 'Rule'"
                   if len({_text(t, "StorageClass") for t in found}) == 1 else
                   "This server has one archive tier: a rule can transition to it once")
    element = found[0]
    days, date, storage = (_text(element, t) for t in ("Days", "Date", "StorageClass"))
    if storage is None or (days is None) == (date is None) or len(element) != 2:
        raise _malformed()
    if storage not in archive_classes:
        names = ", ".join(sorted(archive_classes))
        raise _bad(f"The storage class {storage} is not offered for transitions here: objects "
                   f"move to the Archive tier, whose storage class is {names}.")  # fmt: skip
    if days is not None:
        if _int(days) < 0:
            raise _bad("'Days' in Transition action must be nonnegative")
        return _int(days), None, storage
    assert date is not None
    return None, _date(date), storage


def _noncurrent_transition(
    rule: Element, archive_classes: frozenset[str]
) -> tuple[int | None, str | None, int | None]:
    """NoncurrentVersionTransition's (NoncurrentDays, StorageClass,
    NewerNoncurrentVersions); as for Transition, one, to the Archive tier's class."""
    found = rule.findall("NoncurrentVersionTransition")
    if not found:
        return None, None, None
    if len(found) > 1:
        raise _bad("This server has one archive tier: a rule can transition noncurrent "
                   "versions to it once")  # fmt: skip
    element = found[0]
    names = ("NoncurrentDays", "StorageClass", "NewerNoncurrentVersions")
    days, storage, newer = (_text(element, t) for t in names)
    if days is None or storage is None or len(element) != 2 + (newer is not None):
        raise _malformed()
    if storage not in archive_classes:
        offered = ", ".join(sorted(archive_classes))
        raise _bad(f"The storage class {storage} is not offered for transitions here: versions "
                   f"move to the Archive tier, whose storage class is {offered}.")  # fmt: skip
    if _int(days) < 0:
        raise _bad("'NoncurrentDays' in NoncurrentVersionTransition action must be nonnegative")
    if newer is not None and not 0 < _int(newer) <= MAX_NEWER_NONCURRENT:
        raise _bad(f"'NewerNoncurrentVersions' for NoncurrentVersionTransition action must be "
                   f"a positive integer up to {MAX_NEWER_NONCURRENT}")  # fmt: skip
    return _int(days), storage, None if newer is None else _int(newer)


def _abort(element: Element | None) -> int | None:
    if element is None:
        return None
    days = _text(element, "DaysAfterInitiation")
    if days is None or len(element) != 1:
        raise _malformed()
    if _int(days) <= 0:
        raise _bad("'DaysAfterInitiation' for AbortIncompleteMultipartUpload action must be a "
                   "positive integer")  # fmt: skip
    return _int(days)


def _noncurrent(element: Element | None) -> tuple[int | None, int | None]:
    """NoncurrentVersionExpiration's (NoncurrentDays, NewerNoncurrentVersions)."""
    if element is None:
        return None, None
    days, newer = _text(element, "NoncurrentDays"), _text(element, "NewerNoncurrentVersions")
    if days is None or len(element) != 1 + (newer is not None):
        raise _malformed()
    if _int(days) <= 0:
        raise _bad("'NoncurrentDays' for NoncurrentVersionExpiration action must be a "
                   "positive integer")  # fmt: skip
    if newer is not None and not 0 < _int(newer) <= MAX_NEWER_NONCURRENT:
        raise _bad(f"'NewerNoncurrentVersions' for NoncurrentVersionExpiration action must be "
                   f"a positive integer up to {MAX_NEWER_NONCURRENT}")  # fmt: skip
    return _int(days), None if newer is None else _int(newer)


# -- the document GetBucketLifecycleConfiguration answers with -------------------------
def lifecycle_document(lifecycle: Lifecycle) -> bytes:
    root = Node("LifecycleConfiguration")
    root.extend(_rule_node(r) for r in lifecycle.rules)
    return document(root)


def _rule_node(rule: Rule) -> Node:
    node = Node("Rule")
    node.add("ID", rule.id)
    _filter_node(node, rule.filter)
    node.add("Status", "Enabled" if rule.enabled else "Disabled")
    if rule.expiration_days is not None or rule.expiration_date is not None:
        _when(node.add("Expiration"), rule.expiration_days, rule.expiration_date)
    elif rule.expired_marker:
        node.add("Expiration").add("ExpiredObjectDeleteMarker", "true")
    if rule.transition_class is not None:
        transition = node.add("Transition")
        _when(transition, rule.transition_days, rule.transition_date)
        transition.add("StorageClass", rule.transition_class)
    if rule.abort_days is not None:
        node.add("AbortIncompleteMultipartUpload").add("DaysAfterInitiation", rule.abort_days)
    if rule.noncurrent_days is not None:
        noncurrent = node.add("NoncurrentVersionExpiration")
        noncurrent.add("NoncurrentDays", rule.noncurrent_days)
        if rule.newer_noncurrent is not None:
            noncurrent.add("NewerNoncurrentVersions", rule.newer_noncurrent)
    if rule.nc_transition_class is not None:
        moving = node.add("NoncurrentVersionTransition")
        moving.add("NoncurrentDays", rule.nc_transition_days)
        moving.add("StorageClass", rule.nc_transition_class)
        if rule.nc_transition_newer is not None:
            moving.add("NewerNoncurrentVersions", rule.nc_transition_newer)
    return node


def _when(node: Node, days: int | None, date: float | None) -> None:
    if days is not None:
        node.add("Days", days)
    else:
        assert date is not None
        node.add("Date", timestamp(date))


def _filter_node(rule: Node, f: Filter) -> None:
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
