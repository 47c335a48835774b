"""`serve`'s start-up and `oortgate gc` when a tier's blobs are in a RADOS pool.

The RADOS store is async-only (librados's asynchronous calls on an event loop), so these
run on the async stores (``stores.worker_blobs``, ``stores.open_tool_meta``) under
``asyncio.run``. Before `serve` forks its workers, whatever touches the cluster runs in
a short-lived child process: librados starts threads that do not survive a fork, and a
cluster handle in the parent would be inherited, broken, by every worker.

What `serve` checks: every rados:// setting's cluster answers and its pool exists,
within the connect timeout (exit 2 naming the setting otherwise). What the start-up
sweep and `oortgate gc` do on it: end dead sessions (their pending blobs become garbage,
their stripes and markers go) and collect the garbage; the orphan sweep (blobs no record
knows of) is not run on a RADOS pool: listing a pool's every head is the cost of a
scan of the pool, and the pending marks already cover every blob a writer starts.
"""

from __future__ import annotations

import asyncio
import multiprocessing
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any, TypeVar

from oortgate import gc, stores
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
    """Dead sessions ended and the garbage (queued ``grace`` seconds ago or earlier;
    None: all of it) collected, on the embedded metadata store and these blob stores."""
    return asyncio.run(_sweep(settings, grace))


async def _sweep(settings: Settings, grace: float | None) -> dict[str, int]:
    meta = stores.open_tool_meta(settings)
    try:
        await meta.ping()  # connects first (on PostgreSQL: the schema the blobs need)
        blobs = stores.worker_blobs(settings)
        try:
            return await gc.sweep(meta, blobs, grace, orphans=False)
        finally:
            await blobs.close()
    finally:
        await meta.close()


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
