"""What the crash tests under the mixed load (test_crash_mixed.py, test_power_cut.py) do
after each cut: the client they load the server with, and the restart and checks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.protocol._server import ServerProcess, free_port
from tests.reliability._mixed_load import (
    THREADS,
    KeyState,
    Tally,
    abort_open_uploads,
    assert_collected,
    fsck,
    verify,
)


def crash_client(srv: ServerProcess, client_of: Callable[..., Any]) -> Any:
    """A client for the load a cut interrupts: one attempt per request (an unanswered one
    stays pending in the model), a connection for every worker thread and then some."""
    return client_of(srv, retries={"total_max_attempts": 1}, max_pool_connections=THREADS * 2,
                     connect_timeout=5, read_timeout=30)  # fmt: skip


def restart_and_check(
    srv: ServerProcess,
    client_of: Callable[..., Any],
    bucket: str,
    states: dict[str, KeyState],
    tally: Tally,
) -> None:
    """After a cut: restarted on the same data dir (a new port), every acknowledged
    write and delete verified; stopped, nothing left over once collected, fsck clean;
    started again with the open uploads aborted (collected by the next restart)."""
    srv.start(port=free_port())
    verify(client_of(srv), bucket, states, tally)
    srv.stop()
    assert_collected(srv)
    fsck(srv)
    srv.start(port=free_port())
    abort_open_uploads(client_of(srv), bucket)
