"""Start-up: prepare the data directory, then run granian's workers over HTTPS (and the
plain-HTTP redirect listener beside them)."""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import sys
import threading
import time
from pathlib import Path

from oortgate import accounts, gc, tls
from oortgate.config import ENV_PREFIX, Settings
from oortgate.http.redirect import ENV_HTTPS_PORT
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


def _redirect_listener(settings: Settings, parent: int) -> None:
    """Child process: the plain-HTTP listener. It exits when the gateway's main process
    is gone, even if that one was killed outright."""

    def watch_parent() -> None:
        while os.getppid() == parent:
            time.sleep(1)
        os._exit(0)

    threading.Thread(target=watch_parent, daemon=True).start()
    os.environ[ENV_HTTPS_PORT] = str(settings.https_port)
    _granian("oortgate.http.redirect:create_app", settings, settings.http_port, 1, None)


def serve(settings: Settings) -> int:
    try:
        prepare(settings)
    except SecretBoxError as exc:
        print(f"oortgate: {exc}", file=sys.stderr)
        return 2
    if settings.tls_cert is None or settings.tls_key is None:
        tls_files = tls.ensure_self_signed(settings.tls_dir)
    else:
        tls_files = (settings.tls_cert, settings.tls_key)
    os.environ.update(settings.to_env())
    redirect = None
    if settings.http_port:
        redirect = multiprocessing.get_context("fork").Process(
            target=_redirect_listener, args=(settings, os.getpid())
        )
        redirect.start()
    print(
        f"oortgate: serving https://{settings.host}:{settings.https_port}"
        + (f" (http://…:{settings.http_port} redirects there)" if redirect else "")
        + f"; data in {settings.data_dir}, certificate {tls_files[0]}",
        file=sys.stderr,
    )
    try:
        _granian("oortgate.http.server:create_app", settings, settings.https_port,
                 settings.workers, tls_files)  # fmt: skip
    finally:
        if redirect is not None:
            redirect.terminate()
            with contextlib.suppress(Exception):
                redirect.join(5)
    return 0
