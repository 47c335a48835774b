"""Crash consistency: SIGKILL the server while concurrent PUTs, overwrites and deletes run.

After each restart on the same data directory:
- every acknowledged write reads back byte-exact with its ETag;
- a key whose last operation was in flight (unacknowledged) holds either the previous
  acknowledged state or the in-flight one, never anything else (nothing half-written);
- acknowledged deletes stay deleted unless a later write to the key was in flight;
- listing agrees with reads, and no orphan blob or temp file remains after collection.
"""

from __future__ import annotations

import hashlib
import os
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from tests.protocol._server import ServerProcess, free_port
from tests.protocol._types import S3Client
from tests.protocol._util import stored_blob_count

ABSENT = None  # state of a key that does not exist
THREADS = 6
KEYS_PER_THREAD = 8
ROUNDS = 3
MAX_SIZE = 1024 * 1024


@dataclass
class KeyState:
    acked: str | None = ABSENT  # md5 hex of the last acknowledged write, or ABSENT
    pending: set[str | None] = field(default_factory=set)  # outcomes not known

    def allowed(self) -> set[str | None]:
        return {self.acked} | self.pending


def _size(rng: random.Random) -> int:
    r = rng.random()
    if r < 0.4:
        return rng.randint(1, 4096)
    if r < 0.8:
        return rng.randint(4097, 128 * 1024)
    return rng.randint(128 * 1024, MAX_SIZE)


def _worker(
    client: Any,
    bucket: str,
    keys: list[str],
    states: dict[str, KeyState],
    stop: threading.Event,
    seed: int,
    counters: dict[str, int],
    lock: threading.Lock,
) -> None:
    rng = random.Random(seed)
    while not stop.is_set():
        key = rng.choice(keys)
        st = states[key]
        if rng.random() < 0.75:
            data = os.urandom(_size(rng))
            outcome: str | None = hashlib.md5(data).hexdigest()
            st.pending.add(outcome)  # in flight from now on
            try:
                resp = client.put_object(Bucket=bucket, Key=key, Body=data)
            except ClientError as exc:
                if exc.response["ResponseMetadata"]["HTTPStatusCode"] < 500:
                    st.pending.discard(outcome)  # refused: never applied
                    continue
                return  # unknown outcome; the server is going away
            except Exception:
                return  # connection broken by the kill: outcome unknown, stays pending
            assert resp["ETag"] == f'"{outcome}"', (key, resp["ETag"], outcome)
            op = "put"
        else:
            outcome = ABSENT
            st.pending.add(outcome)
            try:
                client.delete_object(Bucket=bucket, Key=key)
            except ClientError as exc:
                if exc.response["ResponseMetadata"]["HTTPStatusCode"] < 500:
                    continue
                return
            except Exception:
                return
            op = "delete"
        # acknowledged: this is now the state, nothing earlier can reappear
        st.acked = outcome
        st.pending.clear()
        with lock:
            counters[op] += 1


def _run_round(
    srv: Any, client_of: Any, bucket: str, states: dict[str, KeyState], round_no: int
) -> dict[str, int]:
    client = client_of(
        srv,
        retries={"total_max_attempts": 1},
        max_pool_connections=THREADS * 2,
        connect_timeout=5,
        read_timeout=30,
    )
    keys = sorted(states)
    stop = threading.Event()
    lock = threading.Lock()
    counters = {"put": 0, "delete": 0}
    threads = []
    for t in range(THREADS):
        own = keys[t * KEYS_PER_THREAD : (t + 1) * KEYS_PER_THREAD]  # each key has one writer
        th = threading.Thread(
            target=_worker,
            daemon=True,
            args=(client, bucket, own, states, stop, 1000 * round_no + t, counters, lock),
        )
        th.start()
        threads.append(th)
    # let the workload run, then pull the plug while requests are in flight
    deadline = time.monotonic() + 8
    time.sleep(1.0 + random.Random(round_no).random())
    while counters["put"] < 10 and time.monotonic() < deadline:
        time.sleep(0.1)
    srv.kill()
    stop.set()
    for th in threads:
        th.join(30)
        assert not th.is_alive(), "a worker thread hung after the kill"
    counters["in_flight"] = sum(1 for st in states.values() if st.pending)
    return counters


