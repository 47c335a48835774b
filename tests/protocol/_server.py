"""Start, stop and administer a real ``oortgate serve`` process for tests.

Shared by tests/protocol (one server per pytest(-xdist) worker) and tests/reliability
(a separate server per crash test, killed with SIGKILL). Nothing here knows about pytest.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

REPO_ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = REPO_ROOT / ".venv" / "bin"
PYTHON = str(VENV_BIN / "python") if (VENV_BIN / "python").exists() else sys.executable
REGION = "us-east-1"
READY_TIMEOUT = 20.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def random_access_key(prefix: str = "OG") -> str:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
    return prefix + "".join(secrets.choice(alphabet) for _ in range(20 - len(prefix)))


def random_secret_key() -> str:
    return secrets.token_urlsafe(30)[:40]


@dataclass
class ServerProcess:
    """One ``oortgate serve`` process (group) on a data directory."""

    data_dir: Path
    root_access_key: str = field(default_factory=lambda: random_access_key("ROOT"))
    root_secret_key: str = field(default_factory=random_secret_key)
    port: int = 0
    # Protocol tests hammer one key far past OORT's 100 requests/s: unlimited unless a
    # test is about the limit. No plain-HTTP listener unless a test asks for one.
    rate_limit: float = 0
    workers: int = 1
    http_port: int = 0
    extra_args: list[str] = field(default_factory=list)
    metadata_url: str = ""  # PostgreSQL (for the server and its admin commands alike)
    listen_host: str = "127.0.0.1"  # what --host binds (clients still use 127.0.0.1)
    command_prefix: list[str] = field(default_factory=list)  # e.g. ip netns exec NAME
    proc: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None
    _log_file: object = None

    # -- paths ---------------------------------------------------------------------
    @property
    def cert(self) -> str:
        return str(self.data_dir / "tls" / "cert.pem")

    @property
    def endpoint(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env["OORTGATE_ROOT_ACCESS_KEY"] = self.root_access_key
        env["OORTGATE_ROOT_SECRET_KEY"] = self.root_secret_key
        if self.metadata_url:
            env["OORTGATE_METADATA_URL"] = self.metadata_url
        env.setdefault("PYTHONUNBUFFERED", "1")
        return env

    # -- lifecycle -----------------------------------------------------------------
    def start(self, port: int | None = None, timeout: float = READY_TIMEOUT) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.port = port or self.port or free_port()
        self.log_path = self.data_dir.parent / f"{self.data_dir.name}-server-{self.port}.log"
        log = open(self.log_path, "ab")  # noqa: SIM115 - lives as long as the process
        self._log_file = log
        cmd = [
            *self.command_prefix,
            PYTHON,
            "-m",
            "oortgate",
            "serve",
            "--data-dir",
            str(self.data_dir),
            "--host",
            self.listen_host,
            "--https-port",
            str(self.port),
            "--workers",
            str(self.workers),
            "--region",
            REGION,
            "--http-port",
            str(self.http_port),
            "--rate-limit",
            str(self.rate_limit),
            *self.extra_args,
        ]
        self.proc = subprocess.Popen(
            cmd,
            cwd=str(REPO_ROOT),
            env=self.env(),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.wait_ready(timeout)

    def log_text(self) -> str:
        if self.log_path and self.log_path.exists():
            return self.log_path.read_text(errors="replace")[-6000:]
        return ""

    def wait_ready(self, timeout: float = READY_TIMEOUT) -> None:
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        last_err: Exception | None = None
        while time.monotonic() < deadline:
            rc = self.proc.poll()
            if rc is not None:
                raise RuntimeError(
                    f"oortgate serve exited with status {rc} before becoming ready:\n"
                    + self.log_text()
                )
            if os.path.exists(self.cert):
                try:
                    requests.get(self.endpoint + "/", verify=self.cert, timeout=2)
                    return
                except requests.RequestException as exc:  # not up yet
                    last_err = exc
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(
            f"oortgate serve not ready after {timeout}s (last error: {last_err!r}):\n"
            + self.log_text()
        )

    def _signal_group(self, sig: int) -> None:
        assert self.proc is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, sig)

    def __enter__(self) -> ServerProcess:
        """``with ServerProcess(...) as srv:`` starts it and stops it at the end."""
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM the process group; SIGKILL it after ``timeout`` seconds."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self._signal_group(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self._signal_group(signal.SIGKILL)
                self.proc.wait(10)
        # workers may outlive the master: make sure the group is gone
        self._signal_group(signal.SIGKILL)
        self._close_log()

    def kill(self) -> None:
        """SIGKILL the whole process group at once (crash simulation)."""
        if self.proc is None:
            return
        self._signal_group(signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(10)
        self._wait_group_gone()
        self._close_log()

    def freeze(self, timeout: float = 10.0) -> None:
        """SIGSTOP the whole process group and wait until no task of it can run user code
        any more: each is stopped, or inside a system call (state D) that it can only
        leave into the stop. From then on the server sends nothing, as a machine whose
        power is off; a write or fsync already in the kernel still runs to its end."""
        assert self.proc is not None
        self._signal_group(signal.SIGSTOP)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(state in "TtDZX" for state in self._task_states()):
                return
            time.sleep(0.001)
        raise AssertionError(f"server not frozen after {timeout}s: {self._task_states()}")

    def _task_states(self) -> list[str]:
        """The scheduler state of every thread of every process in the server's group."""
        assert self.proc is not None
        states = []
        for stat in Path("/proc").glob("[0-9]*/task/[0-9]*/stat"):
            with contextlib.suppress(OSError):
                # pid (comm) state ppid pgrp ...: comm may hold spaces and parentheses
                fields = stat.read_text().rsplit(")", 1)[1].split()
                if int(fields[2]) == self.proc.pid:
                    states.append(fields[0])
        return states

    def _wait_group_gone(self, timeout: float = 10.0) -> None:
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                os.killpg(self.proc.pid, 0)
            except ProcessLookupError:
                return
            except PermissionError:
                return
            time.sleep(0.05)

    def _close_log(self) -> None:
        if self._log_file is not None:
            self._log_file.close()  # type: ignore[attr-defined]
            self._log_file = None

    # -- admin CLI -----------------------------------------------------------------
    def admin(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        cmd = [PYTHON, "-m", "oortgate", "admin", "--data-dir", str(self.data_dir), *args]
        res = subprocess.run(
            cmd,
            cwd=str(REPO_ROOT),
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=60,
        )
        if check and res.returncode != 0:
            raise RuntimeError(
                f"{' '.join(cmd)} failed ({res.returncode}):\n{res.stdout}\n{res.stderr}"
            )
        return res

    def admin_json(self, *args: str) -> object:
        out = self.admin(*args).stdout.strip()
        try:
            return json.loads(out)
        except json.JSONDecodeError:
            # tolerate log lines before the JSON document
            start = min(i for i in (out.find("{"), out.find("[")) if i >= 0)
            return json.loads(out[start:])

    def create_user(self, name: str) -> dict[str, str]:
        user = self.admin_json("user", "create", name)
        assert isinstance(user, dict), user
        return user

    def create_key(self, user: str) -> dict[str, object]:
        key = self.admin_json("key", "create", user)
        assert isinstance(key, dict), key
        return key
