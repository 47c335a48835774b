"""Prometheus metrics (--metrics-port) and the JSON Lines access log (--access-log).

A server with two worker processes: requests go over fresh connections, so both workers
serve some (the access log's request ids show which), and the counters scraped from
/metrics must add both up. A second server with a tiny rate limit answers SlowDown.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ClientError
from prometheus_client.parser import text_string_to_metric_families

from ._server import PYTHON, REGION, REPO_ROOT, ServerProcess, free_port

SIZES = [1000, 70_000, 5]  # inline and file-backed objects
GETS = 8
WRONG_SECRET = "wrong-secret-" + "x" * 27


def _client(srv: ServerProcess, secret: str | None = None, **config: Any) -> Any:
    """A new session: its connections are new, so the kernel spreads them over workers."""
    return boto3.session.Session().client(
        "s3", endpoint_url=srv.endpoint, region_name=REGION, verify=srv.cert,
        aws_access_key_id=srv.root_access_key,
        aws_secret_access_key=secret or srv.root_secret_key,
        config=Config(s3={"addressing_style": "path"}, **config),
    )  # fmt: skip


def scrape(port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: dict[Any, float], name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def eventually(check: Callable[[], bool], timeout: float = 30.0) -> None:
    """A worker records a request just after its last byte went out; on a loaded machine a
    flush may come seconds late, so the deadline is only there to stop a hang."""
    deadline = time.monotonic() + timeout
    while not check() and time.monotonic() < deadline:
        time.sleep(0.1)


@dataclass
class Observed:
    srv: ServerProcess
    metrics_port: int
    log_path: Path


@pytest.fixture(scope="module")
def observed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Observed]:
    base = tmp_path_factory.mktemp("observe")
    port, log_path = free_port(), base / "access.jsonl"
    args = ["--metrics-port", str(port), "--access-log", str(log_path)]
    with ServerProcess(base / "data", workers=2, extra_args=args) as srv:
        bucket = "observed"
        _client(srv).create_bucket(Bucket=bucket)
        for n, size in enumerate(SIZES):
            _client(srv).put_object(Bucket=bucket, Key=f"obj-{n}", Body=b"a" * size)
        for n in range(GETS):
            _client(srv).get_object(Bucket=bucket, Key=f"obj-{n % len(SIZES)}")["Body"].read()
        with pytest.raises(ClientError):
            _client(srv).get_object(Bucket=bucket, Key="missing")
        with pytest.raises(ClientError):
            _client(srv, WRONG_SECRET, retries={"max_attempts": 0}).list_objects_v2(Bucket=bucket)
        yield Observed(srv, port, log_path)


def test_requests_are_counted_by_operation_and_status_across_workers(observed: Observed) -> None:
    def counted() -> dict[Any, float]:
        return scrape(observed.metrics_port)

    eventually(lambda: value(counted(), "oortgate_requests_total", operation="ListObjectsV2",
                             status="403") == 1)  # fmt: skip
    samples = counted()
    assert value(samples, "oortgate_requests_total", operation="PutObject", status="200") == 3
    assert value(samples, "oortgate_requests_total", operation="GetObject", status="200") == GETS
    assert value(samples, "oortgate_requests_total", operation="GetObject", status="404") == 1
    assert value(samples, "oortgate_refused_requests_total", code="SignatureDoesNotMatch") == 1
    assert value(samples, "oortgate_request_duration_seconds_count", operation="GetObject") == 9
    assert value(samples, "oortgate_received_bytes_total", operation="PutObject") >= sum(SIZES)
    sent = sum(SIZES[n % len(SIZES)] for n in range(GETS))
    assert value(samples, "oortgate_sent_bytes_total", operation="GetObject") >= sent
    assert value(samples, "oortgate_requests_in_flight") == 0
    assert value(samples, "oortgate_throttled_requests_total") == 0
    # Both workers served requests (the request id's prefix names the worker process).
    def workers() -> set[str]:
        return {line["request_id"][:6] for line in _lines(observed.log_path)}

    eventually(lambda: len(workers()) == 2)
    assert len(workers()) == 2


def test_storage_metrics_match_what_is_stored(observed: Observed) -> None:
    samples = scrape(observed.metrics_port)
    assert value(samples, "oortgate_objects") == len(SIZES)
    assert value(samples, "oortgate_stored_bytes") == sum(SIZES)
    assert value(samples, "oortgate_gc_backlog_blobs", state="due") == 0


def test_only_the_metrics_path_is_served(observed: Observed) -> None:
    answer = requests.get(f"http://127.0.0.1:{observed.metrics_port}/other", timeout=10)
    assert answer.status_code == 404


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_access_log_lines(observed: Observed) -> None:
    # Each worker flushes its own lines, so the last request's line may come before an
    # earlier one the other worker served: wait for every line the checks below read.
    def all_written() -> bool:
        seen = [(e["operation"], e["status"]) for e in _lines(observed.log_path)]
        counts = (seen.count(("PutObject", 200)), seen.count(("GetObject", 200)))
        refused = {("GetObject", 404), ("ListObjectsV2", 403)}
        return counts == (len(SIZES), GETS) and refused <= set(seen)

    eventually(all_written)
    lines = _lines(observed.log_path)
    by_op = {(e["operation"], e["status"]): e for e in lines}
    put = by_op[("PutObject", 200)]
    assert put["access_key"] == observed.srv.root_access_key
    assert (put["bucket"], put["error_code"]) == ("observed", None)
    # The body as received: boto3's aws-chunked framing included.
    assert put["bytes_in"] >= SIZES[int(put["key"].removeprefix("obj-"))]
    get = next(e for e in lines if e["operation"] == "GetObject" and e["key"] == "obj-1")
    assert get["status"] == 200 and get["bytes_out"] == SIZES[1]
    assert get["user_agent"].startswith("Boto3/")
    missing = by_op[("GetObject", 404)]
    assert (missing["key"], missing["error_code"]) == ("missing", "NoSuchKey")
    refused = by_op[("ListObjectsV2", 403)]
    assert refused["error_code"] == "SignatureDoesNotMatch"
    assert refused["access_key"] == observed.srv.root_access_key
    for entry in lines:
        assert entry["remote"] == "127.0.0.1" and len(entry["request_id"]) == 16
        assert entry["duration_ms"] >= 0 and entry["user_agent"]
        assert entry["time"].endswith("Z")
    text = observed.log_path.read_text()
    assert observed.srv.root_secret_key not in text and WRONG_SECRET not in text


def test_slowdown_is_counted(tmp_path: Path) -> None:
    port = free_port()
    args = ["--metrics-port", str(port), "--rate-burst", "1"]
    with ServerProcess(tmp_path / "data", rate_limit=0.5, extra_args=args) as srv:
        client = _client(srv, retries={"max_attempts": 0})
        throttled = 0
        for _ in range(4):
            try:
                client.list_buckets()
            except ClientError as exc:
                assert exc.response["Error"]["Code"] == "SlowDown"
                throttled += 1
        assert throttled >= 2
        eventually(lambda: value(scrape(port), "oortgate_throttled_requests_total") == throttled)
        samples = scrape(port)
        assert value(samples, "oortgate_throttled_requests_total") == throttled
        assert value(samples, "oortgate_requests_total", operation="ListBuckets",
                     status="503") == throttled  # fmt: skip


def _serve(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OORTGATE_")}
    return subprocess.run(
        [PYTHON, "-m", "oortgate", "serve", "--http-port", "0", "--https-port",
         str(free_port()), *args],
        cwd=str(REPO_ROOT), env=env, capture_output=True, text=True, timeout=30,
    )  # fmt: skip


def test_a_metrics_port_in_use_is_one_line(tmp_path: Path) -> None:
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        res = _serve("--data-dir", str(tmp_path / "d"), "--metrics-port", str(port))
    assert res.returncode == 2 and "Traceback" not in res.stderr, res.stderr
    assert res.stderr.strip() == f"oortgate: metrics_port {port}: already in use on 127.0.0.1 " \
        "by another process"


def test_an_access_log_that_cannot_be_opened_is_one_line(tmp_path: Path) -> None:
    target = tmp_path / "no-such-dir" / "access.jsonl"
    res = _serve("--data-dir", str(tmp_path / "d"), "--access-log", str(target))
    assert res.returncode == 2 and "Traceback" not in res.stderr, res.stderr
    assert res.stderr.strip() == f"oortgate: access_log {target}: cannot be opened for " \
        "appending (No such file or directory)"
