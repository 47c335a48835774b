"""datadir_lock.server_pid: who serves a data directory, found without taking its lock."""

from __future__ import annotations

import os
from pathlib import Path

from oortgate import datadir_lock


def test_no_lock_file_means_no_server(tmp_path: Path) -> None:
    assert datadir_lock.server_pid(tmp_path) is None


def test_the_holder_pid_is_read(tmp_path: Path) -> None:
    fd = datadir_lock.lock(tmp_path)
    try:
        assert datadir_lock.server_pid(tmp_path) == os.getpid()
    finally:
        os.close(fd)
    # a dead server's stale file does not count, and asking never rewrites it
    (tmp_path / datadir_lock.LOCK_NAME).write_text("12345\n")
    assert datadir_lock.server_pid(tmp_path) is None
    assert (tmp_path / datadir_lock.LOCK_NAME).read_text() == "12345\n"
