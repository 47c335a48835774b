"""Failures under load: one line per event, a traceback once per kind, repeats folded."""

from __future__ import annotations

import logging

import pytest

from oortgate import logs


def _failure(n: int) -> BaseException:
    try:
        raise ValueError(f"boom {n}")
    except ValueError as exc:
        return exc


def test_a_flood_of_one_failure_is_a_few_lines(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = [100.0]
    monkeypatch.setattr("oortgate.logs.time.monotonic", lambda: clock[0])
    throttled = logs.ThrottledLog(logging.getLogger("test-logs"), interval=10.0)
    with caplog.at_level(logging.ERROR, logger="test-logs"):
        for n in range(1000):  # a thousand in one second: one line
            exc = _failure(n)
            throttled.error(logs.kind_of(exc), "internal error", exc)
            clock[0] += 0.001
        clock[0] += 10
        exc = _failure(1000)
        throttled.error(logs.kind_of(exc), "internal error", exc)
    first, second = caplog.records
    assert first.exc_info is not None  # the traceback, once
    assert second.exc_info is None
    assert second.getMessage() == (
        "internal error (999 more like it in the last 11 s): ValueError: boom 1000"
    )


def test_different_failures_are_each_reported(caplog: pytest.LogCaptureFixture) -> None:
    throttled = logs.ThrottledLog(logging.getLogger("test-logs"))
    with caplog.at_level(logging.ERROR, logger="test-logs"):
        throttled.error("a", "first")
        throttled.error("b", "second")
        throttled.error("a", "first again")
    assert [r.getMessage() for r in caplog.records] == ["first", "second"]
