"""Crash safety of a bucket with object lock: SIGKILL the server while concurrent PUTs
(default GOVERNANCE retention, COMPLIANCE retain-until, legal holds), delete markers,
PutObjectRetention, PutObjectLegalHold and deletes of versions (with and without the
governance bypass) run (tests/reliability/_locked_load.py). After each restart:
- every acknowledged version not acknowledged deleted is listed and reads back by its
  version id, byte-exact, with its lock (mode, retain-until, legal hold) as acknowledged
  or as a change in flight at the kill asked; every refused delete left its version;
- the lifecycle (NoncurrentVersionExpiration, a day of a second) removes no locked
  version and no current one, and does remove unlocked noncurrent ones;
- with the server stopped, ``oortgate gc`` collects everything and a deep fsck finds the
  reference counts exact and no orphan.

On the embedded store and on PostgreSQL. CRASH_ROUNDS rounds (2 in ``make test``;
``make reliability`` runs 20).
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from tests.protocol._server import PYTHON, REPO_ROOT, ServerProcess, free_port
from tests.protocol._types import S3Client
from tests.reliability._locked_load import (
    DEFAULT_DAYS,
    GOVERNANCE,
    MARKER,
    Entry,
    Ledger,
    Lock,
    LockedWorker,
    NewVersion,
)
from tests.reliability._mixed_load import assert_collected, fsck
from tests.reliability._recovery import crash_client

ROUNDS = int(os.environ.get("CRASH_ROUNDS", "2"))
THREADS = 4
KEYS_PER_THREAD = 3
BUCKET = "crash-locked"
LIFECYCLE_DAY = 1.0  # seconds: `oortgate lifecycle run`'s day


@dataclass(frozen=True)
class Listed:
    marker: bool
    latest: bool


def _listed(client: Any, bucket: str) -> dict[tuple[str, str], Listed]:
    """(key, version id) -> what ListObjectVersions shows, every page walked."""
    out: dict[tuple[str, str], Listed] = {}
    kw: dict[str, str] = {}
    while True:
        page = client.list_object_versions(Bucket=bucket, MaxKeys=100, **kw)
        for marker, entries in ((False, page.get("Versions", [])),
                                (True, page.get("DeleteMarkers", []))):  # fmt: skip
            out.update({(e["Key"], e["VersionId"]): Listed(marker, e["IsLatest"]) for e in entries})
        if not page["IsTruncated"]:
            return out
        kw = {"KeyMarker": page["NextKeyMarker"], "VersionIdMarker": page["NextVersionIdMarker"]}


def _seen_lock(got: dict[str, Any]) -> Lock:
    until = got.get("ObjectLockRetainUntilDate")
    hold = got.get("ObjectLockLegalHoldStatus") == "ON"
    return Lock.exact(got.get("ObjectLockMode"), None if until is None else until.timestamp(), hold)


def _is_locked(entry: Entry) -> bool:
    return entry.lock is not None and entry.lock.protects(bypass=False)


def verify(client: Any, ledger: Ledger) -> None:
    """What the restarted server holds against what its clients were told; the ledger
    then holds what landed (every lock exactly as read)."""
    listed = _listed(client, BUCKET)
    problems = [*ledger.problems, *_drop_missing(ledger, listed)]
    in_flight = list(ledger.new_in_flight.values())
    for (key, vid), shown in listed.items():
        entry = ledger.entries.get((key, vid)) or _landed(ledger, in_flight, key, vid, shown)
        if entry is None:
            problems.append(f"{key}@{vid}: listed, never acknowledged nor in flight")
        elif shown.marker != (entry.md5 == MARKER):
            problems.append(f"{key}@{vid}: listed as marker={shown.marker}, acknowledged {entry}")
        else:
            if not shown.marker:
                problems.extend(_check_version(client, key, vid, entry))
            entry.pending, entry.deleting = None, False
    ledger.new_in_flight.clear()
    ledger.problems.clear()
    assert not problems, "\n".join(problems)


def _drop_missing(ledger: Ledger, listed: dict[tuple[str, str], Listed]) -> list[str]:
    """Entries no longer listed leave the ledger: a problem unless a delete of them was
    in flight at the kill (it may have landed)."""
    problems = []
    for kv, entry in list(ledger.entries.items()):
        if kv not in listed:
            del ledger.entries[kv]
            if not entry.deleting:
                what = "refused delete lost" if entry.refused else "lost"
                locked = "locked " if _is_locked(entry) else ""
                problems.append(f"{kv}: {what}: {locked}{entry}")
    return problems


def _landed(ledger: Ledger, in_flight: list[NewVersion], key: str, vid: str,
            shown: Listed) -> Entry | None:  # fmt: skip
    """An unknown listed version: one a PUT or delete in flight at the kill may have made
    (each such request accounts for one)."""
    came = next((n for n in in_flight if n.key == key and (n.md5 == MARKER) == shown.marker),
                None)  # fmt: skip
    if came is None:
        return None
    in_flight.remove(came)
    entry = ledger.entries[(key, vid)] = Entry(came.md5, came.lock, pending=came.lock)
    return entry


def _check_version(client: Any, key: str, vid: str, entry: Entry) -> list[str]:
    got = client.get_object(Bucket=BUCKET, Key=key, VersionId=vid)
    md5 = hashlib.md5(got["Body"].read()).hexdigest()
    problems = []
    if md5 != entry.md5:
        problems.append(f"{key}@{vid}: wrong bytes")
    if got["ETag"] != f'"{md5}"':
        problems.append(f"{key}@{vid}: ETag {got['ETag']} is not its bytes' MD5")
    seen = _seen_lock(got)
    admitted = [lock for lock in (entry.lock, entry.pending) if lock is not None]
    if not any(lock.admits(seen) for lock in admitted):
        problems.append(f"{key}@{vid}: lock {seen}, acknowledged {entry.lock} "
                        f"(in flight: {entry.pending})")  # fmt: skip
    entry.lock = seen
    return problems


def lifecycle_pass(srv: ServerProcess, client: Any, ledger: Ledger) -> int:
    """`oortgate lifecycle run` beside the server: it may remove unlocked noncurrent
    versions and markers, nothing else; returns how many versions (not markers) went."""
    before = _listed(client, BUCKET)
    env = srv.env() | {"OORTGATE_LIFECYCLE_DAY_SECONDS": str(LIFECYCLE_DAY)}
    res = subprocess.run([PYTHON, "-m", "oortgate", "lifecycle", "--data-dir", str(srv.data_dir),
                          "run", "--json"], cwd=REPO_ROOT, env=env, capture_output=True,
                         text=True, timeout=120)  # fmt: skip
    assert res.returncode == 0, res.stderr[-3000:]
    summary = json.loads(res.stdout.strip().splitlines()[-1])
    assert summary["failed"] == 0, summary
    after = _listed(client, BUCKET)
    assert set(after) <= set(before), set(after) - set(before)
    problems, versions = [], 0
    for kv in set(before) - set(after):
        entry = ledger.entries.pop(kv)
        if before[kv].latest:
            problems.append(f"{kv}: the lifecycle removed a current version: {entry}")
        if _is_locked(entry):
            problems.append(f"{kv}: the lifecycle removed a locked version: {entry}")
        versions += entry.md5 != MARKER
    assert not problems, "\n".join(problems)
    return versions


def collect_and_check(srv: ServerProcess) -> None:
    """Stopped: `oortgate gc` (everything, with no server), then nothing left over and a
    deep fsck clean (reference counts exact, no orphan, missing or damaged blob)."""
    srv.stop()
    # --gc-grace 0: on PostgreSQL gc spares young garbage (other gateways may be reading);
    # none runs here.
    res = subprocess.run([PYTHON, "-m", "oortgate", "gc", "--data-dir", str(srv.data_dir),
                          "--gc-grace", "0"], cwd=REPO_ROOT, env=srv.env(), capture_output=True,
                         text=True, timeout=120)  # fmt: skip
    assert res.returncode == 0, res.stderr[-3000:]
    assert_collected(srv)
    fsck(srv)
    srv.start(port=free_port())


def _load_until_kill(srv: ServerProcess, client: Any, ledger: Ledger, round_no: int) -> None:
    stop = threading.Event()
    workers = [LockedWorker(client, BUCKET, [f"t{t}-k{k}" for k in range(KEYS_PER_THREAD)],
                            ledger, t, 1000 * round_no + t) for t in range(THREADS)]  # fmt: skip
    threads = [threading.Thread(target=w.run, args=(stop,), daemon=True) for w in workers]
    for th in threads:
        th.start()
    time.sleep(1.5 + random.Random(round_no).random())
    srv.kill()
    stop.set()
    for th in threads:
        th.join(30)
        assert not th.is_alive(), "a worker thread hung after the kill"


@pytest.mark.parametrize("crash_server", ["embedded", "postgres"], indirect=True)
def test_sigkill_on_a_locked_bucket(
    crash_server: ServerProcess, client_of: Callable[..., S3Client]
) -> None:
    srv = crash_server
    admin = client_of(srv)
    admin.create_bucket(Bucket=BUCKET, ObjectLockEnabledForBucket=True)
    rule = {"DefaultRetention": {"Mode": GOVERNANCE, "Days": DEFAULT_DAYS}}
    admin.put_object_lock_configuration(
        Bucket=BUCKET, ObjectLockConfiguration={"ObjectLockEnabled": "Enabled", "Rule": rule}
    )
    admin.put_bucket_lifecycle_configuration(Bucket=BUCKET, LifecycleConfiguration={"Rules": [
        {"ID": "old", "Filter": {}, "Status": "Enabled",
         "NoncurrentVersionExpiration": {"NoncurrentDays": 1}}]})  # fmt: skip
    ledger, expired = Ledger(), 0
    for round_no in range(ROUNDS):
        _load_until_kill(srv, crash_client(srv, client_of), ledger, round_no)
        srv.start(port=free_port())
        verify(client_of(srv), ledger)
        expired += lifecycle_pass(srv, client_of(srv), ledger)
        collect_and_check(srv)
    verify(client_of(srv), ledger)  # after the last collection: every version still whole
    counts, entries = ledger.counts, list(ledger.entries.values())
    print(f"\nlocked crash: {ROUNDS} rounds, {counts}, {len(entries)} versions kept, "
          f"{expired} unlocked noncurrent versions expired")  # fmt: skip
    assert counts.get("in_flight", 0) >= 1, "the kills never caught a request in flight"
    assert expired >= 1, "no unlocked noncurrent version expired: the lifecycle check is vacuous"
    assert sum(map(_is_locked, entries)) >= 20, f"too few locked versions: {counts}"
    for what in ("put_compliance", "put_held", "legal_hold", "remove_retention", "delete_refused",
                 "delete_bypass_refused", "shorten_retention_refused"):  # fmt: skip
        assert counts.get(what, 0) >= 1, f"{what} never happened: {counts}"
