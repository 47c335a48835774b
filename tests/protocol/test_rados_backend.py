"""A real server whose blobs are in a Ceph RADOS pool (``blob_url = rados://…``), on this
run's private cluster (tests/ceph_cluster.py), driven with boto3: small and multi-stripe
objects, ranges across stripes, multipart, copy, delete and its collection, a restart
keeping the data, readiness, the tools, a start that cannot reach the pool, and a slow
download that keeps its bytes through an overwrite and a collection (read leases).
Each server in a RADOS namespace of its own; on the embedded and the PostgreSQL
metadata store alike."""

from __future__ import annotations

import hashlib
import json
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
from boto3.s3.transfer import TransferConfig
from botocore.config import Config

from tests import ceph_cluster, pg_service

from ._server import PYTHON, REGION, REPO_ROOT, ServerProcess, free_port
from ._util import wait_until

MiB = 1 << 20
STRIPE = 4 * MiB

if not ceph_cluster.ceph_installed():
    pytest.skip("Ceph is not installed here (make ceph-deps installs it)", allow_module_level=True)

import rados  # noqa: E402 - only once the binding is known to be there


def rados_url(cluster: ceph_cluster.Cluster, namespace: str, pool: str | None = None) -> str:
    return (f"rados://{pool or cluster.pool}?conf={cluster.conf}&id={cluster.client}"
            f"&namespace={namespace}")  # fmt: skip


@dataclass
class RadosServer:
    srv: ServerProcess
    url: str
    heads: rados.Ioctx  # the store's head objects, looked at directly
    backend: str

    def client(self, **config: Any) -> Any:
        return boto3.session.Session().client(
            "s3", endpoint_url=self.srv.endpoint, region_name=REGION,
            aws_access_key_id=self.srv.root_access_key,
            aws_secret_access_key=self.srv.root_secret_key, verify=self.srv.cert,
            config=Config(s3={"addressing_style": "path"}, **config),
        )  # fmt: skip

    def blob_ids(self) -> set[str]:
        return {obj.key for obj in self.heads.list_objects()}

    def tool(self, *args: str) -> subprocess.CompletedProcess[str]:
        command, *rest = args
        where = ["--data-dir", str(self.srv.data_dir), "--blob-url", self.url]
        return subprocess.run([PYTHON, "-m", "oortgate", command, *where, *rest],
                              cwd=str(REPO_ROOT), env=self.srv.env(), capture_output=True,
                              text=True, timeout=120)  # fmt: skip


@pytest.fixture(scope="module")
def cluster() -> ceph_cluster.Cluster:
    return ceph_cluster.shared_cluster()


@pytest.fixture(scope="module")
def handle(cluster: ceph_cluster.Cluster) -> Iterator[rados.Rados]:
    connected = rados.Rados(conffile=str(cluster.conf), name=cluster.client)
    connected.connect(timeout=10)
    yield connected
    connected.shutdown()


