"""Start-up: prepare the data directory, then run granian's workers over HTTPS (and the
plain-HTTP redirect listener beside them)."""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import sqlite3
import sys
import threading
import time
from collections.abc import Callable
from multiprocessing.process import BaseProcess
from pathlib import Path

from oortgate import accounts, connections, datadir_lock, gc, preflight, stores, tls
from oortgate.config import ENV_PREFIX, Settings
from oortgate.endpoints import ARCHIVE
from oortgate.errors import StoreUnavailable
from oortgate.http.redirect import ENV_HTTPS_PORT
from oortgate.http.server import ENV_PORT_TIER
from oortgate.meta.base import MetaStore
from oortgate.meta.models import AccessKey, StorageUsage
from oortgate.ratelimit import SharedRateLimiter
from oortgate.secretbox import SecretBoxError
from oortgate.storage.space import SpaceGuard, StorageFull


def sweep(settings: Settings, grace: float) -> dict[str, int]:
    """`oortgate gc`. With no server on an embedded store's data directory: what crashed
    writers left behind too (dead sessions' temp files and pending blobs, all the
    garbage, orphans), holding the directory's lock meanwhile so that no server starts
    under it. With one running, or on PostgreSQL (other gateways may run): only the
    garbage that is due (``grace``), as the servers' own collectors do, and dead
    sessions' leftovers; on PostgreSQL the orphan sweep too (one at a time, sparing young
    blobs). A live session's pending or in-flight blob is never touched."""
    if settings.metadata_url:
        return asyncio.run(sweep_stores(settings, grace, orphans=True))
    try:
        fd = datadir_lock.lock(settings.data_dir)
    except datadir_lock.DataDirInUse:
        return asyncio.run(sweep_stores(settings, grace, orphans=False))
    try:
        return asyncio.run(sweep_stores(settings, None, orphans=True))
    finally:
        os.close(fd)


async def sweep_stores(settings: Settings, grace: float | None, orphans: bool) -> dict[str, int]:
    """gc.sweep on the stores the settings name, every backend alike (a RADOS pool's
    from a process that has not forked since: see oortgate.rados_tools)."""
    meta = stores.open_tool_meta(settings)
    try:
        await meta.ping()  # connects first (on PostgreSQL: the schema the blobs need)
        blobs = stores.worker_blobs(settings)  # no session: a sweep writes no blob
        try:
            return await gc.sweep(meta, blobs, grace, orphans,
                                  session_timeout=settings.session_timeout)  # fmt: skip
        finally:
            await blobs.close()
    finally:
        await meta.close()


def prepare(settings: Settings) -> None:
    settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    SharedRateLimiter.reset(settings.rate_limit_path)
    root_key = (os.environ.get(ENV_PREFIX + "ROOT_ACCESS_KEY"),
                os.environ.get(ENV_PREFIX + "ROOT_SECRET_KEY"))  # fmt: skip
    try:
        generated, counts = asyncio.run(_prepare_stores(settings, *root_key))
    except StoreUnavailable as exc:
        raise preflight.StartupError(f"metadata_url: {exc}") from None
    if settings.metadata_url:
        (settings.data_dir / stores.PG_MARKER).write_text(
            "The metadata of this gateway is in PostgreSQL (metadata_url).\n"
        )
    if stores.rados_settings(settings):
        counts = _sweep_rados_at_start(settings)
    if not space_guard(settings).ensure_reserve():
        print("oortgate: disk full: writes are refused until space is freed", file=sys.stderr)
    if generated is not None:
        # Shown once: the secret is not printed again (keep it, or create another key).
        print("oortgate: generated root credentials (shown only once):", file=sys.stderr)
        print(f"  access key: {generated.access_key}", file=sys.stderr)
        print(f"  secret key: {generated.secret_key}", file=sys.stderr)
    if any(counts.values()):
        print(f"oortgate: start-up sweep collected {counts}", file=sys.stderr)


async def _prepare_stores(
    settings: Settings, access_key: str | None, secret_key: str | None
) -> tuple[AccessKey | None, dict[str, int]]:
    """Before any worker starts: connect (on PostgreSQL within the connect timeout, checking
    the server's durability settings and migrating the schema: a database that cannot
    serve is an exit 2 naming metadata_url, not a worker failing later), check that
    every secret opens with the configured key (or none), make the root key, sweep."""
    meta = stores.open_tool_meta(settings)
    try:
        await meta.list_keys()
        async with meta.bootstrap_lock():  # gateways starting together: one root key
            generated = await accounts.ensure_root(meta, access_key, secret_key)
        if stores.rados_settings(settings):
            return generated, {}  # swept in a child process (see _sweep_rados_at_start)
        return generated, await _sweep_if_space(meta, settings)
    finally:
        await meta.close()


