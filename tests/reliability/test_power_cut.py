"""Power cuts: the mixed load (tests/reliability/_mixed_load.py) on an ext4 filesystem
the test creates on a loop device, cut with EXT4_IOC_SHUTDOWN(NOLOGFLUSH).

That ioctl stops the filesystem at once and drops everything not yet durable (the page
cache and the journal not yet committed), as a power cut does; writes after it fail with
EIO. The server is then SIGKILLed, the filesystem unmounted and mounted again (journal
recovery), and the server restarted on it: every acknowledged write (fsynced before its
answer) must be there byte-exact, acknowledged deletes gone, listings equal to HEAD and
GET, and after collection ``oortgate fsck --deep`` must find nothing wrong.

The server is frozen (SIGSTOP, every thread stopped or inside a system call) just before
the cut: a real power cut lets no answer out afterwards, while here an fsync caught in
flight by the ioctl can still return success (on Linux 6.18 ext4, jbd2 reports a commit
that the abort dropped as complete) and the server would then acknowledge a write that
was never durable. Frozen first, every answer the client holds was sent before the cut.

POWER_CUTS cuts (1 in ``make test``; ``make reliability`` runs 4). Root and a
free loop device are needed; the test says why it is skipped where there are none.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import struct
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ConnectTimeoutError, ReadTimeoutError

from tests.protocol._server import ServerProcess
from tests.reliability._mixed_load import Tally, new_states, run_until_cut, summary
from tests.reliability._recovery import crash_client, restart_and_check

CUTS = int(os.environ.get("POWER_CUTS", "1"))
IMAGE_SIZE = 512 * 1024 * 1024  # sparse: only what the load writes is used
EXT4_IOC_SHUTDOWN = 0x8004587D  # _IOR('X', 125, __u32)
EXT4_GOING_FLAGS_NOLOGFLUSH = 2  # do not flush the journal: lose what is not durable
BUCKET = "power-cut"


def _run(*cmd: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)


class Disk:
    """An ext4 filesystem in a file, on a loop device, mounted on ``mnt``."""

    def __init__(self, image: Path, mnt: Path) -> None:
        self.image, self.mnt, self.device = image, mnt, ""

    def create(self) -> None:
        with open(self.image, "wb") as f:
            f.truncate(IMAGE_SIZE)
        made = _run("mkfs.ext4", "-q", "-F", str(self.image))
        if made.returncode:
            pytest.skip(f"mkfs.ext4 failed: {made.stderr.strip()}")
        attached = _run("losetup", "--find", "--show", str(self.image))
        if attached.returncode:
            pytest.skip(f"no loop device available: {attached.stderr.strip()}")
        self.device = attached.stdout.strip()
        self.mnt.mkdir()
        self.mount()
        (self.mnt / "lost+found").rmdir()  # the data dir is the filesystem's root

    def mount(self) -> None:
        subprocess.run(["mount", "-t", "ext4", self.device, str(self.mnt)], check=True,
                       timeout=60)  # fmt: skip

    def power_cut(self) -> None:
        fd = os.open(self.mnt, os.O_RDONLY)
        try:
            fcntl.ioctl(fd, EXT4_IOC_SHUTDOWN, struct.pack("I", EXT4_GOING_FLAGS_NOLOGFLUSH))
        finally:
            os.close(fd)

    def unmount(self) -> None:
        subprocess.run(["umount", str(self.mnt)], check=True, timeout=60)

    def destroy(self) -> None:
        if os.path.ismount(self.mnt):
            _run("umount", "-l", str(self.mnt))
        if self.device:
            _run("losetup", "-d", self.device)


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[Disk]:
    if os.geteuid() != 0:
        pytest.skip("a loop device and mount need root")
    missing = [t for t in ("losetup", "mkfs.ext4", "mount") if shutil.which(t) is None]
    if missing:
        pytest.skip(f"missing tools: {missing}")
    d = Disk(tmp_path / "ext4.img", tmp_path / "mnt")
    try:
        d.create()
        yield d
    finally:
        d.destroy()


def test_power_cuts_under_mixed_load(disk: Disk, client_of: Callable[..., Any]) -> None:
    srv = ServerProcess(data_dir=disk.mnt)  # its log is beside the filesystem, not on it
    states, tally = new_states(), Tally()
    try:
        srv.start()
        client_of(srv).create_bucket(Bucket=BUCKET)
        for cut_no in range(CUTS):
            client = crash_client(srv, client_of)

            def cut() -> None:
                srv.freeze()  # first: nothing the server does after the cut may leave it
                disk.power_cut()
                srv.kill()  # the machine is off: nothing more reaches the disk

            run_until_cut(client, BUCKET, states, tally, 100 + cut_no, cut)
            disk.unmount()
            disk.mount()  # the journal is replayed: what was durable comes back
            restart_and_check(srv, client_of, BUCKET, states, tally)
    finally:
        with contextlib.suppress(Exception):
            srv.stop()
    print("\nreliability:", summary(tally, CUTS, "power_cut"))
    assert tally.lost == tally.corrupt == 0
    assert sum(tally.acked.values()) >= 10 * CUTS, tally.acked
    assert tally.in_flight >= 1, "the cuts never caught a request in flight"


def test_a_frozen_server_sends_nothing(crash_server: ServerProcess, client_of: Any) -> None:
    """The power-cut model's premise: once frozen, a request in flight gets no answer
    (not even after a while), so every answer the load saw left before the cut."""
    client = client_of(crash_server, retries={"total_max_attempts": 1}, read_timeout=2)
    client.create_bucket(Bucket="frozen")
    answered: list[object] = []
    crash_server.freeze()
    with pytest.raises((ReadTimeoutError, ConnectTimeoutError)):
        answered.append(client.put_object(Bucket="frozen", Key="k", Body=b"x"))
    assert not answered
    assert crash_server.proc is not None and crash_server.proc.poll() is None  # stopped, alive
    crash_server.kill()
