"""Fixtures for protocol tests: one real ``oortgate serve`` per pytest(-xdist) worker.

Fixtures
--------
server            session: the running ``ServerProcess`` (.endpoint, .port, .host, .cert,
                  .data_dir, .root_access_key, .root_secret_key, .admin(*args))
s3                boto3 S3 client for the root user (path style, all defaults otherwise)
s3_noretry        same, with retries disabled (for errors botocore retries, e.g. BadDigest)
make_user()       -> UserKeys (a 2-tuple (access_key, secret_key) with .name, .canonical_id)
client_for(ak, sk, **config) -> boto3 S3 client for those credentials
make_bucket(client=None, name=None) -> name; created with ``client`` (root by default),
                  emptied and deleted at teardown (errors ignored)
bucket            a fresh, uniquely named root-owned bucket
unique_name(prefix) -> a valid unique bucket name
raw               RawClient signed as root (raw.request(method, bucket, key, query, headers,
                  body, payload_hash=...), raw.url(...), raw.signed_headers(...))
raw_for(ak, sk)   RawClient for other credentials
aws(*args, check=True, ak=, sk=) -> CompletedProcess of the AWS CLI
s3cmd(*args, check=True) -> CompletedProcess of s3cmd with a generated config
minio_client      minio.Minio for root
browser           module: headless Chromium (Playwright); tab: a fresh page of it
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import urllib3
from botocore.config import Config

from tests import pg_service

from ._s3raw import RawClient
from ._server import REGION, VENV_BIN, ServerProcess
from ._types import (
    ClientFor,
    MakeBucket,
    MakeUser,
    MinioClient,
    RawFor,
    RunCli,
    S3Client,
    UniqueName,
    UserKeys,
)


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "gw")


# The backends the session server runs on, one after the other: OORTGATE_TEST_BACKENDS,
# comma-separated, "embedded", "postgres" (a fresh ICU-collated database per xdist
# worker, see tests/pg_service.py) and/or "rados" (the embedded metadata store with its
# blobs in this run's private Ceph cluster, a namespace per xdist worker); every test
# that uses the server runs on each. Unset (``make test``, which has no time for the
# whole suite twice): every test on embedded, and the tests of PER_BACKEND_MODULES on
# postgres as well. ``make test-backends`` sets "embedded,postgres".
_CHOSEN = os.environ.get("OORTGATE_TEST_BACKENDS") or None
BACKENDS = [b for b in (_CHOSEN or "embedded,postgres").split(",") if b]
# The modules about what the metadata store keeps and answers (objects and their
# headers, listings, uploads, copies, conditions, keys, users, buckets and their
# settings), and the fuzzer. The rest (signatures, transport, refused headers, the
# console's pages, the tools' own servers) does not depend on the store.
PER_BACKEND_MODULES = frozenset({
    "test_access_matrix", "test_acl", "test_acl_grants", "test_auth", "test_bad_bytes",
    "test_bad_input", "test_bucket_controls", "test_buckets", "test_conditional_writes",
    "test_copy", "test_delete", "test_edge", "test_fuzz", "test_head_conditional_range",
    "test_honoured_headers", "test_inline", "test_isolation", "test_keys", "test_list",
    "test_multipart", "test_object_attributes", "test_post_object", "test_put_get",
    "test_tagging", "test_tiers", "test_lifecycle", "test_versioning", "test_object_lock",
    "test_object_lock_policy", "test_archive_versions",
})  # fmt: skip


def _blob_args(backend: str) -> list[str]:
    if backend != "rados":
        return []
    from tests import ceph_cluster

    cluster = ceph_cluster.shared_cluster()
    namespace = f"suite-{_worker()}-{uuid.uuid4().hex[:8]}"
    return ["--blob-url", f"rados://{cluster.pool}?conf={cluster.conf}&id={cluster.client}"
                          f"&namespace={namespace}"]  # fmt: skip


def backends_for(module: str) -> list[str]:
    if _CHOSEN is not None or module in PER_BACKEND_MODULES:
        return BACKENDS
    return BACKENDS[:1]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Each test that uses the server, once per backend of its module (grouped by backend:
    one server per backend and xdist worker). One backend for the run: plain test ids."""
    own = getattr(metafunc.module, "server", None) is not None  # a module's own fixture
    if "server" in metafunc.fixturenames and len(BACKENDS) > 1 and not own:
        module = metafunc.module.__name__.rsplit(".", 1)[-1]
        metafunc.parametrize("server", backends_for(module), indirect=True, scope="session")


