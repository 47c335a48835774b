"""The `oortgate` command: serve the gateway, check its configuration, administer
accounts, collect garbage, check the stores (fsck), apply lifecycle rules."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from oortgate import __version__
from oortgate.admin_cli import add_admin_commands, run_admin
from oortgate.config import ENV_PREFIX, ConfigError, Settings, load
from oortgate.fsck_cli import add_fsck_options
from oortgate.lifecycle_cli import add_lifecycle_commands, run_lifecycle

DEFAULT_DATA_DIR = "./oortgate-data"
SERVE_OPTIONS = {
    "host": (str, "address to listen on (default 127.0.0.1)"),
    "https_port": (int, "HTTPS port (default 8443; 443 works as root)"),
    "http_port": (int, "plain-HTTP port that redirects to HTTPS (default 8080; 0: none)"),
    "archive_https_port": (
        int,
        "a second HTTPS port that stands for the Archive endpoint "
        "(default 0: none; s3-archive.<domain> always does)",
    ),
    "domain": (str, "endpoints are s3-standard.<domain> and s3-archive.<domain> (localhost)"),
    "standard_endpoint": (str, "host name of the Standard endpoint (overrides --domain)"),
    "archive_endpoint": (str, "host name of the Archive endpoint (overrides --domain)"),
    "serve_cross_tier": (
        str,
        "true: serve a bucket through the other tier's endpoint "
        "instead of answering 301 PermanentRedirect",
    ),
    "archive_storage_class": (str, "storage class of archive objects (GLACIER_IR)"),
    "archive_restore_required": (str, "true: Glacier semantics, GET needs RestoreObject"),
    "console": (str, "false: no web console at https://HOST:PORT/_console/ (default true)"),
    "console_idle_timeout": (float, "seconds a console session may stay unused (1800)"),
    "archive_restore_seconds": (float, "how long a restore takes (default 0)"),
    "lifecycle_day_seconds": (
        float,
        "the length of a lifecycle rule's day (86400; tests shorten it)",
    ),
    "lifecycle_interval": (
        float,
        "seconds between lifecycle passes (0: a quarter day, at most an hour)",
    ),
    "trusted_proxies": (
        str,
        "comma-separated CIDRs whose X-Forwarded-Proto/-Host/-For headers are believed",
    ),
    "workers": (int, "worker processes (default: number of CPUs)"),
    "tls_cert": (Path, "PEM certificate (default: self-signed, made in DATA_DIR/tls)"),
    "tls_key": (Path, "PEM private key for --tls-cert"),
    "region": (str, "the region clients sign for (default us-east-1)"),
    "hsts_max_age": (int, "Strict-Transport-Security max-age in seconds (0: none)"),
    "rate_limit": (float, "requests per second per access key or client address (0: none)"),
    "rate_burst": (int, "requests admitted at once above the rate (default 20)"),
    "rate_limit_url": (
        str,
        "redis://HOST:PORT/DB or rediss://...: one rate budget shared by every gateway on "
        "that Redis (default: this host's own)",
    ),
    "rate_limit_fallback": (
        str,
        "while Redis is unusable: local (this host's limiter at rate / live gateways, the "
        "default), open (admit all) or closed (503 ServiceUnavailable)",
    ),
    "rate_limit_timeout": (
        float,
        "seconds each Redis call may take before the fallback decides (default 0.05)",
    ),
    "log_level": (str, "critical, error, warning, info (default) or debug"),
    "gc_grace": (
        float,
        "seconds an overwritten or deleted object's data is kept, so downloads under way "
        "finish (default 900)",
    ),
    "min_free_space": (
        str,
        "writes are refused (507) below this free space: bytes (1GiB, 500MB) or a percent "
        "of the filesystem (default 1%; 0: only when full)",
    ),
    "space_reserve": (str, "space kept aside so deletes work on a full disk (64MiB; 0: none)"),
    "body_timeout": (
        float,
        "seconds a request body may make no progress before 400 RequestTimeout (default 30)",
    ),
    "max_connections": (
        int,
        "connections the workers hold together, idle ones included, before new ones "
        "queue (default 16384; bounded by the file-descriptor limit)",
    ),
    "max_requests_per_client": (
        int,
        "requests one client address may have under way in one worker before 503 "
        "SlowDown (default 1024; 0: no limit)",
    ),
    "listen_backlog": (int, "connections the kernel queues beyond those (default 4096)"),
    "header_timeout": (
        float,
        "seconds a connection may take to finish its TLS handshake or a request's headers, "
        "or stay idle between requests (default 10)",
    ),
    "gc_low_space_grace": (
        float,
        "the --gc-grace used while space is low, so deletes free space sooner (default 30)",
    ),
    "session_timeout": (
        float,
        "seconds without a heartbeat after which a worker's session is dead and its pending "
        "blobs and temp files are reaped (default 90; at least 20)",
    ),
    "access_log": (str, "append one JSON line per request to this file (-: standard output)"),
    "metrics_port": (int, "plain-HTTP port serving Prometheus metrics at /metrics (0: none)"),
    "metrics_host": (str, "address of the metrics listener (default 127.0.0.1)"),
    "inline_max_size": (
        int,
        "PUTs of at most this many bytes are kept in the metadata store, not in files "
        "(default 16384; 0: never)",
    ),
    "allow_network_data_dir": (
        str,
        "true: start on a data directory on a network or FUSE file system all the same "
        "(SQLite's locks may not work there: see README)",
    ),
}
# The settings the other commands need too (they open the same stores as the server).
STORE_OPTIONS = {
    "metadata_url": (
        str,
        "the metadata store: empty for the embedded SQLite in DATA_DIR (default), or "
        "postgresql://USER@HOST/DB",
    ),
    "blob_url": (
        str,
        "where blobs live: empty (DATA_DIR), file:///abs/dir (a directory of its own, "
        "may be shared by gateways) or rados://POOL?conf=PATH&id=CLIENT",
    ),
    "archive_blob_url": (str, "the Archive tier's blobs (default: as --blob-url)"),
}
SERVE_OPTIONS.update(STORE_OPTIONS)


def _data_dir(value: str) -> Path:
    return Path(value).expanduser().resolve()


def _add_data_dir(parser: argparse.ArgumentParser, default: bool = True) -> None:
    fallback = os.environ.get(ENV_PREFIX + "DATA_DIR", DEFAULT_DATA_DIR)
    parser.add_argument(
        "--data-dir",
        type=_data_dir,
        default=_data_dir(fallback) if default else None,
        help="where blobs, metadata and the TLS certificate live "
        f"(default: $OORTGATE_DATA_DIR or {DEFAULT_DATA_DIR})",
    )


def _add_config(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        type=Path,
        help="a TOML file of settings (same names, "
        "e.g. https_port = 443); OORTGATE_<NAME> variables and flags override it",
    )
    _add_data_dir(parser, default=False)


def _literal(text: str) -> str:
    """A help text as argparse prints it: it %-formats help ("1%" would crash --help)."""
    return text.replace("%", "%%")


def _add_store_options(parser: argparse.ArgumentParser) -> None:
    """admin, gc, fsck: the settings file and the store settings, as for serve."""
    _add_config(parser)
    for name, (kind, text) in STORE_OPTIONS.items():
        parser.add_argument("--" + name.replace("_", "-"), type=kind, help=_literal(text))


def _add_serve_options(parser: argparse.ArgumentParser) -> None:
    _add_config(parser)
    for name, (kind, text) in SERVE_OPTIONS.items():
        parser.add_argument("--" + name.replace("_", "-"), type=kind, help=_literal(text))
    parser.add_argument("--trusted-proxy", nargs="+", metavar="CIDR",
                        help="same as --trusted-proxies, as separate arguments")  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="oortgate",
        description="A self-hostable S3-compatible gateway (OORT Storage style). "
        "Run `oortgate serve` to start it and `oortgate admin` to manage accounts.",
    )
    parser.add_argument("--version", action="version", version=f"oortgate {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    _add_serve_options(sub.add_parser("serve", help="run the gateway over HTTPS"))
    config = sub.add_parser("config", help="configuration")
    check = config.add_subparsers(dest="action", required=True).add_parser(
        "check", help="validate the settings and print the effective ones as JSON"
    )
    _add_serve_options(check)
    admin = sub.add_parser("admin", help="manage users and keys, show stats (works while serving)")
    _add_store_options(admin)
    add_admin_commands(admin)
    gc = sub.add_parser("gc", help="collect unreferenced blobs: with the server stopped, also "
                        "what a crash left behind; while it runs, only what is due and "
                        "dead sessions' leftovers (the server does both by itself)")  # fmt: skip
    _add_store_options(gc)
    gc.add_argument("--gc-grace", type=float, default=900.0,
                    help="while a server runs: collect only garbage at least this old, in "
                    "seconds (default 900, as the server)")  # fmt: skip
    fsck = sub.add_parser("fsck", help="check every object's blobs against the metadata "
                          "(read-only unless --repair; safe while serving)")  # fmt: skip
    _add_store_options(fsck)
    add_fsck_options(fsck)
    lifecycle = sub.add_parser("lifecycle", help="buckets' lifecycle rules (the server "
                               "applies them by itself)")  # fmt: skip
    _add_store_options(lifecycle)
    add_lifecycle_commands(lifecycle)
    return parser


def settings_from(args: argparse.Namespace) -> Settings:
    flags = {name: getattr(args, name) for name in ("data_dir", *SERVE_OPTIONS)}
    if args.trusted_proxy:
        given = [args.trusted_proxies, *args.trusted_proxy]
        flags["trusted_proxies"] = ",".join(filter(None, given))
    return load(flags, args.config, os.environ)


def tool_settings_from(args: argparse.Namespace) -> Settings:
    """admin, gc, fsck: the same sources as serve's (file, environment, flags)."""
    flags = {name: getattr(args, name) for name in ("data_dir", *STORE_OPTIONS)}
    return load(flags, args.config, os.environ)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command in ("serve", "config"):
            settings = settings_from(args)
        else:
            args.settings = settings = tool_settings_from(args)
            args.data_dir = settings.data_dir
        return _run(args, settings)
    except ConfigError as exc:
        print(f"oortgate: configuration error: {exc}", file=sys.stderr)
        return 2


