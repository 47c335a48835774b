"""Start and stop the servers under test, each on a free loopback port in its own dir.

Every server runs in its own process group (``start_new_session``) so that stopping it
also stops its workers. Only 127.0.0.1 is ever used.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = REPO_ROOT / ".venv" / "bin"
PYTHON = str(VENV_BIN / "python") if (VENV_BIN / "python").exists() else sys.executable
HOST = "127.0.0.1"
REGION = "us-east-1"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    """A running server: where it listens and how to talk to it."""

    name: str
    scheme: str
    port: int
    proc: subprocess.Popen[bytes]
    workdir: Path
    log_path: Path
    cafile: str | None = None
    access_key: str = "bench"
    secret_key: str = "bench-secret"
    s3: bool = True
    notes: list[str] = field(default_factory=list)

    @property
    def endpoint(self) -> str:
        return f"{self.scheme}://{HOST}:{self.port}"

    @property
    def client_cafile(self) -> str | None:
        """The certificate a client trusts for this server (None: plain HTTP)."""
        return self.cafile if self.scheme == "https" else None

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM the process group, SIGKILL it if it lingers."""
        if self.proc.poll() is None:
            _signal_group(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                _signal_group(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout)
        _signal_group(self.proc.pid, signal.SIGKILL)  # workers that outlived the leader

    def log_tail(self, n: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-n:]
        except OSError:
            return ""


def _signal_group(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


def _spawn(
    name: str, cmd: list[str], workdir: Path, env: dict[str, str] | None = None
) -> tuple[subprocess.Popen[bytes], Path]:
    log_path = workdir / f"{name}.log"
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            cmd,
            cwd=str(workdir),
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return proc, log_path


def client_ssl_context(cafile: str | None) -> ssl.SSLContext | None:
    return ssl.create_default_context(cafile=cafile) if cafile else None


def wait_ready(server: Server, path: str = "/", timeout: float = 30.0) -> None:
    """Poll until the server answers any HTTP status on ``path``."""
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise RuntimeError(
                f"{server.name} exited with {server.proc.returncode}:\n{server.log_tail()}"
            )
        if server.cafile is None or os.path.exists(server.cafile):
            try:
                ctx = client_ssl_context(server.cafile)
                conn: http.client.HTTPConnection
                if ctx is not None:
                    conn = http.client.HTTPSConnection(HOST, server.port, timeout=2, context=ctx)
                else:
                    conn = http.client.HTTPConnection(HOST, server.port, timeout=2)
                conn.request("GET", path)
                conn.getresponse().read()
                conn.close()
                return
            except (OSError, http.client.HTTPException) as exc:
                last = exc
        time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"{server.name} not ready after {timeout}s ({last!r}):\n{server.log_tail()}")


def start_oortgate(base: Path, workers: int = 2, extra_args: tuple[str, ...] = (), *,
                   name: str = "oortgate", env: dict[str, str] | None = None,
                   prefix: tuple[str, ...] = (), tls: tuple[str, str] | None = None,
                   note: str = "embedded default (SQLite + local disk)",
                   ready_timeout: float = 30.0) -> Server:  # fmt: skip
    """An ``oortgate serve`` in base/NAME: ``extra_args`` and ``env`` choose its stores,
    ``prefix`` wraps the command (a CPU quota), ``tls`` a (cert, key) several share."""
    workdir = base / name
    workdir.mkdir(parents=True)
    data = workdir / "data"
    port = free_port()
    ak = "BENCH" + secrets.token_hex(8).upper()
    sk = secrets.token_urlsafe(30)[:40]
    full_env = dict(os.environ, OORTGATE_ROOT_ACCESS_KEY=ak, OORTGATE_ROOT_SECRET_KEY=sk)
    full_env.update(env or {})
    tls_args = ("--tls-cert", tls[0], "--tls-key", tls[1]) if tls else ()
    cmd = [
        *prefix, PYTHON, "-m", "oortgate", "serve", "--data-dir", str(data), "--host", HOST,
        "--https-port", str(port), "--workers", str(workers), "--region", REGION,
        "--log-level", "warning", "--http-port", "0", *tls_args,
        # Throughput is measured, not OORT's 100 requests/s per key: no rate limit.
        "--rate-limit", "0", *extra_args,
    ]  # fmt: skip
    full_env["PYTHONPATH"] = str(REPO_ROOT)
    proc, log = _spawn(name, cmd, workdir, full_env)
    cafile = tls[0] if tls else str(data / "tls" / "cert.pem")
    srv = Server(
        name, "https", port, proc, workdir, log, cafile, full_env["OORTGATE_ROOT_ACCESS_KEY"],
        full_env["OORTGATE_ROOT_SECRET_KEY"],
        notes=[f"HTTPS, --workers {workers}, {note}, rate limit off"],
    )  # fmt: skip
    wait_ready(srv, timeout=ready_timeout)
    return srv


def moto_available() -> bool:
    return (VENV_BIN / "moto_server").exists() or shutil.which("moto_server") is not None


def start_moto(base: Path) -> Server:
    workdir = base / "moto"
    workdir.mkdir(parents=True)
    port = free_port()
    exe = str(VENV_BIN / "moto_server") if (VENV_BIN / "moto_server").exists() else "moto_server"
    proc, log = _spawn("moto", [exe, "-H", HOST, "-p", str(port)], workdir)
    srv = Server("moto", "http", port, proc, workdir, log, None,
                 notes=["plain HTTP (moto_server has no TLS)", "in-memory"])  # fmt: skip
    wait_ready(srv)
    return srv


def nginx_available() -> bool:
    return shutil.which("nginx") is not None or Path("/usr/sbin/nginx").exists()


NGINX_CONF = """daemon off;
worker_processes 2;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {d}/tmp/body;
    proxy_temp_path {d}/tmp/proxy;
    fastcgi_temp_path {d}/tmp/fastcgi;
    uwsgi_temp_path {d}/tmp/uwsgi;
    scgi_temp_path {d}/tmp/scgi;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    keepalive_timeout 120s;
    default_type application/octet-stream;
    server {{
        listen 127.0.0.1:{port} ssl;
        ssl_certificate {cert};
        ssl_certificate_key {key};
        root {root};
        location / {{ }}
    }}
}}
"""


def start_nginx(base: Path, cert: str, key: str, docroot: Path) -> Server:
    workdir = base / "nginx"
    (workdir / "tmp").mkdir(parents=True)
    port = free_port()
    conf = workdir / "nginx.conf"
    conf.write_text(NGINX_CONF.format(d=workdir, port=port, cert=cert, key=key, root=docroot))
    exe = shutil.which("nginx") or "/usr/sbin/nginx"
    if os.geteuid() == 0:  # as root nginx would switch its workers to www-data
        conf.write_text(f"user {_current_user()};\n" + conf.read_text())
    proc, log = _spawn("nginx", [exe, "-c", str(conf), "-p", str(workdir)], workdir)
    srv = Server("nginx", "https", port, proc, workdir, log, cert, s3=False,
                 notes=["static files over TLS, 2 workers, sendfile"])  # fmt: skip
    wait_ready(srv)
    return srv


def _current_user() -> str:
    import pwd

    return pwd.getpwuid(os.geteuid()).pw_name


def s3rver_bin() -> str | None:
    local = REPO_ROOT / "bench" / ".node" / "node_modules" / ".bin" / "s3rver"
    if local.exists():
        return str(local)
    return shutil.which("s3rver")


def start_s3rver(base: Path, cert: str, key: str) -> Server:
    exe = s3rver_bin()
    assert exe is not None
    workdir = base / "s3rver"
    (workdir / "data").mkdir(parents=True)
    port = free_port()
    cmd = [exe, "-d", str(workdir / "data"), "-a", HOST, "-p", str(port), "--silent",
           "--key", key, "--cert", cert, "--no-vhost-buckets"]  # fmt: skip
    proc, log = _spawn("s3rver", cmd, workdir)
    srv = Server("s3rver", "https", port, proc, workdir, log, cert, "S3RVER", "S3RVER",
                 notes=["HTTPS with the same certificate", "node.js, files on disk"])  # fmt: skip
    wait_ready(srv)
    return srv