@pytest.fixture(scope="session")
def server(request: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    backend = getattr(request, "param", BACKENDS[0])
    base = tmp_path_factory.mktemp(f"oortgate-{_worker()}-{backend}")
    url = pg_service.create_database("suite") if backend == "postgres" else ""
    srv = ServerProcess(data_dir=base / "data", metadata_url=url, extra_args=_blob_args(backend))
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()
        if url:
            pg_service.drop_database(url)


def _client(server: ServerProcess, ak: str, sk: str, **config: Any) -> S3Client:
    return boto3.session.Session().client(
        "s3",
        endpoint_url=server.endpoint,
        region_name=REGION,
        aws_access_key_id=ak,
        aws_secret_access_key=sk,
        verify=server.cert,
        config=Config(s3={"addressing_style": "path"}, **config),
    )


@pytest.fixture(scope="session")
def s3(server: ServerProcess) -> S3Client:
    return _client(server, server.root_access_key, server.root_secret_key)


@pytest.fixture(scope="session")
def s3_noretry(server: ServerProcess) -> S3Client:
    return _client(
        server,
        server.root_access_key,
        server.root_secret_key,
        retries={"total_max_attempts": 1},
    )


@pytest.fixture(scope="session")
def client_for(server: ServerProcess) -> ClientFor:
    def make(ak: str, sk: str, **config: Any) -> S3Client:
        return _client(server, ak, sk, **config)

    return make


@pytest.fixture(scope="session")
def make_user(server: ServerProcess) -> MakeUser:
    def make(name: str | None = None) -> UserKeys:
        name = name or f"u{uuid.uuid4().hex[:12]}"
        user = server.create_user(name)
        key = server.create_key(name)
        return UserKeys(
            str(key["access_key"]),
            str(key["secret_key"]),
            str(user.get("name", name)),
            str(user.get("canonical_id", "")),
            str(user.get("id", "")),
        )

    return make


@pytest.fixture(scope="session")
def unique_name() -> UniqueName:
    def make(prefix: str = "t") -> str:
        w = _worker().replace("gw", "w")
        return f"{prefix}-{w}-{uuid.uuid4().hex[:16]}"[:63].lower()

    return make


def empty_and_delete(client: S3Client, name: str) -> None:
    with contextlib.suppress(Exception):
        while True:
            resp = client.list_objects_v2(Bucket=name, MaxKeys=1000)
            keys = [{"Key": o["Key"]} for o in resp.get("Contents", [])]
            if not keys:
                break
            client.delete_objects(Bucket=name, Delete={"Objects": keys, "Quiet": True})
            # fall back to single deletes if the batch did not work
            if client.list_objects_v2(Bucket=name, MaxKeys=1).get("KeyCount", 0):
                for k in keys:
                    client.delete_object(Bucket=name, Key=k["Key"])
                if client.list_objects_v2(Bucket=name, MaxKeys=1).get("KeyCount", 0):
                    break
    with contextlib.suppress(Exception):  # a versioned bucket's versions and markers
        for _ in range(100):
            page = client.list_object_versions(Bucket=name, MaxKeys=1000)
            entries = [{"Key": v["Key"], "VersionId": v["VersionId"]}
                       for v in page.get("Versions", []) + page.get("DeleteMarkers", [])]
            if not entries:
                break
            client.delete_objects(Bucket=name, Delete={"Objects": entries, "Quiet": True})
    with contextlib.suppress(Exception):
        client.delete_bucket(Bucket=name)


@pytest.fixture
def make_bucket(s3: S3Client, unique_name: UniqueName) -> Iterator[MakeBucket]:
    created: list[tuple[S3Client, str]] = []

    def make(client: S3Client = None, name: str | None = None) -> str:
        client = client or s3
        name = name or unique_name("t")
        client.create_bucket(Bucket=name)
        created.append((client, name))
        return name

    yield make
    for client, name in reversed(created):
        empty_and_delete(client, name)


@pytest.fixture
def bucket(make_bucket: MakeBucket) -> str:
    return make_bucket()


@pytest.fixture(scope="session")
def raw(server: ServerProcess) -> RawClient:
    return RawClient(
        server.endpoint, server.host, server.cert, server.root_access_key, server.root_secret_key
    )


@pytest.fixture(scope="session")
def raw_for(server: ServerProcess) -> RawFor:
    def make(ak: str, sk: str) -> RawClient:
        return RawClient(server.endpoint, server.host, server.cert, ak, sk)

    return make


@pytest.fixture(scope="session")
def cli_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("clihome")
    (home / ".aws").mkdir()
    (home / ".aws" / "config").write_text(
        "[default]\nregion = us-east-1\ns3 =\n    addressing_style = path\n"
    )
    return home


@pytest.fixture(scope="session")
def aws(server: ServerProcess, cli_home: Path) -> RunCli:
    def run(
        *args: str,
        check: bool = True,
        ak: str | None = None,
        sk: str | None = None,
        cwd: str | None = None,
    ) -> subprocess.CompletedProcess[str]:
        env = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": str(cli_home),
            "AWS_CONFIG_FILE": str(cli_home / ".aws" / "config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(cli_home / ".aws" / "credentials"),
            "AWS_ACCESS_KEY_ID": ak or server.root_access_key,
            "AWS_SECRET_ACCESS_KEY": sk or server.root_secret_key,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_PAGER": "",
        }
        cmd = [
            str(VENV_BIN / "aws"),
            *args,
            "--endpoint-url",
            server.endpoint,
            "--ca-bundle",
            server.cert,
        ]
        res = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120, cwd=cwd)
        if check and res.returncode != 0:
            raise AssertionError(
                f"aws {' '.join(args)} -> {res.returncode}\nstdout:\n{res.stdout}\n"
                f"stderr:\n{res.stderr}"
            )
        return res

    return run


