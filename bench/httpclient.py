"""The asyncio load generator: runs a list of pre-built (presigned) requests.

Nothing is signed here: every request is a ready URL plus headers and body, built
before the timed loop. Two transports do the same thing:

* ``aiohttp`` (bench/requirements.txt, installed by ``make bench``), the default when
  importable;
* ``raw``: a minimal HTTP/1.1 keep-alive client on asyncio streams (stdlib only), used
  when aiohttp is missing, so the harness's own test needs no extra package.

Each of ``concurrency`` workers takes the next request until the list is used up or the
time limit passes; uvloop drives the loop when it is installed.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import itertools
import math
import ssl
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

CHUNK = 1 << 20


@dataclass
class Req:
    method: str
    url: str
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    expect: tuple[int, ...] = (200,)
    expect_len: int | None = None  # response body length to insist on (GET)
    md5: bool = False  # hash the response body (verification only, not timed runs)


@dataclass
class Outcome:
    status: int
    nbytes: int
    md5: str = ""
    body: bytes = b""


@dataclass
class LoadResult:
    ok: int = 0
    errors: int = 0
    bytes_in: int = 0
    bytes_out: int = 0
    elapsed_s: float = 0.0
    latencies_s: list[float] = field(default_factory=list)
    ok_indexes: list[int] = field(default_factory=list)
    first_error: str = ""
    client: str = ""
    outcomes: dict[int, Outcome] = field(default_factory=dict)


def have_aiohttp() -> bool:
    try:
        import aiohttp  # noqa: F401
    except ImportError:
        return False
    return True


def _runner() -> asyncio.Runner:
    try:
        import uvloop
    except ImportError:
        return asyncio.Runner()
    return asyncio.Runner(loop_factory=uvloop.new_event_loop)


Send = Callable[[int, Req], Awaitable[Outcome]]


def run_load(
    reqs: Sequence[Req],
    concurrency: int,
    time_limit_s: float,
    cafile: str | None = None,
    client: str = "auto",
    keep: bool = False,
) -> LoadResult:
    """Run ``reqs`` with ``concurrency`` workers for at most ``time_limit_s`` seconds."""
    if client == "auto":
        client = "aiohttp" if have_aiohttp() else "raw"
    with _runner() as runner:
        return runner.run(_run(reqs, concurrency, time_limit_s, cafile, client, keep))


async def _run(
    reqs: Sequence[Req], concurrency: int, limit: float, cafile: str | None, client: str,
    keep: bool,
) -> LoadResult:  # fmt: skip
    res = LoadResult(client=client)
    sslctx = ssl.create_default_context(cafile=cafile) if cafile else None
    counter = itertools.count()
    start = time.perf_counter()
    deadline = start + limit

    async def worker(send: Send, wid: int) -> None:
        while True:
            i = next(counter)
            if i >= len(reqs) or time.perf_counter() > deadline:
                return
            req = reqs[i]
            t0 = time.perf_counter()
            try:
                out = await send(wid, req)
            except Exception as exc:  # a failed request is counted, not fatal
                res.errors += 1
                res.first_error = res.first_error or f"{req.method} {type(exc).__name__}: {exc}"
                continue
            res.latencies_s.append(time.perf_counter() - t0)
            res.bytes_out += len(req.body)
            res.bytes_in += out.nbytes
            bad_len = req.expect_len is not None and out.nbytes != req.expect_len
            if out.status not in req.expect or bad_len:
                res.errors += 1
                res.first_error = res.first_error or (
                    f"{req.method} -> {out.status} ({out.nbytes} bytes) {out.body[:200]!r}"
                )
                continue
            res.ok += 1
            res.ok_indexes.append(i)
            if keep:
                res.outcomes[i] = out

    n = max(1, min(concurrency, len(reqs)))
    if client == "aiohttp":
        await _with_aiohttp(worker, n, sslctx, keep)
    else:
        await _with_raw(worker, n, sslctx, keep)
    res.elapsed_s = time.perf_counter() - start
    return res


Worker = Callable[[Send, int], Awaitable[None]]


async def _with_aiohttp(worker: Worker, n: int, sslctx: ssl.SSLContext | None, keep: bool) -> None:
    import aiohttp
    from yarl import URL

    connector = aiohttp.TCPConnector(limit=n, ssl=sslctx if sslctx is not None else False)
    timeout = aiohttp.ClientTimeout(total=None, sock_read=120, sock_connect=10)
    async with aiohttp.ClientSession(
        connector=connector, timeout=timeout, auto_decompress=False
    ) as session:

        async def send(_wid: int, req: Req) -> Outcome:
            data = req.body if req.body or req.method in ("PUT", "POST") else None
            async with session.request(
                req.method, URL(req.url, encoded=True), data=data, headers=req.headers,
                skip_auto_headers=("Content-Type",),
            ) as resp:  # fmt: skip
                out = Outcome(resp.status, 0)
                h = hashlib.md5() if req.md5 else None
                keep_body = keep or resp.status not in req.expect
                async for chunk in resp.content.iter_chunked(CHUNK):
                    out.nbytes += len(chunk)
                    if h is not None:
                        h.update(chunk)
                    if keep_body and len(out.body) < 1 << 16:
                        out.body += chunk
                if h is not None:
                    out.md5 = h.hexdigest()
                return out

        await asyncio.gather(*(worker(send, w) for w in range(n)))


class _RawConn:
    """One HTTP/1.1 keep-alive connection (reconnects when the server closes it)."""

    def __init__(self, sslctx: ssl.SSLContext | None) -> None:
        self.sslctx = sslctx
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.used = False

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(OSError, ssl.SSLError):
                await self.writer.wait_closed()
        self.reader = self.writer = None

    async def request(self, req: Req, keep: bool) -> Outcome:
        try:
            return await self._request(req, keep)
        except (ConnectionError, asyncio.IncompleteReadError):
            reused = self.used
            await self.close()
            if not reused:
                raise
            return await self._request(req, keep)  # a stale keep-alive connection: retry once

    async def _request(self, req: Req, keep: bool) -> Outcome:
        u = urlsplit(req.url)
        if self.writer is None:
            assert u.hostname is not None
            self.reader, self.writer = await asyncio.open_connection(
                u.hostname, u.port, ssl=self.sslctx, limit=CHUNK,
                server_hostname=u.hostname if self.sslctx else None,
            )  # fmt: skip
            self.used = False
        assert self.reader is not None and self.writer is not None
        target = u.path + ("?" + u.query if u.query else "")
        lines = [f"{req.method} {target} HTTP/1.1", f"Host: {u.netloc}"]
        lines += [f"{k}: {v}" for k, v in req.headers.items()]
        if req.body or req.method in ("PUT", "POST"):
            lines.append(f"Content-Length: {len(req.body)}")
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        if req.body:
            self.writer.write(req.body)
        await self.writer.drain()
        head = await self.reader.readuntil(b"\r\n\r\n")
        self.used = True
        status_line, *hlines = head.decode("latin-1").split("\r\n")
        status = int(status_line.split(" ", 2)[1])
        headers = {}
        for line in hlines:
            if ":" in line:
                k, v = line.split(":", 1)
                headers[k.strip().lower()] = v.strip()
        out = Outcome(status, 0)
        h = hashlib.md5() if req.md5 else None
        keep_body = keep or status not in req.expect

        def take(chunk: bytes) -> None:
            out.nbytes += len(chunk)
            if h is not None:
                h.update(chunk)
            if keep_body and len(out.body) < 1 << 16:
                out.body += chunk

        close = headers.get("connection", "").lower() == "close"
        if req.method == "HEAD" or status in (204, 304) or 100 <= status < 200:
            pass
        elif "content-length" in headers:
            remaining = int(headers["content-length"])
            while remaining:
                chunk = await self.reader.read(min(remaining, CHUNK))
                if not chunk:
                    raise asyncio.IncompleteReadError(b"", remaining)
                remaining -= len(chunk)
                take(chunk)
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
                if size == 0:
                    while (await self.reader.readuntil(b"\r\n")) != b"\r\n":
                        pass
                    break
                take((await self.reader.readexactly(size + 2))[:-2])
        else:
            while chunk := await self.reader.read(CHUNK):
                take(chunk)
            close = True
        if h is not None:
            out.md5 = h.hexdigest()
        if close:
            await self.close()
        return out


async def _with_raw(worker: Worker, n: int, sslctx: ssl.SSLContext | None, keep: bool) -> None:
    conns = [_RawConn(sslctx) for _ in range(n)]

    async def send(wid: int, req: Req) -> Outcome:
        try:
            return await conns[wid].request(req, keep)
        except BaseException:
            await conns[wid].close()
            raise

    try:
        await asyncio.gather(*(worker(send, w) for w in range(n)))
    finally:
        for c in conns:
            await c.close()


def percentile_ms(latencies_s: Sequence[float], q: float) -> float:
    """The ``q`` quantile (0..1, nearest rank) in milliseconds; 0 for no samples."""
    if not latencies_s:
        return 0.0
    xs = sorted(latencies_s)
    k = min(len(xs) - 1, max(0, math.ceil(q * len(xs)) - 1))
    return xs[k] * 1000.0
