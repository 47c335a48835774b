"""SIGKILL rounds under a mixed concurrent load (tests/reliability/_mixed_load.py).

Each round: the workers run PUTs (inline and file-backed), overwrites, multipart
uploads, copies, deletes and batch deletes; the whole server group is SIGKILLed while
requests are in flight; on restart every acknowledged write reads back byte-exact with
its ETag, acknowledged deletes stay deleted, listings agree with HEAD and GET, and once
collected no blob or temp file is left over; then the server is stopped and
``oortgate fsck --deep`` must find the data dir clean.

CRASH_ROUNDS rounds (3 in ``make test``; ``make reliability`` runs 20).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from tests.protocol._server import ServerProcess
from tests.reliability._mixed_load import Tally, new_states, run_until_cut, summary
from tests.reliability._recovery import crash_client, restart_and_check

ROUNDS = int(os.environ.get("CRASH_ROUNDS", "3"))
BUCKET = "mixed-crash"


def test_sigkill_rounds_under_mixed_load(
    crash_server: ServerProcess, client_of: Callable[..., Any]
) -> None:
    srv = crash_server
    client_of(srv).create_bucket(Bucket=BUCKET)
    states, tally = new_states(), Tally()
    for round_no in range(ROUNDS):
        run_until_cut(crash_client(srv, client_of), BUCKET, states, tally, round_no, srv.kill)
        restart_and_check(srv, client_of, BUCKET, states, tally)
    print("\nreliability:", summary(tally, ROUNDS, "sigkill"))
    assert tally.lost == tally.corrupt == 0
    acked = tally.acked
    assert acked["put_inline"] + acked["put_file"] >= 10 * ROUNDS, acked
    kinds = {"put_inline", "put_file", "copy", "delete", "delete_objects"}
    assert kinds <= set(acked), f"some operations never acknowledged: {acked}"
    assert tally.in_flight >= 1, "the kills never caught a request in flight"
    client = client_of(srv)  # the server still works normally after the crashes
    client.put_object(Bucket=BUCKET, Key="after", Body=b"alive")
    assert client.get_object(Bucket=BUCKET, Key="after")["Body"].read() == b"alive"
