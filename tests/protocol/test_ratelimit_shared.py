"""The rate limit shared by gateways through Redis (``--rate-limit-url``), over real
sockets: boto3 (retries off) past the rate gets 503 SlowDown; two gateways on one Redis
hold one key to one budget; with Redis gone, the ``closed`` fallback answers 503
ServiceUnavailable, readiness says "degraded" (still 200) and a counter counts; Redis
unreachable at start is one line naming the setting, exit 2.
"""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import redis
import requests
from botocore.config import Config
from botocore.exceptions import ClientError

from oortgate.ratelimit_redis import KEY_PREFIX, STARTUP_TIMEOUT
from tests.redis_service import PrivateRedis, private_redis, unique_db_url

from ._server import PYTHON, REGION, REPO_ROOT, ServerProcess, free_port
from .test_observability import scrape, value
from .test_ratelimit import Tally, _assert_slowdowns, _flood, _join

RATE, BURST = 50.0, 10
NO_RETRIES = Config(s3={"addressing_style": "path"}, retries={"total_max_attempts": 1})


def _gateway(data_dir: Path, url: str, *extra: str, **kw: Any) -> ServerProcess:
    return ServerProcess(
        data_dir=data_dir, rate_limit=RATE,
        extra_args=["--rate-burst", str(BURST), "--rate-limit-url", url, *extra], **kw,
    )  # fmt: skip


def _client(srv: ServerProcess) -> Any:
    return boto3.session.Session().client(
        "s3", endpoint_url=srv.endpoint, region_name=REGION, verify=srv.cert,
        aws_access_key_id=srv.root_access_key, aws_secret_access_key=srv.root_secret_key,
        config=NO_RETRIES,
    )  # fmt: skip


def _statuses(client: Any, bucket: str, n: int) -> list[tuple[int, str, str | None]]:
    out: list[tuple[int, str, str | None]] = []
    for _ in range(n):
        try:
            client.get_object(Bucket=bucket, Key="o")["Body"].read()
            out.append((200, "", None))
        except ClientError as err:
            meta = err.response["ResponseMetadata"]
            code = err.response["Error"].get("Code", "")
            out.append((meta["HTTPStatusCode"], code, meta["HTTPHeaders"].get("retry-after")))
    return out


def _setup_bucket(client: Any, bucket: str) -> None:
    """Made with retries of our own: the setup may itself meet the limit."""
    for attempt in range(50):
        try:
            client.create_bucket(Bucket=bucket)
            client.put_object(Bucket=bucket, Key="o", Body=b"tiny")
            return
        except ClientError as err:
            if err.response["ResponseMetadata"]["HTTPStatusCode"] != 503 or attempt == 49:
                raise
            time.sleep(0.1)


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    """Two gateways (own data directories, the same root key) on one Redis database."""
    url = unique_db_url()
    first = _gateway(tmp_path / "a", url, "--metrics-port", str(free_port()))
    second = _gateway(tmp_path / "b", url, "--metrics-port", str(free_port()),
                      root_access_key=first.root_access_key,
                      root_secret_key=first.root_secret_key)  # fmt: skip
    first.start()
    try:
        second.start()
        try:
            yield first, second
        finally:
            second.stop()
    finally:
        first.stop()


def test_boto3_past_the_rate_gets_slowdown_and_the_budget_is_in_redis(tmp_path: Path) -> None:
    """At 2 requests/s (burst 2), so that even a client slowed down by a busy machine
    goes past the rate."""
    url = unique_db_url()
    args = ["--rate-burst", "2", "--rate-limit-url", url]
    with ServerProcess(data_dir=tmp_path / "d", rate_limit=2, extra_args=args) as srv:
        client = _client(srv)
        _setup_bucket(client, "shared-one")
        time.sleep(1.1)  # the key's burst back
        started = time.monotonic()
        answers = _statuses(client, "shared-one", 12)
        elapsed = time.monotonic() - started
    admitted = sum(status == 200 for status, _, _ in answers)
    refused = [a for a in answers if a[0] != 200]
    assert refused, answers
    assert {(status, code) for status, code, _ in refused} == {(503, "SlowDown")}, refused
    assert all(after is not None and int(after) >= 1 for _, _, after in refused), refused
    assert admitted <= 2 + 2 * elapsed * 1.1 + 1, (admitted, elapsed)
    assert redis.Redis.from_url(url).exists(f"{KEY_PREFIX}key:{srv.root_access_key}")


