"""4 KiB GETs with wrk, with and without --access-log, on the same build, in alternating
rounds (the machine is shared: alternating spreads its noise over both modes).

    .venv/bin/python -m bench.access_log_overhead [--rounds 3] [--seconds 10]
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
from bench.servers import REGION, Server, start_oortgate

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


def measure(base: Path, log: bool, seconds: int) -> float:
    extra = ("--access-log", str(base / "access.jsonl")) if log else ()
    srv = start_oortgate(base, extra_args=extra)
    try:
        paths = _presigned_paths(srv)
        result = wrkrun.run(srv.endpoint, paths, seconds)
        assert result.errors == 0, result
        return result.requests / result.duration_s
    finally:
        srv.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=10)
    args = parser.parse_args()
    rates: dict[bool, list[float]] = {False: [], True: []}
    for n in range(args.rounds):
        for log in (False, True):
            with tempfile.TemporaryDirectory(prefix="bench-log-") as d:
                rate = measure(Path(d) / f"r{n}", log, args.seconds)
            rates[log].append(rate)
            print(f"round {n + 1} access log {'on ' if log else 'off'}: {rate:8.0f} GET/s")
    off, on = statistics.median(rates[False]), statistics.median(rates[True])
    print(f"median: off {off:.0f} GET/s, on {on:.0f} GET/s, overhead {100 * (1 - on / off):.1f} %")


if __name__ == "__main__":
    main()
