"""An operator's mistake at start is one line that names the setting and the cause, and
exit status 2: never a traceback, never a server that half starts."""

from __future__ import annotations

import os
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from ._server import PYTHON, REPO_ROOT, ServerProcess, free_port


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("OORTGATE_")}


def _serve(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PYTHON, "-m", "oortgate", "serve", "--http-port", "0", *args],
        cwd=str(REPO_ROOT),
        env=env if env is not None else _clean_env(),
        capture_output=True,
        text=True,
        timeout=30,
    )


def _one_line_error(res: subprocess.CompletedProcess[str], *words: str) -> None:
    assert res.returncode == 2, (res.returncode, res.stderr)
    assert "Traceback" not in res.stderr, res.stderr
    lines = [line for line in res.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, res.stderr
    for word in words:
        assert word in lines[0], res.stderr
    assert "serving" not in res.stderr


def test_a_port_in_use_by_another_process(tmp_path: Path) -> None:
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        res = _serve("--data-dir", str(tmp_path / "d"), "--https-port", str(port))
    _one_line_error(res, "https_port", str(port), "already in use")


def test_a_second_server_on_a_port_in_use(tmp_path: Path) -> None:
    """granian listens with SO_REUSEPORT: without the check a second server would start
    on the same port and the kernel would split connections between the two."""
    with ServerProcess(tmp_path / "first") as first:
        res = _serve("--data-dir", str(tmp_path / "second"), "--https-port", str(first.port))
    _one_line_error(res, "https_port", str(first.port), "already in use")


def test_http_port_in_use(tmp_path: Path) -> None:
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        res = _serve("--data-dir", str(tmp_path / "d"), "--https-port", str(free_port()),
                     "--http-port", str(port))  # fmt: skip
    _one_line_error(res, "http_port", str(port), "already in use")


@pytest.mark.parametrize("host", ["no-such-host.invalid", "192.0.2.77"])
def test_a_bad_host(tmp_path: Path, host: str) -> None:
    res = _serve("--data-dir", str(tmp_path / "d"), "--https-port", str(free_port()),
                 "--host", host)  # fmt: skip
    _one_line_error(res, "host", host)


def test_a_data_dir_that_is_a_file(tmp_path: Path) -> None:
    path = tmp_path / "a-file"
    path.write_text("x")
    res = _serve("--data-dir", str(path), "--https-port", str(free_port()))
    _one_line_error(res, "data_dir", str(path), "not writable")


@pytest.fixture
def read_only_dir(tmp_path: Path) -> Iterator[Path]:
    mount_point = tmp_path / "ro"
    mount_point.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(mount_point)],
        capture_output=True,
    )
    if done.returncode != 0:  # a platform condition: mounting needs root
        pytest.skip(f"cannot mount a read-only tmpfs here: {done.stderr!r}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", str(mount_point)], check=False)


def test_a_read_only_data_dir(read_only_dir: Path) -> None:
    res = _serve("--data-dir", str(read_only_dir), "--https-port", str(free_port()))
    _one_line_error(res, "data_dir", "Read-only file system")


def test_a_damaged_metadata_database(tmp_path: Path) -> None:
    data_dir = tmp_path / "d"
    data_dir.mkdir()
    (data_dir / "meta.sqlite3").write_bytes(b"this is not an SQLite database" * 100)
    res = _serve("--data-dir", str(data_dir), "--https-port", str(free_port()))
    _one_line_error(res, "metadata database", "meta.sqlite3", "backup")


def test_a_garbage_certificate(tmp_path: Path) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert.write_text("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n")
    key.write_text("garbage")
    res = _serve("--data-dir", str(tmp_path / "d"), "--https-port", str(free_port()),
                 "--tls-cert", str(cert), "--tls-key", str(key))  # fmt: skip
    _one_line_error(res, "tls_cert", str(cert), "configuration error")
    check = subprocess.run(
        [PYTHON, "-m", "oortgate", "config", "check", "--tls-cert", str(cert),
         "--tls-key", str(key)],
        cwd=str(REPO_ROOT), env=_clean_env(), capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    _one_line_error(check, "tls_cert", "not a readable PEM certificate")


def test_a_misspelt_variable(tmp_path: Path) -> None:
    env = {**_clean_env(), "OORTGATE_RATE_LIMT": "5"}
    res = _serve("--data-dir", str(tmp_path / "d"), "--https-port", str(free_port()), env=env)
    _one_line_error(res, "OORTGATE_RATE_LIMT", "unknown environment variable")