def test_two_gateways_hold_one_key_to_one_budget(
    pair: tuple[ServerProcess, ServerProcess],
) -> None:
    """The key floods both gateways at once (3 x the rate in all, for 3 s): together
    they admit the rate plus one burst, within 10 % (two in-host limiters: twice that).
    A Redis call past 50 ms (a busy machine's event loop can take that long) hands the
    decision to the local fallback for a second, at whose end Redis's bucket has refilled
    by up to a burst: one burst more is allowed per such failure, which the gateways count."""
    urls = []
    for srv in pair:
        client = _client(srv)
        _setup_bucket(client, "shared-two")
        urls.append(client.generate_presigned_url(
            "get_object", Params={"Bucket": "shared-two", "Key": "o"}, ExpiresIn=600))  # fmt: skip
    time.sleep(BURST / RATE + 0.1)
    tally, go = Tally(), threading.Event()
    threads = []
    for srv, url in zip(pair, urls, strict=True):
        threads += _flood(srv, url, tally, duration=3.0, threads=3, offered=75, go=go)
    time.sleep(0.3)  # connections open
    go.set()
    _join(threads)
    print(tally.summary())
    assert tally.sent / tally.elapsed > 1.5 * RATE, tally.summary()
    assert {o.status for o in tally.outcomes} <= {200, 503}, tally.summary()
    _assert_slowdowns(tally)
    assert 0.9 * RATE * tally.elapsed <= tally.admitted, tally.summary()
    failures = sum(value(scrape(_metrics_port(srv)), "oortgate_rate_limit_redis_failures_total")
                   for srv in pair)  # fmt: skip
    print(f"Redis failures: {failures:.0f}")
    assert failures < 3, "Redis too slow here for the test to say anything: " + tally.summary()
    upper = BURST * (1 + failures) + 1.1 * RATE * tally.elapsed + 2
    assert tally.admitted <= upper, f"{failures} failures: " + tally.summary()


def _metrics_port(srv: ServerProcess) -> int:
    return int(srv.extra_args[srv.extra_args.index("--metrics-port") + 1])


@pytest.fixture
def private(tmp_path: Path) -> Iterator[PrivateRedis]:
    with private_redis() as server:
        yield server


def test_redis_gone_closed_fallback_degraded_readiness_and_counter(
    private: PrivateRedis, tmp_path: Path
) -> None:
    metrics = free_port()
    with _gateway(tmp_path / "d", private.url, "--rate-limit-fallback", "closed",
                  "--metrics-port", str(metrics)) as srv:  # fmt: skip
        client = _client(srv)
        _setup_bucket(client, "fallback")
        _eventually_ready(srv)  # (a call past 50 ms on a busy machine degrades it a second)
        private.stop()
        try:
            answers = _statuses(client, "fallback", 5)
            assert [a[:2] for a in answers] == [(503, "ServiceUnavailable")] * 5, answers
            assert all(after == "1" for _, _, after in answers), answers
            time.sleep(1.1)  # the readiness check's cache
            ready = requests.get(srv.endpoint + "/_health/ready", verify=srv.cert, timeout=10)
            assert ready.status_code == 200  # degraded, not out of the load balancer
            assert ready.text.startswith("degraded: rate limit store (Redis) unusable")
            assert "fallback closed" in ready.text
            refused = value(scrape(metrics), "oortgate_rate_limit_fallback_decisions_total",
                            fallback="closed", decision="refused")  # fmt: skip
            assert refused >= 5
            lines = [line for line in srv.log_text().splitlines()
                     if f"rate limit: Redis at 127.0.0.1:{private.port} unusable" in line]
            assert len(lines) == 1, srv.log_text()  # one line per 10 s at most
        finally:
            private.start()
        time.sleep(1.1)  # the breaker lets a request try Redis again
        deadline = time.monotonic() + 5
        while _statuses(client, "fallback", 1)[0][0] != 200:
            assert time.monotonic() < deadline, "not served again after Redis came back"
            time.sleep(0.2)
        _eventually_ready(srv)


def _eventually_ready(srv: ServerProcess) -> None:
    deadline = time.monotonic() + 5
    while True:
        ready = requests.get(srv.endpoint + "/_health/ready", verify=srv.cert, timeout=10)
        assert ready.status_code == 200
        if ready.text == "ready\n":
            return
        assert time.monotonic() < deadline, ready.text
        time.sleep(0.2)


def test_redis_unreachable_at_start_is_one_line_naming_the_setting(tmp_path: Path) -> None:
    dead = free_port()  # nothing listens there
    started = time.monotonic()
    res = subprocess.run(
        [PYTHON, "-m", "oortgate", "serve", "--data-dir", str(tmp_path / "d"), "--http-port",
         "0", "--https-port", str(free_port()), "--rate-limit-url",
         f"redis://:hunter2@127.0.0.1:{dead}/0"],
        cwd=str(REPO_ROOT), capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    elapsed = time.monotonic() - started
    assert res.returncode == 2, res.stderr
    lines = [line for line in res.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in res.stderr, res.stderr
    assert lines[0].startswith(f"oortgate: rate_limit_url: Redis at 127.0.0.1:{dead} unusable")
    assert "hunter2" not in res.stderr
    assert elapsed < STARTUP_TIMEOUT + 10, elapsed
