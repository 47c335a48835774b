"""4 KiB GETs with wrk, with and without --access-log, on the same build, in alternating
rounds. The machine is shared, so throughput swings with other load: the figure compared
is the server's CPU time per GET (what bounds throughput on a CPU-bound server), and GET/s
is printed beside it.

    .venv/bin/python -m bench.access_log_overhead [--rounds 3] [--seconds 10] [--metrics]

(--metrics: compares with --metrics-port on instead of the access log.)
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

import boto3
from botocore.config import Config

from bench import wrkrun
from bench.procstat import TreeSampler
from bench.servers import REGION, Server, free_port, start_oortgate

OBJECTS = 200


def _presigned_paths(srv: Server) -> list[str]:
    s3 = boto3.client(
        "s3", endpoint_url=srv.endpoint, region_name=REGION, verify=srv.client_cafile,
        aws_access_key_id=srv.access_key, aws_secret_access_key=srv.secret_key,
        config=Config(s3={"addressing_style": "path"}),
    )  # fmt: skip
    s3.create_bucket(Bucket="bench-log")
    paths = []
    for n in range(OBJECTS):
        s3.put_object(Bucket="bench-log", Key=f"k{n}", Body=b"x" * 4096)
        url = urlsplit(s3.generate_presigned_url(
            "get_object", Params={"Bucket": "bench-log", "Key": f"k{n}"}, ExpiresIn=3600))
        paths.append(f"{url.path}?{url.query}")
    return paths


def measure(base: Path, extra: tuple[str, ...], seconds: int) -> tuple[float, float]:
    """(GET/s, server CPU microseconds per GET)"""
    srv = start_oortgate(base, extra_args=extra)
    try:
        paths = _presigned_paths(srv)
        with TreeSampler(srv.pid) as cpu:
            result = wrkrun.run(srv.endpoint, paths, seconds)
        assert result.errors == 0, result
        return result.requests / result.duration_s, cpu.cpu_s / result.requests * 1e6
    finally:
        srv.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--metrics", action="store_true")
    args = parser.parse_args()
    what = "metrics" if args.metrics else "access log"
    costs: dict[bool, list[float]] = {False: [], True: []}
    for n in range(args.rounds):
        for log in (False, True):
            with tempfile.TemporaryDirectory(prefix="bench-log-") as d:
                base = Path(d) / f"r{n}"
                flags = ("--metrics-port", str(free_port())) if args.metrics else (
                    "--access-log", str(Path(d) / "access.jsonl"))  # fmt: skip
                rate, cost = measure(base, flags if log else (), args.seconds)
            costs[log].append(cost)
            print(f"round {n + 1} {what} {'on ' if log else 'off'}: {rate:6.0f} GET/s, "
                  f"{cost:5.1f} us server CPU per GET")  # fmt: skip
    off, on = statistics.median(costs[False]), statistics.median(costs[True])
    print(f"median server CPU per GET: off {off:.1f} us, on {on:.1f} us, "
          f"overhead {100 * (on / off - 1):.1f} %")  # fmt: skip


if __name__ == "__main__":
    main()
