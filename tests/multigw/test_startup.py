"""Three gateways started at the same moment on an empty database: they take turns on the
schema migration and the root key, and all come up, with one root user and one root key.
A fourth with another OORTGATE_SECRETS_KEY (or none) cannot open the keys the others
sealed, and refuses to start, saying why."""

from __future__ import annotations

import subprocess
from pathlib import Path

from oortgate.secretbox import ENV_VAR as SECRETS_ENV
from oortgate.secretbox import SecretBox
from tests.protocol._server import PYTHON, REPO_ROOT, free_port
from tests.redis_service import unique_db_url

from ._cluster import running_cluster


def test_three_gateways_started_together_on_an_empty_database_all_come_up(
    tmp_path: Path,
) -> None:
    with running_cluster(tmp_path, unique_db_url(), started=False) as cluster:
        errors = cluster.start_together()
        assert errors == [None, None, None], errors
        for n, client in enumerate(cluster.clients()):
            client.create_bucket(Bucket=f"mg-start-{n}")
        for client in cluster.clients():
            names = {b["Name"] for b in client.list_buckets()["Buckets"]}
            assert names == {"mg-start-0", "mg-start-1", "mg-start-2"}
        (users,), = cluster.rows("SELECT count(*) FROM users")
        keys = cluster.rows("SELECT access_key FROM access_keys")
        assert (users, keys) == (1, [(cluster.gateways[0].root_access_key,)])
        stranger = cluster.gateways[0]
        for key in (SecretBox.generate_key(), ""):
            env = {**stranger.env(), SECRETS_ENV: key}
            res = subprocess.run(
                [PYTHON, "-m", "oortgate", "serve", "--data-dir", str(tmp_path / "stranger"),
                 "--https-port", str(free_port()), "--http-port", "0"],
                cwd=str(REPO_ROOT), env=env, capture_output=True, text=True, timeout=60,
            )  # fmt: skip
            assert res.returncode == 2, res.stderr
            assert SECRETS_ENV in res.stderr and "Traceback" not in res.stderr, res.stderr
