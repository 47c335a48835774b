"""`oortgate lifecycle run`: apply every bucket's lifecycle rules once, now (what the
gateways' worker does on its own every few hours), with a progress bar on a terminal
and a JSON summary with --json. Safe while serving: it takes the same lease."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import secrets
import socket
import sys
from typing import TYPE_CHECKING

from oortgate.config import Settings

if TYPE_CHECKING:  # the stores are imported only when the command runs
    from oortgate.ops.lifecycle_run import Summary


def add_lifecycle_commands(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", required=True)
    run = actions.add_parser("run", help="apply every bucket's lifecycle rules once")
    run.add_argument("--json", action="store_true", help="print a JSON summary")


def run_lifecycle(args: argparse.Namespace, settings: Settings) -> int:
    from oortgate.stores import db_path

    if not settings.metadata_url and not db_path(settings.data_dir).exists():
        print(f"oortgate: no data directory at {settings.data_dir} (no metadata database)",
              file=sys.stderr)  # fmt: skip
        return 2
    summary = asyncio.run(_run(settings, show_progress=not args.json and sys.stderr.isatty()))
    if summary is None:
        print("oortgate: another gateway is applying the lifecycle rules now (its lease "
              "holds); try again later", file=sys.stderr)  # fmt: skip
        return 1
    counts = dataclasses.asdict(summary)
    if args.json:
        print(json.dumps(counts))
    else:
        print(", ".join(f"{name}: {value:,}" for name, value in counts.items()))
    return 0


async def _run(settings: Settings, *, show_progress: bool) -> Summary | None:
    from oortgate.ops import lifecycle_run
    from oortgate.ops.context import Services
    from oortgate.stores import open_stores

    stores = open_stores(settings, limited=False)
    services = Services(settings, stores.meta, stores.blobs)
    holder = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"

    async def renew() -> bool:
        return await services.meta.take_lease(lifecycle_run.LEASE, holder,
                                              lifecycle_run.LEASE_SECONDS)  # fmt: skip

    try:
        if not await renew():
            return None
        if not show_progress:
            return await lifecycle_run.apply_rules(services, renew=renew)
        from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                      transient=False) as bar:  # fmt: skip
            task = bar.add_task("lifecycle")

            def tick(s: Summary) -> None:
                bar.update(task, description=f"{s.scanned:,} objects scanned, {s.expired:,} "
                           f"expired, {s.transitioned:,} archived")  # fmt: skip

            return await lifecycle_run.apply_rules(services, renew=renew, tick=tick)
    finally:
        await services.meta.take_lease(lifecycle_run.LEASE, holder, -1.0)  # give it back
        await services.close()
