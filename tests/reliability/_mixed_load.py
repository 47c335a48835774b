"""A mixed concurrent write load, the model of what it may have left, and the checks.

Each worker thread owns its keys (one writer per key), so at any moment at most one
operation per key is in flight; its possible outcomes are kept as ``pending`` until the
server answers. Operations: PUT small (stored inline) and file-backed, overwrites,
multipart uploads (2 parts), CopyObject, DeleteObject and DeleteObjects.

After a crash and restart, ``verify`` checks that every key holds its acknowledged
version (bytes and ETag) or one of its pending ones, that deletes stayed deleted, and
that listing, HEAD and GET agree. Once the server is stopped, ``assert_collected`` and
``fsck`` (``oortgate fsck --deep --grace 0``) check that nothing is left over: no blob
queued or pending, no temp file, no orphan file, no missing or damaged blob.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import random
import sqlite3
import subprocess
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import psycopg
from botocore.exceptions import ClientError

from tests.protocol._server import PYTHON, REPO_ROOT, ServerProcess
from tests.protocol._util import all_files

MiB = 1024 * 1024
THREADS = 6
KEYS_PER_THREAD = 6


@dataclass(frozen=True)
class Version:
    md5: str  # of the bytes
    etag: str | None  # None: not known before the answer (a copy's)


@dataclass
class KeyState:
    acked: Version | None = None  # None: absent
    pending: list[Version | None] = field(default_factory=list)
    # What the client did and heard, for the message when a check fails (a loss seen
    # once under load could not be explained without it).
    history: list[str] = field(default_factory=list)

    def note(self, event: str) -> None:
        self.history.append(f"{time.time():.3f} {event}")
        del self.history[:-12]

    def admits(self, md5: str, etag: str) -> bool:
        if self.acked is not None and (self.acked.md5, self.acked.etag) == (md5, etag):
            return True
        return any(v is not None and v.md5 == md5 and v.etag in (None, etag)
                   for v in self.pending)  # fmt: skip


@dataclass
class Tally:
    """Acknowledged operations, and what the checks found, over all rounds."""

    acked: Counter[str] = field(default_factory=Counter)
    in_flight: int = 0
    checked: int = 0  # key states checked after a restart (present or absent)
    lost: int = 0
    corrupt: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, op: str) -> None:
        with self.lock:
            self.acked[op] += 1


def md5_hex(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def multipart_etag(parts: list[bytes]) -> str:
    digest = md5_hex(b"".join(hashlib.md5(p).digest() for p in parts))
    return f'"{digest}-{len(parts)}"'


def plain(data: bytes) -> Version:
    return Version(md5_hex(data), f'"{md5_hex(data)}"')


class Unknown(Exception):
    """The server went away: the operation's outcome is not known."""


_last_refusal = threading.local()  # the error code of this thread's last 4xx, for history


def _call(fn: Any, **kw: Any) -> Any:
    """None when the server refused (4xx: nothing applied); Unknown when it went away."""
    try:
        return fn(**kw)
    except ClientError as exc:
        if exc.response["ResponseMetadata"]["HTTPStatusCode"] < 500:
            _last_refusal.code = exc.response.get("Error", {}).get("Code")
            return None
        raise Unknown from exc
    except Exception as exc:  # connection reset by the kill, timeouts
        raise Unknown from exc