def _read_all(client: Any, bucket: str) -> dict[str, tuple[str, str]]:
    """key -> (md5 of body, ETag) for everything listed."""
    listed = []
    token = None
    while True:
        kw = {"Bucket": bucket}
        if token:
            kw["ContinuationToken"] = token
        resp = client.list_objects_v2(**kw)
        listed += [o["Key"] for o in resp.get("Contents", [])]
        token = resp.get("NextContinuationToken")
        if not token:
            break
    out = {}
    for key in listed:
        got = client.get_object(Bucket=bucket, Key=key)
        body = got["Body"].read()
        assert len(body) == got["ContentLength"], key
        out[key] = (hashlib.md5(body).hexdigest(), got["ETag"])
    return out


def _verify(client: Any, bucket: str, states: dict[str, KeyState]) -> None:
    stored = _read_all(client, bucket)
    problems = []
    for key, st in sorted(states.items()):
        if key in stored:
            md5, tag = stored[key]
            if tag != f'"{md5}"':
                problems.append(f"{key}: ETag {tag} does not match its content md5 {md5}")
            if md5 not in st.allowed():
                problems.append(f"{key}: content {md5} is none of {st.allowed()}")
            # learn the outcome: the in-flight write landed (or not)
            st.acked = md5
        else:
            try:
                client.head_object(Bucket=bucket, Key=key)
                problems.append(f"{key}: readable but not listed")
            except ClientError:
                pass
            if ABSENT not in st.allowed():
                problems.append(f"{key}: missing, expected one of {st.allowed()}")
            st.acked = ABSENT
        st.pending.clear()
    extra = set(stored) - set(states)
    if extra:
        problems.append(f"unexpected keys listed: {sorted(extra)}")
    assert not problems, "\n".join(problems)


def _files(root: Path) -> list[Path]:
    if not root.exists():
        return []
    return [p for p in root.rglob("*") if p.is_file()]


def _verify_no_orphans(srv: Any, client: Any, bucket: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        objects = sum(1 for _ in _read_all(client, bucket))
        blobs = stored_blob_count(srv.data_dir)  # files and inline rows
        tmp = _files(srv.data_dir / "tmp")
        if blobs == objects and not tmp:
            return
        if time.monotonic() > deadline:
            raise AssertionError(
                f"{blobs} blobs for {objects} objects; tmp files: {[str(p) for p in tmp][:10]}"
            )
        time.sleep(0.25)


def test_sigkill_during_concurrent_writes(
    crash_server: ServerProcess, client_of: Callable[..., S3Client]
) -> None:
    srv = crash_server
    admin = client_of(srv)
    bucket = "crash-test-bucket"
    admin.create_bucket(Bucket=bucket)
    states = {f"key-{i:03d}/obj": KeyState() for i in range(THREADS * KEYS_PER_THREAD)}
    # an acknowledged baseline that the workload then overwrites and deletes
    for key in list(states)[::3]:
        data = os.urandom(1000)
        admin.put_object(Bucket=bucket, Key=key, Body=data)
        states[key].acked = hashlib.md5(data).hexdigest()

    totals = {"put": 0, "delete": 0, "in_flight": 0}
    for round_no in range(ROUNDS):
        counters = _run_round(srv, client_of, bucket, states, round_no)
        for k, v in counters.items():
            totals[k] += v
        srv.start(port=free_port())  # same data dir, new port
        client = client_of(srv)
        _verify(client, bucket, states)
        _verify_no_orphans(srv, client, bucket)
    assert totals["put"] >= 10 * ROUNDS, f"workload too small to mean anything: {totals}"
    assert totals["delete"] >= 1, totals
    assert totals["in_flight"] >= 1, f"the kills never caught a request in flight: {totals}"
    print("crash workload:", totals)

    # the server still works normally after the crashes
    client = client_of(srv)
    client.put_object(Bucket=bucket, Key="after", Body=b"alive")
    assert client.get_object(Bucket=bucket, Key="after")["Body"].read() == b"alive"
