"""A host of its own for one gateway: a network namespace joined to this one by a veth
pair, and TCP relays across it (its only way to PostgreSQL and Redis, and the clients'
way to it). ``cut()`` takes the host's end of the veth down: from then on every packet
between the namespace and the rest is dropped (no reset, no ICMP), as in a network
partition; ``heal()`` brings it back and TCP's retransmissions carry on.

Needs root (``ip netns``, veth); the machines here have it."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=10)


@dataclass(frozen=True)
class Netns:
    name: str
    host_if: str
    host_addr: str  # this side of the veth
    inner_addr: str  # the namespace's side

    @property
    def prefix(self) -> list[str]:
        """Runs a command inside the namespace."""
        return ["ip", "netns", "exec", self.name]

    def cut(self) -> None:
        _ip("link", "set", self.host_if, "down")

    def heal(self) -> None:
        _ip("link", "set", self.host_if, "up")


@contextlib.contextmanager
def netns() -> Iterator[Netns]:
    """A new namespace with its loopback up and a /30 to this one; removed at the end."""
    tag = f"og{os.getpid() % 100000}"
    subnet = 10 + os.getpid() % 200  # 10.213.<subnet>.0/30: one per test process
    ns = Netns(f"{tag}ns", f"{tag}h", f"10.213.{subnet}.1", f"10.213.{subnet}.2")
    inner_if = f"{tag}n"
    with contextlib.suppress(subprocess.CalledProcessError):
        _ip("netns", "del", ns.name)  # a leftover of a killed run
    _ip("netns", "add", ns.name)
    try:
        _ip("link", "add", ns.host_if, "type", "veth", "peer", "name", inner_if)
        _ip("link", "set", inner_if, "netns", ns.name)
        _ip("addr", "add", f"{ns.host_addr}/30", "dev", ns.host_if)
        _ip("link", "set", ns.host_if, "up")
        for args in (("addr", "add", f"{ns.inner_addr}/30", "dev", inner_if),
                     ("link", "set", inner_if, "up"), ("link", "set", "lo", "up")):  # fmt: skip
            _ip("netns", "exec", ns.name, "ip", *args)
        yield ns
    finally:
        with contextlib.suppress(subprocess.CalledProcessError):
            _ip("link", "del", ns.host_if)
        _ip("netns", "del", ns.name)


class Relay:
    """TCP forwarders on their own event loop thread: each (listen host, port) to (target
    host, port), bytes copied both ways as they come."""

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._servers: list[asyncio.Server] = []

    def forward(self, listen: tuple[str, int], target: tuple[str, int]) -> None:
        async def start() -> asyncio.Server:
            return await asyncio.start_server(
                lambda r, w: self._pipe(r, w, target), listen[0], listen[1]
            )

        future = asyncio.run_coroutine_threadsafe(start(), self._loop)
        self._servers.append(future.result(10))

    async def _pipe(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, target: tuple[str, int]
    ) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*target)
        except OSError:
            writer.close()
            return
        await asyncio.gather(_copy(reader, up_writer), _copy(up_reader, writer))

    def close(self) -> None:
        async def stop() -> None:
            for server in self._servers:
                server.close()

            for task in asyncio.all_tasks():
                if task is not asyncio.current_task():
                    task.cancel()

        asyncio.run_coroutine_threadsafe(stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)


async def _copy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except OSError:
        pass
    finally:
        with contextlib.suppress(OSError):
            writer.close()
