"""The multi-gateway suite's fixtures: one cluster for all its tests (three gateways, the
first with two workers, over one PostgreSQL database with an ICU en-US collation, one
shared ``file://`` blob directory and one Redis database), started once per test process
(each xdist worker that runs any of these tests has its own) because gateways cost
seconds to start on two cores.

``cluster``  the running Cluster (tests/multigw/_cluster.py); its root key has a rate of
             its own far above the default, so that only the rate test meets the limit;
             ``cluster.take_user()`` hands out users made at the start (USERS of them).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.redis_service import unique_db_url

from ._cluster import Cluster, running_cluster

ROOT_RATE = "100000"
USERS = 7  # three bucket owners, the rate test's key, two keys to disable, the quota race


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    with running_cluster(tmp_path_factory.mktemp("multigw"), unique_db_url()) as running:
        first = running.gateways[0]
        first.admin("key", "limit", first.root_access_key, ROOT_RATE)
        running.make_users(USERS)
        yield running
