"""PostgreSQL restarted under load (a private server: stopped, and started again on the
same port and data a few seconds later) under a two-worker gateway that keeps its
metadata there. While it is gone every request that needs it answers 503 with
Retry-After (ServiceUnavailable, or SlowDown for a request that waited its 5 s for a
connection), never a 500 and never a hang; readiness says 503; once it is back, full
service without a restart of the gateway; nothing acknowledged is lost.

Each step waits for events, not for time: PostgreSQL stays down until the load has met
its 503s (a request waiting out the pool's 5 s would otherwise meet none if the outage
were shorter), and full service is every load thread's own run of answers since the
restart. The gateway's /metrics must count what the clients saw (no 500 at all, as many
503s). The deadlines only catch a hang."""

from __future__ import annotations

import asyncio
import os
import random
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ClientError

from oortgate.errors import StoreUnavailable
from oortgate.meta.pg_store import PgMetaStore
from tests import pg_service
from tests.protocol._server import REGION, ServerProcess, free_port
from tests.protocol._util import wait_for
from tests.protocol.test_observability import scrape

THREADS, KEYS_PER_THREAD = 4, 6
REFUSED_DURING_OUTAGE = 8  # 503s the load meets before PostgreSQL is started again
SERVED_IN_A_ROW = 5  # answers 200 in a row, each thread, once it is back: full service
HANG = 120.0  # seconds: a deadline that only catches a hang


@dataclass
class Outcome:
    sent: float
    at: float
    op: str
    thread: int
    status: int  # 0: no answer (a connection error or a timeout)
    code: str = ""
    retry_after: str | None = None


@dataclass
class Load:
    """Each thread writes and reads its own keys: a key's state is known exactly."""

    client: Any
    acked: dict[str, bytes] = field(default_factory=dict)
    pending: dict[str, list[bytes]] = field(default_factory=dict)  # sent since, unacked
    outcomes: list[Outcome] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self, thread: int) -> None:
        rng = random.Random(thread)
        keys = [f"t{thread}-k{n}" for n in range(KEYS_PER_THREAD)]
        while not self.stop.is_set():
            key = rng.choice(keys)
            if key in self.acked and rng.random() < 0.5:
                self._get(thread, key)
            else:
                self._put(thread, key, os.urandom(rng.choice((2_000, 100_000))))

    def _put(self, thread: int, key: str, body: bytes) -> None:
        self.pending.setdefault(key, []).append(body)
        put = lambda: self.client.put_object(Bucket="pgr", Key=key, Body=body)  # noqa: E731
        if self._call(thread, "put", put):
            self.acked[key], self.pending[key] = body, []

    def _get(self, thread: int, key: str) -> None:
        sent = time.monotonic()
        got = self._call(thread, "get", lambda: self.client.get_object(Bucket="pgr", Key=key))
        if got is not None:
            data = got["Body"].read()
            if data != self.acked[key] and data not in self.pending[key]:
                self._record(Outcome(sent, time.monotonic(), "get", thread, -1,
                                     f"{key}: wrong bytes"))  # fmt: skip

    def _call(self, thread: int, op: str, call: Any) -> Any:
        sent = time.monotonic()
        try:
            answer = call()
            self._record(Outcome(sent, time.monotonic(), op, thread, 200))
            return answer
        except ClientError as err:
            meta = err.response["ResponseMetadata"]
            self._record(Outcome(sent, time.monotonic(), op, thread, meta["HTTPStatusCode"],
                                 err.response["Error"].get("Code", ""),
                                 meta["HTTPHeaders"].get("retry-after")))  # fmt: skip
        except Exception as exc:
            self._record(Outcome(sent, time.monotonic(), op, thread, 0, type(exc).__name__))
        return None

    def _record(self, outcome: Outcome) -> None:
        with self.lock:
            self.outcomes.append(outcome)

    def between(self, start: float, end: float) -> list[Outcome]:
        with self.lock:
            return [o for o in self.outcomes if start <= o.at < end]


@pytest.fixture
def private_pg() -> Iterator[pg_service.PrivatePostgres]:
    server = pg_service.PrivatePostgres()
    server.start()
    try:
        yield server
    finally:
        server.close()


def _ready(srv: ServerProcess) -> int:
    return requests.get(srv.endpoint + "/_health/ready", verify=srv.cert, timeout=30).status_code


def _refused(load: Load, since: float) -> int:
    return sum(o.status == 503 for o in load.between(since, time.monotonic()))


def _fully_served(load: Load, since: float) -> bool:
    """Every thread's last SERVED_IN_A_ROW answers, all sent since ``since``, were 200:
    no request of the outage is still waiting anywhere."""
    recent = [o for o in load.between(since, time.monotonic()) if o.sent >= since]
    for thread in range(THREADS):
        mine = [o for o in recent if o.thread == thread][-SERVED_IN_A_ROW:]
        if len(mine) < SERVED_IN_A_ROW or any(o.status != 200 for o in mine):
            return False
    return True


