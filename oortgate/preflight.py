"""Checks `serve` makes before it starts anything, so that an operator's mistake is one
line naming the setting and the cause (exit 2), not a traceback after "serving"."""

from __future__ import annotations

import errno
import os
import socket
import sqlite3
from pathlib import Path

from oortgate import mounts
from oortgate.access_log import open_log
from oortgate.config import Settings
from oortgate.meta.sqlite_integrity import quick_check
from oortgate.store_urls import parse_redis_url

# The start-up check's time limit. quick_check of 100,000 objects takes 0.03 s from the
# page cache, 0.8 s from the disk; of a million, 0.3 s and 6.6 s. Past the limit the
# server starts unchecked (with a warning) rather than late.
QUICK_CHECK_SECONDS = 10.0


class StartupError(Exception):
    """Why the server cannot start, in one line that names the setting."""


def check_listeners(settings: Settings) -> None:
    """Every port must be free on ``host``. granian binds with SO_REUSEPORT, so a second
    server on a port in use would start and the kernel would split connections between
    the two: a plain bind (no SO_REUSEPORT) fails where another process listens."""
    ports = {"https_port": settings.https_port, "http_port": settings.http_port,
             "archive_https_port": settings.archive_https_port}  # fmt: skip
    for name, port in ports.items():
        if port:
            _check_bindable(settings.host, name, port)
    if settings.metrics_port:
        _check_bindable(settings.metrics_host, "metrics_port", settings.metrics_port)


def check_access_log(settings: Settings) -> None:
    """The access log must open for appending (each worker opens it again)."""
    if not settings.access_log or settings.access_log == "-":
        return
    try:
        os.close(open_log(settings.access_log))
    except OSError as exc:
        raise StartupError(
            f"access_log {settings.access_log}: cannot be opened for appending ({_reason(exc)})"
        ) from None


def _check_bindable(host: str, name: str, port: int) -> None:
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except (socket.gaierror, UnicodeError) as exc:
        raise StartupError(f"host {host!r}: not an address to listen on ({_reason(exc)})") from None
    with socket.socket(family, kind, proto) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # TIME_WAIT is no conflict
        try:
            sock.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise StartupError(
                    f"{name} {port}: already in use on {host} by another process"
                ) from None
            if exc.errno == errno.EADDRNOTAVAIL:
                raise StartupError(f"host {host!r}: not an address of this machine") from None
            if exc.errno == errno.EACCES:
                raise StartupError(
                    f"{name} {port}: permission denied (ports below 1024 need root or "
                    "CAP_NET_BIND_SERVICE)"
                ) from None
            raise StartupError(f"{name} {port} on {host}: {_reason(exc)}") from None


def check_rate_limit_store(settings: Settings) -> None:
    """A shared rate limit needs its Redis answering at start (later, the fallback covers
    for it): otherwise every gateway would start degraded without anyone noticing."""
    if not (settings.rate_limit and settings.rate_limit_url):
        return
    from oortgate.ratelimit_redis import STARTUP_TIMEOUT, check_reachable

    problem = check_reachable(settings.rate_limit_url, STARTUP_TIMEOUT)
    if problem is not None:
        host, port, _ = parse_redis_url(settings.rate_limit_url)
        raise StartupError(f"rate_limit_url: Redis at {host}:{port} unusable ({problem})")


def check_blob_stores(settings: Settings) -> None:
    """A rados:// tier's cluster and pool must answer at start, within the connect
    timeout (see oortgate.rados_tools): a gateway that cannot store must not start."""
    from oortgate import rados_tools

    rados_tools.check_reachable(settings)


def check_data_dir(data_dir: Path) -> None:
    """The data directory must exist (or be creatable) and be writable. A full disk is
    not refused here: the server starts and answers what it can."""
    try:
        data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        probe = data_dir / f".write-probe-{os.getpid()}"
        os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600))
        probe.unlink()
    except OSError as exc:
        if exc.errno == errno.ENOSPC:
            return
        raise StartupError(f"data_dir {data_dir}: not writable ({_reason(exc)})") from None


def check_data_dir_local(data_dir: Path) -> None:
    """The embedded metadata store (SQLite) and the in-host rate limiter (a shared memory
    map) need a local file system: see oortgate.mounts."""
    mount = mounts.network_mount(data_dir)
    if mount is not None:
        raise StartupError(
            f"data_dir {data_dir}: on a {mount.fs_type} file system ({mount.source} at "
            f"{mount.mount_point}); SQLite's locking does not work on network or FUSE file "
            "systems and the database could be corrupted: use a local disk (blobs may go "
            "to a shared directory with blob_url), or set allow_network_data_dir = true "
            "if this one is local all the same"
        )


def check_database(path: Path, seconds: float = QUICK_CHECK_SECONDS) -> str | None:
    """``PRAGMA quick_check`` of the metadata database (if there is one yet): a damaged
    file stops the start (serving from it could answer with wrong data). Returns a
    warning when the time ran out first."""
    if not path.exists():
        return None
    result = quick_check(path, seconds)
    if result.problems:
        raise StartupError(
            f"metadata database {path} is damaged (quick_check: {result.problems[0]}); "
            "keep a copy, then restore it from a backup or salvage what is readable "
            f"(`sqlite3 {path.name} .recover | sqlite3 recovered.sqlite3`), and run "
            "`oortgate fsck`"
        )
    if not result.finished:
        return (f"quick_check of the metadata database stopped after {seconds:g} s: "
                "run `oortgate fsck` to check all of it")  # fmt: skip
    return None


def describe_database_error(path: Path, exc: sqlite3.Error) -> StartupError:
    return StartupError(
        f"metadata database {path} cannot be opened ({exc}); if it is damaged, restore it "
        "from a backup"
    )


def _reason(exc: BaseException) -> str:
    return getattr(exc, "strerror", None) or str(exc)
