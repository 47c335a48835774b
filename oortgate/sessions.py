"""Sessions: every writing worker process has one, and only dead ones' leftovers are reaped.

A worker registers a session at start (``open_session``), marks its pending blobs with it,
keeps its temp files in its own directory and heartbeats every ``config.HEARTBEAT_INTERVAL``. A
session is dead when its heartbeat is older than the ``session_timeout`` setting (default
``SESSION_TIMEOUT``), or when it is on this host and its process is gone. Whoever sweeps
(a worker, the start-up sweep, ``oortgate gc``) ends dead sessions only: a live one's
pending blobs and temp files are never touched.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterable
from pathlib import Path

from oortgate.config import SESSION_TIMEOUT
from oortgate.meta.base import MetaStore
from oortgate.meta.models import Session
from oortgate.storage.base import BlobStore

PID_START_SLACK = 30.0  # seconds (see process_alive)


async def open_session(meta: MetaStore, blobs: BlobStore) -> str:
    """Register the calling process; its pending marks and temp files are its own."""
    session_id = await meta.open_session(socket.gethostname(), os.getpid())
    await blobs.use_session(session_id)  # after the row is committed: see reap_dead_sessions
    return session_id


def is_dead(session: Session, now: float, host: str, timeout: float = SESSION_TIMEOUT) -> bool:
    if now - session.heartbeat > timeout:
        return True
    return session.host == host and not process_alive(session.pid, session.started)


def process_alive(pid: int, since: float) -> bool:
    """Whether the process that registered at ``since`` still runs: pid ``pid`` exists,
    is no zombie, and did not start after that (if it did, it is another process that
    reuses the pid)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # someone else's process: it exists
    state, started = _proc_stat(pid)
    if state == "Z":
        return False  # exited, not yet waited for
    # Slack for the boot time's rounding and clock adjustments since boot: a wrong
    # "reused" would reap a live writer's uploads, a wrong "alive" only waits for the
    # heartbeat to go stale.
    return started is None or started <= since + PID_START_SLACK


def _proc_stat(pid: int) -> tuple[str | None, float | None]:
    """The process's state letter and when it started (epoch seconds), from /proc;
    None where unknown."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        boot = next(
            float(line.split()[1])
            for line in Path("/proc/stat").read_text().splitlines()
            if line.startswith("btime ")
        )
        fields = stat[stat.rindex(")") + 2 :].split()  # after the command name: field 3 on
        return fields[0], boot + int(fields[19]) / os.sysconf("SC_CLK_TCK")  # 22: starttime
    except (OSError, StopIteration, ValueError, IndexError):
        return None, None


async def reap_dead_sessions(
    meta: MetaStore, blobs: BlobStore, timeout: float = SESSION_TIMEOUT
) -> dict[str, int]:
    """End the dead sessions: their pending blobs (and marks of no session) become
    garbage, their temp files are removed. Safe while other workers run."""
    # Temp directories are listed before the sessions are read: a session's directory is
    # made only after its row was committed, so every directory listed belongs to a
    # session in the list below, unless that one has ended.
    listed = await blobs.temp_sessions()
    dead, stale = _doomed(listed, await meta.list_sessions(), timeout)
    pending = await meta.end_sessions(dead) if dead else 0
    pending += await meta.recover_pending()
    temp = await blobs.remove_temp_files(stale)
    return {"sessions": len(dead), "pending": pending, "temp": temp}


def _doomed(
    listed: Iterable[str], sessions: list[Session], timeout: float
) -> tuple[list[str], list[str]]:
    """(the dead sessions, the temp directories of no live session)."""
    now, host = time.time(), socket.gethostname()
    dead = [s.session_id for s in sessions if is_dead(s, now, host, timeout)]
    live = {s.session_id for s in sessions}.difference(dead)
    return dead, [d for d in listed if d not in live]