@pytest.fixture(scope="module", params=["embedded", "postgres"])
def gateway(
    request: Any, cluster: ceph_cluster.Cluster, handle: rados.Rados,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[RadosServer]:  # fmt: skip
    backend = str(request.param)
    namespace = f"proto-{uuid.uuid4().hex[:12]}"
    url = rados_url(cluster, namespace)
    metadata_url = pg_service.create_database("rados") if backend == "postgres" else ""
    # Never inline: every byte goes to RADOS. Grace 0: a garbage blob goes at the next pass.
    srv = ServerProcess(data_dir=tmp_path_factory.mktemp(f"rados-{backend}") / "data",
                        workers=2, metadata_url=metadata_url,
                        extra_args=["--blob-url", url, "--inline-max-size", "0",
                                    "--gc-grace", "0"])  # fmt: skip
    srv.start()
    heads = handle.open_ioctx(cluster.pool)
    heads.set_namespace(namespace)
    try:
        yield RadosServer(srv, url, heads, backend)
    finally:
        srv.stop()
        heads.close()
        if metadata_url:
            pg_service.drop_database(metadata_url)


@pytest.fixture
def bucket(gateway: RadosServer) -> str:
    name = f"rados-{uuid.uuid4().hex[:12]}"
    gateway.client().create_bucket(Bucket=name)
    return name


def _pattern(size: int, seed: int) -> bytes:
    """Bytes that differ at every offset (a misplaced stripe cannot read back right)."""
    block = hashlib.sha256(seed.to_bytes(8, "big")).digest()
    out = bytearray()
    counter = 0
    while len(out) < size:
        out += hashlib.sha256(block + counter.to_bytes(8, "big")).digest() * 64
        counter += 1
    return bytes(out[:size])


def test_small_and_multi_stripe_objects_live_in_the_pool(
    gateway: RadosServer, bucket: str
) -> None:
    s3 = gateway.client()
    before = gateway.blob_ids()
    bodies = {"tiny": b"x", "small": _pattern(100_000, 1), "striped": _pattern(9 * MiB + 3, 2)}
    for key, body in bodies.items():
        s3.put_object(Bucket=bucket, Key=key, Body=body)
    assert len(gateway.blob_ids() - before) == 3  # one head per blob, in the namespace
    assert not any((gateway.srv.data_dir / "blobs").rglob("*.*"))  # nothing on local disk
    for key, body in bodies.items():
        got = s3.get_object(Bucket=bucket, Key=key)
        assert got["ContentLength"] == len(body)
        assert got["Body"].read() == body


def test_ranges_across_stripe_boundaries(gateway: RadosServer, bucket: str) -> None:
    s3 = gateway.client()
    body = _pattern(3 * STRIPE + 1000, 3)
    s3.put_object(Bucket=bucket, Key="ranges", Body=body)
    for first, last in [(STRIPE - 1, STRIPE), (STRIPE - 10, 2 * STRIPE + 10),
                        (2 * STRIPE, 3 * STRIPE - 1), (len(body) - 5, len(body) - 1),
                        (0, 0)]:  # fmt: skip
        got = s3.get_object(Bucket=bucket, Key="ranges", Range=f"bytes={first}-{last}")
        assert got["ContentRange"] == f"bytes {first}-{last}/{len(body)}"
        assert got["Body"].read() == body[first : last + 1]


def test_multipart_upload_complete_and_part_reads(gateway: RadosServer, bucket: str) -> None:
    s3 = gateway.client()
    parts = [_pattern(5 * MiB + 17, 10), _pattern(5 * MiB, 11), _pattern(1234, 12)]
    upload = s3.create_multipart_upload(Bucket=bucket, Key="mp")["UploadId"]
    done = []
    for number, data in enumerate(parts, 1):
        part = s3.upload_part(Bucket=bucket, Key="mp", UploadId=upload, PartNumber=number,
                              Body=data)  # fmt: skip
        done.append({"PartNumber": number, "ETag": part["ETag"]})
    s3.complete_multipart_upload(Bucket=bucket, Key="mp", UploadId=upload,
                                 MultipartUpload={"Parts": done})  # fmt: skip
    whole = b"".join(parts)
    assert s3.get_object(Bucket=bucket, Key="mp")["Body"].read() == whole
    first, last = len(parts[0]) - 100, len(parts[0]) + 100  # across the parts' boundary
    got = s3.get_object(Bucket=bucket, Key="mp", Range=f"bytes={first}-{last}")
    assert got["Body"].read() == whole[first : last + 1]
    assert s3.get_object(Bucket=bucket, Key="mp", PartNumber=2)["Body"].read() == parts[1]
    # boto3's own transfer manager: parallel parts of 5 MiB
    config = TransferConfig(multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB)
    path = gateway.srv.data_dir.parent / "upload.bin"
    path.write_bytes(_pattern(17 * MiB, 13))
    s3.upload_file(str(path), bucket, "managed", Config=config)
    down = path.with_suffix(".down")
    s3.download_file(bucket, "managed", str(down), Config=config)
    assert down.read_bytes() == path.read_bytes()


def test_copy_then_delete_and_the_collector(gateway: RadosServer, bucket: str) -> None:
    s3 = gateway.client()
    body = _pattern(6 * MiB, 20)
    before = gateway.blob_ids()
    s3.put_object(Bucket=bucket, Key="src", Body=body)
    (blob,) = gateway.blob_ids() - before
    s3.copy_object(Bucket=bucket, Key="copy", CopySource={"Bucket": bucket, "Key": "src"})
    s3.delete_object(Bucket=bucket, Key="src")
    assert s3.get_object(Bucket=bucket, Key="copy")["Body"].read() == body  # shared blob
    assert blob in gateway.blob_ids()
    s3.delete_object(Bucket=bucket, Key="copy")  # the last reference
    assert wait_until(lambda: blob not in gateway.blob_ids()), "the blob was never collected"
    stripes = gateway.heads.get_namespace() + ".stripes"
    ioctx = gateway.heads  # same pool: look at the stripes' namespace, then back
    try:
        ioctx.set_namespace(stripes)
        assert not [o.key for o in ioctx.list_objects() if o.key.startswith(blob)]
    finally:
        ioctx.set_namespace(stripes.removesuffix(".stripes"))


def test_readiness_reports_the_blob_store(gateway: RadosServer) -> None:
    ready = requests.get(gateway.srv.endpoint + "/_health/ready", verify=gateway.srv.cert,
                         timeout=10)  # fmt: skip
    assert (ready.status_code, ready.text) == (200, "ready\n")


def test_the_tools_on_a_rados_store(gateway: RadosServer, bucket: str) -> None:
    collected = gateway.tool("gc", "--gc-grace", "0")  # beside the running server
    assert collected.returncode == 0, collected.stderr
    assert set(json.loads(collected.stdout)) >= {"sessions", "pending", "temp", "garbage"}
    for command in (["fsck"], ["admin", "stats"]):
        refused = gateway.tool(*command)
        assert refused.returncode == 2, refused.stderr
        assert "blob_url is a rados:// store" in refused.stderr
        assert "does not support RADOS yet" in refused.stderr


def test_a_restart_keeps_the_data(gateway: RadosServer, bucket: str) -> None:
    s3 = gateway.client()
    body = _pattern(10 * MiB, 30)
    s3.put_object(Bucket=bucket, Key="kept", Body=body)
    gateway.srv.stop()
    gateway.srv.start()
    assert gateway.client().get_object(Bucket=bucket, Key="kept")["Body"].read() == body


def test_a_slow_download_keeps_its_bytes_through_an_overwrite_and_a_collection(
    gateway: RadosServer, bucket: str
) -> None:
    """The download holds a read lease: the collector (the server's, grace 0, and a
    forced `oortgate gc` pass) skips its blob until it ends, then collects it."""
    s3 = gateway.client()
    old = _pattern(40 * MiB, 40)  # far more than the server reads ahead and the sockets hold
    before = gateway.blob_ids()
    s3.put_object(Bucket=bucket, Key="slow", Body=old)
    (blob,) = gateway.blob_ids() - before
    before = gateway.blob_ids()
    s3.put_object(Bucket=bucket, Key="witness", Body=b"w" * 1000)
    (witness,) = gateway.blob_ids() - before
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "slow"})
    with requests.get(url, verify=gateway.srv.cert, stream=True, timeout=60) as response:
        assert response.status_code == 200
        digest = hashlib.sha256()
        stream = response.raw
        digest.update(stream.read(64 * 1024))
        s3.put_object(Bucket=bucket, Key="slow", Body=b"new bytes")
        if gateway.backend == "embedded":
            forced = gateway.tool("gc", "--gc-grace", "0")
            assert forced.returncode == 0, forced.stderr
        s3.delete_object(Bucket=bucket, Key="witness")  # queued after the old blob
        for _ in range(10):  # a few KiB per second meanwhile
            digest.update(stream.read(4096))
            time.sleep(0.3)
        # A pass that collected the witness also took the overwritten blob into account:
        assert wait_until(lambda: witness not in gateway.blob_ids())
        assert blob in gateway.blob_ids()  # leased: skipped
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
    assert digest.hexdigest() == hashlib.sha256(old).hexdigest()
    assert wait_until(lambda: blob not in gateway.blob_ids()), "the lease was never dropped"
    assert s3.get_object(Bucket=bucket, Key="slow")["Body"].read() == b"new bytes"


