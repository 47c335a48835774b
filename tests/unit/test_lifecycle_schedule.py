"""oortgate.lifecycle.schedule: when rules act, rounded up to the next "midnight"."""

from __future__ import annotations

from oortgate.lifecycle.rules import SMALL_OBJECT, VARIES, Filter, Lifecycle, Rule
from oortgate.lifecycle.schedule import (
    ObjectFacts,
    abort_due,
    expires_by,
    marker_expires,
    next_expiration,
    noncurrent_transition_due,
    transition_due,
)

DAY = 86400.0
JAN_1_10H = 1767261600.0  # 2026-01-01T10:00:00Z


def facts(key: str = "logs/a", size: int = 50, tags: dict[str, str] | None = None) -> ObjectFacts:
    return ObjectFacts(key, size, JAN_1_10H, tags or {})


def test_days_round_up_to_the_next_midnight() -> None:
    lc = Lifecycle((Rule("r", True, Filter("logs/"), expiration_days=1),))
    assert next_expiration(lc, facts(), DAY) == (1767398400.0, "r")  # 2026-01-03T00:00Z
    assert not expires_by(lc, facts(), 1767398399.0, DAY)
    assert expires_by(lc, facts(), 1767398400.0, DAY)
    assert next_expiration(lc, facts("other"), DAY) is None


def test_the_earliest_rule_wins_and_disabled_rules_never_act() -> None:
    lc = Lifecycle((
        Rule("late", True, Filter(), expiration_days=9),
        Rule("soon", True, Filter(tags=(("k", "v"),)), expiration_days=2),
        Rule("off", False, Filter(), expiration_days=1),
    ))  # fmt: skip
    assert next_expiration(lc, facts(tags={"k": "v"}), DAY)[1] == "soon"  # type: ignore[index]
    assert next_expiration(lc, facts(tags={"k": "w"}), DAY)[1] == "late"  # type: ignore[index]


def test_size_filters_are_strict() -> None:
    lc = Lifecycle((Rule("r", True, Filter(size_greater_than=10, size_less_than=20),
                         expiration_date=0.0),))  # fmt: skip
    assert [expires_by(lc, facts(size=s), 1.0, DAY) for s in (10, 11, 19, 20)] == [
        False, True, True, False]  # fmt: skip


def test_transition_and_abort() -> None:
    lc = Lifecycle((
        Rule("t", True, Filter("logs/"), transition_days=0, transition_class="GLACIER_IR"),
        Rule("a", True, Filter("up/"), abort_days=1),
        Rule("sized", True, Filter(size_less_than=5), abort_days=1),
    ))  # fmt: skip
    big = facts(size=SMALL_OBJECT)  # at the default minimum object size
    assert transition_due(lc, big, JAN_1_10H, DAY) is None  # midnight not reached
    assert transition_due(lc, big, 1767312000.0, DAY) == "GLACIER_IR"
    assert abort_due(lc, "up/x", JAN_1_10H, 1767398400.0, DAY)
    assert not abort_due(lc, "up/x", JAN_1_10H, 1767398399.0, DAY)
    assert not abort_due(lc, "zzz", JAN_1_10H, 2e9, DAY)  # size filters never take uploads


def test_noncurrent_transition_keeps_the_newest() -> None:
    rule = Rule("n", True, Filter("logs/"), nc_transition_days=1, nc_transition_class="GLACIER_IR",
                nc_transition_newer=2)  # fmt: skip
    lc = Lifecycle((rule,), VARIES)  # no default minimum object size
    due = 1767398400.0  # a day after becoming noncurrent, rounded up
    assert noncurrent_transition_due(lc, facts(), 2, due, DAY) == "GLACIER_IR"
    assert noncurrent_transition_due(lc, facts(), 1, due, DAY) is None  # among the 2 newest
    assert noncurrent_transition_due(lc, facts(), 5, due - 1, DAY) is None  # not a day yet
    assert noncurrent_transition_due(lc, facts("other"), 5, due, DAY) is None


def test_the_default_minimum_object_size_of_transitions() -> None:
    """AWS's default since 2024: no transition of an object under 128 KiB, unless the
    rule's own size filter says otherwise or varies_by_storage_class lifts the floor
    (the Archive tier is AWS's Glacier classes); current and noncurrent alike."""
    def rule(rule_id: str, f: Filter) -> Rule:
        return Rule(rule_id, True, f, transition_date=0.0, transition_class="GLACIER_IR",
                    nc_transition_days=0, nc_transition_class="GLACIER_IR")  # fmt: skip

    plain = rule("plain", Filter("logs/"))
    sized = rule("sized", Filter("logs/", size_greater_than=10))
    below = rule("below", Filter("logs/", size_less_than=SMALL_OBJECT + 10))
    cases = [  # (the rule, the default minimum, the size) -> transitioned
        ((plain, None, SMALL_OBJECT - 1), False), ((plain, None, SMALL_OBJECT), True),
        ((plain, VARIES, 1), True), ((sized, None, 11), True), ((sized, None, 10), False),
        ((below, None, 1), True), ((below, None, SMALL_OBJECT + 10), False),
    ]  # fmt: skip
    for (r, minimum, size), moved in cases:
        lc = Lifecycle((r,)) if minimum is None else Lifecycle((r,), minimum)
        target = "GLACIER_IR" if moved else None
        assert transition_due(lc, facts(size=size), 1.0, DAY) == target, (r.id, size)
        assert noncurrent_transition_due(lc, facts(size=size), 0, 2e9, DAY) == target


def test_lone_markers_by_prefix_never_by_size_or_tags() -> None:
    lc = Lifecycle((Rule("m", True, Filter("logs/"), expired_marker=True),
                    Rule("big", True, Filter(size_greater_than=10), expired_marker=True),
                    Rule("off", False, Filter("tmp/"), expired_marker=True)))  # fmt: skip
    assert marker_expires(lc, "logs/a", JAN_1_10H, JAN_1_10H, DAY)
    assert not marker_expires(lc, "other", 0.0, JAN_1_10H, DAY)  # no size: "big" never takes it
    assert not marker_expires(lc, "tmp/x", 0.0, JAN_1_10H, DAY)


def test_expiration_days_also_take_old_lone_markers() -> None:
    """As AWS: "When you specify the Days tag, Amazon S3 automatically performs
    ExpiredObjectDeleteMarker cleanup when the delete markers are old enough"."""
    lc = Lifecycle((Rule("d", True, Filter("logs/"), expiration_days=1),
                    Rule("dated", True, Filter("old/"), expiration_date=0.0)))  # fmt: skip
    assert not marker_expires(lc, "logs/a", JAN_1_10H, 1767398399.0, DAY)
    assert marker_expires(lc, "logs/a", JAN_1_10H, 1767398400.0, DAY)
    assert not marker_expires(lc, "old/a", JAN_1_10H, 1767398400.0 * 2, DAY)  # Date: never