@pytest.fixture(scope="session")
def s3cmd(server: ServerProcess, tmp_path_factory: pytest.TempPathFactory) -> RunCli:
    home = tmp_path_factory.mktemp("s3cmdhome")
    cfg = home / "s3cfg"
    cfg.write_text(
        "[default]\n"
        f"access_key = {server.root_access_key}\n"
        f"secret_key = {server.root_secret_key}\n"
        f"host_base = {server.host}\n"
        f"host_bucket = {server.host}\n"
        "use_https = True\n"
        "check_ssl_certificate = True\n"
        "check_ssl_hostname = True\n"
        f"ca_certs_file = {server.cert}\n"
        "signature_v2 = False\n"
        "bucket_location = us-east-1\n"
        "progress_meter = False\n"
        "guess_mime_type = True\n"
    )

    def run(
        *args: str, check: bool = True, cwd: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        env = {"PATH": os.environ.get("PATH", ""), "HOME": str(home)}
        cmd = [str(VENV_BIN / "s3cmd"), "-c", str(cfg), *args]
        res = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120, cwd=cwd)
        if check and res.returncode != 0:
            raise AssertionError(
                f"s3cmd {' '.join(args)} -> {res.returncode}\nstdout:\n{res.stdout}\n"
                f"stderr:\n{res.stderr}"
            )
        return res

    return run


@pytest.fixture(scope="session")
def minio_client(server: ServerProcess) -> MinioClient:
    from minio import Minio

    http = urllib3.PoolManager(
        cert_reqs="CERT_REQUIRED",
        ca_certs=server.cert,
        retries=urllib3.Retry(total=2, backoff_factor=0.2, status_forcelist=[503]),
    )
    return Minio(
        server.host,
        access_key=server.root_access_key,
        secret_key=server.root_secret_key,
        secure=True,
        region=REGION,
        http_client=http,
    )


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Chromium for the console tests, driven by Playwright (no browser download)."""
    from playwright.sync_api import sync_playwright  # only where a test asks for it

    path = shutil.which("chromium")
    if path is None:
        pytest.fail("the console browser test needs `chromium`: run `make browser-deps`",
                    pytrace=False)  # fmt: skip
    with sync_playwright() as pw:
        launched = pw.chromium.launch(executable_path=path, args=["--no-sandbox"])
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def tab(browser: Any) -> Iterator[Any]:
    """A fresh browser context's page (TLS errors ignored: the test CA; downloads kept;
    every confirmation accepted); fails the test on any script error in its pages."""
    context = browser.new_context(ignore_https_errors=True, accept_downloads=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("dialog", lambda dialog: dialog.accept())
    yield page
    context.close()
    assert not errors, errors
