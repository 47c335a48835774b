"""The multi-gateway suite on RADOS: three gateways (the first with two workers) over one
PostgreSQL database, one namespace of this run's private Ceph pool (tests/ceph_cluster.py)
and one Redis. What one gateway writes the others read, list and delete at once, and a
copy racing a delete of its source loses nothing once the collectors ran (the heads left
are exactly the database's blob rows): the shared-directory tests, on the pool."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from tests import ceph_cluster
from tests.redis_service import unique_db_url

from . import test_consistency
from ._cluster import Cluster, RadosSpace, running_cluster


@pytest.fixture(scope="module")
def rados_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    if not ceph_cluster.ceph_installed():
        pytest.skip("Ceph is not installed here (make ceph-deps installs it)")
    ceph = ceph_cluster.shared_cluster()
    space = RadosSpace(ceph.conf, ceph.pool, ceph.client, f"multigw-{uuid.uuid4().hex[:12]}")
    base = tmp_path_factory.mktemp("multigw-rados")
    with running_cluster(base, unique_db_url(), rados=space) as running:
        yield running


def test_read_list_delete_after_write_across_gateways(rados_cluster: Cluster) -> None:
    test_consistency.test_read_list_delete_after_write_across_gateways(rados_cluster)


def test_copy_racing_a_delete_of_its_source_loses_nothing(rados_cluster: Cluster) -> None:
    test_consistency.test_copy_racing_a_delete_of_its_source_loses_nothing(rados_cluster)
