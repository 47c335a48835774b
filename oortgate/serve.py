"""Start-up: prepare the data directory, then run granian's workers over HTTPS (and the
plain-HTTP redirect listener beside them)."""

from __future__ import annotations

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

from oortgate import accounts, gc, preflight, tls
from oortgate.config import ENV_PREFIX, Settings
from oortgate.http.hosts import ARCHIVE
from oortgate.http.redirect import ENV_HTTPS_PORT
from oortgate.http.server import ENV_PORT_TIER
from oortgate.meta.sqlite import SqliteMetaStore
from oortgate.ratelimit import SharedRateLimiter
from oortgate.secretbox import SecretBox, SecretBoxError
from oortgate.storage.local import LocalBlobStore


def sweep(data_dir: Path) -> dict[str, int]:
    """Collect what crashed writers left behind. Only while no worker is running."""
    meta = SqliteMetaStore(data_dir / "meta.sqlite3", SecretBox.from_env())
    try:
        return gc.startup_sweep(meta, LocalBlobStore(data_dir))
    finally:
        meta.close()


def prepare(settings: Settings) -> None:
    settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    SharedRateLimiter.reset(settings.rate_limit_path)
    meta = SqliteMetaStore(settings.db_path, SecretBox.from_env())
    try:
        meta.list_keys()  # every secret must open with the configured key (or none)
        generated = accounts.ensure_root(
            meta,
            os.environ.get(ENV_PREFIX + "ROOT_ACCESS_KEY"),
            os.environ.get(ENV_PREFIX + "ROOT_SECRET_KEY"),
        )
        counts = gc.startup_sweep(meta, LocalBlobStore(settings.data_dir))
    finally:
        meta.close()
    if generated is not None:
        # Shown once: the secret is not printed again (keep it, or create another key).
        print("oortgate: generated root credentials (shown only once):", file=sys.stderr)
        print(f"  access key: {generated.access_key}", file=sys.stderr)
        print(f"  secret key: {generated.secret_key}", file=sys.stderr)
    if any(counts.values()):
        print(f"oortgate: start-up sweep collected {counts}", file=sys.stderr)


def _granian(
    target: str, settings: Settings, port: int, workers: int, tls_files: tuple[Path, Path] | None
) -> None:
    from granian import Granian
    from granian.constants import HTTPModes, Interfaces, Loops, SSLProtocols
    from granian.log import LogLevels

    cert, key = tls_files if tls_files else (None, None)
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


def _start(target: Callable[..., None], *args: object) -> BaseProcess:
    child = multiprocessing.get_context("fork").Process(target=target, args=(*args, os.getpid()))
    child.start()
    return child


def serve(settings: Settings) -> int:
    try:
        preflight.check_listeners(settings)
        preflight.check_data_dir(settings.data_dir)
        try:
            prepare(settings)
        except sqlite3.Error as exc:
            raise preflight.describe_database_error(settings.db_path, exc) from None
    except (SecretBoxError, preflight.StartupError) as exc:
        print(f"oortgate: {exc}", file=sys.stderr)
        return 2
    if settings.tls_cert is None or settings.tls_key is None:
        endpoints = settings.endpoints
        names = (*tls.DEFAULT_NAMES, endpoints.standard, endpoints.archive,
                 f"*.{endpoints.standard}", f"*.{endpoints.archive}")  # fmt: skip
        tls_files = tls.ensure_self_signed(settings.tls_dir, names)
    else:
        tls_files = (settings.tls_cert, settings.tls_key)
    os.environ.update(settings.to_env())
    children = []
    if settings.http_port:
        children.append(_start(_redirect_listener, settings))
    if settings.archive_https_port:
        children.append(_start(_archive_listener, settings, tls_files))
    endpoints = settings.endpoints
    print(
        f"oortgate: serving https://{settings.host}:{settings.https_port}"
        + (f" (http://…:{settings.http_port} redirects there)" if settings.http_port else "")
        + (
            f", archive tier also on :{settings.archive_https_port}"
            if settings.archive_https_port
            else ""
        )
        + f"; endpoints {endpoints.standard} and {endpoints.archive}"
        + f"; data in {settings.data_dir}, certificate {tls_files[0]}",
        file=sys.stderr,
    )
    try:
        _granian("oortgate.http.server:create_app", settings, settings.https_port,
                 settings.workers, tls_files)  # fmt: skip
    finally:
        for child in children:
            child.terminate()
            with contextlib.suppress(Exception):
                child.join(5)
    return 0
