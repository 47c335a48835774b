"""When a rule acts on an object or an upload, and the x-amz-expiration header that
tells a client when its object goes. Pure.

A "day" is ``day_seconds`` long (86400; tests shorten it). As on AWS, a rule's Days
count from the object's last modification and are rounded up to the next midnight UTC
(the next multiple of a day since the epoch); a Date acts from that midnight on."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

from oortgate.lifecycle.rules import Lifecycle, Rule


def _after_days(start: float, days: int, day_seconds: float) -> float:
    return math.ceil((start + days * day_seconds) / day_seconds) * day_seconds


def expiration_time(rule: Rule, last_modified: float, day_seconds: float) -> float | None:
    if rule.expiration_date is not None:
        return rule.expiration_date
    if rule.expiration_days is not None:
        return _after_days(last_modified, rule.expiration_days, day_seconds)
    return None


def transition_time(rule: Rule, last_modified: float, day_seconds: float) -> float | None:
    if rule.transition_date is not None:
        return rule.transition_date
    if rule.transition_days is not None:
        return _after_days(last_modified, rule.transition_days, day_seconds)
    return None


def abort_time(rule: Rule, initiated: float, day_seconds: float) -> float | None:
    if rule.abort_days is None:
        return None
    return _after_days(initiated, rule.abort_days, day_seconds)


def noncurrent_due(
    lifecycle: Lifecycle, facts: ObjectFacts, newer: int, now: float, day_seconds: float
) -> bool:
    """Whether a noncurrent version goes: ``facts.last_modified`` is when it became
    noncurrent (its successor's), ``newer`` how many noncurrent versions of its key are
    newer than it."""
    due = _noncurrent_rules_due(lifecycle, facts, newer, now, day_seconds, transition=False)
    return next(due, None) is not None


def noncurrent_transition_due(
    lifecycle: Lifecycle, facts: ObjectFacts, newer: int, now: float, day_seconds: float
) -> str | None:
    """The storage class a due NoncurrentVersionTransition moves a noncurrent version to
    (None: none due); ``facts`` and ``newer`` as for noncurrent_due."""
    due = _noncurrent_rules_due(lifecycle, facts, newer, now, day_seconds, transition=True)
    rule = next(due, None)
    return None if rule is None else rule.nc_transition_class


def _noncurrent_rules_due(
    lifecycle: Lifecycle, facts: ObjectFacts, newer: int, now: float, day_seconds: float,
    *, transition: bool,
) -> Iterator[Rule]:
    """The rules whose NoncurrentVersionTransition (or, ``transition`` False, whose
    NoncurrentVersionExpiration) is due for this version: its NoncurrentDays passed and
    at least NewerNoncurrentVersions newer noncurrent versions kept."""
    for rule in applying(lifecycle, facts):
        if transition:
            days, keep = rule.nc_transition_days, rule.nc_transition_newer
        else:
            days, keep = rule.noncurrent_days, rule.newer_noncurrent
        if days is None or (keep is not None and newer < keep):
            continue
        if transition and not lifecycle.transitions(rule, facts.size):
            continue
        if _after_days(facts.last_modified, days, day_seconds) <= now:
            yield rule


def marker_expires(
    lifecycle: Lifecycle, key: str, written: float, now: float, day_seconds: float
) -> bool:
    """Whether a rule removes ``key``'s lone delete marker, written at ``written``: one
    with ExpiredObjectDeleteMarker, or (as AWS does) an Expiration after Days once the
    marker is that old. A marker has no size and no tags: a rule filtered on them cannot
    take it."""
    for rule in applying(lifecycle, ObjectFacts(key, 0, written, {})):
        if rule.expired_marker:
            return True
        days = rule.expiration_days
        if days is not None and _after_days(written, days, day_seconds) <= now:
            return True
    return False


@dataclass(frozen=True, slots=True)
class ObjectFacts:
    """What a rule's filter and schedule look at."""

    key: str
    size: int
    last_modified: float
    tags: dict[str, str]


def applying(lifecycle: Lifecycle, facts: ObjectFacts) -> list[Rule]:
    """The enabled rules whose filter takes the object."""
    return [r for r in lifecycle.rules if r.enabled
            and r.filter.matches(facts.key, facts.size, facts.tags)]  # fmt: skip


def next_expiration(
    lifecycle: Lifecycle, facts: ObjectFacts, day_seconds: float
) -> tuple[float, str] | None:
    """(when, rule id) of the earliest expiration any rule sets for the object."""
    found = []
    for rule in applying(lifecycle, facts):
        when = expiration_time(rule, facts.last_modified, day_seconds)
        if when is not None:
            found.append((when, rule.id))
    return min(found) if found else None


def expires_by(lifecycle: Lifecycle, facts: ObjectFacts, now: float, day_seconds: float) -> bool:
    due = next_expiration(lifecycle, facts, day_seconds)
    return due is not None and due[0] <= now


def transition_due(
    lifecycle: Lifecycle, facts: ObjectFacts, now: float, day_seconds: float
) -> str | None:
    """The storage class a due Transition moves the object to (None: none due)."""
    for rule in applying(lifecycle, facts):
        when = transition_time(rule, facts.last_modified, day_seconds)
        if when is not None and when <= now and lifecycle.transitions(rule, facts.size):
            return rule.transition_class
    return None


def abort_due(
    lifecycle: Lifecycle, key: str, initiated: float, now: float, day_seconds: float
) -> bool:
    """Whether a rule aborts an upload of ``key`` begun at ``initiated`` (an upload has
    no size or tags yet: a rule filtered on them cannot take it, as on AWS)."""
    for rule in lifecycle.rules:
        f = rule.filter
        if not rule.enabled or f.tags or f.size_greater_than is not None:
            continue
        if f.size_less_than is not None or not key.startswith(f.prefix):
            continue
        when = abort_time(rule, initiated, day_seconds)
        if when is not None and when <= now:
            return True
    return False
