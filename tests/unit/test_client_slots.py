"""ClientSlots: per-address counting of requests under way (pure)."""

from __future__ import annotations

from oortgate.http.client_slots import ClientSlots, too_many


def test_an_address_at_its_limit_is_refused_until_a_slot_comes_back() -> None:
    slots = ClientSlots(2)
    assert slots.take("a") and slots.take("a")
    assert not slots.take("a")  # refused: nothing counted
    assert slots.held("a") == 2
    assert slots.take("b")  # another address is not affected
    slots.give_back("a")
    assert slots.take("a")
    for _ in range(3):
        slots.give_back("a")
    assert slots.held("a") == 0 and slots.take("a")


def test_zero_is_no_limit_and_the_refusal_is_slowdown_closing_the_connection() -> None:
    slots = ClientSlots(0)
    assert all(slots.take("a") for _ in range(10_000))
    error = too_many(5)
    assert (error.code, error.status) == ("SlowDown", 503)
    assert error.headers == {"connection": "close"}
