"""A CPU quota for one server under test: a cgroup of its own (v2 ``cpu.max``, or v1's
``cpu.cfs_quota_us`` where the cpu controller is still mounted as v1), which the server
enters before it execs, so every worker it forks is capped with it.

Needs write access to the cgroup tree (root, or a delegated subtree); ``find_root`` says
None otherwise and the caller skips what needs a quota.
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path

CGROUP = Path("/sys/fs/cgroup")
PERIOD_US = 100_000


def find_root() -> tuple[Path, str] | None:
    """(the directory new cgroups go in, "v1" or "v2") if a writable cpu controller is
    found."""
    v2 = CGROUP / "cgroup.controllers"
    if v2.exists() and "cpu" in v2.read_text().split():
        with contextlib.suppress(OSError):  # let children use the cpu controller
            control = CGROUP / "cgroup.subtree_control"
            if "cpu" not in control.read_text().split():
                control.write_text("+cpu")
        if "cpu" in (CGROUP / "cgroup.subtree_control").read_text().split() and os.access(
            CGROUP, os.W_OK
        ):
            return CGROUP, "v2"
    v1 = CGROUP / "cpu"
    if (v1 / "cpu.cfs_quota_us").exists() and os.access(v1, os.W_OK):
        return v1, "v1"
    return None


class CpuQuota:
    """A cgroup capped at ``cpus`` CPUs (0.25: a quarter of one core per period)."""

    def __init__(self, root: tuple[Path, str], name: str, cpus: float) -> None:
        self.dir = root[0] / name
        self.version = root[1]
        self.cpus = cpus
        self.dir.mkdir()
        quota = max(1000, int(cpus * PERIOD_US))
        if self.version == "v2":
            (self.dir / "cpu.max").write_text(f"{quota} {PERIOD_US}")
        else:
            (self.dir / "cpu.cfs_period_us").write_text(str(PERIOD_US))
            (self.dir / "cpu.cfs_quota_us").write_text(str(quota))

    @property
    def setting(self) -> str:
        """The setting as written, for the report."""
        if self.version == "v2":
            return "cpu.max " + (self.dir / "cpu.max").read_text().strip()
        quota = (self.dir / "cpu.cfs_quota_us").read_text().strip()
        return f"cgroup v1 cpu.cfs_quota_us {quota} / cpu.cfs_period_us {PERIOD_US}"

    def prefix(self) -> tuple[str, ...]:
        """A command prefix that moves the process into the cgroup, then execs."""
        procs = str(self.dir / "cgroup.procs")
        return ("sh", "-c", 'echo $$ > "$0" && exec "$@"', procs)

    def throttled_s(self) -> float:
        """Seconds the group was held back by its quota so far."""
        stat = dict(
            line.split() for line in (self.dir / "cpu.stat").read_text().splitlines() if line
        )
        if "throttled_usec" in stat:
            return int(stat["throttled_usec"]) / 1e6
        return int(stat.get("throttled_time", 0)) / 1e9

    def close(self) -> None:
        """Remove the cgroup (its processes stopped first; a straggler gets a second)."""
        for _ in range(50):
            try:
                self.dir.rmdir()
                return
            except OSError:
                time.sleep(0.1)
