"""Listener limits: max_connections shared by the workers, within the descriptor limit."""

from __future__ import annotations

import resource

from oortgate import connections
from oortgate.connections import RESERVED_DESCRIPTORS, listener_limits


def test_connections_are_shared_by_the_workers() -> None:
    limits = listener_limits(16384, 2, 4096, 10.0, descriptors=1 << 20)
    assert (limits.backlog, limits.per_worker, limits.header_timeout_ms) == (4096, 8192, 10000)
    assert listener_limits(5, 2, 128, 0.5, descriptors=1 << 20).per_worker == 3


def test_a_worker_holds_no_more_connections_than_its_descriptors_allow() -> None:
    limits = listener_limits(16384, 1, 4096, 10.0, descriptors=RESERVED_DESCRIPTORS + 1000)
    assert limits.per_worker == 1000
    assert listener_limits(16384, 1, 4096, 10.0, descriptors=10).per_worker == 1


def test_the_soft_descriptor_limit_is_raised_to_the_hard_one() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(soft, 256), hard))
        in_force = connections.raise_descriptor_limit()
        assert resource.getrlimit(resource.RLIMIT_NOFILE)[0] == in_force
        assert in_force == hard or hard == resource.RLIM_INFINITY
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_a_descriptor_limit_too_low_for_max_connections_is_said() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    assert connections.descriptor_warning(100, 1) is None
    warning = connections.descriptor_warning(10**12, 1)
    assert warning is not None and "file-descriptor limit" in warning
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