class Worker:
    """One thread's random mix of operations on its own keys, until stopped or cut off."""

    def __init__(self, client: Any, bucket: str, keys: list[str],
                 states: dict[str, KeyState], tally: Tally, seed: int) -> None:  # fmt: skip
        self.c, self.bucket, self.keys = client, bucket, keys
        self.states, self.tally = states, tally
        self.rng = random.Random(seed)

    def run(self, stop: threading.Event) -> None:
        ops = [(0.35, self.put_small), (0.25, self.put_file), (0.05, self.multipart),
               (0.15, self.copy), (0.12, self.delete), (0.08, self.delete_many)]  # fmt: skip
        while not stop.is_set():
            r, op = self.rng.random(), ops[-1][1]
            for weight, candidate in ops:
                if r < weight:
                    op = candidate
                    break
                r -= weight
            try:
                op()
            except Unknown as exc:
                for key in self.keys:
                    if self.states[key].pending:
                        self.states[key].note(f"unknown: {exc.__cause__!r}"[:200])
                return  # pending outcomes stay pending; the server is gone

    def _begin(self, keys: list[str], outcome: Version | None) -> None:
        for key in keys:
            self.states[key].pending.append(outcome)
            self.states[key].note(f"begin {outcome}")

    def _ack(self, key: str, outcome: Version | None, op: str) -> None:
        st = self.states[key]
        st.acked, st.pending = outcome, []  # nothing earlier can reappear
        st.note(f"ack {op} {outcome}")
        self.tally.count(op)

    def _refused(self, keys: list[str]) -> None:
        for key in keys:
            self.states[key].pending.clear()
            self.states[key].note(f"refused {getattr(_last_refusal, 'code', None)}")

    def _put(self, size: int, op: str) -> None:
        key, data = self.rng.choice(self.keys), os.urandom(size)
        self._begin([key], plain(data))
        resp = _call(self.c.put_object, Bucket=self.bucket, Key=key, Body=data)
        if resp is None:
            return self._refused([key])
        assert resp["ETag"] == plain(data).etag, (key, resp["ETag"])
        self._ack(key, plain(data), op)

    def put_small(self) -> None:
        self._put(self.rng.randint(0, 8 * 1024), "put_inline")  # under inline_max_size

    def put_file(self) -> None:
        self._put(self.rng.randint(64 * 1024, MiB), "put_file")

    def multipart(self) -> None:
        key = self.rng.choice(self.keys)
        parts = [os.urandom(5 * MiB), os.urandom(self.rng.randint(1, 200 * 1024))]
        outcome = Version(md5_hex(b"".join(parts)), multipart_etag(parts))
        self._begin([key], outcome)
        up = _call(self.c.create_multipart_upload, Bucket=self.bucket, Key=key)
        if up is None:
            return self._refused([key])
        done = []
        for n, data in enumerate(parts, 1):
            resp = _call(self.c.upload_part, Bucket=self.bucket, Key=key,
                         UploadId=up["UploadId"], PartNumber=n, Body=data)  # fmt: skip
            if resp is None:
                return self._refused([key])
            done.append({"PartNumber": n, "ETag": resp["ETag"]})
        resp = _call(self.c.complete_multipart_upload, Bucket=self.bucket, Key=key,
                     UploadId=up["UploadId"], MultipartUpload={"Parts": done})  # fmt: skip
        if resp is None:
            return self._refused([key])
        assert resp["ETag"] == outcome.etag, (key, resp["ETag"])
        self._ack(key, outcome, "multipart")

    def copy(self) -> None:
        sources = [k for k in self.keys if self.states[k].acked is not None]
        if not sources:
            return self.put_small()
        src, dst = self.rng.choice(sources), self.rng.choice(self.keys)
        source = self.states[src].acked
        assert source is not None
        self._begin([dst], Version(source.md5, None))
        resp = _call(self.c.copy_object, Bucket=self.bucket, Key=dst,
                     CopySource={"Bucket": self.bucket, "Key": src})  # fmt: skip
        if resp is None:
            return self._refused([dst])
        self._ack(dst, Version(source.md5, resp["CopyObjectResult"]["ETag"]), "copy")

    def delete(self) -> None:
        key = self.rng.choice(self.keys)
        self._begin([key], None)
        if _call(self.c.delete_object, Bucket=self.bucket, Key=key) is None:
            return self._refused([key])
        self._ack(key, None, "delete")

    def delete_many(self) -> None:
        keys = self.rng.sample(self.keys, 3)
        self._begin(keys, None)
        resp = _call(self.c.delete_objects, Bucket=self.bucket,
                     Delete={"Objects": [{"Key": k} for k in keys]})  # fmt: skip
        if resp is None:
            return self._refused(keys)
        deleted = {d["Key"] for d in resp.get("Deleted", [])}
        assert deleted == set(keys), resp.get("Errors")
        for key in keys:
            self._ack(key, None, "delete_objects")


def new_states(n: int = THREADS * KEYS_PER_THREAD) -> dict[str, KeyState]:
    return {f"k{i:03d}/obj": KeyState() for i in range(n)}


def run_until_cut(client: Any, bucket: str, states: dict[str, KeyState], tally: Tally,
                  seed: int, cut: Any, min_acked: int = 10) -> None:  # fmt: skip
    """Run the workers, then call ``cut()`` (SIGKILL, power cut) while requests are in
    flight, after ``min_acked`` acknowledged writes or 10 s, whichever comes first."""
    keys = sorted(states)
    stop = threading.Event()
    threads = []
    for t in range(THREADS):
        own = keys[t * KEYS_PER_THREAD : (t + 1) * KEYS_PER_THREAD]
        worker = Worker(client, bucket, own, states, tally, seed * 100 + t)
        threads.append(threading.Thread(target=worker.run, args=(stop,), daemon=True))
    before = sum(tally.acked.values())
    for th in threads:
        th.start()
    deadline = time.monotonic() + 10
    time.sleep(1.0 + random.Random(seed).random())
    while sum(tally.acked.values()) - before < min_acked and time.monotonic() < deadline:
        time.sleep(0.05)
    cut()
    stop.set()
    for th in threads:
        th.join(60)
        assert not th.is_alive(), "a worker thread hung after the cut"
    tally.in_flight += sum(1 for st in states.values() if st.pending)