def _run(args: argparse.Namespace, settings: Settings) -> int:
    if args.command == "config":
        print(json.dumps(settings.shown(), indent=2))
        return 0
    if args.command == "serve":
        from oortgate.serve import serve

        return serve(settings)
    if args.command == "admin" and args.object.startswith("migrate-"):
        from oortgate.migrate_cli import run_migrate  # names its stores itself

        return run_migrate(args)
    if args.command == "lifecycle":  # through the stores a server opens, either kind
        return run_lifecycle(args, settings)
    from oortgate.stores import PG_MARKER

    if not settings.metadata_url and (args.data_dir / PG_MARKER).exists():
        # Never open (or create) a SQLite file beside a server whose metadata is elsewhere.
        print(f"oortgate: {args.data_dir} belongs to a gateway with metadata_url=postgresql: "
              f"give the same metadata_url ({ENV_PREFIX}METADATA_URL, --metadata-url)",
              file=sys.stderr)  # fmt: skip
        return 2
    if args.command == "gc":
        from oortgate.errors import StoreUnavailable
        from oortgate.serve import sweep
        from oortgate.storage.space import StorageFull

        try:
            print(json.dumps(sweep(settings, args.gc_grace)))
        except StoreUnavailable as exc:
            print(f"oortgate: metadata_url: {exc}", file=sys.stderr)
            return 2
        except StorageFull:
            print("oortgate: disk full: the collection cannot record its progress; delete "
                  "objects through the server, which keeps space for deletes",
                  file=sys.stderr)  # fmt: skip
            return 2
        return 0
    if args.command == "fsck":
        from oortgate.fsck_cli import run_fsck

        return run_fsck(args)
    return run_admin(args, settings)


if __name__ == "__main__":
    sys.exit(main())
