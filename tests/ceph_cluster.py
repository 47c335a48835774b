"""A private single-node Ceph cluster for the RADOS tests: one monitor and one OSD on a
sparse file in a temp dir, on free ports (never 3300/6789), booted once per test run.

The first test process that asks (``shared_cluster``) starts a supervisor (``python -m
tests.ceph_cluster DIR OWNER``) under a file lock; the others wait on the lock and read
its state file. The supervisor boots the cluster, runs both daemons in the foreground as
its children and, once the run's owner (the pytest process, or xdist's controller) has
exited, stops them by PID and removes the directory: a run killed outright still leaves
no cluster behind. Settings: ../shared/notes/ceph-single-node.md.
"""

from __future__ import annotations

import contextlib
import fcntl
import importlib.util
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

POOL = "oortgate-test"
CLIENT = "client.admin"
BOOT_TIMEOUT = 120.0
_DAEMONS = ("ceph-mon", "ceph-osd", "ceph-authtool", "monmaptool")


@dataclass(frozen=True, slots=True)
class Cluster:
    conf: Path
    pool: str
    client: str
    boot_seconds: float


def ceph_installed() -> bool:
    """The daemons, and the binding in this interpreter (``make ceph-deps`` does both)."""
    return all(map(shutil.which, _DAEMONS)) and importlib.util.find_spec("rados") is not None


def _owner_pid() -> int:
    """The process whose lifetime the cluster shares: xdist's controller, or pytest."""
    return os.getppid() if os.environ.get("PYTEST_XDIST_WORKER") else os.getpid()


def _run_dir(owner: int) -> Path:
    run = os.environ.get("PYTEST_XDIST_TESTRUNUID", "solo")[:12]
    return Path(tempfile.gettempdir()) / f"oortgate-ceph-{owner}-{run}"


_cached: Cluster | None = None


