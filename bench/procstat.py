"""CPU seconds and resident memory of a process tree, read from /proc (Linux only)."""

from __future__ import annotations

import os
import threading
from types import TracebackType

_CLK_TCK = os.sysconf("SC_CLK_TCK")
_PAGE_MB = os.sysconf("SC_PAGE_SIZE") / 1e6


def _stat_fields(pid: int) -> list[bytes] | None:
    """The fields of /proc/PID/stat after the command name (field 3 onwards)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except OSError:
        return None
    return data[data.rfind(b")") + 2 :].split()


def tree(root: int) -> list[int]:
    """``root`` and all of its live descendants."""
    children: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        fields = _stat_fields(int(name))
        if fields is not None:
            children.setdefault(int(fields[1]), []).append(int(name))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, []))
    return out


def cpu_seconds(pid: int) -> float:
    """utime + stime of one process, in seconds (0 when it is gone)."""
    fields = _stat_fields(pid)
    if fields is None:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _CLK_TCK


def rss_mb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/statm", "rb") as f:
            return int(f.read().split()[1]) * _PAGE_MB
    except (OSError, IndexError, ValueError):
        return 0.0


class TreeSampler:
    """Measures a process tree's CPU-time delta and peak RSS while the block runs.

    A background thread re-reads the tree every ``interval`` seconds, so workers
    that start (or die) during the block are counted with the CPU they used.
    """

    def __init__(self, root: int | None, interval: float = 0.2) -> None:
        self.root = root
        self.interval = interval
        self.cpu_s = 0.0
        self.peak_rss_mb = 0.0
        self._first: dict[int, float] = {}
        self._last: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _sample(self, initial: bool = False) -> None:
        if self.root is None:
            return
        total_rss = 0.0
        for pid in tree(self.root):
            cpu = cpu_seconds(pid)
            if initial:
                self._first[pid] = cpu
            else:
                self._first.setdefault(pid, 0.0)
            self._last[pid] = max(cpu, self._last.get(pid, 0.0))
            total_rss += rss_mb(pid)
        self.peak_rss_mb = max(self.peak_rss_mb, total_rss)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def __enter__(self) -> TreeSampler:
        self._sample(initial=True)
        self._thread = threading.Thread(target=self._loop, name="tree-sampler", daemon=True)
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self._sample()
        self.cpu_s = sum(self._last[p] - self._first.get(p, 0.0) for p in self._last)
