"""Several ``oortgate serve`` gateways over one PostgreSQL database, one shared blob store
(a ``file://`` directory, or a namespace of this run's private Ceph pool) and one Redis:
how the multi-gateway suite starts them, talks to them and looks at what they stored
(the database's rows and the store's blobs, read from outside the servers)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import functools
import os
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import psycopg
from botocore.config import Config

from oortgate.accounts import new_access_key, new_secret_key
from oortgate.config import SESSION_TIMEOUT
from oortgate.secretbox import ENV_VAR as SECRETS_ENV
from oortgate.secretbox import SecretBox
from oortgate.stores import open_postgres
from tests import pg_service
from tests.protocol._s3raw import RawClient, build_head, read_response, tls_connect
from tests.protocol._server import REGION, ServerProcess, free_port, random_access_key
from tests.protocol._server import random_secret_key as new_secret
from tests.protocol._util import BLOB_NAME, at_once

RATE, BURST = 100.0, 20  # the OORT default: what one key gets over all the gateways
MiB = 1024 * 1024


@dataclass
class Gateway(ServerProcess):
    """A ServerProcess with variables of its own (the secrets key every gateway shares)."""

    extra_env: dict[str, str] = field(default_factory=dict)

    def env(self) -> dict[str, str]:
        return {**super().env(), **self.extra_env}

    @property
    def metrics_port(self) -> int:
        return int(self.extra_args[self.extra_args.index("--metrics-port") + 1])


@dataclass(frozen=True)
class RadosSpace:
    """A namespace of the private Ceph cluster's pool (tests/ceph_cluster.py)."""

    conf: Path
    pool: str
    client: str
    namespace: str

    @property
    def url(self) -> str:
        return (f"rados://{self.pool}?conf={self.conf}&id={self.client}"
                f"&namespace={self.namespace}")  # fmt: skip

    def heads(self) -> set[str]:
        """The committed blobs: the heads in the store's namespace (a blob id each)."""
        import rados

        handle = rados.Rados(conffile=str(self.conf), name=self.client)
        handle.connect(timeout=10)
        try:
            ioctx = handle.open_ioctx(self.pool)
            try:
                ioctx.set_namespace(self.namespace)
                return {o.key for o in ioctx.list_objects() if BLOB_NAME.fullmatch(o.key)}
            finally:
                ioctx.close()
        finally:
            handle.shutdown()


@dataclass
class Cluster:
    gateways: list[Gateway]
    metadata_url: str
    blob_dir: Path
    redis_url: str
    spare_users: list[tuple[str, str]] = field(default_factory=list)
    rados: RadosSpace | None = None  # the blobs' store if not blob_dir

    def client(self, index: int, access_key: str = "", secret_key: str = "",
               **config: Any) -> Any:  # fmt: skip
        """A boto3 client of gateway ``index`` (root's unless keys are given)."""
        gw = self.gateways[index]
        return boto3.session.Session().client(
            "s3", endpoint_url=gw.endpoint, region_name=REGION, verify=gw.cert,
            aws_access_key_id=access_key or gw.root_access_key,
            aws_secret_access_key=secret_key or gw.root_secret_key,
            config=Config(s3={"addressing_style": "path"}, **config),
        )  # fmt: skip

    def clients(self, **config: Any) -> list[Any]:
        return [self.client(i, **config) for i in range(len(self.gateways))]

    def rows(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.metadata_url, autocommit=True) as conn:
            return list(conn.execute(sql.encode(), args or None).fetchall())

    def blob_files(self) -> set[str]:
        """The committed blobs of the shared store (files of the directory, or heads)."""
        if self.rados is not None:
            return self.rados.heads()
        root = self.blob_dir / "blobs"
        return {p.name for p in root.glob("*/*/*") if p.is_file() and BLOB_NAME.fullmatch(p.name)}

    def temp_files(self) -> list[Path]:
        root = self.blob_dir / "tmp"
        return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []

    def wait_collected(self, timeout: float = 30.0) -> None:
        """Until nothing is queued as garbage or pending and every blob file is named by
        a blob row with references, and every such row by a file: nothing leaked, nothing
        lost (the collectors run every 2 s with no grace)."""
        deadline = time.monotonic() + timeout
        while True:
            state = self.blob_state()
            if state["garbage"] == state["pending"] == 0 and state["files"] == state["rows"]:
                return
            assert time.monotonic() < deadline, _describe(state)
            time.sleep(0.3)

    def blob_state(self) -> dict[str, Any]:
        files = self.blob_files()  # first: a blob committed meanwhile has its row by then
        rows = {r[0] for r in self.rows("SELECT blob_id FROM blobs WHERE refs > 0")}
        ((garbage,),) = self.rows("SELECT count(*) FROM garbage")
        ((pending,),) = self.rows("SELECT count(*) FROM pending_blobs")
        return {"files": files, "rows": rows, "garbage": garbage, "pending": pending}

    def start_together(self) -> list[BaseException | None]:
        """Start every gateway at once (each from its own thread): what each start raised."""
        starts = [functools.partial(g.start, timeout=60) for g in self.gateways]
        return at_once(*starts, catching=BaseException)

    def make_users(self, count: int) -> None:
        """Users with a key each, for ``take_user``: made in the database through the
        metadata store's own interface (as ``oortgate admin`` does, but without paying a
        process start per user), sealed with the gateways' secrets key."""

        async def make() -> list[tuple[str, str]]:
            box = SecretBox(base64.b64decode(self.gateways[0].extra_env[SECRETS_ENV]))
            meta = open_postgres(self.metadata_url, box)
            try:
                made = []
                for _ in range(count):
                    user = await meta.create_user(f"mg-user-{uuid.uuid4().hex[:12]}")
                    key = await meta.create_key(user.id, new_access_key(), new_secret_key())
                    made.append((key.access_key, key.secret_key))
                return made
            finally:
                await meta.close()

        self.spare_users.extend(asyncio.run(make()))

    def take_user(self) -> tuple[str, str]:
        """A user no other test has used: its key pair."""
        return self.spare_users.pop()


