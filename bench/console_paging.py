"""The console's object browser on a bucket of 1,000,000 objects: how long a page takes
first, deep in the listing (start-after a key in the middle) and under a prefix filter.

    .venv/bin/python -m bench.console_paging [--objects 1000000] [--rounds 5]

Starts a server, fills one bucket by copying one object's row in SQL (``fill_bucket``:
seconds, not the hours a million PUTs take), signs in to the console and, for each
page, times what the browser does: the console page itself, the presign action, then
the presigned ListObjectsV2 of 200 entries. Prints the best and the median of the
rounds per page in ms (the machine is shared: the best round is disturbed least).
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

import boto3
from botocore.config import Config

from oortgate.stores import db_path

KEY_FORMAT = "obj-{:07d}"
PAGE = 200


def fill_bucket(data_dir: Path, bucket: str, count: int) -> None:
    """``count`` objects obj-0000000, obj-0000001, ... in ``bucket``, which holds exactly
    one object already, "obj-0000000" (an inline one, PUT through the API): its row is
    copied for every other key in one transaction, and its inline blob counts them all
    (so a GET or a DELETE of any copy is as of any object). Setup only: nothing else
    writes rows behind the store's back."""
    db = sqlite3.connect(db_path(data_dir), isolation_level=None, timeout=30)
    try:
        db.execute("PRAGMA journal_mode = WAL").fetchall()
        db.execute("BEGIN IMMEDIATE")
        (bucket_id,) = db.execute("SELECT id FROM buckets WHERE name = ?", (bucket,)).fetchone()
        first = KEY_FORMAT.format(0)
        (blob_id,) = db.execute(
            "SELECT blob_id FROM objects WHERE bucket_id = ? AND key = ?", (bucket_id, first)
        ).fetchone()
        columns = [row[1] for row in db.execute("PRAGMA table_info(objects)")]
        copied = ", ".join("printf('obj-%07d', n.i)" if c == "key" else f"o.{c}" for c in columns)
        db.execute(
            f"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)"
            f" INSERT INTO objects ({', '.join(columns)}) SELECT {copied} FROM n, objects o"
            " WHERE o.bucket_id = ? AND o.key = ?",
            (count - 1, bucket_id, first),
        )
        for counts in ("inline_blobs", "blobs"):  # whichever holds the blob's references
            db.execute(
                f"UPDATE {counts} SET refs = refs + ? WHERE blob_id = ?", (count - 1, blob_id)
            )
        db.execute("COMMIT")
    finally:
        db.close()


def seed(endpoint: str, cert: str, access_key: str, secret_key: str, bucket: str) -> None:
    s3 = boto3.session.Session().client(
        "s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id=access_key,
        aws_secret_access_key=secret_key, verify=cert,
        config=Config(s3={"addressing_style": "path"}),
    )  # fmt: skip
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key=KEY_FORMAT.format(0), Body=b"x")


def main() -> None:
    from tests.protocol._console import ConsoleClient
    from tests.protocol._server import ServerProcess

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--objects", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    middle = KEY_FORMAT.format(args.objects // 2 - 1)
    pages = {
        "first page": {},
        "middle page": {"after": middle},
        "prefix page": {"filter": KEY_FORMAT.format(args.objects - 1)[:-2]},
    }
    with tempfile.TemporaryDirectory() as temp, ServerProcess(Path(temp) / "data") as srv:
        seed(srv.endpoint, srv.cert, srv.root_access_key, srv.root_secret_key, "big")
        started = time.perf_counter()
        fill_bucket(srv.data_dir, "big", args.objects)
        print(f"filled {args.objects:,} objects in {time.perf_counter() - started:.1f} s")
        console = ConsoleClient(srv)
        console.sign_in(srv.root_access_key, srv.root_secret_key)
        for name, place in pages.items():
            rounds = []
            for _ in range(args.rounds):
                began = time.perf_counter()
                assert console.get("b/big/", params=place).status_code == 200
                params = {"prefix": place.get("filter", ""), "delimiter": "/",
                          "max-keys": str(PAGE)}  # fmt: skip
                if "after" in place:
                    params["start-after"] = place["after"]
                url = console.url("ListObjectsV2", "big", params=params)
                listed = console.http.get(url, timeout=60)
                assert listed.status_code == 200 and "<Key>obj-" in listed.text
                rounds.append((time.perf_counter() - began) * 1000)
            print(f"{name}: best {min(rounds):.1f} ms, median {statistics.median(rounds):.1f} ms"
                  f" (page + presign + ListObjectsV2 of {PAGE})")  # fmt: skip


if __name__ == "__main__":
    main()