def _answered(metrics: int) -> Counter[str]:
    """The gateway's own count of the object requests it answered, by status."""
    counts: Counter[str] = Counter()
    for (name, labels), count in scrape(metrics).items():
        tags = dict(labels)
        if name == "oortgate_requests_total" and tags["operation"] in ("PutObject", "GetObject"):
            counts[tags["status"]] += int(count)
    return counts


def test_postgres_restarted_under_load(private_pg: pg_service.PrivatePostgres,
                                       tmp_path: Path) -> None:  # fmt: skip
    url = pg_service.create_database("restart", private_pg.url)
    metrics = free_port()
    srv = ServerProcess(data_dir=tmp_path / "data", workers=2, metadata_url=url,
                        extra_args=["--metrics-port", str(metrics)])  # fmt: skip
    with srv:
        client = boto3.session.Session().client(
            "s3", endpoint_url=srv.endpoint, region_name=REGION, verify=srv.cert,
            aws_access_key_id=srv.root_access_key, aws_secret_access_key=srv.root_secret_key,
            config=Config(s3={"addressing_style": "path"}, retries={"total_max_attempts": 1},
                          read_timeout=60, max_pool_connections=THREADS * 2),
        )  # fmt: skip
        client.create_bucket(Bucket="pgr")
        load = Load(client)
        threads = [threading.Thread(target=load.run, args=(i,), daemon=True)
                   for i in range(THREADS)]  # fmt: skip
        started = time.monotonic()
        for t in threads:
            t.start()
        wait_for("answers under load", lambda: _fully_served(load, started), HANG)
        assert all(o.status == 200 for o in load.outcomes), load.outcomes[:5]
        private_pg.stop()
        down = time.monotonic()
        wait_for("503s while PostgreSQL is down",
                  lambda: _refused(load, down) >= REFUSED_DURING_OUTAGE, HANG)  # fmt: skip
        assert _ready(srv) == 503
        private_pg.start()
        up = time.monotonic()
        wait_for("full service after PostgreSQL came back", lambda: _fully_served(load, up), HANG)
        recovered = time.monotonic()
        time.sleep(2)  # full service goes on
        load.stop.set()
        for t in threads:
            t.join(HANG)
            assert not t.is_alive(), "a request hung"
        # Each worker's pool reconnects on its own next use: readiness may be asked of a
        # worker the load has not reached since, so it turns 200 soon after, not at once.
        wait_for("ready again", lambda: _ready(srv) == 200, HANG)

        errors = [o for o in load.outcomes if o.status != 200]
        seen = Counter((o.status, o.code) for o in load.outcomes)
        print(seen)
        print(f"{len(load.outcomes)} requests, {len(errors)} refused; recovered "
              f"{recovered - up:.1f} s after the start; {sum(map(len, load.acked.values()))}"
              f" bytes acknowledged in {len(load.acked)} keys")  # fmt: skip
        for o in errors:
            assert o.status == 503, o  # never a 500, a wrong body or a request unanswered
            assert o.code in ("ServiceUnavailable", "SlowDown"), o
            assert o.retry_after is not None and int(o.retry_after) >= 1, o
        assert all(o.status == 200 for o in load.outcomes if o.sent >= recovered)
        # The gateway counted what the clients saw (each request once its last byte
        # went out): as many 503s, and not one 500.
        wait_for("the gateway counts every request",
                  lambda: sum(_answered(metrics).values()) >= len(load.outcomes), HANG)  # fmt: skip
        answered = _answered(metrics)
        print("gateway:", dict(answered))
        assert answered["503"] == len(errors), (answered, seen)
        assert answered["200"] == len(load.outcomes) - len(errors), (answered, seen)
        assert set(answered) <= {"200", "503"}, answered
        for key, body in load.acked.items():  # nothing acknowledged lost
            data = client.get_object(Bucket="pgr", Key=key)["Body"].read()
            assert data == body or data in load.pending[key], key


def test_a_store_first_used_while_postgres_is_down_serves_once_it_is_back(
    private_pg: pg_service.PrivatePostgres,
) -> None:
    """A worker that got no request before an outage opens its pool during it: that
    first open times out, and the worker must still serve once PostgreSQL is back (its
    pool had closed itself for good, and every request answered 500 PoolClosed)."""
    url = pg_service.create_database("firstuse", private_pg.url)

    async def run() -> None:
        store = PgMetaStore(url)
        try:
            private_pg.stop()
            with pytest.raises(StoreUnavailable):
                await store.list_sessions()
            private_pg.start()
            assert await store.list_sessions() == []
        finally:
            await store.close()

    asyncio.run(run())
