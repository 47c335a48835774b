"""Error logging that stays readable under load: one line per event, the traceback only
the first time a kind of failure is seen, and repeats of the same kind within an interval
folded into a count on the next line that is written."""

from __future__ import annotations

import logging
import time
import traceback

INTERVAL = 10.0  # seconds between two lines about the same kind of failure
MAX_KINDS = 1024  # kinds remembered; past that the oldest are forgotten

log = logging.getLogger("oortgate")


def kind_of(exc: BaseException) -> str:
    """The exception's type and the innermost frame that raised it: one kind of failure."""
    frames = traceback.extract_tb(exc.__traceback__)
    where = f"{frames[-1].filename}:{frames[-1].lineno}" if frames else "?"
    return f"{type(exc).__name__}@{where}"


class ThrottledLog:
    def __init__(self, logger: logging.Logger = log, interval: float = INTERVAL) -> None:
        self._logger = logger
        self._interval = interval
        self._last: dict[str, float] = {}  # kind -> when a line about it was last written
        self._folded: dict[str, int] = {}  # kind -> repeats not written since
        self._seen: set[str] = set()  # kinds whose traceback was written

    def error(self, kind: str, message: str, exc: BaseException | None = None) -> None:
        now = time.monotonic()
        last = self._last.get(kind)
        if last is not None and now - last < self._interval:
            self._folded[kind] = self._folded.get(kind, 0) + 1
            return
        folded = self._folded.pop(kind, 0)
        if folded and last is not None:
            message += f" ({folded} more like it in the last {now - last:.0f} s)"
        first = kind not in self._seen
        if first and len(self._seen) < MAX_KINDS:
            self._seen.add(kind)
        if len(self._last) >= MAX_KINDS:
            self._last.pop(next(iter(self._last)))
        self._last[kind] = now
        if exc is not None and not first:
            message += f": {type(exc).__name__}: {exc}"
        self._logger.error(message, exc_info=exc if first else None)


errors = ThrottledLog()  # one per process: what the request path logs through
