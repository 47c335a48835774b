"""Drive a GET workload with ``wrk`` (when installed): a Lua script walks a list of paths."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

GET_LUA = r"""
local paths = {}
local i = 0
init = function(args)
  for line in io.lines(args[1]) do paths[#paths + 1] = line end
  i = math.random(#paths)
end
request = function()
  i = i % #paths + 1
  return wrk.format("GET", paths[i])
end
"""

# Lines are "path<TAB>key"; each PUT's 4 KiB body is wl_small.body_4k(key): the key
# padded with dots to 64 bytes, 64 times, so a read-back can tell bodies apart.
PUT_LUA = r"""
local paths, bodies = {}, {}
local i = 0
init = function(args)
  for line in io.lines(args[1]) do
    local path, key = line:match("([^\t]+)\t(.+)")
    paths[#paths + 1] = path
    bodies[#bodies + 1] = string.rep((key .. string.rep(".", 64)):sub(1, 64), 64)
  end
  i = math.random(#paths)
end
request = function()
  i = i % #paths + 1
  return wrk.format("PUT", paths[i], {["Content-Length"] = tostring(#bodies[i])}, bodies[i])
end
"""

DONE_LUA = r"""
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '\nWRKJSON {"requests":%d,"duration_us":%d,"bytes":%d,"errors":%d,' ..
    '"status_errors":%d,"p50_us":%d,"p99_us":%d}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50), latency:percentile(99)))
end
"""


@dataclass
class WrkResult:
    requests: int
    duration_s: float
    errors: int
    p50_ms: float
    p99_ms: float


def available() -> bool:
    return shutil.which("wrk") is not None


def run(
    base_url: str,
    paths: list[str],
    seconds: int,
    threads: int = 2,
    connections: int = 32,
    put_keys: list[str] | None = None,
) -> WrkResult:
    """GET ``paths`` (path?query, in turn) from ``base_url`` for ``seconds`` seconds; with
    ``put_keys`` (one per path), PUT each key's 4 KiB body instead."""
    exe = shutil.which("wrk")
    assert exe is not None
    with tempfile.TemporaryDirectory(prefix="bench-wrk-") as d:
        script, plist = Path(d) / "paths.lua", Path(d) / "paths.txt"
        script.write_text((GET_LUA if put_keys is None else PUT_LUA) + DONE_LUA)
        lines = (
            paths
            if put_keys is None
            else [f"{p}\t{k}" for p, k in zip(paths, put_keys, strict=True)]
        )
        plist.write_text("\n".join(lines) + "\n")
        cmd = [exe, f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s",
               "-s", str(script), base_url, "--", str(plist)]  # fmt: skip
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60)
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("WRKJSON ")), None)
    if proc.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({proc.returncode}): {proc.stdout[-800:]}{proc.stderr}")
    d_ = json.loads(line[len("WRKJSON ") :])
    return WrkResult(
        requests=int(d_["requests"]),
        duration_s=int(d_["duration_us"]) / 1e6,
        errors=int(d_["errors"]) + int(d_["status_errors"]),
        p50_ms=int(d_["p50_us"]) / 1000.0,
        p99_ms=int(d_["p99_us"]) / 1000.0,
    )
