"""Start-up: prepare the data directory, then run granian's workers over HTTPS."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from oortgate import accounts, gc, tls
from oortgate.config import ENV_PREFIX, Settings
from oortgate.meta.sqlite import SqliteMetaStore
from oortgate.secretbox import SecretBox, SecretBoxError
from oortgate.storage.local import LocalBlobStore


def sweep(data_dir: Path) -> dict[str, int]:
    """Collect what crashed writers left behind. Only while no worker is running."""
    meta = SqliteMetaStore(data_dir / "meta.sqlite3")
    try:
        return gc.startup_sweep(meta, LocalBlobStore(data_dir))
    finally:
        meta.close()


def prepare(settings: Settings) -> None:
    settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
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


def serve(settings: Settings, args: argparse.Namespace) -> int:
    from granian import Granian
    from granian.constants import HTTPModes, Interfaces, Loops, SSLProtocols
    from granian.log import LogLevels

    if (args.tls_cert is None) != (args.tls_key is None):
        print("oortgate: --tls-cert and --tls-key go together", file=sys.stderr)
        return 2
    try:
        prepare(settings)
    except SecretBoxError as exc:
        print(f"oortgate: {exc}", file=sys.stderr)
        return 2
    if args.tls_cert is None:
        cert, key = tls.ensure_self_signed(settings.tls_dir)
    else:
        cert, key = args.tls_cert.resolve(), args.tls_key.resolve()
    os.environ.update(settings.to_env())
    print(
        f"oortgate: serving https://{args.host}:{args.https_port} "
        f"(data in {settings.data_dir}, certificate {cert})",
        file=sys.stderr,
    )
    Granian(
        "oortgate.http.server:create_app",
        factory=True,
        address=args.host,
        port=args.https_port,
        interface=Interfaces.ASGI,
        workers=max(1, args.workers),
        loop=Loops.uvloop,
        http=HTTPModes.http1,
        ssl_cert=cert,
        ssl_key=key,
        ssl_protocol_min=SSLProtocols.tls12,
        log_level=LogLevels(args.log_level),
        respawn_failed_workers=True,
    ).serve()
    return 0
