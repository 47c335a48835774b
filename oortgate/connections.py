"""How many connections the HTTPS listener holds, and for how long an idle one may stay.

granian stops accepting once a worker holds `backpressure` TLS connections; the kernel
then queues up to `backlog` more and drops the rest. With granian's defaults (1024 and
1024 / workers) about 1,100 idle connections lock every other client out. An idle
connection costs granian a few kilobytes and one file descriptor, so the fix is to let a
worker hold many (as many as its descriptor limit allows) and to close the idle ones
soon: granian's header read timeout runs from accept until a request's headers are in,
so it also bounds an idle keep-alive connection and the TLS handshake (the latter no
sooner than granian's own 10 s). Measured: README "Limits and timeouts".
"""

from __future__ import annotations

import resource
from dataclasses import dataclass

# Descriptors a worker keeps for itself beyond its connections: the listening socket,
# SQLite and its -wal/-shm, blob files being read or written, the log.
RESERVED_DESCRIPTORS = 512


def raise_descriptor_limit() -> int:
    """Raise this process's soft RLIMIT_NOFILE to the hard limit (children inherit it);
    return the limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        wanted = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
            soft = wanted
        except (ValueError, OSError):
            pass  # keep the soft limit; connections_per_worker fits within it
    return soft


@dataclass(frozen=True, slots=True)
class ListenerLimits:
    backlog: int  # the kernel's accept queue (capped by net.core.somaxconn)
    per_worker: int  # connections one worker holds before it stops accepting
    header_timeout_ms: int  # accept → end of a request's headers, idle keep-alive included


def listener_limits(
    max_connections: int, workers: int, backlog: int, header_timeout: float, descriptors: int
) -> ListenerLimits:
    """max_connections is shared by the workers; each is held within its descriptors."""
    per_worker = max(1, -(-max_connections // workers))
    per_worker = max(1, min(per_worker, descriptors - RESERVED_DESCRIPTORS))
    return ListenerLimits(backlog, per_worker, max(1, round(header_timeout * 1000)))


def descriptor_warning(max_connections: int, workers: int) -> str | None:
    """One line for the operator when the descriptor limit, even raised, cannot hold
    max_connections: each worker then holds fewer, and a worker whose descriptors run
    out stops accepting (granian does not recover; see README "Limits and timeouts")."""
    limit = raise_descriptor_limit()
    wanted = -(-max_connections // workers) + RESERVED_DESCRIPTORS
    if limit >= wanted:
        return None
    return (
        f"file-descriptor limit {limit} (ulimit -n) is below the {wanted} each worker "
        f"needs for max_connections {max_connections}; each worker holds "
        f"{max(1, limit - RESERVED_DESCRIPTORS)} connections (raise the hard limit, "
        "e.g. LimitNOFILE=1048576 in systemd)"
    )
