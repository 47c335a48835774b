"""PostgreSQL restarted under load (a private server: stopped, and started again on the
same port and data a few seconds later) under a two-worker gateway that keeps its
metadata there. While it is gone every request that needs it answers 503 with
Retry-After (ServiceUnavailable, or SlowDown for a request that waited its 5 s for a
connection), never a 500 and never a hang; readiness says 503; once it is back, full
service without a restart of the gateway; nothing acknowledged is lost."""

from __future__ import annotations

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

from tests import pg_service
from tests.protocol._server import REGION, ServerProcess

THREADS, KEYS_PER_THREAD = 4, 6
OUTAGE = 4.0  # seconds PostgreSQL stays down
RECOVERED_WITHIN = 20.0  # seconds after its start: the pool's reconnection backoff, with room


@dataclass
class Outcome:
    at: float
    op: str
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
                self._get(key)
            else:
                self._put(key, os.urandom(rng.choice((2_000, 100_000))))

    def _put(self, key: str, body: bytes) -> None:
        self.pending.setdefault(key, []).append(body)
        if self._call("put", lambda: self.client.put_object(Bucket="pgr", Key=key, Body=body)):
            self.acked[key], self.pending[key] = body, []

    def _get(self, key: str) -> None:
        got = self._call("get", lambda: self.client.get_object(Bucket="pgr", Key=key))
        if got is not None:
            data = got["Body"].read()
            if data != self.acked[key] and data not in self.pending[key]:
                self._record(Outcome(time.monotonic(), "get", -1, f"{key}: wrong bytes"))

    def _call(self, op: str, call: Any) -> Any:
        try:
            answer = call()
            self._record(Outcome(time.monotonic(), op, 200))
            return answer
        except ClientError as err:
            meta = err.response["ResponseMetadata"]
            self._record(Outcome(time.monotonic(), op, meta["HTTPStatusCode"],
                                 err.response["Error"].get("Code", ""),
                                 meta["HTTPHeaders"].get("retry-after")))  # fmt: skip
        except Exception as exc:
            self._record(Outcome(time.monotonic(), op, 0, type(exc).__name__))
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


def _fully_served(load: Load, since: float) -> bool:
    recent = load.between(since, time.monotonic())
    return len(recent) >= 20 and all(o.status == 200 for o in recent[-20:])


def test_postgres_restarted_under_load(private_pg: pg_service.PrivatePostgres,
                                       tmp_path: Path) -> None:  # fmt: skip
    url = pg_service.create_database("restart", private_pg.url)
    srv = ServerProcess(data_dir=tmp_path / "data", workers=2, metadata_url=url)
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
        for t in threads:
            t.start()
        time.sleep(2)
        assert load.outcomes and all(o.status == 200 for o in load.outcomes), load.outcomes[:5]
        private_pg.stop()
        down = time.monotonic()
        time.sleep(OUTAGE / 2)
        assert _ready(srv) == 503
        time.sleep(OUTAGE / 2)
        private_pg.start()
        up = time.monotonic()
        deadline = up + RECOVERED_WITHIN
        while not _fully_served(load, up):
            assert time.monotonic() < deadline, "no full service after PostgreSQL came back"
            time.sleep(0.2)
        recovered = time.monotonic()
        time.sleep(2)  # full service goes on
        load.stop.set()
        for t in threads:
            t.join(90)
            assert not t.is_alive(), "a request hung"
        assert _ready(srv) == 200

        errors = [o for o in load.outcomes if o.status != 200]
        print(Counter((o.status, o.code) for o in load.outcomes))
        print(f"{len(load.outcomes)} requests, {len(errors)} refused; recovered "
              f"{recovered - up:.1f} s after the start; {sum(map(len, load.acked.values()))}"
              f" bytes acknowledged in {len(load.acked)} keys")  # fmt: skip
        outage = load.between(down, up)
        assert any(o.status == 503 for o in outage), "nothing refused while PostgreSQL was down"
        for o in errors:
            assert o.status == 503, o  # never a 500, a wrong body or a request unanswered
            assert o.code in ("ServiceUnavailable", "SlowDown"), o
            assert o.retry_after is not None and int(o.retry_after) >= 1, o
        assert all(o.status == 200 for o in load.between(recovered, time.monotonic()))
        for key, body in load.acked.items():  # nothing acknowledged lost
            data = client.get_object(Bucket="pgr", Key=key)["Body"].read()
            assert data == body or data in load.pending[key], key
