"""Prometheus metrics: what each worker records per request, and the separate plain-HTTP
listener (a child of `serve`) that exposes them on /metrics.

Workers run prometheus-client in multiprocess mode: every process writes its values to
memory-mapped files in PROMETHEUS_MULTIPROC_DIR, which `serve` creates empty before any
worker starts; the listener sums them at scrape time. Nothing here is on the request path
but a few in-memory increments.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from oortgate.meta.models import StorageUsage

ENV_MULTIPROC_DIR = "PROMETHEUS_MULTIPROC_DIR"
PATH = "/metrics"
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                   10.0, 30.0, 60.0)  # fmt: skip
# Counting a million objects takes a while (see the README): scrapes within this many
# seconds share one computation.
USAGE_TTL = 10.0


def prepare_multiproc_dir(data_dir: Path) -> Path:
    """An empty directory for this run's values (a previous run's would be added in), set
    in the environment so that every process forked or spawned afterwards uses it."""
    directory = data_dir / "metrics"
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(mode=0o700)
    os.environ[ENV_MULTIPROC_DIR] = str(directory)
    return directory


class RequestMetrics:
    """One worker's request metrics (children by label cached: `labels()` is not free)."""

    def __init__(self) -> None:
        from prometheus_client import Counter, Gauge, Histogram

        self.requests = Counter("oortgate_requests", "Requests answered, by S3 operation and "
                                "HTTP status", ["operation", "status"], registry=None)  # fmt: skip
        self.latency = Histogram(
            "oortgate_request_duration_seconds",
            "Time from the request's arrival to the end of its response, by operation",
            ["operation"], buckets=LATENCY_BUCKETS, registry=None,
        )  # fmt: skip
        self.received = Counter("oortgate_received_bytes", "Request body bytes read",
                                ["operation"], registry=None)  # fmt: skip
        self.sent = Counter("oortgate_sent_bytes", "Response body bytes sent",
                            ["operation"], registry=None)  # fmt: skip
        self.throttled = Counter("oortgate_throttled_requests", "Requests answered 503 "
                                 "SlowDown by the rate limit", registry=None)  # fmt: skip
        self.refused = Counter("oortgate_refused_requests", "Requests whose authentication "
                               "failed, by error code", ["code"], registry=None)  # fmt: skip
        # granian tells the application nothing about connections: requests under way
        # are what can be counted (livesum: only live workers' values are added).
        self.in_flight = Gauge("oortgate_requests_in_flight", "Requests being served",
                               multiprocess_mode="livesum", registry=None)  # fmt: skip
        self._children: dict[tuple[str, int], tuple[Any, Any, Any, Any]] = {}

    def observe(self, operation: str, status: int, seconds: float, bytes_in: int,
                bytes_out: int) -> None:  # fmt: skip
        children = self._children.get((operation, status))
        if children is None:
            children = (self.requests.labels(operation, str(status)),
                        self.latency.labels(operation), self.received.labels(operation),
                        self.sent.labels(operation))  # fmt: skip
            self._children[(operation, status)] = children
        requests, latency, received, sent = children
        requests.inc()
        latency.observe(seconds)
        if bytes_in:
            received.inc(bytes_in)
        if bytes_out:
            sent.inc(bytes_out)


class UsageCollector:
    """Storage used, object count and GC backlog, read from the metadata store when
    scraped (at most once per USAGE_TTL)."""

    def __init__(self, usage: Callable[[float], StorageUsage], grace: float) -> None:
        self._usage = usage  # MetaStore.usage
        self._grace = grace
        self._cached: tuple[float, StorageUsage] | None = None

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import GaugeMetricFamily

        now = time.monotonic()
        if self._cached is None or now - self._cached[0] >= USAGE_TTL:
            self._cached = (now, self._usage(time.time() - self._grace))
        usage = self._cached[1]
        yield GaugeMetricFamily("oortgate_stored_bytes", "Bytes of all objects (as uploaded)",
                                value=usage.stored_bytes)  # fmt: skip
        yield GaugeMetricFamily("oortgate_objects", "Objects stored", value=usage.objects)
        backlog = GaugeMetricFamily("oortgate_gc_backlog_blobs", "Blobs queued for garbage "
                                    "collection: due, or waiting out the grace period",
                                    labels=["state"])  # fmt: skip
        backlog.add_metric(["due"], usage.garbage_due)
        backlog.add_metric(["waiting"], usage.garbage_waiting)
        yield backlog


_LIVE_FILE = re.compile(r"gauge_live\w*_(\d+)\.db")


def forget_dead_workers(directory: Path) -> None:
    """A worker that died (and was respawned) must not count its requests as under way."""
    from prometheus_client import multiprocess

    pids = {int(m.group(1)) for p in directory.iterdir() if (m := _LIVE_FILE.fullmatch(p.name))}
    for pid in pids:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            multiprocess.mark_process_dead(pid, str(directory))  # type: ignore[no-untyped-call]
        except PermissionError:
            pass  # alive, someone else's


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def exposition_app(directory: Path, usage: UsageCollector) -> Callable[..., Iterable[bytes]]:
    """The WSGI app: GET /metrics (anything else: 404)."""
    from prometheus_client import CollectorRegistry, make_wsgi_app, multiprocess

    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, str(directory))  # type: ignore[no-untyped-call]
    registry.register(usage)
    metrics = make_wsgi_app(registry)

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != PATH:
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"not found: metrics are at /metrics\n"]
        forget_dead_workers(directory)
        result: Iterable[bytes] = metrics(environ, start_response)
        return result

    return app


def serve_metrics(host: str, port: int, app: Callable[..., Iterable[bytes]]) -> None:
    """Blocks: the listener child's main loop."""
    server = make_server(host, port, app, server_class=_Server, handler_class=_QuietHandler)
    server.serve_forever()