def _describe(state: dict[str, Any]) -> str:
    files, rows = state["files"], state["rows"]
    return (f"not collected: garbage {state['garbage']}, pending {state['pending']}, "
            f"files without a row {sorted(files - rows)}, rows without a file "
            f"{sorted(rows - files)}")  # fmt: skip


def gateway(base: Path, name: str, metadata_url: str, blob_url: str, redis_url: str,
            root: tuple[str, str], secrets_key: str, workers: int = 1,
            session_timeout: float = SESSION_TIMEOUT) -> Gateway:  # fmt: skip
    return Gateway(
        data_dir=base / name / "data", root_access_key=root[0], root_secret_key=root[1],
        workers=workers, metadata_url=metadata_url, rate_limit=RATE,
        extra_env={SECRETS_ENV: secrets_key},
        extra_args=["--blob-url", blob_url, "--gc-grace", "0",
                    "--rate-burst", str(BURST), "--rate-limit-url", redis_url,
                    "--metrics-port", str(free_port()), "--body-timeout", "120",
                    "--session-timeout", str(session_timeout)],
    )  # fmt: skip


@contextlib.contextmanager
def running_cluster(base: Path, redis_url: str, workers: tuple[int, ...] = (2, 1, 1),
                    started: bool = True, rados: RadosSpace | None = None,
                    ) -> Iterator[Cluster]:  # fmt: skip
    """Gateways (one per entry of ``workers``) on a fresh ICU-collated database, their
    blobs in a shared directory (or ``rados``), started together unless ``started`` is
    False; stopped, and the database dropped, at the end."""
    url = pg_service.create_database("multigw")
    blob_dir = base / "shared-blobs"
    blob_dir.mkdir()
    blob_url = rados.url if rados is not None else blob_dir.as_uri()
    root, key = (random_access_key("ROOT"), new_secret()), SecretBox.generate_key()
    gws = [gateway(base, f"gw{i}", url, blob_url, redis_url, root, key, n)
           for i, n in enumerate(workers)]  # fmt: skip
    cluster = Cluster(gws, url, blob_dir, redis_url, rados=rados)
    try:
        if started:
            errors = cluster.start_together()
            assert errors == [None] * len(gws), errors
        yield cluster
    finally:
        for gw in gws:
            gw.stop()
        pg_service.drop_database(url)


class SlowPut:
    """A PUT whose body has only partly arrived (the connection held open): an upload in
    flight on one gateway, finished (or abandoned) when the test says."""

    def __init__(self, gw: ServerProcess, bucket: str, key: str, size: int = 4 * MiB) -> None:
        raw = RawClient(gw.endpoint, gw.host, gw.cert, gw.root_access_key, gw.root_secret_key)
        url = raw.url(bucket, key)
        signed = raw.signed_headers("PUT", url, {"Content-Length": str(size)})
        self.sock = tls_connect(gw.port, gw.cert, timeout=120)
        head = build_head("PUT", url[len(gw.endpoint) :], {"Host": gw.host, **signed.headers})
        self.sock.sendall(head)
        self.byte = os.urandom(1)
        self.size, self.sent = size, 0

    @property
    def body(self) -> bytes:
        return self.byte * self.size

    def send(self, count: int) -> None:
        self.sock.sendall(self.byte * count)
        self.sent += count

    def finish(self) -> int:
        self.send(self.size - self.sent)
        status, _, _ = read_response(self.sock, "PUT")
        self.sock.close()
        return status

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()
