"""Fixtures for reliability tests: a private ``oortgate serve`` that tests may SIGKILL.

``crash_server``  a started ServerProcess on its own data dir (tests/protocol/_server.py):
                  .kill() SIGKILLs the whole process group, .start() restarts it on the
                  same data dir (new free port), .stop() is called at teardown. On the
                  embedded store, or, parametrized indirectly with "postgres", on a
                  PostgreSQL database of its own (blobs still in the data dir).
``client_of(srv, **config)`` a boto3 client for the server's root user.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config

from tests import pg_service
from tests.protocol._server import REGION, ServerProcess


@pytest.fixture
def crash_server(request: Any, tmp_path: Any) -> Iterator[ServerProcess]:
    backend = getattr(request, "param", "embedded")
    url = pg_service.create_database("crash") if backend == "postgres" else ""
    srv = ServerProcess(data_dir=tmp_path / "data", metadata_url=url)
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()
        if url:
            pg_service.drop_database(url)


@pytest.fixture
def client_of() -> Callable[..., Any]:
    def make(srv: ServerProcess, **config: Any) -> Any:
        return boto3.session.Session().client(
            "s3",
            endpoint_url=srv.endpoint,
            region_name=REGION,
            aws_access_key_id=srv.root_access_key,
            aws_secret_access_key=srv.root_secret_key,
            verify=srv.cert,
            config=Config(s3={"addressing_style": "path"}, **config),
        )

    return make
