"""Upload large bodies with ``curl`` (when installed): one process per stream.

A Python client encrypting a 64 MiB body over TLS tops out near the server's own rate,
so for large PUTs it would measure itself; curl (OpenSSL in C) does not.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .context import Measured


def available() -> bool:
    return shutil.which("curl") is not None


def _exe() -> str:
    exe = shutil.which("curl")
    if exe is None:
        raise RuntimeError("curl is not installed")
    return exe


def _base(exe: str, cafile: str | None) -> list[str]:
    return [exe, "-s", "-S", "--fail", *(["--cacert", cafile] if cafile else [])]


def _put(exe: str, url: str, path: Path, cafile: str | None) -> tuple[bool, float]:
    # -T streams the file; "Expect:" skips the 100-continue round trip.
    cmd = [*_base(exe, cafile), "-o", "/dev/null", "-w", "%{http_code}", "-T", str(path),
           "-H", "Expect:", url]  # fmt: skip
    start = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    return done.returncode == 0 and done.stdout.strip() == "200", time.perf_counter() - start


def put(
    urls: list[str], body: bytes, streams: int, cafile: str | None
) -> tuple[Measured, list[bool]]:
    """PUT ``body`` to each presigned URL, ``streams`` at a time; which succeeded."""
    exe = _exe()
    with tempfile.TemporaryDirectory(prefix="bench-curl-") as d:
        path = Path(d) / "body.bin"
        path.write_bytes(body)
        start = time.perf_counter()
        with ThreadPoolExecutor(streams) as pool:
            outcomes = list(pool.map(lambda u: _put(exe, u, path, cafile), urls))
        elapsed = time.perf_counter() - start
    ok = [latency for good, latency in outcomes if good]
    m = Measured(len(ok), elapsed, len(ok) * len(body), ok, len(outcomes) - len(ok))
    m.extra["client"] = "curl"
    return m, [good for good, _ in outcomes]


def put_zeros(url: str, nbytes: int, cafile: str | None) -> float:
    """Stream ``nbytes`` zero bytes to a presigned PUT URL from a pipe (so chunked, no
    Content-Length); returns the seconds taken. Raises on failure."""
    exe = _exe()
    start = time.perf_counter()
    with subprocess.Popen(["head", "-c", str(nbytes), "/dev/zero"],
                          stdout=subprocess.PIPE) as source:  # fmt: skip
        done = subprocess.run([*_base(exe, cafile), "-o", "/dev/null", "-T", "-",
                               "-H", "Expect:", url], stdin=source.stdout,
                              capture_output=True, text=True, timeout=3600)  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"curl PUT failed ({done.returncode}): {done.stderr[-300:]}")
    return time.perf_counter() - start


def get_size(url: str, cafile: str | None) -> tuple[int, float]:
    """GET a presigned URL into /dev/null: (bytes received, seconds)."""
    exe = _exe()
    start = time.perf_counter()
    done = subprocess.run([*_base(exe, cafile), "-o", "/dev/null", "-w", "%{size_download}",
                           url], capture_output=True, text=True, timeout=3600)  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"curl GET failed ({done.returncode}): {done.stderr[-300:]}")
    return int(done.stdout.strip() or 0), time.perf_counter() - start
