"""Redis stopped and resumed under load, for each ``rate_limit_fallback``: a gateway with
a shared rate limit (a private redis-server) flooded with one key at twice its rate,
before, during and after the outage. Meanwhile ``local`` holds the key to its rate with
this host's limiter (SlowDown past it), ``open`` admits everything and ``closed``
answers 503 ServiceUnavailable with Retry-After 1; never a 500 or a hang; readiness
stays 200 ("degraded"); each decision is counted. Once Redis is back its budget decides
again, without a restart."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
import redis
import requests
from botocore.config import Config

from tests.protocol._server import REGION, ServerProcess, free_port
from tests.protocol.test_observability import scrape, value
from tests.protocol.test_ratelimit import Tally, _assert_slowdowns, _flood, _join
from tests.redis_service import PrivateRedis, private_redis

RATE, BURST = 50.0, 10
FLOOD = 2.5  # seconds per phase, at twice the rate
BREAKER = 1.0  # seconds Redis is not asked after a failure


@pytest.fixture
def private() -> Iterator[PrivateRedis]:
    with private_redis() as server:
        yield server


def _flooded(srv: ServerProcess, url: str) -> Tally:
    time.sleep(BURST / RATE + 0.1)  # the burst back
    tally, go = Tally(), threading.Event()
    threads = _flood(srv, url, tally, duration=FLOOD, threads=2, offered=2 * RATE, go=go)
    time.sleep(0.2)
    go.set()
    _join(threads)
    print(tally.summary())
    assert {o.status for o in tally.outcomes} <= {200, 503}, tally.summary()  # never a 500
    assert tally.sent / tally.elapsed > 1.5 * RATE, "the client could not offer the load"
    return tally


def _held_to_the_rate(tally: Tally, failures: float, fallback: str) -> None:
    """Admitted at the rate within 10 % (plus a burst), the rest refused with SlowDown.
    A Redis call past its 50 ms (this busy machine's event loop can take that long)
    leaves the decisions of the next second to the fallback, as it should: ``local``
    may admit a burst more, ``open`` everything offered meanwhile, and ``closed`` refuses
    that second with ServiceUnavailable. The gateway counts such failures; they are
    allowed for."""
    extra, closed_for = BURST * failures, 0.0
    if fallback == "open":
        extra = 2 * RATE * BREAKER * failures
    elif fallback == "closed":
        extra, closed_for = 0.0, BREAKER * failures
    slowdowns = Tally([o for o in tally.outcomes if o.code != "ServiceUnavailable" or
                       not closed_for], tally.start, tally.end)  # fmt: skip
    _assert_slowdowns(slowdowns)
    assert 0.9 * RATE * (tally.elapsed - closed_for) <= tally.admitted, tally.summary()
    assert tally.admitted <= BURST + extra + 1.1 * RATE * tally.elapsed + 2, tally.summary()


def _phase(srv: ServerProcess, url: str, metrics: int, redis_url: str) -> tuple[Tally, float]:
    """A flood while Redis is up, and how many Redis calls failed meanwhile. Redis is
    asked for each decision (its EVALSHA calls counted), except in the second after a
    failure."""
    before, asked = _failures(metrics), _evalsha_calls(redis_url)
    tally = _flooded(srv, url)
    failures = _failures(metrics) - before
    asked = _evalsha_calls(redis_url) - asked
    print(f"Redis failures: {failures:.0f}; EVALSHA calls {asked}")
    assert failures < 3, "Redis too slow here for the test to say anything"
    assert asked >= (0.9 * tally.sent if not failures else 1), (asked, tally.summary())
    return tally, failures


def _evalsha_calls(redis_url: str) -> int:
    client = redis.Redis.from_url(redis_url)
    try:
        stats = client.info("commandstats").get("cmdstat_evalsha", {"calls": 0})
        return int(stats["calls"])
    finally:
        client.close()


def _failures(metrics: int) -> float:
    return value(scrape(metrics), "oortgate_rate_limit_redis_failures_total")


def _readiness(srv: ServerProcess) -> str:
    ready = requests.get(srv.endpoint + "/_health/ready", verify=srv.cert, timeout=10)
    assert ready.status_code == 200, ready.text  # degraded is still ready
    return ready.text


@pytest.mark.parametrize("fallback", ["local", "open", "closed"])
def test_redis_stopped_and_resumed_under_load(
    private: PrivateRedis, tmp_path: Path, fallback: str
) -> None:
    metrics = free_port()
    args = ["--rate-burst", str(BURST), "--rate-limit-url", private.url,
            "--rate-limit-fallback", fallback, "--metrics-port", str(metrics)]  # fmt: skip
    with ServerProcess(data_dir=tmp_path / "d", rate_limit=RATE, extra_args=args) as srv:
        client = boto3.session.Session().client(
            "s3", endpoint_url=srv.endpoint, region_name=REGION, verify=srv.cert,
            aws_access_key_id=srv.root_access_key, aws_secret_access_key=srv.root_secret_key,
            config=Config(s3={"addressing_style": "path"}),  # retries: the setup meets the limit
        )  # fmt: skip
        client.create_bucket(Bucket="outage")
        client.put_object(Bucket="outage", Key="o", Body=b"tiny")
        url = client.generate_presigned_url("get_object", Params={"Bucket": "outage", "Key": "o"},
                                            ExpiresIn=600)  # fmt: skip
        _held_to_the_rate(*_phase(srv, url, metrics, private.url), fallback)

        private.stop()
        during = _flooded(srv, url)
        assert _readiness(srv).startswith("degraded: rate limit store (Redis) unusable")
        if fallback == "local":  # this host's limiter at the rate (one gateway alive)
            _held_to_the_rate(during, 0, fallback)
        elif fallback == "open":
            assert {o.status for o in during.outcomes} == {200}, during.summary()
        else:
            assert all((o.status, o.code, o.retry_after) == (503, "ServiceUnavailable", "1")
                       for o in during.outcomes), during.summary()  # fmt: skip
        samples = scrape(metrics)
        decided = sum(value(samples, "oortgate_rate_limit_fallback_decisions_total",
                            fallback=fallback, decision=d)
                      for d in ("admitted", "refused"))  # fmt: skip
        assert decided >= during.sent * 0.9, (decided, during.summary())

        private.start()  # empty: Redis kept nothing on disk
        deadline = time.monotonic() + 10
        while _readiness(srv) != "ready\n":  # the breaker lets a request probe Redis again
            assert time.monotonic() < deadline, "Redis not used again after it came back"
            time.sleep(0.2)
        # Readiness answered from one worker; another's breaker may still be open from
        # the outage. Past the breaker's second a worker's next request probes Redis, and
        # requests beside that probe still get the fallback: a few requests one at a time
        # let every worker probe alone, then the key's burst comes back.
        time.sleep(BREAKER + 0.2)
        for _ in range(6):
            requests.get(url, verify=srv.cert, timeout=10)
        time.sleep(BURST / RATE + 0.5)
        _held_to_the_rate(*_phase(srv, url, metrics, private.url), fallback)
