"""The thread that talks to the metadata store, with group commit.

One connection, one thread: SQLite serialises writers anyway, and the event loop never
waits on a commit's fsync. Calls that queue up while a commit is in flight are run
together under the next one, so N concurrent small PUTs cost about one fsync, not N.
Every caller is answered only after the commit that holds its change.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar

from oortgate.meta.sqlite import SqliteMetaStore

P = ParamSpec("P")
T = TypeVar("T")
MAX_GROUP = 64


@dataclass(slots=True)
class _Call:
    fn: Callable[[], Any]
    future: asyncio.Future[Any]
    loop: asyncio.AbstractEventLoop


class MetaWorker:
    def __init__(self, meta: SqliteMetaStore) -> None:
        self._meta = meta
        self._queue: queue.SimpleQueue[_Call | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="meta", daemon=True)
        self._thread.start()

    async def call(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._queue.put(_Call(lambda: fn(*args, **kwargs), future, loop))
        return await future

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            while len(batch) < MAX_GROUP:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    self._queue.put(None)  # finish this batch, then stop
                    break
                batch.append(item)
            self._execute(batch)

    def _execute(self, batch: list[_Call]) -> None:
        if len(batch) == 1:  # alone: the call's own transaction is the commit
            _deliver(batch[0], *_attempt(batch[0]))
            return
        outcomes = []
        try:
            with self._meta.group():
                outcomes = [(call, *_attempt(call)) for call in batch]
        except Exception as exc:  # the shared commit failed: nobody's change is durable
            for call in batch:
                _deliver(call, None, exc)
            return
        for call, result, error in outcomes:
            _deliver(call, result, error)


def _attempt(call: _Call) -> tuple[Any, BaseException | None]:
    try:
        return call.fn(), None
    except Exception as exc:
        return None, exc


def _deliver(call: _Call, result: Any, error: BaseException | None) -> None:
    def settle() -> None:
        if call.future.done():  # the caller went away (cancelled)
            return
        if error is not None:
            call.future.set_exception(error)
        else:
            call.future.set_result(result)

    call.loop.call_soon_threadsafe(settle)
