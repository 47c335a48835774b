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


@dataclass(frozen=True, slots=True)
class Lifecycle:
    rules: tuple[Rule, ...]

    def dumps(self) -> str:
        return json.dumps([asdict(r) for r in self.rules], separators=(",", ":"))


def loads(text: str) -> Lifecycle:
    """The configuration as ``Lifecycle.dumps`` stored it."""
    return Lifecycle(tuple(_rule(item) for item in json.loads(text)))


def _rule(item: dict[str, Any]) -> Rule:
    f = item.pop("filter")
    f["tags"] = tuple((k, v) for k, v in f["tags"])
    return Rule(filter=Filter(**f), **item)