def _listing(client: Any, bucket: str) -> dict[str, dict[str, Any]]:
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket)
    return {o["Key"]: o for page in pages for o in page.get("Contents", [])}


def _present(client: Any, bucket: str, key: str, listed: dict[str, Any]) -> tuple[str, str]:
    """md5 and ETag of a listed key, after checking that HEAD and GET agree with the list."""
    head = client.head_object(Bucket=bucket, Key=key)
    got = client.get_object(Bucket=bucket, Key=key)
    h, n = hashlib.md5(), 0
    for chunk in got["Body"].iter_chunks(MiB):
        h.update(chunk)
        n += len(chunk)
    seen = {(listed["ETag"], listed["Size"]), (head["ETag"], head["ContentLength"]),
            (got["ETag"], n)}  # fmt: skip
    assert len(seen) == 1, f"{key}: listing, HEAD and GET disagree: {seen}"
    if "-" not in got["ETag"]:
        assert got["ETag"] == f'"{h.hexdigest()}"', f"{key}: ETag is not the bytes' MD5"
    return h.hexdigest(), got["ETag"]


def verify(client: Any, bucket: str, states: dict[str, KeyState], tally: Tally) -> None:
    """Every key against the model; then the model learns what the in-flight ones did."""
    listed = _listing(client, bucket)
    problems = [f"unexpected key listed: {k}" for k in sorted(set(listed) - set(states))]
    for key, st in sorted(states.items()):
        tally.checked += 1
        if key in listed:
            md5, etag = _present(client, bucket, key, listed[key])
            if not st.admits(md5, etag):
                tally.corrupt += 1
                problems.append(f"{key}: holds {md5} {etag}; acked {st.acked}, pending "
                                f"{st.pending}; history: " + " | ".join(st.history))  # fmt: skip
            st.acked = Version(md5, etag)
        else:
            try:
                client.head_object(Bucket=bucket, Key=key)
                problems.append(f"{key}: readable but not listed")
            except ClientError as exc:
                assert exc.response["ResponseMetadata"]["HTTPStatusCode"] == 404, key
            if st.acked is not None and None not in st.pending:
                tally.lost += 1
                problems.append(f"{key}: acknowledged {st.acked} lost; history: "
                                + " | ".join(st.history))  # fmt: skip
            st.acked = None
        st.pending = []
        st.note("verified after restart")
    assert not problems, "\n".join(problems)


def abort_open_uploads(client: Any, bucket: str) -> int:
    """Uploads the cut left open (never acknowledged as complete) are aborted."""
    uploads = client.list_multipart_uploads(Bucket=bucket).get("Uploads", [])
    for u in uploads:
        client.abort_multipart_upload(Bucket=bucket, Key=u["Key"], UploadId=u["UploadId"])
    return len(uploads)


def assert_collected(srv: ServerProcess) -> None:
    """On a stopped server's data dir, after a restart's collection: no blob queued as
    garbage or marked pending is left, and no temp file (``fsck`` finds the orphans).
    The queues are in its metadata store: the SQLite file, or its PostgreSQL database."""
    tables = ("garbage", "pending_blobs")
    if srv.metadata_url:
        with psycopg.connect(srv.metadata_url) as pg:
            left = {t: _count(pg.execute(f"SELECT count(*) FROM {t}".encode())) for t in tables}
    else:
        uri = f"file:{srv.data_dir / 'meta.sqlite3'}?mode=ro"
        with contextlib.closing(sqlite3.connect(uri, uri=True)) as db:
            left = {t: _count(db.execute(f"SELECT count(*) FROM {t}")) for t in tables}
    assert not any(left.values()), f"not collected: {left}"
    assert not all_files(srv.data_dir / "tmp"), all_files(srv.data_dir / "tmp")[:10]


def _count(cursor: Any) -> int:
    row = cursor.fetchone()
    assert row is not None
    return int(row[0])


def fsck(srv: ServerProcess) -> dict[str, Any]:
    """``oortgate fsck --deep --json`` on a stopped server's data dir (and metadata
    store); must be clean."""
    proc = subprocess.run(
        [PYTHON, "-m", "oortgate", "fsck", "--data-dir", str(srv.data_dir), "--deep", "--json",
         "--grace", "0"],
        cwd=REPO_ROOT, env=srv.env(), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    report: dict[str, Any] = json.loads(proc.stdout)
    assert proc.returncode == 0 and report["clean"], proc.stdout[-3000:] + proc.stderr[-2000:]
    return report


def summary(tally: Tally, rounds: int, kind: str) -> str:
    return json.dumps({"kind": kind, "rounds": rounds, "acked": dict(tally.acked),
                       "in_flight_at_cut": tally.in_flight, "key_states_checked": tally.checked,
                       "lost": tally.lost, "corrupt": tally.corrupt})  # fmt: skip
