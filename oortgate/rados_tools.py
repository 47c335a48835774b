"""`serve`'s start-up and `oortgate gc` when a tier's blobs are in a RADOS pool.

The RADOS store is async-only (librados's asynchronous calls on an event loop), so these
run on the async stores (``stores.worker_blobs``, ``stores.open_tool_meta``) under
``asyncio.run``. Before `serve` forks its workers, whatever touches the cluster runs in
a short-lived child process: librados starts threads that do not survive a fork, and a
cluster handle in the parent would be inherited, broken, by every worker.

What `serve` checks: every rados:// setting's cluster answers and its pool exists,
within the connect timeout (exit 2 naming the setting otherwise). The start-up sweep
runs here too, as on any store (serve.sweep_stores): dead sessions ended (their pending
blobs become garbage, their stripes and markers go), the garbage collected, and heads no
record knows of, older than an hour, removed (listing the namespace's heads and asking
each one's age: a scan of the pool's namespace, by one sweeper at a time). `oortgate
gc`, which forks nothing, runs serve.sweep_stores in its own process.
"""

from __future__ import annotations

import asyncio
import multiprocessing
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any, TypeVar

from oortgate import serve, stores
from oortgate.config import Settings
from oortgate.errors import StoreUnavailable
from oortgate.preflight import StartupError

CONNECT_TIMEOUT = 10.0  # seconds per pool (rados_cluster.CONNECT_TIMEOUT, without importing rados)
CHILD_SLACK = 5.0  # seconds for the child to start and report
T = TypeVar("T")


def check_reachable(settings: Settings) -> None:
    """Every rados:// tier's cluster and pool answer (StartupError naming the setting)."""
    named = stores.rados_settings(settings)
    if not named:
        return
    problem = in_child(_first_problem, settings,
                       timeout=len(named) * CONNECT_TIMEOUT + CHILD_SLACK)  # fmt: skip
    if problem is not None:
        raise StartupError(problem)


def _first_problem(settings: Settings) -> str | None:
    try:
        return asyncio.run(_probe_all(settings))
    except ImportError:
        setting = stores.rados_settings(settings)[0][0]
        return (f"{setting}: rados:// needs Ceph's Python binding (python3-rados, its "
                "rados.cpython-*.so linked into the venv: see the README)")  # fmt: skip


async def _probe_all(settings: Settings) -> str | None:
    for setting, location in stores.rados_settings(settings):
        store = stores.open_rados(location)
        try:
            await store.ping()  # connects, checks the pool and the client's caps
        except StoreUnavailable as exc:
            return f"{setting}: {exc}"
        except OSError as exc:
            return f"{setting}: the cluster does not answer ({exc})"
        finally:
            await store.close()
    return None


def sweep(settings: Settings, grace: float | None) -> dict[str, int]:
    """The start-up sweep (see serve.sweep_stores): dead sessions ended, the garbage
    (queued ``grace`` seconds ago or earlier; None: all of it) collected, the orphans
    older than an hour removed (by one sweeper at a time)."""
    return asyncio.run(serve.sweep_stores(settings, grace, orphans=True))


def sweep_in_child(settings: Settings) -> dict[str, int]:
    """`serve`'s start-up sweep, in a child: on an embedded store no worker runs yet (all
    the garbage goes); on PostgreSQL other gateways may (only what is due)."""
    grace = settings.gc_grace if settings.metadata_url else None
    counts: dict[str, int] = in_child(sweep, settings, grace)
    return counts


def in_child(fn: Callable[..., T], *args: Any, timeout: float | None = None) -> T:
    """``fn(*args)`` in a forked child process; its exception comes back as a
    StartupError (one line), as does a child that does not answer within ``timeout``."""
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(target=_run_in_child, args=(sender, fn, args), daemon=True)
    child.start()
    sender.close()
    try:
        if not receiver.poll(timeout):
            raise StartupError(f"the check of the RADOS cluster did not finish in {timeout:.0f} s")
        ok, value = receiver.recv()
    except EOFError:
        raise StartupError("the check of the RADOS cluster died without an answer") from None
    finally:
        receiver.close()
        if child.is_alive():
            child.kill()
        child.join()
    if not ok:
        raise StartupError(str(value))
    result: T = value
    return result


def _run_in_child(sender: Connection, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
    try:
        sender.send((True, fn(*args)))
    except Exception as exc:  # reported by the parent, in one line
        sender.send((False, f"{type(exc).__name__}: {exc}"))
    finally:
        sender.close()
