"""The ``oortgate fsck`` command: options, a progress bar on a terminal, the report.

Exit status: 0 clean, 1 problems found (repaired or not), 2 a usage or configuration
error (no data directory, no database, a schema newer than this code).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from types import TracebackType
from typing import Any, Protocol

from oortgate import stores
from oortgate.config import Settings
from oortgate.errors import StoreUnavailable
from oortgate.fsck import KINDS, Checker, Options, Problem, Progress, Report
from oortgate.meta.scan import MetadataUnusable

LISTED = 1000  # problems listed in the JSON summary (all are counted)
DEFAULT_GRACE = 900.0  # the server's default gc_grace


def add_fsck_options(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Check every object's blobs against the metadata (existence and size; MD5s and "
        "checksums with --deep) and look for orphan blob files. Read-only unless --repair, "
        "safe while the server serves. Exit status: 0 clean, 1 problems found, 2 usage error."
    )
    parser.add_argument("--deep", action="store_true",
                        help="also read every byte and compare MD5s and checksums")  # fmt: skip
    parser.add_argument("--repair", action="store_true",
                        help="delete orphan blob files and set drifted reference counts "
                        "right (nothing else is changed)")  # fmt: skip
    parser.add_argument("--json", action="store_true", help="print a JSON summary")
    parser.add_argument("--grace", type=float, default=DEFAULT_GRACE, metavar="SECONDS",
                        help="blob files younger than this are never orphans "
                        f"(default {DEFAULT_GRACE:g}: the server's gc_grace)")  # fmt: skip


def run_fsck(args: argparse.Namespace) -> int:
    settings: Settings = args.settings
    if not args.data_dir.is_dir():
        return _usage_error(f"data_dir {args.data_dir}: no such directory")
    if args.grace < 0:
        return _usage_error("--grace cannot be negative")
    options = Options(deep=args.deep, repair=args.repair, grace=args.grace)
    try:
        report = asyncio.run(_check(settings, options, args.json))
    except MetadataUnusable as exc:
        return _usage_error(str(exc))
    except StoreUnavailable as exc:
        return _usage_error(f"metadata_url: {exc}")
    if args.json:
        print(json.dumps(summary(report, options), indent=2))
    else:
        print(_closing_line(report))
    return 0 if report.clean else 1


async def _check(settings: Settings, options: Options, quiet: bool) -> Report:
    scan = await stores.open_scan(settings, writable=options.repair)
    try:
        blobs = stores.open_tool_blobs(settings)
        try:
            with _progress() as progress:
                say = None if quiet else (lambda p: progress.say(_line(p)))
                return await Checker(scan, blobs, options, progress, say).run()
        finally:
            await blobs.close()
    finally:
        await scan.close()


def summary(report: Report, options: Options) -> dict[str, Any]:
    counts = report.counts
    return {
        "clean": report.clean,
        "deep": options.deep,
        "repair": options.repair,
        "objects": report.objects,
        "versions": report.versions,
        "upload_parts": report.upload_parts,
        "blobs_checked": report.blobs_checked,
        "bytes_verified": report.bytes_verified,
        "missing": counts["missing"],
        "size_mismatch": counts["size_mismatch"],
        "checksum_mismatch": counts["checksum_mismatch"],
        "orphans": counts["orphan"],
        "database_errors": counts["database"],
        "refcount_mismatch": counts["refcount"],
        "repaired": report.repaired,
        "problems": [p.as_dict() for p in report.problems[:LISTED]],
        "problems_not_listed": max(0, len(report.problems) - LISTED),
        "notes": report.notes,
    }


def _usage_error(message: str) -> int:
    print(f"oortgate fsck: {message}", file=sys.stderr)
    return 2


def _line(problem: Problem) -> str:
    if problem.upload_id:
        where = f"{problem.bucket}/{problem.key} (upload {problem.upload_id} part "
        where += f"{problem.part_number})"
    elif problem.version_id is not None:
        where = f"{problem.bucket}/{problem.key} (version {problem.version_id})"
    elif problem.key is not None:
        where = f"{problem.bucket}/{problem.key}"
    else:
        where = "database" if problem.kind == "database" else ""
    blob = f" blob {problem.blob_id}" if problem.blob_id else ""
    fix = "recounted" if problem.kind == "refcount" else "deleted"
    repaired = f" (repaired: {fix})" if problem.repaired else ""
    return f"{problem.kind}: {where}{blob}: {problem.detail}{repaired}".replace(":  ", ": ")


def _closing_line(report: Report) -> str:
    checked = (f"{report.objects} objects, {report.versions} noncurrent versions, "
               f"{report.upload_parts} upload parts, "
               f"{report.blobs_checked} blobs checked")  # fmt: skip
    if report.bytes_verified:
        checked += f", {human_size(report.bytes_verified)} verified"
    if report.clean:
        return f"oortgate fsck: {checked}: clean"
    found = ", ".join(f"{report.counts[kind]} {kind}" for kind in KINDS if report.counts[kind])
    return f"oortgate fsck: {checked}: {found}; {report.repaired} repaired" + "".join(
        f"; {note}" for note in report.notes
    )


class ProgressDisplay(Progress, Protocol):
    def __enter__(self) -> ProgressDisplay: ...

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...

    def say(self, line: str) -> None:
        """Print a problem's line to stdout."""
        ...


def human_size(size: int) -> str:
    """1234567 -> "1.2 MB" (decimal units, as rich shows them)."""
    value, unit = float(size), "bytes"
    for bigger in ("kB", "MB", "GB", "TB"):
        if value < 1000:
            break
        value, unit = value / 1000, bigger
    return f"{size} bytes" if unit == "bytes" else f"{value:.1f} {unit}"


class PlainProgress:
    """No bar (stderr is no terminal): problems go to stdout as they are found."""

    def __enter__(self) -> PlainProgress:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        pass

    def phase(self, name: str, total: int | None, unit: str) -> None:
        pass

    def advance(self, amount: int) -> None:
        pass

    def say(self, line: str) -> None:
        print(line, flush=True)


def _progress() -> ProgressDisplay:
    if sys.stderr.isatty():
        from oortgate.fsck_progress import TerminalProgress  # rich: loaded only then

        return TerminalProgress()
    return PlainProgress()
