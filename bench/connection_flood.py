"""Hostile-client flood: N idle or stalled connections from 127.0.0.1, and a normal
client's GET latency while they are held.

    .venv/bin/python -m bench.connection_flood --endpoint https://127.0.0.1:8443 \
        --cafile DATA/tls/cert.pem --mode tls --count 10000 --hold 10

Modes: ``tcp`` connects and sends nothing (a TLS handshake never started); ``tls``
finishes the handshake and sends nothing (an idle connection without credentials);
``upload`` sends a presigned PUT that declares 100 bytes and sends 3 (a stalled signed
upload; ``--presigned-put URL`` from boto3's generate_presigned_url).

Bounded: loopback only, at most 20,000 connections, opened within --open-timeout and
all closed at the end. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import http.client
import json
import ssl
import statistics
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from oortgate.connections import raise_descriptor_limit

MAX_COUNT = 20_000
OPENING_AT_ONCE = 256
LOOPBACK = ("127.0.0.1", "localhost", "::1")


@dataclass
class FloodResult:
    opened: int = 0
    failed: int = 0
    open_seconds: float = 0.0
    closed_by_server: int = 0
    probe_ms: list[float] = field(default_factory=list)
    probe_errors: int = 0

    def summary(self) -> dict[str, object]:
        ms = sorted(self.probe_ms)
        return {
            "opened": self.opened,
            "failed": self.failed,
            "open_s": round(self.open_seconds, 2),
            "closed_by_server": self.closed_by_server,
            "probes": len(ms),
            "probe_errors": self.probe_errors,
            "p50_ms": round(statistics.median(ms), 1) if ms else None,
            "p99_ms": round(_percentile(ms, 0.99), 1) if ms else None,
            "max_ms": round(ms[-1], 1) if ms else None,
        }


def _percentile(ordered: list[float], q: float) -> float:
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


@dataclass(frozen=True)
class Target:
    host: str
    port: int
    context: ssl.SSLContext
    stalled_request: bytes | None  # sent after the handshake (upload mode)


def _stalled_put(presigned_url: str) -> bytes:
    url = urlsplit(presigned_url)
    path = url.path + ("?" + url.query if url.query else "")
    head = f"PUT {path} HTTP/1.1\r\nHost: {url.netloc}\r\nContent-Length: 100\r\n\r\n"
    return head.encode() + b"abc"


async def _open_one(target: Target, mode: str) -> asyncio.StreamWriter:
    tls = target.context if mode != "tcp" else None
    _, writer = await asyncio.open_connection(target.host, target.port, ssl=tls)
    if target.stalled_request is not None:
        writer.write(target.stalled_request)
        await writer.drain()
    return writer


async def _flood(
    target: Target, mode: str, count: int, open_timeout: float
) -> tuple[list[asyncio.StreamWriter], int]:
    gate = asyncio.Semaphore(OPENING_AT_ONCE)
    deadline = time.monotonic() + open_timeout

    async def attempt() -> asyncio.StreamWriter | None:
        async with gate:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            try:
                return await asyncio.wait_for(_open_one(target, mode), left)
            except (TimeoutError, OSError, ssl.SSLError):
                return None

    results = await asyncio.gather(*(attempt() for _ in range(count)))
    writers = [w for w in results if w is not None]
    return writers, count - len(writers)


def _probe_loop(target: Target, stop: threading.Event, result: FloodResult, timeout: float) -> None:
    """A normal client: a fresh HTTPS connection and one GET, every 100 ms."""
    while not stop.is_set():
        started = time.monotonic()
        conn = http.client.HTTPSConnection(
            target.host, target.port, context=target.context, timeout=timeout
        )
        try:
            conn.request("GET", "/")
            conn.getresponse().read()
            result.probe_ms.append((time.monotonic() - started) * 1000)
        except (OSError, http.client.HTTPException):
            result.probe_errors += 1
            result.probe_ms.append((time.monotonic() - started) * 1000)
        finally:
            conn.close()
        stop.wait(0.1)


def probe_alone(endpoint: str, cafile: str, seconds: float, timeout: float = 5.0) -> FloodResult:
    """The normal client alone for ``seconds``, no flood: the machine's own latency."""
    url = urlsplit(endpoint)
    context = ssl.create_default_context(cafile=cafile)
    context.check_hostname = False
    target = Target(url.hostname or "127.0.0.1", url.port or 443, context, None)
    result, stop = FloodResult(), threading.Event()
    timer = threading.Timer(seconds, stop.set)
    timer.start()
    _probe_loop(target, stop, result, timeout)
    return result


def _closed_by_server(writers: list[asyncio.StreamWriter]) -> int:
    closed = 0
    for writer in writers:
        transport = writer.transport
        if transport.is_closing() or transport.get_extra_info("socket") is None:
            closed += 1
    return closed


async def run(args: argparse.Namespace) -> FloodResult:
    url = urlsplit(args.endpoint)
    if url.hostname not in LOOPBACK:
        raise SystemExit("connection_flood: loopback endpoints only")
    if raise_descriptor_limit() < args.count + 64:
        raise SystemExit("connection_flood: the descriptor limit (ulimit -n) is below --count")
    context = ssl.create_default_context(cafile=args.cafile)
    context.check_hostname = False
    stalled = _stalled_put(args.presigned_put) if args.mode == "upload" else None
    target = Target(url.hostname or "127.0.0.1", url.port or 443, context, stalled)
    result = FloodResult()
    stop = threading.Event()
    probe = threading.Thread(target=_probe_loop, args=(target, stop, result, args.probe_timeout))
    started = time.monotonic()
    if args.probe_during_open:
        probe.start()
    writers, result.failed = await _flood(target, args.mode, args.count, args.open_timeout)
    result.open_seconds = time.monotonic() - started
    result.opened = len(writers)
    if not args.probe_during_open:
        probe.start()
    try:
        await asyncio.sleep(args.hold)  # the event loop notices closes by the server
    finally:
        stop.set()
        await asyncio.to_thread(probe.join)
        result.closed_by_server = _closed_by_server(writers)
        for writer in writers:
            writer.transport.abort()
    return result


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoint", required=True, help="https://127.0.0.1:PORT")
    parser.add_argument("--cafile", required=True, help="the server's certificate (PEM)")
    parser.add_argument("--mode", choices=("tcp", "tls", "upload"), default="tls")
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--hold", type=float, default=5.0, help="seconds to hold them")
    parser.add_argument("--open-timeout", type=float, default=30.0)
    parser.add_argument("--probe-timeout", type=float, default=5.0)
    parser.add_argument("--probe-during-open", action="store_true")
    parser.add_argument("--presigned-put", default="", help="upload mode: a presigned PUT URL")
    args = parser.parse_args(argv)
    if not 0 < args.count <= MAX_COUNT:
        parser.error(f"--count must be 1..{MAX_COUNT}")
    if args.mode == "upload" and not args.presigned_put:
        parser.error("--mode upload needs --presigned-put")
    return args


def main(argv: list[str] | None = None) -> None:
    result = asyncio.run(run(parse_args(argv)))
    print(json.dumps(result.summary()))


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        main()
