"""A gateway cut off from everything by its network namespace (issue 19's partition).

Two gateways over one PostgreSQL database, one shared blob directory and one Redis: A on
this host's network, C in a namespace of its own whose only way out is a veth pair (the
relays in tests/reliability/_netns.py carry its PostgreSQL, Redis and client traffic).
Taking the veth down drops every packet between C and the rest, as a partition does:

- C, asked from inside its namespace, answers 503 with Retry-After within its timeouts:
  never a hang (its pooled connections meet silence, not a reset) and never a 500;
- A serves every request meanwhile;
- C's session goes stale; A's upkeep ends it and collects the blob of the upload C had
  under way, so that upload, finished once the link is back, is answered 503 and
  stores nothing (a pending mark reaped under a partitioned writer);
- once the link is back, C serves again and what it writes is A's to read.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from botocore.exceptions import ClientError

from oortgate.config import HEARTBEAT_INTERVAL
from oortgate.secretbox import SecretBox
from tests import pg_service
from tests.multigw._cluster import Cluster, MiB, SlowPut, gateway
from tests.protocol._server import REGION, free_port, random_access_key
from tests.protocol._server import random_secret_key as new_secret
from tests.protocol._util import wait_for
from tests.redis_service import unique_db_url
from tests.reliability._netns import Netns, Relay, netns

pytestmark = pytest.mark.skipif(
    shutil.which("ip") is None or os.geteuid() != 0, reason="needs root and iproute2 (ip netns)"
)

BUCKET = "cut-off"
# Three heartbeats, not the default nine: A ends C's stale session a minute sooner.
SESSION_TIMEOUT = 30.0
# A request C answers from inside its namespace while cut off: its status, error code and
# seconds taken (boto3 with no retries, a 90 s read timeout: longer than any of ours).
INSIDE = f"""
import sys, time, boto3
from botocore.config import Config
from botocore.exceptions import ClientError
endpoint, cert, ak, sk, bucket, key = sys.argv[1:]
s3 = boto3.client("s3", endpoint_url=endpoint, region_name="{REGION}", verify=cert,
                  aws_access_key_id=ak, aws_secret_access_key=sk,
                  config=Config(retries={{"total_max_attempts": 1}}, read_timeout=90,
                                s3={{"addressing_style": "path"}}))
start = time.monotonic()
try:
    s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    print(200, "-", "-", round(time.monotonic() - start, 1))
except ClientError as exc:
    r = exc.response
    print(r["ResponseMetadata"]["HTTPStatusCode"], r["Error"].get("Code"),
          r["ResponseMetadata"]["HTTPHeaders"].get("retry-after", "-"),
          round(time.monotonic() - start, 1))