def test_a_download_given_up_drops_its_lease(gateway: RadosServer, bucket: str) -> None:
    s3 = gateway.client()
    before = gateway.blob_ids()
    s3.put_object(Bucket=bucket, Key="dropped", Body=_pattern(30 * MiB, 41))
    (blob,) = gateway.blob_ids() - before
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "dropped"})
    with requests.get(url, verify=gateway.srv.cert, stream=True, timeout=60) as response:
        assert len(response.raw.read(64 * 1024)) == 64 * 1024
    # The client went away mid-body: the server's stream ends, its lease with it.
    s3.put_object(Bucket=bucket, Key="dropped", Body=b"replaced")
    assert wait_until(lambda: blob not in gateway.blob_ids()), "the lease outlived the download"


def _serve(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([PYTHON, "-m", "oortgate", "serve", "--data-dir", str(tmp_path / "d"),
                           "--https-port", str(free_port()), "--http-port", "0", *args],
                          cwd=str(REPO_ROOT), capture_output=True, text=True,
                          timeout=60)  # fmt: skip


def test_a_pool_or_conf_that_cannot_be_reached_stops_the_start(
    cluster: ceph_cluster.Cluster, tmp_path: Path
) -> None:
    missing_pool = rados_url(cluster, "x", pool="no-such-pool")
    bad_conf = f"rados://{cluster.pool}?conf={tmp_path}/missing.conf"
    for args, words in [
        (["--blob-url", missing_pool], ("blob_url", "no-such-pool", "does not exist")),
        (["--blob-url", bad_conf], ("blob_url", "no Ceph configuration file")),
        (["--archive-blob-url", missing_pool], ("archive_blob_url", "does not exist")),
    ]:
        res = _serve(tmp_path, *args)
        assert res.returncode == 2, res.stderr
        lines = [line for line in res.stderr.splitlines() if line.strip()]
        assert len(lines) == 1 and "serving" not in res.stderr, res.stderr
        assert all(word in lines[0] for word in words), res.stderr


def test_a_pool_per_tier(
    cluster: ceph_cluster.Cluster, handle: rados.Rados, tmp_path: Path
) -> None:
    """The Archive tier's blobs in a pool of their own (say, an erasure-coded one)."""
    archive_pool = f"{cluster.pool}-archive"
    if not handle.pool_exists(archive_pool):
        handle.create_pool(archive_pool)
    namespace = f"tiers-{uuid.uuid4().hex[:12]}"
    archive_port = free_port()
    srv = ServerProcess(data_dir=tmp_path / "data", extra_args=[
        "--blob-url", rados_url(cluster, namespace), "--inline-max-size", "0",
        "--archive-blob-url", rados_url(cluster, namespace, pool=archive_pool),
        "--archive-https-port", str(archive_port),
    ])  # fmt: skip
    pools = {}
    for pool in (cluster.pool, archive_pool):
        pools[pool] = handle.open_ioctx(pool)
        pools[pool].set_namespace(namespace)
    try:
        with srv:
            arc = RadosServer(srv, "", pools[archive_pool], "embedded")
            body = _pattern(5 * MiB, 50)
            wait_until(lambda: _answers(srv, archive_port))
            archive = boto3.session.Session().client(
                "s3", endpoint_url=f"https://127.0.0.1:{archive_port}", region_name=REGION,
                aws_access_key_id=srv.root_access_key, aws_secret_access_key=srv.root_secret_key,
                verify=srv.cert, config=Config(s3={"addressing_style": "path"}),
            )  # fmt: skip
            archive.create_bucket(Bucket="cold")
            archive.put_object(Bucket="cold", Key="k", Body=body)
            standard = RadosServer(srv, "", pools[cluster.pool], "embedded").client()
            standard.create_bucket(Bucket="warm")
            standard.put_object(Bucket="warm", Key="k", Body=b"warm bytes")
            assert len(arc.blob_ids()) == 1
            assert len({o.key for o in pools[cluster.pool].list_objects()}) == 1
            restored = archive.get_object(Bucket="cold", Key="k")
            assert restored["Body"].read() == body
    finally:
        for ioctx in pools.values():
            ioctx.close()


def _answers(srv: ServerProcess, port: int) -> bool:
    try:
        requests.get(f"https://127.0.0.1:{port}/_health/live", verify=srv.cert, timeout=2)
    except requests.RequestException:
        return False
    return True


def test_oortgate_gc_collects_from_the_pool_beside_a_running_server(
    cluster: ceph_cluster.Cluster, handle: rados.Rados, tmp_path: Path
) -> None:
    """With the server's own grace long, only the tool's pass (grace 0) can collect."""
    namespace = f"gc-{uuid.uuid4().hex[:12]}"
    url = rados_url(cluster, namespace)
    srv = ServerProcess(data_dir=tmp_path / "data", extra_args=[
        "--blob-url", url, "--inline-max-size", "0", "--gc-grace", "3600"])  # fmt: skip
    heads = handle.open_ioctx(cluster.pool)
    heads.set_namespace(namespace)
    try:
        with srv:
            gateway = RadosServer(srv, url, heads, "embedded")
            s3 = gateway.client()
            s3.create_bucket(Bucket="gc-bucket")
            s3.put_object(Bucket="gc-bucket", Key="gone", Body=_pattern(5 * MiB, 60))
            (blob,) = gateway.blob_ids()
            s3.put_object(Bucket="gc-bucket", Key="kept", Body=b"kept")
            (kept,) = gateway.blob_ids() - {blob}
            s3.delete_object(Bucket="gc-bucket", Key="gone")
            assert blob in gateway.blob_ids()  # within the server's grace
            run = gateway.tool("gc", "--gc-grace", "0")
            assert run.returncode == 0, run.stderr
            assert json.loads(run.stdout)["garbage"] == 1
            assert gateway.blob_ids() == {kept}
            assert s3.get_object(Bucket="gc-bucket", Key="kept")["Body"].read() == b"kept"
    finally:
        heads.close()
