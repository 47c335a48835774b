"""`oortgate admin migrate-meta` and `migrate-blobs`: moving from one node to the
scale-out stores (see README, "Moving from one node").

migrate-meta holds the source data directory's lock for its whole run, as a server
does: a copy taken while a server writes would miss its later writes, so a running
source is refused (stop it first), and no server can start on it meanwhile.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sqlite3
import sys
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg

from oortgate import datadir_lock, stores
from oortgate.endpoints import ARCHIVE, STANDARD
from oortgate.migrate_blobs import (
    BlobSummary,
    Query,
    count_referenced,
    migrate_blobs,
    pg_query,
    referenced,
    sqlite_query,
)
from oortgate.migrate_meta import (
    BATCH_ROWS,
    MigrationError,
    Progress,
    Quiet,
    Summary,
    connect_target,
    migrate_meta,
)
from oortgate.storage.base import BlobStore
from oortgate.store_urls import (
    BlobUrlError,
    DirectoryBlobs,
    RadosBlobs,
    metadata_url_problems,
    parse_blob_url,
    redact_url,
)


def add_migrate_commands(objects: Any) -> None:
    meta = objects.add_parser("migrate-meta", help="copy the embedded SQLite metadata into "
                              "PostgreSQL (stop the server first)")  # fmt: skip
    meta.add_argument("--from", dest="source", required=True,
                      help="sqlite:///DIR/meta.sqlite3, or the data directory")  # fmt: skip
    meta.add_argument("--to", dest="target", required=True, help="postgresql://USER@HOST/DB")
    meta.add_argument("--resume", action="store_true",
                      help="continue an interrupted migration into the same target")  # fmt: skip
    meta.add_argument("--batch-rows", type=int, default=BATCH_ROWS,
                      help=f"rows per transaction (default {BATCH_ROWS})")  # fmt: skip
    meta.add_argument("--json", action="store_true", help="print the summary as JSON")
    blobs = objects.add_parser("migrate-blobs", help="copy every blob the metadata names "
                               "to another blob store (same ids; the source is kept)")  # fmt: skip
    blobs.add_argument("--from", dest="source", required=True,
                       help="file:///DIR, or the data directory")  # fmt: skip
    blobs.add_argument("--to", dest="target", required=True,
                       help="file:///DIR or rados://POOL?conf=PATH&id=CLIENT")  # fmt: skip
    blobs.add_argument("--meta", help="the metadata naming the blobs: postgresql://..., "
                       "sqlite:///DIR/meta.sqlite3 or a data directory (default: "
                       "metadata_url, else the data directory's)")  # fmt: skip
    blobs.add_argument("--tier", choices=(STANDARD, ARCHIVE), default=STANDARD,
                       help="with archive_blob_url set apart, each tier's store is moved "
                       "on its own: the Archive tier's blobs with --tier archive")  # fmt: skip
    blobs.add_argument("--json", action="store_true", help="print the summary as JSON")


def run_migrate(args: argparse.Namespace) -> int:
    try:
        if args.object == "migrate-meta":
            return _migrate_meta(args)
        return _migrate_blobs(args)
    except MigrationError as exc:
        print(f"oortgate: {exc}", file=sys.stderr)
        return 2
    except psycopg.Error as exc:  # unreachable, refused credentials, a row it rejects
        print(f"oortgate: PostgreSQL: {str(exc).strip()}", file=sys.stderr)
        return 2
    except sqlite3.Error as exc:
        print(f"oortgate: the source metadata: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # every committed batch stays, with its progress row
        print("oortgate: interrupted; run the same command again (migrate-meta: with "
              "--resume) to continue", file=sys.stderr)  # fmt: skip
        return 130


def sqlite_file(text: str) -> Path:
    """The SQLite file a --from/--meta names: sqlite:///path, a file or a data dir."""
    if text.startswith("sqlite:"):
        parts = urllib.parse.urlsplit(text)
        if parts.netloc not in ("", "localhost") or not parts.path.startswith("/"):
            raise MigrationError(f"{text!r}: write sqlite:///absolute/path/meta.sqlite3")
        path = Path(urllib.parse.unquote(parts.path))
    else:
        path = Path(text).expanduser().resolve()
    if path.is_dir():
        if (path / stores.PG_MARKER).exists():
            raise MigrationError(f"{path} belongs to a gateway whose metadata is already "
                                 "in PostgreSQL")  # fmt: skip
        path = stores.db_path(path)
    if not path.is_file():
        raise MigrationError(f"no SQLite metadata at {path}")
    return path


