"""A bucket's lifecycle configuration as data: its rules, their filters and actions, and
the JSON form the metadata store keeps. Pure (no XML, no store)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

DAY = 86400.0


@dataclass(frozen=True, slots=True)
class Filter:
    """Which objects a rule applies to: all of the conditions given (an empty filter:
    every object). ``form`` remembers how the rule said it, to show it back as put:
    "prefix" (the legacy top-level Prefix), "filter" (one condition in Filter), "and"."""

    prefix: str = ""
    tags: tuple[tuple[str, str], ...] = ()
    size_greater_than: int | None = None
    size_less_than: int | None = None
    form: str = "filter"

    def matches(self, key: str, size: int, tags: dict[str, str]) -> bool:
        if not key.startswith(self.prefix):
            return False
        if self.size_greater_than is not None and not size > self.size_greater_than:
            return False
        if self.size_less_than is not None and not size < self.size_less_than:
            return False
        return all(tags.get(k) == v for k, v in self.tags)


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    enabled: bool
    filter: Filter = field(default_factory=Filter)
    # Expiration: after ``expiration_days`` days, or from ``expiration_date`` (epoch
    # seconds, a midnight UTC) on. Transition likewise, to ``transition_class``.
    expiration_days: int | None = None
    expiration_date: float | None = None
    transition_days: int | None = None
    transition_date: float | None = None
    transition_class: str | None = None
    abort_days: int | None = None  # AbortIncompleteMultipartUpload's DaysAfterInitiation
    # NoncurrentVersionExpiration: a noncurrent version (or delete marker) goes
    # ``noncurrent_days`` days after it became noncurrent, unless it is one of the
    # ``newer_noncurrent`` newest noncurrent versions of its key.
    noncurrent_days: int | None = None
    newer_noncurrent: int | None = None
    # Expiration's ExpiredObjectDeleteMarker: a delete marker that is its key's latest
    # version and has no noncurrent version left goes.
    expired_marker: bool = False
    # NoncurrentVersionTransition: a noncurrent version moves to ``nc_transition_class``
    # ``nc_transition_days`` after it became noncurrent, unless it is one of the
    # ``nc_transition_newer`` newest noncurrent versions of its key.
    nc_transition_days: int | None = None
    nc_transition_class: str | None = None
    nc_transition_newer: int | None = None


# x-amz-transition-default-minimum-object-size, as AWS since September 2024: by default
# (ALL_128K) an object under 128 KiB is not transitioned; VARIES lifts that floor for
# AWS's Glacier classes, which here are what the Archive tier stands for, the only
# transition target: under VARIES no transition has a floor. A rule's own
# ObjectSizeGreaterThan or ObjectSizeLessThan always takes precedence over either.
ALL_128K = "all_storage_classes_128K"
VARIES = "varies_by_storage_class"
MINIMUM_SIZES = (ALL_128K, VARIES)
SMALL_OBJECT = 128 * 1024


@dataclass(frozen=True, slots=True)
class Lifecycle:
    rules: tuple[Rule, ...]
    default_minimum: str = ALL_128K  # one of MINIMUM_SIZES

    def dumps(self) -> str:
        stored = {"rules": [asdict(r) for r in self.rules], "default_minimum": self.default_minimum}
        return json.dumps(stored, separators=(",", ":"))

    def transitions(self, rule: Rule, size: int) -> bool:
        """Whether the default minimum object size lets ``rule`` (whose filter takes the
        object) transition an object of ``size`` bytes."""
        f = rule.filter
        if f.size_greater_than is not None or f.size_less_than is not None:
            return True  # the rule's own size filter decides
        return self.default_minimum == VARIES or size >= SMALL_OBJECT


def loads(text: str) -> Lifecycle:
    """The configuration as ``Lifecycle.dumps`` stored it. A bare list of rules was
    stored before the default minimum object size existed, when every transition took
    objects of any size: it keeps that behaviour (VARIES), as AWS kept its older
    configurations'."""
    stored = json.loads(text)
    if isinstance(stored, list):
        return Lifecycle(tuple(_rule(item) for item in stored), VARIES)
    rules = tuple(_rule(item) for item in stored["rules"])
    return Lifecycle(rules, str(stored["default_minimum"]))


def _rule(item: dict[str, Any]) -> Rule:
    f = item.pop("filter")
    f["tags"] = tuple((k, v) for k, v in f["tags"])
    return Rule(filter=Filter(**f), **item)
