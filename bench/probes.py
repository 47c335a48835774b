"""What a timed run measures besides the server's own CPU: extra probes entered around
the load (statements sent to PostgreSQL, CPU of the PostgreSQL and Redis processes), each
turned into per-request figures on the workload's row."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Protocol

from .procstat import TreeSampler


class Probe(Protocol):
    def start(self) -> None: ...

    def finish(self, ops: int) -> dict[str, Any]: ...


ProbeFactory = Callable[[], Probe]


class StatementProbe:
    """Statements a database executed during the run, per request (``count`` reads the
    running total)."""

    def __init__(self, count: Callable[[], int]) -> None:
        self._count = count
        self._before = 0

    def start(self) -> None:
        self._before = self._count()

    def finish(self, ops: int) -> dict[str, Any]:
        statements = self._count() - self._before
        return {"pg_statements": statements,
                "pg_statements_per_op": round(statements / ops, 3) if ops else 0.0}  # fmt: skip


class CpuProbe:
    """CPU seconds of some process trees (``label``: gateway, postgres, redis) during
    the run, and per request in milliseconds."""

    def __init__(self, label: str, pids: Callable[[], Sequence[int]]) -> None:
        self.label = label
        self._pids = pids
        self._samplers: list[TreeSampler] = []

    def start(self) -> None:
        self._samplers = [TreeSampler(pid).__enter__() for pid in self._pids()]

    def finish(self, ops: int) -> dict[str, Any]:
        for sampler in self._samplers:
            sampler.__exit__(None, None, None)
        cpu = sum(s.cpu_s for s in self._samplers)
        per_op = round(cpu * 1000 / ops, 4) if ops else 0.0
        return {f"{self.label}_cpu_s": round(cpu, 3), f"{self.label}_cpu_ms_per_op": per_op}


class Probed:
    """Filled in when the block ends: ``ops`` (set by the caller) and the probes' fields."""

    def __init__(self) -> None:
        self.ops = 0
        self.fields: dict[str, Any] = {}


@contextmanager
def probed(factories: list[ProbeFactory]) -> Iterator[Probed]:
    """Runs every probe around the block; the caller sets ``.ops`` before it ends."""
    probes = [f() for f in factories]
    out = Probed()
    for p in probes:
        p.start()
    yield out
    for p in probes:
        out.fields.update(p.finish(out.ops))