"""


def _via(url: str, host: str, port: int) -> str:
    parts = urlsplit(url)
    netloc = (parts.username + "@" if parts.username else "") + f"{host}:{port}"
    return parts._replace(netloc=netloc).geturl()


def test_a_gateway_cut_off_by_its_network_namespace(tmp_path: Path) -> None:
    db_url, redis_url = pg_service.create_database("partition"), unique_db_url()
    blob_dir = tmp_path / "shared-blobs"
    blob_dir.mkdir()
    root, key = (random_access_key("ROOT"), new_secret()), SecretBox.generate_key()
    relay = Relay()
    try:
        with netns() as ns:
            pg, rd = urlsplit(db_url), urlsplit(redis_url)
            pg_port, redis_port, c_port = free_port(), free_port(), free_port()
            relay.forward((ns.host_addr, pg_port), (pg.hostname or "", pg.port or 5432))
            relay.forward((ns.host_addr, redis_port), (rd.hostname or "", rd.port or 6379))
            relay.forward(("127.0.0.1", c_port), (ns.inner_addr, c_port))
            a = gateway(tmp_path, "a", db_url, blob_dir.as_uri(), redis_url, root, key,
                        session_timeout=SESSION_TIMEOUT)  # fmt: skip
            c = gateway(tmp_path, "c", _via(db_url, ns.host_addr, pg_port), blob_dir.as_uri(),
                        _via(redis_url, ns.host_addr, redis_port), root, key,
                        session_timeout=SESSION_TIMEOUT)  # fmt: skip
            c.listen_host, c.command_prefix, c.port = "0.0.0.0", ns.prefix, c_port
            cluster = Cluster([a, c], db_url, blob_dir, redis_url)
            try:
                a.start()
                c.start()
                _partition(cluster, ns)
            finally:
                c.stop()
                a.stop()
    finally:
        relay.close()
        pg_service.drop_database(db_url)


def _partition(cluster: Cluster, ns: Netns) -> None:
    c = cluster.gateways[1]
    s3a, s3c = cluster.client(0), cluster.client(1)
    s3a.create_bucket(Bucket=BUCKET)
    for i in range(3):
        s3c.put_object(Bucket=BUCKET, Key=f"before-{i}", Body=b"%d" % i * 1000)
    assert s3a.get_object(Bucket=BUCKET, Key="before-0")["Body"].read() == b"0" * 1000
    inflight = SlowPut(c, BUCKET, "in-flight", size=4 * MiB)
    inflight.send(MiB)
    wait_for("C's pending mark", lambda: bool(cluster.rows("SELECT 1 FROM pending_blobs")), 10)
    ((c_session,),) = cluster.rows("SELECT session_id FROM pending_blobs")

    ns.cut()
    cut_at = time.monotonic()
    try:
        # Inside the namespace, C is asked for an object it stored: its database is silent.
        inside = subprocess.run(
            [*ns.prefix, sys.executable, "-c", INSIDE, f"https://127.0.0.1:{c.port}",
             c.cert, c.root_access_key, c.root_secret_key, BUCKET, "before-1"],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert inside.returncode == 0, inside.stderr
        status, code, retry_after, seconds = inside.stdout.split()
        assert (status, retry_after != "-") == ("503", True), inside.stdout
        assert code in ("ServiceUnavailable", "SlowDown"), inside.stdout
        assert float(seconds) < 45, f"C took {seconds} s to answer while cut off"

        # A serves on.
        s3a.put_object(Bucket=BUCKET, Key="during", Body=b"d" * 5000)
        assert s3a.get_object(Bucket=BUCKET, Key="before-2")["Body"].read() == b"2" * 1000
        keys = [o["Key"] for o in s3a.list_objects_v2(Bucket=BUCKET)["Contents"]]
        assert keys == ["before-0", "before-1", "before-2", "during"]

        # C's session goes stale; A ends it, and C's pending blob is collected.
        deadline = SESSION_TIMEOUT + 4 * HEARTBEAT_INTERVAL
        ended = "SELECT 1 FROM sessions WHERE session_id = %s"
        wait_for("C's session ended by A", lambda: not cluster.rows(ended, c_session), deadline)
        reaped = "SELECT 1 FROM pending_blobs WHERE session_id = %s"
        wait_for("C's pending mark reaped", lambda: not cluster.rows(reaped, c_session), 30)
        cluster.wait_collected()
    finally:
        ns.heal()
    print(f"cut off for {time.monotonic() - cut_at:.0f} s")

    # The upload under way across the partition: its blob was reaped, so it stores nothing.
    finished = inflight.finish()
    assert finished == 503, finished
    with pytest.raises(ClientError) as missing:
        s3a.head_object(Bucket=BUCKET, Key="in-flight")
    assert missing.value.response["Error"]["Code"] in ("404", "NoSuchKey")

    # C serves again, and what it writes now is A's to read (its new session is live).
    def c_serves() -> bool:
        try:
            s3c.put_object(Bucket=BUCKET, Key="after", Body=b"a" * (2 * MiB))
            return True
        except ClientError:
            return False

    wait_for("C serving again", c_serves, 30)
    assert s3a.get_object(Bucket=BUCKET, Key="after")["Body"].read() == b"a" * (2 * MiB)
    assert s3c.get_object(Bucket=BUCKET, Key="during")["Body"].read() == b"d" * 5000
    cluster.wait_collected()
