"""Redis stopped and resumed under load, for each ``rate_limit_fallback``: a gateway with
a shared rate limit (a private redis-server) flooded with one key at twice its rate,
before, during and after the outage. Meanwhile ``local`` holds the key to its rate with
this host's limiter (SlowDown past it), ``open`` admits everything and ``closed``
answers 503 ServiceUnavailable with Retry-After 1; never a 500 or a hang; readiness
stays 200 ("degraded"); each decision is counted. Once Redis is back its budget decides
again, without a restart.

Who decided each request is read from counters, not inferred from timing: the gateway's
/metrics (requests by status, SlowDowns, the fallback's decisions, Redis failures, each
of which opens a worker's breaker for a second) and Redis's own count of EVALSHA calls.
Each Redis call is given a second (--rate-limit-timeout; the real 50 ms, which a busy
machine's event loop can miss, is the unit tests', test_ratelimit_redis_failures.py).
A call that fails anyway (a pooled connection from before the restart) leaves that
worker's next second to the fallback: those decisions are counted and judged as the
fallback's. The waits are for events (readiness, every worker asking Redis again);
their deadlines only catch a hang."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest
import redis
import requests
from botocore.config import Config

from tests.protocol._server import REGION, ServerProcess, free_port
from tests.protocol._util import wait_for
from tests.protocol.test_observability import scrape, value
from tests.protocol.test_ratelimit import Tally, _flood, _join
from tests.redis_service import PrivateRedis, private_redis

RATE, BURST = 50.0, 10
WORKERS = 2
FLOOD = 2.5  # seconds per phase, at twice the rate
BREAKER = 1.0  # seconds a worker does not ask Redis after a failure
TRIES = 3  # floods per phase when the machine was too busy for one to say anything
HANG = 60.0  # seconds: a deadline that only catches a hang
PATIENT = 1.0  # seconds each Redis call may take
ALONE_IN_A_ROW = 10  # requests one at a time, none decided by the fallback: Redis is back


@pytest.fixture
def private() -> Iterator[PrivateRedis]:
    with private_redis() as server:
        yield server


@dataclass
class Counts:
    """The gateway's counters (summed over its workers) and Redis's EVALSHA calls."""

    answered: dict[str, float]  # GetObject requests by status
    slowdowns: float
    admitted: float  # by the fallback
    refused: float  # by the fallback
    failures: float  # Redis calls that failed or timed out
    evalsha: int

    def __sub__(self, other: Counts) -> Counts:
        statuses = set(self.answered) | set(other.answered)
        return Counts({s: self.answered.get(s, 0) - other.answered.get(s, 0) for s in statuses},
                      self.slowdowns - other.slowdowns, self.admitted - other.admitted,
                      self.refused - other.refused, self.failures - other.failures,
                      self.evalsha - other.evalsha)  # fmt: skip


@dataclass
class Gateway:
    srv: ServerProcess
    url: str  # a presigned GET of a tiny object
    metrics: int
    redis_url: str
    fallback: str

    def counts(self) -> Counts:
        samples = scrape(self.metrics)
        answered = {dict(labels)["status"]: n for (name, labels), n in samples.items()
                    if name == "oortgate_requests_total"
                    and dict(labels)["operation"] == "GetObject"}  # fmt: skip
        decided = "oortgate_rate_limit_fallback_decisions_total"
        return Counts(answered, value(samples, "oortgate_throttled_requests_total"),
                      value(samples, decided, fallback=self.fallback, decision="admitted"),
                      value(samples, decided, fallback=self.fallback, decision="refused"),
                      value(samples, "oortgate_rate_limit_redis_failures_total"),
                      _evalsha_calls(self.redis_url))  # fmt: skip

    def counted(self, since: Counts, requests: int) -> Counts:
        """The counts since ``since`` once the gateway has counted ``requests`` more GETs
        (each is counted just after its last byte went out)."""
        def all_counted() -> bool:
            return sum((self.counts() - since).answered.values()) >= requests

        wait_for("the gateway counts every request", all_counted, HANG)
        return self.counts() - since


def _evalsha_calls(redis_url: str) -> int:
    """0 while Redis is down: only deltas taken while it is up are read."""
    client = redis.Redis.from_url(redis_url)
    try:
        stats = client.info("commandstats").get("cmdstat_evalsha", {"calls": 0})
        return int(stats["calls"])
    except redis.exceptions.ConnectionError:
        return 0
    finally:
        client.close()


@dataclass
class Phase:
    tally: Tally
    counts: Counts

    def statuses(self, status: int, code: str | None = None) -> int:
        return sum(o.status == status and (code is None or o.code == code)
                   for o in self.tally.outcomes)  # fmt: skip

    def summary(self) -> str:
        return f"{self.tally.summary()}; gateway {self.counts}"


def _flooded(gw: Gateway) -> Phase:
    """One flood of the key at twice its rate, what the clients saw checked against what
    the gateway counted: every refusal a 503 with Retry-After, never a 500."""
    time.sleep(BURST / RATE + 0.1)  # the burst back
    before = gw.counts()
    tally, go = Tally(), threading.Event()
    threads = _flood(gw.srv, gw.url, tally, duration=FLOOD, threads=2, offered=2 * RATE, go=go)
    time.sleep(0.2)
    go.set()
    _join(threads, timeout=HANG)
    phase = Phase(tally, gw.counted(before, tally.sent))
    print(phase.summary())
    assert {o.status for o in tally.outcomes} <= {200, 503}, phase.summary()  # never a 500
    for o in tally.refused:
        assert o.code in ("SlowDown", "ServiceUnavailable"), o
        assert o.retry_after is not None and o.retry_after.isdigit(), o
        assert int(o.retry_after) >= 1, o
    seen = {"200": phase.statuses(200), "503": phase.statuses(503)}
    assert {s: n for s, n in phase.counts.answered.items() if n} == \
        {s: n for s, n in seen.items() if n}, phase.summary()  # fmt: skip
    assert phase.counts.slowdowns == phase.statuses(503, "SlowDown"), phase.summary()
    return phase


def _limit_bounds(admitted: float, phase: Phase, what: str) -> None:
    """A token bucket admits at most its burst plus the rate over the client's window
    (which contains the server's): a hard bound on any machine. Below, it admits far more
    than a key locked out after each refusal would (about a burst a second); half the
    rate leaves room for a busy machine's pauses, in which the bucket fills only to its
    burst."""
    elapsed = phase.tally.elapsed
    assert admitted <= BURST + 1.1 * RATE * elapsed + 2, (what, phase.summary())
    assert admitted >= 0.5 * RATE * elapsed, (what, phase.summary())


def _offered_past_the_rate(phase: Phase) -> bool:
    return phase.tally.sent > 1.3 * RATE * phase.tally.elapsed


def _redis_decided(gw: Gateway) -> Phase:
    """A flood while Redis is up: Redis is asked for every request the fallback did not
    decide, and holds the key to its rate; the fallback decides only in the second after
    a failure of Redis, in the worker it failed in. On a machine too busy to offer the
    load, or whose Redis calls miss their 50 ms for most of a flood, the flood is run
    again (those decisions are still checked)."""
    for _ in range(TRIES):
        phase = _flooded(gw)
        counts, sent = phase.counts, phase.tally.sent
        by_fallback = counts.admitted + counts.refused
        assert counts.evalsha >= sent - by_fallback, ("Redis not asked", phase.summary())
        # A failure leaves its worker's next second to the fallback; a client catching
        # up may send faster than it offers meanwhile.
        assert by_fallback <= (3 * RATE * BREAKER + 1) * counts.failures, phase.summary()
        slowdowns_by_redis = phase.statuses(503, "SlowDown") - (
            counts.refused if gw.fallback == "local" else 0)  # fmt: skip
        assert phase.statuses(503, "ServiceUnavailable") == (
            counts.refused if gw.fallback == "closed" else 0), phase.summary()  # fmt: skip
        if _offered_past_the_rate(phase) and by_fallback <= sent / 2:
            assert slowdowns_by_redis > 0, ("Redis did not hold the key", phase.summary())
            _limit_bounds(phase.tally.admitted - counts.admitted, phase, "Redis")
            return phase
    raise AssertionError(f"too busy: {TRIES} floods, none mostly decided by Redis")


def _fallback_decided(gw: Gateway) -> Phase:
    """A flood while Redis is down: the fallback decides every request; each worker asks
    Redis at most once a breaker's second (counted as a failure; the flood's two
    connections may both be asking when a breaker closes)."""
    for _ in range(TRIES):
        phase = _flooded(gw)
        counts, sent = phase.counts, phase.tally.sent
        assert counts.admitted + counts.refused == sent, phase.summary()
        breaker_seconds = math.ceil(phase.tally.elapsed / BREAKER) + 1
        assert 1 <= counts.failures <= 2 * WORKERS * breaker_seconds, phase.summary()
        if gw.fallback == "open":
            assert phase.statuses(200) == counts.admitted == sent, phase.summary()
            return phase
        if gw.fallback == "closed":
            assert all((o.status, o.code, o.retry_after) == (503, "ServiceUnavailable", "1")
                       for o in phase.tally.outcomes), phase.summary()  # fmt: skip
            assert counts.refused == sent, phase.summary()
            return phase
        # local: this host's limiter at the rate (one gateway alive), SlowDown past it
        assert phase.statuses(503, "SlowDown") == counts.refused, phase.summary()
        if _offered_past_the_rate(phase):
            assert counts.refused > 0, ("the local limiter did not hold the key", phase.summary())
            _limit_bounds(counts.admitted, phase, "local")
            return phase
    raise AssertionError(f"too busy: {TRIES} floods, none offered past the rate")


def _readiness(srv: ServerProcess) -> str:
    ready = requests.get(srv.endpoint + "/_health/ready", verify=srv.cert, timeout=HANG)
    assert ready.status_code == 200, ready.text  # degraded is still ready
    return ready.text


def _every_worker_asks_redis(gw: Gateway) -> bool:
    """Requests one at a time, each on a new connection (so on either worker): a worker
    whose breaker is still open answers from the fallback, one past its second probes
    Redis; none decided by the fallback in a row means each worker asks Redis again."""
    before = gw.counts()
    for _ in range(ALONE_IN_A_ROW):
        requests.get(gw.url, verify=gw.srv.cert, timeout=HANG)
    counts = gw.counted(before, ALONE_IN_A_ROW)
    return counts.admitted + counts.refused == 0


@pytest.mark.parametrize("fallback", ["local", "open", "closed"])
def test_redis_stopped_and_resumed_under_load(
    private: PrivateRedis, tmp_path: Path, fallback: str
) -> None:
    metrics = free_port()
    args = ["--rate-burst", str(BURST), "--rate-limit-url", private.url,
            "--rate-limit-fallback", fallback, "--rate-limit-timeout", str(PATIENT),
            "--metrics-port", str(metrics)]  # fmt: skip
    with ServerProcess(data_dir=tmp_path / "d", rate_limit=RATE, workers=WORKERS,
                       extra_args=args) as srv:  # fmt: skip
        client = boto3.session.Session().client(
            "s3", endpoint_url=srv.endpoint, region_name=REGION, verify=srv.cert,
            aws_access_key_id=srv.root_access_key, aws_secret_access_key=srv.root_secret_key,
            config=Config(s3={"addressing_style": "path"}),  # retries: the setup meets the limit
        )  # fmt: skip
        client.create_bucket(Bucket="outage")
        client.put_object(Bucket="outage", Key="o", Body=b"tiny")
        url = client.generate_presigned_url("get_object", Params={"Bucket": "outage", "Key": "o"},
                                            ExpiresIn=600)  # fmt: skip
        gw = Gateway(srv, url, metrics, private.url, fallback)
        _redis_decided(gw)

        private.stop()
        _fallback_decided(gw)
        assert _readiness(srv).startswith("degraded: rate limit store (Redis) unusable")

        private.start()  # empty: Redis kept nothing on disk
        wait_for("Redis used again once back", lambda: _readiness(srv) == "ready\n", HANG)
        wait_for("every worker asks Redis again", lambda: _every_worker_asks_redis(gw), HANG)
        _redis_decided(gw)
