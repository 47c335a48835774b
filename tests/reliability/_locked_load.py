"""A concurrent load on a bucket with object lock, and the model of what it was told.

Each worker thread owns its keys, so the model of every version is exact: a thread knows
each of its versions' lock and so whether a delete of it must be refused. Operations:
PUTs under the bucket's default retention (GOVERNANCE), with a COMPLIANCE retain-until,
with a legal hold; delete markers; PutObjectRetention (extended, shortened without the
bypass: refused, removed with it) and PutObjectLegalHold; deletes of versions with and
without x-amz-bypass-governance-retention. A request the kill cuts off leaves its
target ``pending`` (a lock change, a delete, a new version): after the restart either
outcome is admitted, nothing else.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import os
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

GOVERNANCE, COMPLIANCE = "GOVERNANCE", "COMPLIANCE"
DEFAULT_DAYS = 3  # the bucket's default retention
DAY = 86400.0
MARKER = "marker"  # a delete marker's "md5"
SLACK = 1.0  # seconds: a retain-until is shown to the millisecond


@dataclass(frozen=True)
class Lock:
    """A version's lock as the client knows it: the retain-until lies in [until_min,
    until_max] (a default retention's end is computed by the server while it writes)."""

    mode: str | None
    until_min: float | None
    until_max: float | None
    hold: bool = False

    @classmethod
    def exact(cls, mode: str | None, until: float | None, hold: bool) -> Lock:
        return cls(mode, until, until, hold)

    def protects(self, bypass: bool) -> bool:
        """Whether a delete of the version must be refused (every retention in this test
        ends days from now: an unexpired one)."""
        return self.hold or self.mode == COMPLIANCE or (self.mode == GOVERNANCE and not bypass)

    def admits(self, seen: Lock) -> bool:
        if (self.mode, self.hold) != (seen.mode, seen.hold):
            return False
        if self.until_min is None or self.until_max is None or seen.until_min is None:
            return self.until_min is None and seen.until_min is None
        return self.until_min - SLACK <= seen.until_min <= self.until_max + SLACK


def default_lock(started: float, ended: float, hold: bool = False) -> Lock:
    return Lock(GOVERNANCE, started + DEFAULT_DAYS * DAY, ended + DEFAULT_DAYS * DAY, hold)


@dataclass
class Entry:
    """One acknowledged version (or delete marker) of a key."""

    md5: str  # of its bytes, or MARKER
    lock: Lock | None  # None: a delete marker
    pending: Lock | None = None  # a lock change in flight at the kill
    deleting: bool = False  # a delete of it in flight at the kill
    refused: bool = False  # a delete of it was refused


@dataclass(frozen=True)
class NewVersion:
    """A PUT or delete marker in flight at the kill: it may have landed."""

    key: str
    md5: str
    lock: Lock | None


@dataclass
class Ledger:
    lock: threading.Lock = field(default_factory=threading.Lock)
    entries: dict[tuple[str, str], Entry] = field(default_factory=dict)
    new_in_flight: dict[int, NewVersion] = field(default_factory=dict)  # by worker
    problems: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    def count(self, what: str) -> None:
        with self.lock:
            self.counts[what] = self.counts.get(what, 0) + 1

    def problem(self, text: str) -> None:
        with self.lock:
            self.problems.append(text)

    def versions(self, keys: list[str]) -> list[tuple[tuple[str, str], Entry]]:
        with self.lock:
            return [(kv, e) for kv, e in self.entries.items() if kv[0] in keys]


class Unknown(Exception):
    """The server went away: the request's outcome is not known."""


class Refused(Exception):
    """403 AccessDenied: the lock refused the request, nothing changed."""


def _send(fn: Callable[..., Any], **kw: Any) -> Any:
    try:
        return fn(**kw)
    except ClientError as exc:
        status = exc.response["ResponseMetadata"]["HTTPStatusCode"]
        code = exc.response.get("Error", {}).get("Code")
        if status >= 500:
            raise Unknown from exc
        if code == "AccessDenied":
            raise Refused from None
        raise AssertionError(f"{fn.__name__}: {status} {code}") from exc
    except Exception as exc:  # the connection reset by the kill, a timeout
        raise Unknown from exc


def _date(epoch: float) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(epoch, datetime.UTC)


class LockedWorker:
    """One thread's random mix of operations on its own keys, until stopped or cut off."""

    def __init__(self, client: Any, bucket: str, keys: list[str], ledger: Ledger,
                 number: int, seed: int) -> None:  # fmt: skip
        self.c, self.bucket, self.keys, self.ledger = client, bucket, keys, ledger
        self.number, self.rng = number, random.Random(seed)

    def run(self, stop: threading.Event) -> None:
        ops: list[tuple[int, Callable[[], None]]] = [
            (22, self.put_default), (8, self.put_compliance), (8, self.put_held),
            (8, self.delete_marker), (8, self.extend_retention), (5, self.shorten_retention),
            (10, self.remove_retention), (10, self.legal_hold), (21, self.delete_version),
        ]  # fmt: skip
        weights, calls = [w for w, _ in ops], [op for _, op in ops]
        while not stop.is_set():
            op = self.rng.choices(calls, weights)[0]
            try:
                op()
            except Unknown:
                self.ledger.count("in_flight")
                return  # what is pending stays pending: the server is gone
            except AssertionError as exc:
                self.ledger.problem(str(exc))
                return

    # -- new versions ------------------------------------------------------------------
    def _put(self, lock_of: Callable[[float, float], Lock], what: str, **kw: Any) -> None:
        key = self.rng.choice(self.keys)
        data = os.urandom(self.rng.choice([64, 64, 2_000, 40_000, 300_000]))
        md5, started = hashlib.md5(data).hexdigest(), time.time()
        with self.ledger.lock:  # its lock's end is not known before the answer: a bound
            guess = lock_of(started, started + 120)
            self.ledger.new_in_flight[self.number] = NewVersion(key, md5, guess)
        answer = _send(self.c.put_object, Bucket=self.bucket, Key=key, Body=data, **kw)
        with self.ledger.lock:
            del self.ledger.new_in_flight[self.number]
            lock = lock_of(started, time.time())
            self.ledger.entries[(key, answer["VersionId"])] = Entry(md5, lock)
        self.ledger.count(what)

    def put_default(self) -> None:
        self._put(default_lock, "put_default")

    def put_held(self) -> None:
        self._put(lambda t0, t1: default_lock(t0, t1, hold=True), "put_held",
                  ObjectLockLegalHoldStatus="ON")  # fmt: skip

    def put_compliance(self) -> None:
        until = float(int(time.time() + self.rng.uniform(1, 2) * DAY))
        self._put(lambda t0, t1: Lock.exact(COMPLIANCE, until, False), "put_compliance",
                  ObjectLockMode=COMPLIANCE, ObjectLockRetainUntilDate=_date(until))  # fmt: skip

    def delete_marker(self) -> None:
        key = self.rng.choice(self.keys)
        with self.ledger.lock:
            self.ledger.new_in_flight[self.number] = NewVersion(key, MARKER, None)
        answer = _send(self.c.delete_object, Bucket=self.bucket, Key=key)
        assert answer.get("DeleteMarker"), f"{key}: no delete marker: {answer}"
        with self.ledger.lock:
            del self.ledger.new_in_flight[self.number]
            self.ledger.entries[(key, answer["VersionId"])] = Entry(MARKER, None)
        self.ledger.count("delete_marker")

    # -- a version's lock --------------------------------------------------------------
    def _a_version(self) -> tuple[tuple[str, str], Entry, Lock] | None:
        versions = [(kv, e) for kv, e in self.ledger.versions(self.keys) if e.lock is not None]
        if not versions:
            return None
        kv, entry = self.rng.choice(versions)
        assert entry.lock is not None
        return kv, entry, entry.lock

    def _change(self, kv: tuple[str, str], entry: Entry, target: Lock, refused: bool,
                what: str, fn: Callable[..., Any], **kw: Any) -> None:  # fmt: skip
        """A lock change the model says is allowed (its target pending until the answer)
        or ``refused`` (then nothing may change)."""
        if not refused:
            entry.pending = target
        try:
            _send(fn, Bucket=self.bucket, Key=kv[0], VersionId=kv[1], **kw)
        except Refused:
            entry.pending = None
            if not refused:
                raise AssertionError(f"{kv}: {what} to {target} refused ({entry.lock})") from None
            self.ledger.count(f"{what}_refused")
            return
        if refused:
            raise AssertionError(f"{kv}: {what} to {target} allowed; lock {entry.lock}")
        entry.lock, entry.pending = target, None
        self.ledger.count(what)

    def extend_retention(self) -> None:
        found = self._a_version()
        if found is None:
            return
        kv, entry, lock = found
        start = lock.until_max if lock.until_max is not None else time.time()
        until = float(int(start + self.rng.uniform(0.1, 1) * DAY))
        mode = COMPLIANCE if lock.mode == COMPLIANCE or self.rng.random() < 0.2 else GOVERNANCE
        retention = {"Mode": mode, "RetainUntilDate": _date(until)}
        self._change(kv, entry, Lock.exact(mode, until, lock.hold), False, "extend_retention",
                     self.c.put_object_retention, Retention=retention)  # fmt: skip

    def shorten_retention(self) -> None:
        """Refused: without the bypass for GOVERNANCE, with it for COMPLIANCE."""
        found = self._a_version()
        if found is None or found[2].until_min is None:
            return
        kv, entry, lock = found
        assert lock.mode is not None and lock.until_min is not None
        until = float(int(lock.until_min - 3600))
        retention = {"Mode": lock.mode, "RetainUntilDate": _date(until)}
        self._change(kv, entry, Lock.exact(lock.mode, until, lock.hold), True,
                     "shorten_retention", self.c.put_object_retention, Retention=retention,
                     BypassGovernanceRetention=lock.mode == COMPLIANCE)  # fmt: skip

    def remove_retention(self) -> None:
        """With the bypass: done for GOVERNANCE (the version is then unlocked unless
        held), refused for COMPLIANCE."""
        found = self._a_version()
        if found is None or found[2].mode is None:
            return
        kv, entry, lock = found
        self._change(kv, entry, Lock(None, None, None, lock.hold), lock.mode == COMPLIANCE,
                     "remove_retention", self.c.put_object_retention, Retention={},
                     BypassGovernanceRetention=True)  # fmt: skip

    def legal_hold(self) -> None:
        found = self._a_version()
        if found is None:
            return
        kv, entry, lock = found
        on = self.rng.random() < 0.5
        status = "ON" if on else "OFF"
        self._change(kv, entry, dataclasses.replace(lock, hold=on), False, "legal_hold",
                     self.c.put_object_legal_hold, LegalHold={"Status": status})  # fmt: skip

    # -- deletes of versions -----------------------------------------------------------
    def delete_version(self) -> None:
        versions = self.ledger.versions(self.keys)
        if not versions:
            return
        kv, entry = self.rng.choice(versions)
        bypass = self.rng.random() < 0.4
        refused = entry.lock is not None and entry.lock.protects(bypass)
        what = "delete_bypass" if bypass else "delete"
        entry.deleting = not refused
        try:
            _send(self.c.delete_object, Bucket=self.bucket, Key=kv[0], VersionId=kv[1],
                  **({"BypassGovernanceRetention": True} if bypass else {}))  # fmt: skip
        except Refused:
            entry.deleting = False
            entry.refused = True
            if not refused:
                raise AssertionError(f"{kv}: {what} refused; lock {entry.lock}") from None
            self.ledger.count(f"{what}_refused")
            return
        with self.ledger.lock:
            del self.ledger.entries[kv]
        if refused:
            raise AssertionError(f"{kv}: {what} removed a locked version ({entry.lock})")
        self.ledger.count(what)
