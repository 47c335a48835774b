"""A worker's background upkeep: its session's heartbeat (and the reaping of dead
sessions), and the collection of garbage blobs. Started with the first lifespan or
request message, stopped at shutdown."""

from __future__ import annotations

import asyncio
import os
import secrets
import socket

from oortgate import gc, logs, sessions
from oortgate.config import HEARTBEAT_INTERVAL, Settings
from oortgate.ops import lifecycle_run
from oortgate.ops.context import Services
from oortgate.storage.space import StorageFull


class Upkeep:
    def __init__(self, settings: Settings, services: Services) -> None:
        self.settings = settings
        self.services = services
        self._gc_task: asyncio.Task[None] | None = None
        self._session_task: asyncio.Task[None] | None = None
        self._lifecycle_task: asyncio.Task[None] | None = None
        # Who holds the lifecycle lease: this worker process of this gateway.
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"

    def ensure_started(self) -> None:
        if self._gc_task is None:
            loop = asyncio.get_running_loop()
            self._gc_task = loop.create_task(self._gc_loop())
            self._session_task = loop.create_task(self._session_loop())
            self._lifecycle_task = loop.create_task(self._lifecycle_loop())

    def stop(self) -> None:
        for task in (self._gc_task, self._session_task, self._lifecycle_task):
            if task is not None:
                task.cancel()

    async def _session_loop(self) -> None:
        """Heartbeats this worker's session, and ends sessions found dead (a worker
        that crashed and was respawned): their pending blobs and temp files go."""
        services = self.services
        while True:
            await asyncio.sleep(HEARTBEAT_INTERVAL)
            try:
                if not await services.meta.heartbeat():
                    # Declared dead (its pending marks are garbage now): start afresh.
                    await sessions.open_session(services.meta, services.blobs)
                await sessions.reap_dead_sessions(
                    services.meta, services.blobs, self.settings.session_timeout
                )
            except StorageFull:
                pass  # retried next time
            except Exception as exc:
                logs.errors.error("session:" + logs.kind_of(exc), "session upkeep failed", exc)

    async def _gc_loop(self) -> None:
        """Deletes blobs that overwrites and deletes left without references."""
        while True:
            await asyncio.sleep(self.settings.gc_interval)
            try:
                await self._collect()
            except StorageFull:
                pass  # nothing to collect can be forgotten yet: retried next time
            except Exception as exc:
                logs.errors.error("gc:" + logs.kind_of(exc), "garbage collection failed", exc)

    async def _collect(self) -> None:
        """One pass. While space is low the grace is shorter: space a delete freed
        comes back sooner, at the risk of cutting a long multipart download short."""
        services, settings = self.services, self.settings
        grace = settings.gc_grace
        if await services.offload(services.space.low) is not None:
            grace = min(grace, settings.gc_low_space_grace)
        await gc.collect_due(services.meta, services.blobs, grace=grace)
        await services.offload(services.space.ensure_reserve)

    async def _lifecycle_loop(self) -> None:
        """Applies buckets' lifecycle rules, on one worker of one gateway at a time (the
        holder of the lease; the others find it taken and wait for the next turn)."""
        settings, meta = self.settings, self.services.meta
        pause = lifecycle_run.interval(settings.lifecycle_day_seconds, settings.lifecycle_interval)
        lease = max(lifecycle_run.LEASE_SECONDS, 3 * pause)

        async def renew() -> bool:
            return await meta.take_lease(lifecycle_run.LEASE, self.holder, lease)

        while True:
            await asyncio.sleep(pause)
            try:
                if await renew():
                    await lifecycle_run.apply_rules(self.services, renew=renew)
            except StorageFull:
                pass  # retried next time
            except Exception as exc:
                logs.errors.error("lifecycle:" + logs.kind_of(exc), "lifecycle pass failed", exc)
