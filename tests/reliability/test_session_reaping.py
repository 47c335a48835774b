"""Sessions under a running server: a worker SIGKILLed in the middle of an upload leaves a
pending mark and a temp file of its session; another worker (or the one started in its
place) ends that dead session while the server goes on serving: no restart needed, and
the other worker's own upload in flight is never touched."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3

from tests.protocol._s3raw import RawClient, build_head, read_response, tls_connect
from tests.protocol._server import REGION, ServerProcess
from tests.protocol._util import all_files, stats

MiB = 1024 * 1024
REAPED_WITHIN = 45.0  # seconds: a heartbeat interval (10 s) and the reap, with room


def _holders(path: Path) -> Iterator[int]:
    """The pids of the processes that have ``path`` open."""
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
            if any(os.readlink(f"/proc/{pid}/fd/{fd}") == str(path) for fd in fds):
                yield int(pid)
        except OSError:
            continue  # gone, or not ours


class SlowPut:
    """A PUT whose body has only partly arrived (the connection is held open)."""

    def __init__(self, srv: ServerProcess, key: str, size: int = 8 * MiB) -> None:
        raw = RawClient(srv.endpoint, srv.host, srv.cert, srv.root_access_key,
                        srv.root_secret_key)  # fmt: skip
        url = raw.url("reap", key)
        signed = raw.signed_headers("PUT", url, {"Content-Length": str(size)})
        self.sock = tls_connect(srv.port, srv.cert, timeout=60)
        head = build_head("PUT", url[len(srv.endpoint) :], {"Host": srv.host, **signed.headers})
        self.sock.sendall(head)
        self.sent = 0
        self.size = size

    def send(self, count: int) -> None:
        self.sock.sendall(b"x" * count)
        self.sent += count

    def finish(self) -> int:
        self.send(self.size - self.sent)
        status, _, _ = read_response(self.sock, "PUT")
        self.sock.close()
        return status


def _wait_for_temp_file(data_dir: Path, known: set[Path]) -> Path:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        new = set(all_files(data_dir / "tmp")) - known
        if new:
            return new.pop()
        time.sleep(0.1)
    raise AssertionError("no temp file appeared")


def test_a_killed_workers_upload_is_reaped_while_serving(tmp_path: Path) -> None:
    # A long body timeout: the survivor's body waits for the reap.
    args = ["--inline-max-size", "0", "--body-timeout", "120"]
    srv = ServerProcess(tmp_path / "data", workers=2, extra_args=args)
    with srv:
        client: Any = boto3.client(
            "s3", endpoint_url=srv.endpoint, region_name=REGION, verify=srv.cert,
            aws_access_key_id=srv.root_access_key, aws_secret_access_key=srv.root_secret_key,
        )  # fmt: skip
        client.create_bucket(Bucket="reap")
        victim = SlowPut(srv, "victim")
        victim.send(MiB)
        temp = _wait_for_temp_file(srv.data_dir, set())
        (pid,) = set(_holders(temp))
        # A second upload, on whichever worker takes it: if on the survivor, it must
        # outlive the reap; if on the victim's worker, it dies with it.
        survivor = SlowPut(srv, "survivor")
        survivor.send(MiB)
        other = _wait_for_temp_file(srv.data_dir, {temp})
        same_worker = pid in set(_holders(other))
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + REAPED_WITHIN
        while time.monotonic() < deadline:
            counts = stats(srv.data_dir)
            if counts["sessions"]["dead"] == 0 and not temp.exists():
                break
            time.sleep(0.5)
        assert counts["sessions"]["dead"] == 0, counts
        assert not temp.exists() and not temp.parent.exists()
        if same_worker:
            assert counts["blobs"]["pending"] == 0 and counts["temp_files"] == 0, counts
        else:  # the survivor's upload is its live session's: untouched, and it commits
            assert counts["blobs"]["pending"] == 1 and counts["temp_files"] == 1, counts
            assert other.exists()
            assert survivor.finish() == 200
            body = client.get_object(Bucket="reap", Key="survivor")["Body"].read()
            assert body == b"x" * survivor.size
        # The server serves on, and a new upload is whole.
        client.put_object(Bucket="reap", Key="after", Body=b"y" * MiB)
        assert client.get_object(Bucket="reap", Key="after")["Body"].read() == b"y" * MiB
        final = stats(srv.data_dir)
        assert (final["blobs"]["pending"], final["temp_files"]) == (0, 0), final