def _migrate_meta(args: argparse.Namespace) -> int:
    problems = metadata_url_problems(args.target)
    if problems or not args.target:
        raise MigrationError(f"--to: {'; '.join(problems) or 'a postgresql:// URL is needed'}")
    if args.batch_rows < 1:
        raise MigrationError("--batch-rows must be at least 1")
    path = sqlite_file(args.source)
    try:
        lock = datadir_lock.lock(path.parent)
    except datadir_lock.DataDirInUse as exc:
        raise MigrationError(
            f"a server (pid {exc}) runs on {path.parent}: stop it first "
            "(a copy taken while it writes would miss its later writes)"
        ) from None
    try:
        stores.open_meta(path.parent).close()  # brings the source's schema up to date
        source = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None)
        try:
            source.execute("BEGIN")  # one snapshot for the copy and its verification
            target = connect_target(args.target)
            with target, _progress() as progress:
                summary = migrate_meta(source, str(path), target, args.resume, progress,
                                       args.batch_rows)  # fmt: skip
        finally:
            source.close()
    finally:
        os.close(lock)
    _report(summary, args.json)
    return 0 if summary.verified else 1


def _report(summary: Summary, as_json: bool) -> None:
    if as_json:
        print(json.dumps(summary.as_json(), indent=2))
        return
    for name, table in summary.tables.items():
        state = "verified" if table["verified"] else "DIFFERS"
        print(f"{name:18} {table['rows']:>10,} rows  {state}")
    for line in summary.problems:
        print(f"problem: {line}")
    left = ", ".join(f"{n} {t}" for t, n in summary.left_behind.items() if n)
    if left:
        print(f"left behind (not needed by the target): {left}")


def _migrate_blobs(args: argparse.Namespace) -> int:
    source_root = _source_blob_root(args.source)
    target_location = _blob_location(args.target, "--to")
    if isinstance(target_location, DirectoryBlobs) and target_location.path == source_root:
        raise MigrationError("--from and --to name the same directory")
    with _metadata_query(args) as query:
        total = count_referenced(query, args.tier)

        async def run() -> BlobSummary:
            source = await stores.open_migration_blobs(DirectoryBlobs(source_root))
            target = await _open_target(target_location)
            try:
                with _progress() as progress:
                    progress.phase("copy blobs", total, "blobs")
                    return await migrate_blobs(
                        referenced(query, args.tier), source, target, progress
                    )
            finally:
                await target.close()
                await source.close()

        summary = asyncio.run(run())
    if args.json:
        print(json.dumps(summary.as_json(), indent=2))
    else:
        print(f"{summary.blobs:,} blobs: {summary.copied:,} copied "
              f"({summary.bytes_copied:,} bytes), {summary.skipped:,} already there")  # fmt: skip
        for line in summary.problems:
            print(f"problem: {line}")
    return 0 if not summary.problems else 1


def _source_blob_root(text: str) -> Path:
    location = _blob_location(text, "--from") if text.startswith("file:") else None
    root = location.path if isinstance(location, DirectoryBlobs) else Path(text).resolve()
    if not (root / "blobs").is_dir():
        raise MigrationError(f"--from: {root} holds no blobs directory")
    return root


def _blob_location(text: str, option: str) -> DirectoryBlobs | RadosBlobs:
    try:
        location = parse_blob_url(text)
    except BlobUrlError as exc:
        raise MigrationError(f"{option}: {exc}") from None
    if not isinstance(location, DirectoryBlobs | RadosBlobs):
        raise MigrationError(f"{option}: name a store (file:///DIR or rados://POOL)")
    if isinstance(location, DirectoryBlobs) and not location.path.is_dir():
        raise MigrationError(f"{option}: directory {location.path} does not exist "
                             "(is the share mounted?)")  # fmt: skip
    return location


async def _open_target(location: DirectoryBlobs | RadosBlobs) -> BlobStore:
    try:
        return await stores.open_migration_blobs(location)
    except ConnectionError as exc:  # the cluster or the pool cannot be reached
        raise MigrationError(f"--to: {exc}") from None


@contextlib.contextmanager
def _metadata_query(args: argparse.Namespace) -> Iterator[Query]:
    meta = args.meta or args.settings.metadata_url or str(args.data_dir)
    if meta.startswith(("postgresql://", "postgres://")):
        try:
            conn = psycopg.connect(meta, autocommit=True, connect_timeout=5)
        except psycopg.OperationalError as exc:
            raise MigrationError(f"--meta {redact_url(meta)}: {str(exc).strip()}") from None
        with conn:
            yield pg_query(conn)
        return
    lite = sqlite3.connect(f"file:{sqlite_file(meta)}?mode=ro", uri=True)
    try:
        yield sqlite_query(lite)
    finally:
        lite.close()


@contextlib.contextmanager
def _progress() -> Iterator[Progress]:
    """A rich progress bar on a terminal; nothing otherwise (logs, --json pipes)."""
    if not sys.stderr.isatty():
        yield Quiet()
        return
    from oortgate.fsck_progress import TerminalProgress

    with TerminalProgress() as bar:
        yield bar
