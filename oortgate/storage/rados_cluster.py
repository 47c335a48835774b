"""The Ceph side of the RADOS blob store: one cluster handle per worker process, and
librados's asynchronous calls as awaitables.

A handle is opened after the fork, in the process that uses it (librados's threads do
not survive a fork), and shared by every store of that process (tiers, tests). Its
calls never block the event loop: ``aio_*`` completions come back on librados's threads
and are handed to the loop with ``call_soon_threadsafe``; the few synchronous calls
(connect, listing) run on a thread. Timeouts bound every call, so an unreachable
monitor or OSD fails a request instead of hanging it.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import rados

CONNECT_TIMEOUT = 10  # seconds: start-up fails within this when no monitor answers
OP_TIMEOUT = 30  # seconds for one monitor or OSD operation (ETIMEDOUT after)
T = TypeVar("T")


class RadosUnavailable(Exception):
    """The cluster or the pool cannot be reached: raised at start, naming the URL."""


def rados_url(pool: str, conf: Path, client: str) -> str:
    return f"rados://{pool}?conf={conf}&id={client}"


@dataclass(slots=True)
class _Handle:
    pid: int
    cluster: rados.Rados
    users: int


_handles: dict[tuple[str, str], _Handle] = {}
_handles_lock = threading.Lock()  # stores opened at once share one connect


async def acquire(
    conf: Path, client: str, pool: str, timeout: int = CONNECT_TIMEOUT
) -> rados.Rados:
    """This process's handle on the cluster of ``conf`` as ``client`` (connecting it on
    first use), once ``pool`` is known to exist; ``RadosUnavailable`` otherwise."""
    return await asyncio.to_thread(_acquire, conf, client, pool, timeout)


async def release(conf: Path, client: str) -> None:
    """One store of this process is done with the handle; the last one shuts it down."""
    await asyncio.to_thread(_release, (str(conf), client))


def _acquire(conf: Path, client: str, pool: str, timeout: int) -> rados.Rados:
    key = (str(conf), client)
    with _handles_lock:
        handle = _handles.get(key)
        if handle is None or handle.pid != os.getpid():  # none yet, or the parent's (a fork)
            handle = _handles[key] = _Handle(os.getpid(), _connect(conf, client, pool, timeout), 0)
        handle.users += 1
    try:
        exists = handle.cluster.pool_exists(pool)
    except rados.Error as exc:
        _release(key)
        raise RadosUnavailable(f"{rados_url(pool, conf, client)}: {exc}") from None
    if not exists:
        _release(key)
        raise RadosUnavailable(f"{rados_url(pool, conf, client)}: pool {pool!r} does not exist")
    return handle.cluster


def _release(key: tuple[str, str]) -> None:
    with _handles_lock:
        handle = _handles.get(key)
        if handle is None or handle.pid != os.getpid():
            return
        handle.users -= 1
        if handle.users > 0:
            return
        del _handles[key]
    handle.cluster.shutdown()


def _connect(conf: Path, client: str, pool: str, timeout: int) -> rados.Rados:
    url = rados_url(pool, conf, client)
    if not conf.is_file():
        raise RadosUnavailable(f"{url}: no Ceph configuration file at {conf}")
    try:
        # "admin" or "client.admin", as Ceph's own tools take it.
        if "." in client:
            cluster = rados.Rados(conffile=str(conf), name=client)
        else:
            cluster = rados.Rados(conffile=str(conf), rados_id=client)
        for option, value in (("client_mount_timeout", timeout),
                              ("rados_mon_op_timeout", OP_TIMEOUT),
                              ("rados_osd_op_timeout", OP_TIMEOUT)):  # fmt: skip
            cluster.conf_set(option, str(value))
        cluster.connect(timeout=timeout)
    except rados.Error as exc:
        raise RadosUnavailable(f"{url}: cannot connect to the cluster: {exc}") from None
    return cluster


# Asynchronous calls -------------------------------------------------------------------


def _settle(loop: asyncio.AbstractEventLoop, future: asyncio.Future[T], value: T) -> None:
    """From a librados thread: resolve ``future`` on its loop (unless nobody waits)."""

    def resolve() -> None:
        if not future.done():  # cancelled meanwhile: the result is dropped
            future.set_result(value)

    with contextlib.suppress(RuntimeError):  # the loop is closed: its waiter went away
        loop.call_soon_threadsafe(resolve)


def _failed(ret: int, name: str) -> OSError:
    return OSError(-ret, os.strerror(-ret), name)  # ENOENT becomes FileNotFoundError


def _started(call: Callable[[], object]) -> None:
    try:
        call()
    except rados.Error as exc:  # refused at submission (e.g. a closed handle)
        code = exc.errno if exc.errno is not None else errno.EIO
        raise OSError(code, str(exc)) from None


def write_full(ioctx: rados.Ioctx, name: str, data: bytes) -> asyncio.Future[int]:
    """Replace object ``name`` with ``data``; the future holds librados's return value
    (negative: an errno). Started at once: the caller may await it later."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[int] = loop.create_future()
    _started(lambda: ioctx.aio_write_full(
        name, data, oncomplete=lambda c: _settle(loop, future, c.get_return_value())))  # fmt: skip
    return future


def remove(ioctx: rados.Ioctx, name: str) -> asyncio.Future[int]:
    loop = asyncio.get_running_loop()
    future: asyncio.Future[int] = loop.create_future()
    _started(lambda: ioctx.aio_remove(
        name, oncomplete=lambda c: _settle(loop, future, c.get_return_value())))  # fmt: skip
    return future


def read(ioctx: rados.Ioctx, name: str, length: int, offset: int) -> asyncio.Future[bytes]:
    """Up to ``length`` bytes of ``name`` from ``offset``; the future raises OSError
    (FileNotFoundError for a missing object)."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[bytes] = loop.create_future()

    def done(completion: rados.Completion, data: bytes | None) -> None:
        ret = completion.get_return_value()

        def resolve() -> None:
            if future.done():
                return
            if ret < 0:
                future.set_exception(_failed(ret, name))
            else:
                future.set_result(data[:ret] if data is not None else b"")

        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(resolve)

    _started(lambda: ioctx.aio_read(name, length, offset, oncomplete=done))
    return future


def modified(ioctx: rados.Ioctx, name: str) -> asyncio.Future[float | None]:
    """When ``name`` was last written (epoch seconds, the OSD's clock); None: missing."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[float | None] = loop.create_future()

    def done(completion: rados.Completion, size: int | None, mtime: Any) -> None:
        ret = completion.get_return_value()

        def resolve() -> None:
            if future.done():
                return
            if ret == -errno.ENOENT:
                future.set_result(None)
            elif ret < 0:
                future.set_exception(_failed(ret, name))
            else:
                future.set_result(time.mktime(mtime))  # a struct_time in local time

        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(resolve)

    _started(lambda: ioctx.aio_stat(name, oncomplete=done))
    return future


async def checked(future: asyncio.Future[int], name: str, missing_ok: bool = False) -> None:
    """Await a write or remove; raise its error (OSError), ENOENT too unless missing_ok."""
    raise_for(await future, name, missing_ok)


def raise_for(ret: int, name: str, missing_ok: bool = False) -> None:
    if ret < 0 and not (missing_ok and ret == -errno.ENOENT):
        raise _failed(ret, name)
