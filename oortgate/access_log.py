"""The access log: one JSON object per request (JSON Lines), appended by every worker.

Each worker opens the file itself with O_APPEND and appends whole lines, several at a
time, with one write(): the kernel positions every append at the end of the file, and on
a local file system a regular file's write() is done under the inode lock, so lines of
different workers never interleave or overwrite each other. A pipe (`-`, standard output)
guarantees that only for writes of at most PIPE_BUF (4096) bytes: there, lines go out in
pieces no larger (fields a client chooses are capped, so lines stay short). A worker
killed outright loses the lines of its last FLUSH_SECONDS at most.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import select
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

log = logging.getLogger("oortgate")

STDOUT = "-"
MAX_FIELD = 512  # characters kept of a client-chosen value (user agent)
_SIGV4_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/")
_SIGV2_HEADER = re.compile(r"AWS ([^:\s]+):")


def open_log(target: str) -> int:
    """The file descriptor to append to; raises OSError when the file cannot be opened."""
    if target == STDOUT:
        return 1
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0)
    return os.open(Path(target), flags, 0o640)


_ENCODER = json.JSONEncoder(separators=(",", ":"))  # built once: json.dumps(**kw) builds one a call
_second: tuple[int, str] = (-1, "")


def timestamp(now: float) -> str:
    """ISO 8601 UTC with milliseconds; the formatted second is reused (strftime is slow)."""
    global _second
    whole = int(now)
    if _second[0] != whole:
        _second = (whole, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)))
    return f"{_second[1]}.{int(now * 1000) % 1000:03d}Z"


def format_line(fields: Mapping[str, Any]) -> bytes:
    return (_ENCODER.encode(fields) + "\n").encode()


def clip(value: str | None, limit: int = MAX_FIELD) -> str | None:
    return value if value is None or len(value) <= limit else value[:limit]


def claimed_access_key(headers: Mapping[str, str], query: Mapping[str, str]) -> str | None:
    """The access key a request names (signed or not, valid or not): what a refused
    request is logged under. Only the key id: a signature or secret is never kept."""
    auth = headers.get("authorization", "")
    found = _SIGV4_CREDENTIAL.search(auth) or _SIGV2_HEADER.match(auth)
    if found:
        return clip(found.group(1), 128)
    credential = query.get("X-Amz-Credential")
    if credential:
        return clip(credential.split("/", 1)[0], 128)
    return clip(query.get("AWSAccessKeyId"), 128)


class AccessLog:
    """One worker's writer: lines are buffered and appended in one write() per flush
    (FLUSH_BYTES buffered or FLUSH_SECONDS after the first line, and at shutdown).

    One write() per line cost about 25 % of small-GET throughput with two workers
    appending to one ext4 file (measured: see the README); a write() per flush costs
    nothing measurable. A failing write is logged, never fails a request."""

    FLUSH_BYTES = 64 * 1024
    FLUSH_SECONDS = 0.2

    def __init__(self, target: str) -> None:
        self._fd = open_log(target)
        # A pipe takes writes of up to PIPE_BUF bytes whole: to standard output, a flush
        # writes whole lines in pieces no larger (a file takes any write whole).
        self._piece = select.PIPE_BUF if target == STDOUT else self.FLUSH_BYTES
        self._lines: list[bytes] = []
        self._size = 0
        self._timer: asyncio.TimerHandle | None = None
        self._failing = False

    def write(self, fields: Mapping[str, Any]) -> None:
        line = format_line(fields)
        self._lines.append(line)
        self._size += len(line)
        if self._size >= self.FLUSH_BYTES:
            self.flush()
        elif self._timer is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:  # no event loop (a tool, a test): write through
                self.flush()
                return
            self._timer = loop.call_later(self.FLUSH_SECONDS, self.flush)

    def flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        lines, self._lines, self._size = self._lines, [], 0
        piece: list[bytes] = []
        size = 0
        for line in lines:
            if piece and size + len(line) > self._piece:
                self._write(b"".join(piece))
                piece, size = [], 0
            piece.append(line)
            size += len(line)
        if piece:
            self._write(b"".join(piece))

    def _write(self, data: bytes) -> None:
        try:
            while data:
                data = data[os.write(self._fd, data) :]
            self._failing = False
        except OSError as exc:
            if not self._failing:  # once per failing spell, not once per flush
                log.error("access log write failed: %s", exc.strerror or exc)
            self._failing = True

    def close(self) -> None:
        self.flush()
        if self._fd != 1:
            os.close(self._fd)
