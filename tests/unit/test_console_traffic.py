"""The dashboard's per-minute request counts: one memory-mapped file per worker, summed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from oortgate.console.traffic import DIRECTORY, USER_ENTRIES, TrafficCounter, last_hour

T0 = 1_800_000_000.0  # a minute boundary (divisible by 60)


def _row(data_dir: Path, now: float, minute: float) -> dict[str, int]:
    return next(m for m in last_hour(data_dir, now) if m["minute"] == int(minute // 60) * 60)


def test_counts_by_minute_with_client_and_server_errors(tmp_path: Path) -> None:
    counter = TrafficCounter(tmp_path)
    for status in (200, 204, 404, 403, 500, 503, 0):
        counter.count(status, T0 + 5)
    counter.count(200, T0 + 65)
    hour = last_hour(tmp_path, T0 + 70)
    assert len(hour) == 60 and hour[-1]["minute"] == T0 + 60
    assert hour[-2] == {"minute": T0, "requests": 7, "client_errors": 2, "server_errors": 2}
    assert hour[-1]["requests"] == 1 and hour[-1]["client_errors"] == 0
    assert sum(m["requests"] for m in hour[:-2]) == 0


def test_a_slot_is_reused_an_hour_later_and_old_minutes_drop_out(tmp_path: Path) -> None:
    counter = TrafficCounter(tmp_path)
    counter.count(500, T0)
    counter.count(200, T0 + 3600)  # the same slot, an hour on: it starts from zero
    row = _row(tmp_path, T0 + 3600, T0 + 3600)
    assert row == {"minute": T0 + 3600, "requests": 1, "client_errors": 0, "server_errors": 0}
    assert _row(tmp_path, T0 + 59 * 60, T0)["requests"] == 0  # overwritten
    assert all(m["minute"] > T0 for m in last_hour(tmp_path, T0 + 3600))


def test_every_workers_file_is_added_up(tmp_path: Path) -> None:
    first, second = TrafficCounter(tmp_path), TrafficCounter(tmp_path)
    first.count(200, T0)
    second.count(404, T0 + 1)
    second.count(200, T0 + 2)
    assert _row(tmp_path, T0 + 10, T0)["requests"] == 3
    assert _row(tmp_path, T0 + 10, T0)["client_errors"] == 1


def test_a_gone_workers_file_goes_once_its_hour_is_over(tmp_path: Path) -> None:
    # A worker that counted and exited (its pid no longer runs).
    code = ("import sys; from pathlib import Path; from oortgate.console.traffic import *; "
            f"TrafficCounter(Path(sys.argv[1])).count(200, {T0})")  # fmt: skip
    subprocess.run([sys.executable, "-c", code, str(tmp_path)], check=True)
    live = TrafficCounter(tmp_path)  # this process: idle, but alive
    files = sorted((tmp_path / DIRECTORY).iterdir())
    assert len(files) == 2
    assert _row(tmp_path, T0 + 30 * 60, T0)["requests"] == 1  # within the hour: still counted
    assert len(list((tmp_path / DIRECTORY).iterdir())) == 2
    last_hour(tmp_path, T0 + 2 * 3600)
    left = list((tmp_path / DIRECTORY).iterdir())
    assert [p.name.split("-")[0] for p in left] == [str(os.getpid())]
    live.count(200, T0 + 2 * 3600)
    assert _row(tmp_path, T0 + 2 * 3600, T0 + 2 * 3600)["requests"] == 1


def test_a_users_table_counts_only_their_requests(tmp_path: Path) -> None:
    first, second = TrafficCounter(tmp_path), TrafficCounter(tmp_path)
    first.count(200, T0, users=[7])
    first.count(404, T0, users=[7, 7])  # the key's user owns the bucket: once
    second.count(403, T0, users=[7, 9])  # user 9's key on user 7's bucket: both
    second.count(200, T0, users=[9])
    first.count(200, T0)  # nobody's (anonymous, no bucket)

    def row(user_id: int | None) -> dict[str, int]:
        found = last_hour(tmp_path, T0 + 10, user_id=user_id)
        return next(m for m in found if m["minute"] == T0)

    assert row(None) == {"minute": T0, "requests": 5, "client_errors": 2, "server_errors": 0}
    assert row(7) == {"minute": T0, "requests": 3, "client_errors": 2, "server_errors": 0}
    assert row(9) == {"minute": T0, "requests": 2, "client_errors": 1, "server_errors": 0}
    assert row(8)["requests"] == 0


def test_a_user_idle_for_an_hour_gives_up_their_table(tmp_path: Path) -> None:
    counter = TrafficCounter(tmp_path)
    for user_id in range(USER_ENTRIES):
        counter.count(200, T0, users=[user_id])
    counter.count(200, T0 + 60, users=[USER_ENTRIES])  # every table in use: not counted
    assert _row_of(tmp_path, USER_ENTRIES, T0 + 60) == 0
    counter.count(500, T0 + 3600, users=[0])  # user 0 again, an hour on
    counter.count(200, T0 + 3600, users=[USER_ENTRIES])  # takes an idle one's table
    assert _row_of(tmp_path, USER_ENTRIES, T0 + 3600) == 1
    assert _row_of(tmp_path, 0, T0 + 3600) == 1
    # The table given away was user 1's (the first idle one probed from entry 0): its
    # counts are gone; the others' are kept.
    assert [_row_of(tmp_path, u, T0) for u in (1, 2, USER_ENTRIES - 1)] == [0, 1, 1]


def _row_of(data_dir: Path, user_id: int, minute: float) -> int:
    found = last_hour(data_dir, minute, user_id=user_id)
    return next(int(m["requests"]) for m in found if m["minute"] == int(minute // 60) * 60)