def _sweep_rados_at_start(settings: Settings) -> dict[str, int]:
    """The start-up sweep on a RADOS blob store, in a child process (see rados_tools);
    if it fails, the workers' own upkeep reaps and collects as they run."""
    from oortgate import rados_tools

    try:
        return rados_tools.sweep_in_child(settings)
    except preflight.StartupError as exc:
        print(f"oortgate: start-up sweep skipped: {exc}", file=sys.stderr)
        return {}


def _pg_usage(url: str) -> Callable[[float], StorageUsage]:
    """The metrics' usage query, on its own short-lived connection each scrape."""

    async def once(due_before: float) -> StorageUsage:
        meta = stores.open_postgres(url, None)
        try:
            return await meta.usage(due_before)
        finally:
            await meta.close()

    return lambda due_before: asyncio.run(once(due_before))


def space_guard(settings: Settings) -> SpaceGuard:
    return SpaceGuard(settings.data_dir, settings.free_space_minimum, settings.space_reserve_bytes)


async def _sweep_if_space(meta: MetaStore, settings: Settings) -> dict[str, int]:
    """The start-up sweep: after a crash on an embedded store (its lock is held: no
    download can be under way, all the garbage goes); on PostgreSQL what is safe beside
    the other gateways (see sweep). On a full disk, the reserve is given up for it, and if
    it still cannot finish, start without it: reads work, the running collector takes the
    garbage, and pending marks and orphan files wait for the next start."""
    grace = settings.gc_grace if settings.metadata_url else None
    blobs = stores.open_tool_blobs(settings)
    try:
        timeout = settings.session_timeout
        try:
            return await gc.sweep(meta, blobs, grace, session_timeout=timeout)
        except StorageFull:
            space_guard(settings).release_reserve()
        try:
            return await gc.sweep(meta, blobs, grace, session_timeout=timeout)
        except StorageFull:
            print("oortgate: disk full: start-up sweep skipped", file=sys.stderr)
            return {}
    finally:
        await blobs.close()


def _granian(
    target: str, settings: Settings, port: int, workers: int, tls_files: tuple[Path, Path] | None
) -> None:
    from granian import Granian
    from granian.constants import HTTPModes, Interfaces, Loops, SSLProtocols
    from granian.http import HTTP1Settings
    from granian.log import LogLevels

    cert, key = tls_files if tls_files else (None, None)
    limits = connections.listener_limits(
        settings.max_connections, workers, settings.listen_backlog, settings.header_timeout,
        connections.raise_descriptor_limit(),
    )  # fmt: skip
    Granian(
        target,
        factory=True,
        address=settings.host,
        port=port,
        interface=Interfaces.ASGI,
        workers=workers,
        loop=Loops.uvloop,
        http=HTTPModes.http1,
        ssl_cert=cert,
        ssl_key=key,
        ssl_protocol_min=SSLProtocols.tls12,
        log_level=LogLevels(settings.log_level),
        respawn_failed_workers=True,
        backlog=limits.backlog,
        backpressure=limits.per_worker,
        http1_settings=HTTP1Settings(header_read_timeout=limits.header_timeout_ms),
    ).serve()


def _exit_with(parent: int) -> None:
    """A listener child exits when the gateway's main process is gone, even if that one
    was killed outright."""

    def watch_parent() -> None:
        while os.getppid() == parent:
            time.sleep(1)
        os._exit(0)

    threading.Thread(target=watch_parent, daemon=True).start()


def _redirect_listener(settings: Settings, parent: int) -> None:
    """Child process: the plain-HTTP listener."""
    _exit_with(parent)
    os.environ[ENV_HTTPS_PORT] = str(settings.https_port)
    _granian("oortgate.http.redirect:create_app", settings, settings.http_port, 1, None)