def shared_cluster() -> Cluster:
    """This test run's cluster, booting it if no process has yet."""
    global _cached
    if _cached is None:
        owner = _owner_pid()
        directory = _run_dir(owner)
        directory.mkdir(mode=0o700, exist_ok=True)
        with open(directory / "lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # the first process boots; the rest wait here
            state_file = directory / "state.json"
            if not state_file.exists():
                _start_supervisor(directory, owner)
            state = json.loads(state_file.read_text())
        if "error" in state:
            raise RuntimeError(f"the test Ceph cluster did not boot: {state['error']}")
        _cached = Cluster(Path(state["conf"]), POOL, CLIENT, float(state["boot_seconds"]))
    return _cached


def _start_supervisor(directory: Path, owner: int) -> None:
    with open(directory / "supervisor.log", "ab") as log:
        subprocess.Popen(
            [sys.executable, "-m", "tests.ceph_cluster", str(directory), str(owner)],
            stdout=log, stderr=log, stdin=subprocess.DEVNULL, start_new_session=True,
            cwd=Path(__file__).resolve().parent.parent,
        )  # fmt: skip
    deadline = time.monotonic() + BOOT_TIMEOUT + 10
    while not (directory / "state.json").exists():
        if time.monotonic() > deadline:
            raise RuntimeError(f"no test Ceph cluster after {BOOT_TIMEOUT:.0f} s: {directory}")
        time.sleep(0.1)


# The supervisor -------------------------------------------------------------------------


def _free_port_pair() -> int:
    """A free port p with p+1 free too (msgr v2 on p, v1 on p+1)."""
    for _ in range(100):
        with socket.socket() as first, socket.socket() as second:
            first.bind(("127.0.0.1", 0))
            port = first.getsockname()[1]
            if port in (3299, 3300, 6788, 6789) or port >= 65535:
                continue
            with contextlib.suppress(OSError):
                second.bind(("127.0.0.1", port + 1))
                return int(port)
    raise RuntimeError("no two consecutive free ports")


def _conf(directory: Path, fsid: str, port: int) -> str:
    return f"""[global]
fsid = {fsid}
mon_host = [v2:127.0.0.1:{port},v1:127.0.0.1:{port + 1}]
public_addr = 127.0.0.1
cluster_addr = 127.0.0.1
ms_bind_ipv6 = false
keyring = {directory}/keyring
run_dir = {directory}/run
admin_socket = {directory}/run/$name.asok
log_file = {directory}/log/$name.log
auth_allow_insecure_global_id_reclaim = false
osd_pool_default_size = 1
osd_pool_default_min_size = 1
mon_allow_pool_size_one = true
mon_warn_on_pool_no_redundancy = false
osd_pool_default_pg_num = 8
osd_pool_default_pgp_num = 8
osd_pool_default_pg_autoscale_mode = off
osd_crush_chooseleaf_type = 0
mon_allow_pool_delete = true
[mon]
mon_data = {directory}/mon
[osd]
osd_data = {directory}/osd
keyring = {directory}/osd/keyring
osd_objectstore = bluestore
bluestore_block_create = true
bluestore_block_size = {20 << 30}
bluestore_block_db_create = false
bluestore_block_wal_create = false
osd_memory_target = 1073741824
"""


def _check(*args: str) -> str:
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout


def _boot(directory: Path, daemons: list[subprocess.Popen[bytes]]) -> Path:
    import rados  # the venv links it in (make ceph-deps)

    for sub in ("run", "log", "mon", "osd"):
        (directory / sub).mkdir(mode=0o700, exist_ok=True)
    fsid, port = str(uuid.uuid4()), _free_port_pair()
    conf = directory / "ceph.conf"
    conf.write_text(_conf(directory, fsid, port))
    keyring, monmap = str(directory / "keyring"), str(directory / "monmap")
    _check("ceph-authtool", "--create-keyring", keyring, "--gen-key", "-n", "mon.",
           "--cap", "mon", "allow *")  # fmt: skip
    _check("ceph-authtool", keyring, "--gen-key", "-n", CLIENT, "--cap", "mon", "allow *",
           "--cap", "osd", "allow *", "--cap", "mgr", "allow *")  # fmt: skip
    _check("monmaptool", "--create", "--fsid", fsid, "--addv", "a",
           f"[v2:127.0.0.1:{port},v1:127.0.0.1:{port + 1}]", monmap)  # fmt: skip
    _check("ceph-mon", "-c", str(conf), "--mkfs", "-i", "a", "--monmap", monmap,
           "--keyring", keyring)  # fmt: skip
    daemons.append(_daemon(directory, "ceph-mon", "-f", "-c", str(conf), "-i", "a"))
    cluster = rados.Rados(conffile=str(conf), name=CLIENT)
    cluster.conf_set("rados_osd_op_timeout", "60")
    cluster.connect(timeout=30)
    try:
        osd_uuid, key = str(uuid.uuid4()), _check("ceph-authtool", "--gen-print-key").strip()
        ret, out, err = cluster.mon_command(
            json.dumps({"prefix": "osd new", "uuid": osd_uuid, "format": "json"}),
            json.dumps({"cephx_secret": key}).encode(),
        )
        if ret != 0:
            raise RuntimeError(f"osd new: {err}")
        osd_id = str(json.loads(out)["osdid"])
        (directory / "osd" / "keyring").write_text(f"[osd.{osd_id}]\n\tkey = {key}\n")
        _check("ceph-osd", "-c", str(conf), "-i", osd_id, "--mkfs", "--osd-uuid", osd_uuid)
        daemons.append(_daemon(directory, "ceph-osd", "-f", "-c", str(conf), "-i", osd_id))
        _wait_for_osd_up(cluster, daemons)
        cluster.create_pool(POOL)
        ioctx = cluster.open_ioctx(POOL)
        ioctx.write_full("boot-probe", b"up")  # waits until the pool's PGs are active
        ioctx.remove_object("boot-probe")
        ioctx.close()
    finally:
        cluster.shutdown()
    return conf


def _daemon(directory: Path, *args: str) -> subprocess.Popen[bytes]:
    log = open(directory / "log" / f"{args[0]}.out", "ab")  # noqa: SIM115 - the daemon's, open while it runs
    return subprocess.Popen(args, stdout=log, stderr=log, stdin=subprocess.DEVNULL)


def _wait_for_osd_up(cluster: object, daemons: list[subprocess.Popen[bytes]]) -> None:
    import rados

    assert isinstance(cluster, rados.Rados)
    deadline = time.monotonic() + BOOT_TIMEOUT
    while time.monotonic() < deadline:
        if any(daemon.poll() is not None for daemon in daemons):
            raise RuntimeError("a Ceph daemon exited during boot (see its log)")
        ret, out, _ = cluster.mon_command(json.dumps({"prefix": "osd dump", "format": "json"}), b"")
        if ret == 0 and any(osd.get("up") == 1 for osd in json.loads(out)["osds"]):
            return
        time.sleep(0.2)
    raise RuntimeError("the OSD did not come up")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    with contextlib.suppress(OSError):
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"
    return False


def _stop(daemons: list[subprocess.Popen[bytes]]) -> None:
    for daemon in reversed(daemons):  # the OSD first, then the monitor
        with contextlib.suppress(ProcessLookupError):
            os.kill(daemon.pid, signal.SIGTERM)
        try:
            daemon.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.kill(daemon.pid, signal.SIGKILL)
            daemon.wait()


def supervise(directory: Path, owner: int) -> None:
    daemons: list[subprocess.Popen[bytes]] = []
    started = time.monotonic()
    state: dict[str, object]
    try:
        conf = _boot(directory, daemons)
        state = {"conf": str(conf), "boot_seconds": round(time.monotonic() - started, 1),
                 "pids": [daemon.pid for daemon in daemons]}  # fmt: skip
    except Exception as exc:  # reported to every test that asks, not swallowed
        state = {"error": f"{type(exc).__name__}: {exc}"}
    temp = directory / "state.tmp"
    temp.write_text(json.dumps(state))
    temp.rename(directory / "state.json")
    print(json.dumps(state), flush=True)
    try:
        reported = False
        while _alive(owner):  # on an error too: the logs stay for the run to read
            if not reported and any(daemon.poll() is not None for daemon in daemons):
                print("a Ceph daemon exited (see log/)", flush=True)
                reported = True
            time.sleep(0.5)
    finally:
        _stop(daemons)
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    supervise(Path(sys.argv[1]), int(sys.argv[2]))
