"""Small assertion helpers shared by protocol tests."""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from ._server import PYTHON, REPO_ROOT, ServerProcess


@contextlib.contextmanager
def s3_error(code: str, status: int | None = None) -> Iterator[pytest.ExceptionInfo[ClientError]]:
    """Expect a botocore ClientError with this S3 error code (and HTTP status)."""
    with pytest.raises(ClientError) as ei:
        yield ei
    resp = ei.value.response
    got_code = resp.get("Error", {}).get("Code")
    got_status = resp.get("ResponseMetadata", {}).get("HTTPStatusCode")
    assert got_code == code, f"expected {code} ({status}), got {got_code} ({got_status}): {resp}"
    if status is not None:
        assert got_status == status, f"expected HTTP {status} for {code}, got {got_status}: {resp}"


def status_of(exc: ClientError) -> int:
    return int(exc.response["ResponseMetadata"]["HTTPStatusCode"])


def body_of(resp: dict[str, Any]) -> bytes:
    return bytes(resp["Body"].read())


def rand(n: int, seed: int | None = None) -> bytes:
    if seed is None:
        return os.urandom(n)
    import random

    return random.Random(seed).randbytes(n)


def etag(data: bytes) -> str:
    import hashlib

    return '"' + hashlib.md5(data).hexdigest() + '"'


# Keys that broke well-known S3 servers: each must round-trip through every operation.
TRICKY_KEYS = [
    "with space.txt",
    "plus+sign.txt",
    "equals=sign=x",
    "percent%20literal%2Fx",
    "braces{and}brackets[1]",
    "unicodé/日本語/ключ-😀.bin",
    "../../etc/passwd",
    "dir/../up/./dot",
    "a&b<c>'quote\"",
    "semi;colon,comma:colon@at$dollar!bang",
    "question?mark#hash",
    "tilde~caret^backtick`pipe|",
    "  leading and trailing spaces  ",
    "double//slash/",
]


BLOB_NAME = re.compile(r"[0-9a-f]{32}z?")


def blob_files(data_dir: Path) -> list[Path]:
    """The committed blob files of a server's data directory."""
    root = data_dir / "blobs"
    if not root.exists():
        return []
    return [p for p in root.glob("*/*/*") if p.is_file() and BLOB_NAME.fullmatch(p.name)]


def local_blobs_only(server: Any) -> None:
    """Skip a test about blob files when the session server keeps its blobs elsewhere
    (OORTGATE_TEST_BACKENDS=rados: tests/protocol/test_rados_backend.py covers them)."""
    if "--blob-url" in server.extra_args:
        pytest.skip("about the data directory's blob files; this server's are in RADOS")


def stats(where: ServerProcess | Path, *args: str) -> dict[str, Any]:
    """`oortgate admin stats --json` on a server's stores (read-only, from outside the
    server process): a ServerProcess's (its metadata_url too), or a data directory's."""
    data_dir = where.data_dir if isinstance(where, ServerProcess) else where
    env = where.env() if isinstance(where, ServerProcess) else None
    res = subprocess.run(
        [PYTHON, "-m", "oortgate", "admin", "--data-dir", str(data_dir), "stats", "--json", *args],
        cwd=str(REPO_ROOT), capture_output=True, text=True, timeout=60, check=False, env=env,
    )  # fmt: skip
    assert res.returncode == 0, f"admin stats failed ({res.returncode}): {res.stderr}"
    result: dict[str, Any] = json.loads(res.stdout)
    return result


def inline_blob_count(where: ServerProcess | Path) -> int:
    """Small objects' bytes kept in the metadata store (rows: copies share one)."""
    return int(stats(where)["inline"]["blobs"])


def stored_blob_count(where: ServerProcess | Path) -> int:
    """Every blob a server keeps: files plus inline rows."""
    counts = stats(where)
    return int(counts["blobs"]["files"]) + int(counts["inline"]["blobs"])


def all_files(path: Path) -> list[Path]:
    return [p for p in path.rglob("*") if p.is_file()] if path.exists() else []


def at_once(*calls: Callable[[], Any],
            catching: type[BaseException] = ClientError) -> list[Any]:  # fmt: skip
    """Run each call from its own thread, released together: their results (or the
    ``catching`` exception each raised), in order."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = calls[i]()
        except catching as exc:  # reported to the test
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return results


def wait_until(condition: Callable[[], bool], timeout: float = 60.0, poll: float = 0.2) -> bool:
    """Whether ``condition`` came to hold within ``timeout`` (a deadline that only catches
    a hang: tests wait for events, not for a guess at how long they take)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(poll)
    return True


def wait_for(what: str, condition: Callable[[], bool], timeout: float = 60.0,
             poll: float = 0.2) -> None:  # fmt: skip
    """``wait_until``, failing the test with ``what`` past the deadline."""
    if not wait_until(condition, timeout, poll):
        raise AssertionError(f"never happened: {what}")


def orphan_blob(shared: Path, age: float, blob_id: str | None = None) -> Path:
    """A blob file in a (shared) blob directory that no metadata store names, ``age``
    seconds old."""
    blob_id = blob_id or secrets.token_hex(16)
    path = shared / "blobs" / blob_id[:2] / blob_id[2:4] / blob_id
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"nobody's")
    then = time.time() - age
    os.utime(path, (then, then))
    return path