def _archive_listener(settings: Settings, tls_files: tuple[Path, Path], parent: int) -> None:
    """Child process: a second HTTPS port that stands for the Archive endpoint (for local
    use, where s3-archive.<domain> may not resolve)."""
    _exit_with(parent)
    os.environ[ENV_PORT_TIER] = ARCHIVE
    workers = max(1, settings.workers // 2)
    _granian("oortgate.http.server:create_app", settings, settings.archive_https_port,
             workers, tls_files)  # fmt: skip


def _metrics_listener(settings: Settings, directory: Path, parent: int) -> None:
    """Child process: Prometheus metrics over plain HTTP, away from the request path."""
    _exit_with(parent)
    from oortgate import metrics

    if settings.metadata_url:
        usage = metrics.UsageCollector(_pg_usage(settings.metadata_url), settings.gc_grace)
    else:
        usage = metrics.UsageCollector(stores.open_meta(settings.data_dir).usage, settings.gc_grace)
    app = metrics.exposition_app(directory, usage)
    metrics.serve_metrics(settings.metrics_host, settings.metrics_port, app)


def _start(target: Callable[..., None], *args: object) -> BaseProcess:
    child = multiprocessing.get_context("fork").Process(target=target, args=(*args, os.getpid()))
    child.start()
    return child


def serve(settings: Settings) -> int:
    if not _checked_and_prepared(settings):
        return 2
    tls_files = _tls_files(settings)
    os.environ.update(settings.to_env())
    warning = connections.descriptor_warning(settings.max_connections, settings.workers)
    if warning:
        print(f"oortgate: {warning}", file=sys.stderr)
    children = []
    if settings.metrics_port:
        # Before any worker exists: they all inherit the directory (see oortgate.metrics).
        from oortgate.metrics import prepare_multiproc_dir

        directory = prepare_multiproc_dir(settings.data_dir)
        children.append(_start(_metrics_listener, settings, directory))
    if settings.http_port:
        children.append(_start(_redirect_listener, settings))
    if settings.archive_https_port:
        children.append(_start(_archive_listener, settings, tls_files))
    print(_serving_line(settings, tls_files[0]), file=sys.stderr)
    try:
        _granian("oortgate.http.server:create_app", settings, settings.https_port,
                 settings.workers, tls_files)  # fmt: skip
    finally:
        for child in children:
            child.terminate()
            with contextlib.suppress(Exception):
                child.join(5)
    return 0


def _checked_and_prepared(settings: Settings) -> bool:
    """Every start-up check, then the data directory made ready; False (after one line
    saying why) if the server cannot start."""
    try:
        preflight.check_listeners(settings)
        preflight.check_data_dir(settings.data_dir)
        if not settings.allow_network_data_dir:
            preflight.check_data_dir_local(settings.data_dir)
        preflight.check_access_log(settings)
        preflight.check_rate_limit_store(settings)
        preflight.check_blob_stores(settings)
        db_path = stores.db_path(settings.data_dir)
        try:
            datadir_lock.lock(settings.data_dir)  # held until the last process exits
        except datadir_lock.DataDirInUse as exc:
            raise preflight.StartupError(
                f"data_dir {settings.data_dir}: in use by another oortgate serve (pid {exc})"
            ) from None
        try:
            # First: on a full disk SQLite needs the reserve's room even to read (its
            # -wal and -shm files), and the integrity check below reads.
            space_guard(settings).prepare_for_start()
            warning = None if settings.metadata_url else preflight.check_database(db_path)
            if warning:
                print(f"oortgate: {warning}", file=sys.stderr)
            prepare(settings)
        except sqlite3.Error as exc:
            if space_guard(settings).reading().free == 0:
                raise StorageFull(str(exc)) from None
            raise preflight.describe_database_error(db_path, exc) from None
    except (SecretBoxError, preflight.StartupError) as exc:
        print(f"oortgate: {exc}", file=sys.stderr)
        return False
    except StorageFull:
        print(f"oortgate: data_dir {settings.data_dir}: disk full, the metadata database "
              "cannot be set up; free some space", file=sys.stderr)  # fmt: skip
        return False
    return True


def _tls_files(settings: Settings) -> tuple[Path, Path]:
    if settings.tls_cert is not None and settings.tls_key is not None:
        return settings.tls_cert, settings.tls_key
    endpoints = settings.endpoints
    names = (*tls.DEFAULT_NAMES, endpoints.standard, endpoints.archive,
             f"*.{endpoints.standard}", f"*.{endpoints.archive}")  # fmt: skip
    return tls.ensure_self_signed(settings.tls_dir, names)


def _serving_line(settings: Settings, cert: Path) -> str:
    endpoints = settings.endpoints
    parts = [f"oortgate: serving https://{settings.host}:{settings.https_port}"]
    if settings.http_port:
        parts.append(f" (http://…:{settings.http_port} redirects there)")
    if settings.archive_https_port:
        parts.append(f", archive tier also on :{settings.archive_https_port}")
    parts.append(f"; endpoints {endpoints.standard} and {endpoints.archive}")
    if settings.metrics_port:
        parts.append(f"; metrics on http://{settings.metrics_host}:{settings.metrics_port}/metrics")
    parts.append(f"; data in {settings.data_dir}, certificate {cert}")
    return "".join(parts)
