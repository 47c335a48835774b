"""The pure parts of the access log and the metrics: line format, the access key a
request claims, the settings, and the cached usage collector."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

import pytest

from oortgate.access_log import AccessLog, claimed_access_key, clip, format_line, timestamp
from oortgate.config import ConfigError, load
from oortgate.meta.models import StorageUsage
from oortgate.metrics import UsageCollector, prepare_multiproc_dir

SIGV4 = (
    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20130524/us-east-1/s3/aws4_request, "
    "SignedHeaders=host;x-amz-date, Signature=fe5f80f77d5fa3beca038a248ff027d0445342fe"
)


@pytest.mark.parametrize(
    ("headers", "query", "expected"),
    [
        ({"authorization": SIGV4}, {}, "AKIDEXAMPLE"),
        ({"authorization": "AWS AKIDV2:frJIUN8DYpKDtOLCwo//yllqDzg="}, {}, "AKIDV2"),
        ({}, {"X-Amz-Credential": "AKIDQ/20130524/us-east-1/s3/aws4_request"}, "AKIDQ"),
        ({}, {"AWSAccessKeyId": "AKIDV2Q", "Signature": "abc"}, "AKIDV2Q"),
        ({}, {}, None),
        ({"authorization": "Bearer whatever"}, {}, None),
    ],
)
def test_the_claimed_access_key(headers: Any, query: Any, expected: str | None) -> None:
    assert claimed_access_key(headers, query) == expected


def test_a_line_is_one_json_object() -> None:
    line = format_line({"status": 200, "key": 'a "quoted"\nkey', "error_code": None})
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    assert json.loads(line) == {"status": 200, "key": 'a "quoted"\nkey', "error_code": None}


def test_timestamps() -> None:
    assert timestamp(1767225600.25) == "2026-01-01T00:00:00.250Z"
    assert timestamp(1767225600.999) == "2026-01-01T00:00:00.999Z"
    assert timestamp(1767225661.0) == "2026-01-01T00:01:01.000Z"


def test_client_chosen_fields_are_capped() -> None:
    assert clip("x" * 600) == "x" * 512
    assert clip(None) is None


def test_lines_are_appended(tmp_path: Path) -> None:
    path = tmp_path / "access.jsonl"
    path.write_text('{"earlier": true}\n')
    first, second = AccessLog(str(path)), AccessLog(str(path))  # two workers
    first.write({"n": 1})
    second.write({"n": 2})
    first.write({"n": 3})
    first.close()
    second.close()
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [line.get("n") for line in lines] == [None, 1, 2, 3]


def test_observability_settings() -> None:
    s = load({"metrics_port": 9100, "access_log": "-"}, None, {})
    assert (s.metrics_port, s.metrics_host, s.access_log) == (9100, "127.0.0.1", "-")
    assert load({}, None, {}).metrics_port == 0 and load({}, None, {}).access_log == ""
    with pytest.raises(ConfigError, match="metrics_port must be a TCP port"):
        load({"metrics_port": 70000}, None, {})
    with pytest.raises(ConfigError, match="must differ"):
        load({"metrics_port": 8443}, None, {})
    with pytest.raises(ConfigError, match="metrics_host cannot be empty"):
        load({"metrics_port": 9100, "metrics_host": ""}, None, {})


def test_usage_is_computed_once_per_ttl() -> None:
    calls: list[float] = []

    def usage(before: float) -> StorageUsage:
        calls.append(before)
        return StorageUsage(stored_bytes=10, objects=2, garbage_due=1, garbage_waiting=3)

    collector = UsageCollector(usage, grace=900.0)
    families = {f.name: f for f in collector.collect()}
    list(collector.collect())
    assert len(calls) == 1
    assert families["oortgate_stored_bytes"].samples[0].value == 10
    assert families["oortgate_objects"].samples[0].value == 2
    backlog = {s.labels["state"]: s.value for s in families["oortgate_gc_backlog_blobs"].samples}
    assert backlog == {"due": 1, "waiting": 3}


def test_the_multiprocess_directory_starts_empty(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    (tmp_path / "metrics").mkdir()
    (tmp_path / "metrics" / "counter_123.db").write_bytes(b"old run")
    directory = prepare_multiproc_dir(tmp_path)
    assert list(directory.iterdir()) == []
    assert os.environ["PROMETHEUS_MULTIPROC_DIR"] == str(directory)


def test_lines_are_buffered_briefly_in_a_worker(tmp_path: Path) -> None:
    path = tmp_path / "access.jsonl"

    async def serve_two_requests() -> list[str]:
        log = AccessLog(str(path))
        log.write({"n": 1})
        log.write({"n": 2})
        seen = [path.read_text()]
        await asyncio.sleep(AccessLog.FLUSH_SECONDS + 0.2)
        seen.append(path.read_text())
        log.write({"n": 3})
        log.close()  # flushes what is left
        seen.append(path.read_text())
        return seen

    before, after, closed = asyncio.run(serve_two_requests())
    assert before == ""
    assert [json.loads(line)["n"] for line in after.splitlines()] == [1, 2]
    assert [json.loads(line)["n"] for line in closed.splitlines()] == [1, 2, 3]


def test_a_full_buffer_is_written_at_once(tmp_path: Path) -> None:
    path = tmp_path / "access.jsonl"

    async def fill() -> int:
        log = AccessLog(str(path))
        while path.stat().st_size == 0:
            log.write({"pad": "x" * 1000})
        size = path.stat().st_size
        log.close()
        return size

    assert asyncio.run(fill()) >= AccessLog.FLUSH_BYTES
