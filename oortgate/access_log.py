"""The access log: one JSON object per request (JSON Lines), appended by every worker.

Each worker opens the file itself with O_APPEND and writes each line with one write():
the kernel positions every append at the end of the file, and on a local file system a
regular file's write() is done under the inode lock, so lines of different workers never
interleave or overwrite each other (for a pipe, `-` as stdout, that holds for lines under
PIPE_BUF, 4096 bytes: fields that a client chooses are capped so lines stay short).
Unbuffered: a line is in the file once its request has been answered, even if the worker
is then killed, at the cost of one syscall per request (measured in the README).
"""

from __future__ import annotations

import json
import logging
import os
import re
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


def format_line(fields: Mapping[str, Any], now: float) -> bytes:
    """One line: the time in ISO 8601 UTC with milliseconds first, then the fields."""
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now))
    record = {"time": f"{stamp}.{int(now * 1000) % 1000:03d}Z", **fields}
    return (json.dumps(record, separators=(",", ":")) + "\n").encode()


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
    """Appends lines to one descriptor; a failing write is logged, never fails a request."""

    def __init__(self, target: str) -> None:
        self._fd = open_log(target)
        self._failing = False

    def write(self, fields: Mapping[str, Any], now: float) -> None:
        line = format_line(fields, now)
        try:
            while line:
                line = line[os.write(self._fd, line) :]
            self._failing = False
        except OSError as exc:
            if not self._failing:  # once per failing spell, not once per request
                log.error("access log write failed: %s", exc.strerror or exc)
            self._failing = True

    def close(self) -> None:
        if self._fd != 1:
            os.close(self._fd)
