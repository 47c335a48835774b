"""An operator's mistake at start is one line that names the setting and the cause, and
exit status 2: never a traceback, never a server that half starts."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
import requests

from ._server import PYTHON, REGION, REPO_ROOT, ServerProcess, free_port


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


def test_a_second_server_on_the_same_data_dir(tmp_path: Path) -> None:
    """Its start-up sweep would take the first server's in-flight writes for a crash's
    leftovers: the directory belongs to the server that holds it."""
    with ServerProcess(tmp_path / "data") as first:
        res = _serve("--data-dir", str(first.data_dir), "--https-port", str(free_port()))
        _one_line_error(res, "data_dir", "in use by another oortgate serve")
        assert requests.get(f"{first.endpoint}/_health/ready", verify=first.cert).ok


def _crashed_writer(data_dir: Path) -> None:
    """A writer that registers a session, marks a blob pending, starts its temp file and
    dies without cleaning up (as a SIGKILLed worker would)."""
    script = (
        "import os, socket, sys\n"
        "from pathlib import Path\n"
        "from oortgate import stores\n"
        "meta, blobs = stores.open_meta(Path(sys.argv[1])), stores.open_blobs(Path(sys.argv[1]))\n"
        "blobs.use_session(meta.open_session(socket.gethostname(), os.getpid()))\n"
        "blob_id = blobs.new_blob_id()\n"
        "meta.add_pending_blob(blob_id)\n"
        "blobs.open_writer(blob_id).write(b'half a body')\n"
        "os._exit(0)\n"
    )
    subprocess.run([PYTHON, "-c", script, str(data_dir)], cwd=str(REPO_ROOT), check=True,
                   env=_clean_env(), timeout=60)  # fmt: skip


def test_gc_while_serving_leaves_an_upload_under_way_alone(tmp_path: Path) -> None:
    with ServerProcess(tmp_path / "data", extra_args=["--inline-max-size", "0"]) as srv:
        client = boto3.client(
            "s3", endpoint_url=srv.endpoint, region_name=REGION, verify=srv.cert,
            aws_access_key_id=srv.root_access_key,
            aws_secret_access_key=srv.root_secret_key,
        )  # fmt: skip
        client.create_bucket(Bucket="gc-test")
        url = client.generate_presigned_url(
            "put_object", Params={"Bucket": "gc-test", "Key": "slow"}, ExpiresIn=300
        )
        data = os.urandom(4 * 1024 * 1024)
        result: dict[str, requests.Response] = {}

        def slowly() -> Iterator[bytes]:
            for start in range(0, len(data), 256 * 1024):
                yield data[start : start + 256 * 1024]
                time.sleep(0.1)

        upload = threading.Thread(
            target=lambda: result.update(put=requests.put(url, data=slowly(), verify=srv.cert))
        )
        upload.start()
        _crashed_writer(srv.data_dir)
        time.sleep(0.5)  # under way: its blob is pending, its temp file open
        gc_run = subprocess.run(
            [PYTHON, "-m", "oortgate", "gc", "--data-dir", str(srv.data_dir)],
            cwd=str(REPO_ROOT), env=_clean_env(), capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        upload.join(60)
        assert gc_run.returncode == 0, gc_run.stderr
        counts = json.loads(gc_run.stdout)
        # No crash sweep under a server (no orphan walk), but the dead writer's session
        # is reaped: its pending blob and temp file; the server's live one is left alone.
        assert "orphans" not in counts and "garbage" in counts
        assert (counts["sessions"], counts["pending"], counts["temp"]) == (1, 1, 1)
        assert result["put"].status_code == 200, result["put"].text
        assert client.get_object(Bucket="gc-test", Key="slow")["Body"].read() == data
