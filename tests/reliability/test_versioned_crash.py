"""Crash consistency of a versioned bucket: SIGKILL the server while concurrent versioned
PUTs, delete markers and deletes of versions run. After each restart:
- every acknowledged version (not acknowledged deleted since) reads back by its version
  id, byte-exact; every acknowledged delete marker is still one;
- the listing holds exactly those, plus at most one unknown version per request that was
  in flight at the kill (which may or may not have landed);
- the reference counts are exact and no blob is an orphan (a deep fsck, server stopped).
"""

from __future__ import annotations

import hashlib
import os
import random
import threading
import time
from collections.abc import Callable
from typing import Any

from tests.protocol._server import ServerProcess, free_port
from tests.protocol._types import S3Client
from tests.reliability._mixed_load import fsck
from tests.reliability._recovery import crash_client

THREADS = 4
KEYS = [f"k{i}" for i in range(8)]
ROUNDS = 2
MARKER = "marker"


class Ledger:
    """What the clients were told: (key, version id) -> md5 hex (or MARKER)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.acked: dict[tuple[str, str], str] = {}
        self.in_flight = 0  # requests whose outcome is not known

    def versions_of(self, key: str) -> list[str]:
        with self.lock:
            return [v for (k, v) in self.acked if k == key]


def _worker(client: Any, bucket: str, ledger: Ledger, stop: threading.Event, seed: int) -> None:
    rng = random.Random(seed)
    while not stop.is_set():
        key = rng.choice(KEYS)
        roll = rng.random()
        try:
            if roll < 0.6:
                data = os.urandom(rng.choice([100, 20_000, 300_000]))
                vid = client.put_object(Bucket=bucket, Key=key, Body=data)["VersionId"]
                with ledger.lock:
                    ledger.acked[(key, vid)] = hashlib.md5(data).hexdigest()
            elif roll < 0.8:
                vid = client.delete_object(Bucket=bucket, Key=key)["VersionId"]
                with ledger.lock:
                    ledger.acked[(key, vid)] = MARKER
            else:
                known = ledger.versions_of(key)
                if not known:
                    continue
                vid = rng.choice(known)
                client.delete_object(Bucket=bucket, Key=key, VersionId=vid)
                with ledger.lock:
                    ledger.acked.pop((key, vid), None)
        except Exception:  # the kill: this request's outcome is unknown
            with ledger.lock:
                ledger.in_flight += 1
            return


def _listed(client: Any, bucket: str) -> dict[tuple[str, str], bool]:
    """(key, version id) -> is a delete marker, every page walked."""
    out: dict[tuple[str, str], bool] = {}
    kw: dict[str, str] = {}
    while True:
        page = client.list_object_versions(Bucket=bucket, MaxKeys=50, **kw)
        out.update({(v["Key"], v["VersionId"]): False for v in page.get("Versions", [])})
        out.update({(m["Key"], m["VersionId"]): True for m in page.get("DeleteMarkers", [])})
        if not page["IsTruncated"]:
            return out
        kw = {"KeyMarker": page["NextKeyMarker"], "VersionIdMarker": page["NextVersionIdMarker"]}


def _verify(client: Any, bucket: str, ledger: Ledger, unknown_deletes: int) -> None:
    listed = _listed(client, bucket)
    problems = []
    missing = [kv for kv in ledger.acked if kv not in listed]
    # A delete of a version in flight at the kill may have landed.
    if len(missing) > unknown_deletes:
        problems.append(f"acknowledged versions missing: {missing}")
    extra = [kv for kv in listed if kv not in ledger.acked]
    if len(extra) > ledger.in_flight:
        problems.append(f"{len(extra)} unknown versions for {ledger.in_flight} in flight")
    seen: dict[tuple[str, str], str] = {}
    for (key, vid), marker in listed.items():
        want = ledger.acked.get((key, vid))
        if marker:
            if want not in (None, MARKER):
                problems.append(f"{key}@{vid}: a marker, acknowledged as a version")
            seen[(key, vid)] = MARKER
            continue
        got = client.get_object(Bucket=bucket, Key=key, VersionId=vid)
        body = got["Body"].read()
        seen[(key, vid)] = hashlib.md5(body).hexdigest()
        if want is not None and seen[(key, vid)] != want:
            problems.append(f"{key}@{vid}: wrong bytes")
        if got["ETag"] != f'"{seen[(key, vid)]}"':
            problems.append(f"{key}@{vid}: ETag {got['ETag']} is not its bytes' MD5")
    assert not problems, "\n".join(problems)
    with ledger.lock:  # what landed is known now
        ledger.acked, ledger.in_flight = seen, 0


def test_sigkill_during_versioned_writes(
    crash_server: ServerProcess, client_of: Callable[..., S3Client]
) -> None:
    srv = crash_server
    admin = client_of(srv)
    bucket = "crash-versioned"
    admin.create_bucket(Bucket=bucket)
    admin.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    ledger = Ledger()
    caught = 0
    for round_no in range(ROUNDS):
        client = crash_client(srv, client_of)
        stop = threading.Event()
        threads = [threading.Thread(target=_worker, daemon=True,
                                    args=(client, bucket, ledger, stop, 100 * round_no + t))
                   for t in range(THREADS)]  # fmt: skip
        for th in threads:
            th.start()
        time.sleep(1.5 + random.Random(round_no).random())
        srv.kill()
        stop.set()
        for th in threads:
            th.join(30)
            assert not th.is_alive(), "a worker thread hung after the kill"
        in_flight = ledger.in_flight
        caught += in_flight
        srv.start(port=free_port())
        _verify(client_of(srv), bucket, ledger, in_flight)
        srv.stop()  # the deep fsck on the stopped data dir: every count zero
        fsck(srv)
        srv.start(port=free_port())
    assert len(ledger.acked) >= 20, f"workload too small to mean anything: {len(ledger.acked)}"
    assert caught >= 1, "the kills never caught a request in flight"
    client = client_of(srv)  # the server still works normally after the crashes
    vid = client.put_object(Bucket=bucket, Key="after", Body=b"alive")["VersionId"]
    assert client.get_object(Bucket=bucket, Key="after", VersionId=vid)["Body"].read() == b"alive"
