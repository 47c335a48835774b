"""Access keys: rotation, the per-user limit, ``key list`` without secrets, secrets sealed at
rest with ``OORTGATE_SECRETS_KEY`` (``key reseal``)."""

from __future__ import annotations

import base64
import json
import os
import sqlite3
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
from botocore.config import Config

from ._server import PYTHON, REGION, REPO_ROOT, ServerProcess, free_port
from ._types import ClientFor, MakeBucket, MakeUser
from ._util import s3_error

MAX_KEYS = 10


def _revoked(client: Any) -> None:
    with pytest.raises(Exception) as ei:
        client.list_buckets()
    resp = ei.value.response  # type: ignore[attr-defined]
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 403, resp
    assert resp["Error"]["Code"] in ("InvalidAccessKeyId", "AccessDenied"), resp


def _json(out: str) -> Any:
    out = out.strip()
    start = min(i for i in (out.find("{"), out.find("[")) if i >= 0)
    return json.loads(out[start:])


# --------------------------------------------------------------------------- rotate
@pytest.mark.parametrize("sigv", ["s3v4", "s3"])
def test_rotate(
    server: ServerProcess,
    make_user: MakeUser,
    client_for: ClientFor,
    make_bucket: MakeBucket,
    sigv: str,
) -> None:
    user = make_user()
    old = client_for(*user, signature_version=sigv, retries={"total_max_attempts": 1})
    name = make_bucket(old)
    old.put_object(Bucket=name, Key="k", Body=b"before")
    res = server.admin("key", "rotate", user.access_key)
    new = _json(res.stdout)
    assert new["replaces"] == user.access_key
    assert new["access_key"] != user.access_key
    assert new["secret_key"] and new["secret_key"] != user.secret_key
    # the old key is refused right away
    _revoked(old)
    with pytest.raises(Exception) as ei:
        old.put_object(Bucket=name, Key="k", Body=b"overwrite")
    assert ei.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403  # type: ignore[attr-defined]
    # the new key works at once and belongs to the same user (same buckets, same owner)
    fresh = client_for(new["access_key"], new["secret_key"], signature_version=sigv)
    assert name in [b["Name"] for b in fresh.list_buckets()["Buckets"]]
    assert fresh.get_object(Bucket=name, Key="k")["Body"].read() == b"before"
    acl = fresh.get_object_acl(Bucket=name, Key="k")
    assert acl["Owner"]["ID"] == user.canonical_id
    fresh.put_object(Bucket=name, Key="k2", Body=b"after")
    # the rotated key is shown as disabled, the new one as active, no secrets
    listing = server.admin("key", "list", user.name).stdout
    assert user.access_key in listing and new["access_key"] in listing
    assert user.secret_key not in listing and new["secret_key"] not in listing


def test_rotate_twice_and_unknown(
    server: ServerProcess, make_user: MakeUser, client_for: ClientFor
) -> None:
    user = make_user()
    first = _json(server.admin("key", "rotate", user.access_key).stdout)
    second = _json(server.admin("key", "rotate", first["access_key"]).stdout)
    assert second["replaces"] == first["access_key"]
    _revoked(client_for(first["access_key"], first["secret_key"]))
    client_for(second["access_key"], second["secret_key"]).list_buckets()
    res = server.admin("key", "rotate", "AKNOSUCHKEY000000000", check=False)
    assert res.returncode != 0
    assert res.stderr.strip(), "a failing admin command explains why on stderr"
    assert "Traceback" not in res.stderr


def test_rotated_key_can_be_reenabled(
    server: ServerProcess, make_user: MakeUser, client_for: ClientFor
) -> None:
    """A rotated (disabled) key may be re-enabled: both keys then work (AWS semantics of an
    inactive key made active again)."""
    user = make_user()
    new = _json(server.admin("key", "rotate", user.access_key).stdout)
    server.admin("key", "enable", user.access_key)
    client_for(*user).list_buckets()
    client_for(new["access_key"], new["secret_key"]).list_buckets()


# --------------------------------------------------------------------------- limit
def test_at_most_ten_keys_per_user(
    server: ServerProcess, make_user: MakeUser, client_for: ClientFor
) -> None:
    user = make_user()  # key 1
    keys = [user.access_key]
    for _ in range(MAX_KEYS - 1):
        keys.append(str(server.create_key(user.name)["access_key"]))
    assert len(set(keys)) == MAX_KEYS
    res = server.admin("key", "create", user.name, check=False)
    assert res.returncode != 0, res.stdout
    msg = (res.stderr + res.stdout).lower()
    assert "10" in msg and ("key" in msg), msg
    assert "traceback" not in msg
    assert "secret" not in res.stdout.lower()
    # the listing still has exactly ten keys
    listing = server.admin("key", "list", user.name).stdout
    assert sum(k in listing for k in keys) == MAX_KEYS
    # disabled keys still count (as in IAM)
    server.admin("key", "disable", keys[1])
    assert server.admin("key", "create", user.name, check=False).returncode != 0
    # rotating at the limit cannot exceed it either
    res = server.admin("key", "rotate", keys[2], check=False)
    if res.returncode == 0:  # allowed only if it keeps the count at ten
        listing = server.admin("key", "list", user.name).stdout
        new = _json(res.stdout)["access_key"]
        assert sum(k in listing for k in [*keys, new]) <= MAX_KEYS
    else:
        client_for(*user).list_buckets()  # a refused rotate leaves the old key working
    # deleting one frees a slot
    server.admin("key", "delete", keys[1])
    created = server.create_key(user.name)
    client_for(str(created["access_key"]), str(created["secret_key"])).list_buckets()


def test_limit_is_per_user(server: ServerProcess, make_user: MakeUser) -> None:
    a = make_user()
    for _ in range(MAX_KEYS - 1):
        server.create_key(a.name)
    assert server.admin("key", "create", a.name, check=False).returncode != 0
    b = make_user()
    server.create_key(b.name)


# --------------------------------------------------------------------------- list
def test_key_list_never_prints_secrets(server: ServerProcess, make_user: MakeUser) -> None:
    users = [make_user() for _ in range(3)]
    extra = server.create_key(users[0].name)
    rotated = _json(server.admin("key", "rotate", users[1].access_key).stdout)
    secrets = [u.secret_key for u in users] + [str(extra["secret_key"]), rotated["secret_key"]]
    secrets.append(server.root_secret_key)
    outputs = [server.admin("key", "list")]
    outputs += [server.admin("key", "list", u.name) for u in users]
    for res in outputs:
        text = res.stdout + res.stderr
        for s in secrets:
            assert s not in text
            assert s[:16] not in text  # not even a prefix
    all_keys = outputs[0].stdout
    for u in users:
        assert u.access_key in all_keys
    assert str(extra["access_key"]) in all_keys
    assert rotated["access_key"] in all_keys


def test_secrets_not_in_server_log(
    server: ServerProcess, make_user: MakeUser, client_for: ClientFor
) -> None:
    user = make_user()
    c = client_for(*user)
    c.list_buckets()
    client_for(*user, signature_version="s3").list_buckets()
    with s3_error("SignatureDoesNotMatch", 403):
        client_for(user.access_key, user.secret_key + "x").list_buckets()
    assert server.log_path is not None
    log = server.log_path.read_text(errors="replace")
    assert user.secret_key not in log
    assert server.root_secret_key not in log


# --------------------------------------------------------------------------- sealed secrets
@dataclass
class EnvServer(ServerProcess):
    """A ServerProcess whose serve and admin commands get extra environment variables."""

    extra_env: dict[str, str] = field(default_factory=dict)
    drop_env: tuple[str, ...] = ("OORTGATE_SECRETS_KEY",)

    def env(self) -> dict[str, str]:
        env = super().env()
        for k in self.drop_env:
            env.pop(k, None)
        env.update(self.extra_env)
        return env


def _client(srv: ServerProcess, ak: str, sk: str, sigv: str = "s3v4") -> Any:
    return boto3.session.Session().client(
        "s3",
        endpoint_url=srv.endpoint,
        region_name=REGION,
        aws_access_key_id=ak,
        aws_secret_access_key=sk,
        verify=srv.cert,
        config=Config(
            signature_version=sigv,
            s3={"addressing_style": "path"},
            retries={"total_max_attempts": 1},
        ),
    )


def _checkpoint(data_dir: Path) -> None:
    db = sqlite3.connect(str(data_dir / "meta.sqlite3"))
    try:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        db.close()


def _stored_bytes(data_dir: Path) -> bytes:
    """Everything the metadata store has on disk (database, WAL, any sidecar files)."""
    out = b""
    for p in sorted(data_dir.glob("meta.sqlite3*")):
        out += p.read_bytes()
    return out


def _all_bytes(data_dir: Path) -> bytes:
    out = b""
    for p in sorted(data_dir.rglob("*")):
        if p.is_file() and "blobs" not in p.parts:
            out += p.read_bytes()
    return out


@pytest.fixture
def sealed_key() -> str:
    return base64.b64encode(os.urandom(32)).decode()


def test_reseal_and_serve_with_sealed_keys(tmp_path: Path, sealed_key: str) -> None:
    data = tmp_path / "data"
    plain = EnvServer(data_dir=data)
    plain.start()
    try:
        plain.create_user("alice")
        k1 = plain.create_key("alice")
        ak1, sk1 = str(k1["access_key"]), str(k1["secret_key"])
        c = _client(plain, ak1, sk1)
        c.create_bucket(Bucket="sealed-bucket")
        c.put_object(Bucket="sealed-bucket", Key="k", Body=b"kept")
    finally:
        plain.stop()

    # the database is private to its owner (protected at rest by permissions)
    assert (data / "meta.sqlite3").stat().st_mode & 0o077 == 0, oct(
        (data / "meta.sqlite3").stat().st_mode
    )

    # reseal needs the key; without it the command fails clearly
    res = plain.admin("key", "reseal", check=False)
    assert res.returncode != 0
    assert "OORTGATE_SECRETS_KEY" in res.stderr + res.stdout

    sealed = EnvServer(
        data_dir=data,
        root_access_key=plain.root_access_key,
        root_secret_key=plain.root_secret_key,
        extra_env={"OORTGATE_SECRETS_KEY": sealed_key},
    )
    sealed.admin("key", "reseal")
    _checkpoint(data)
    stored = _stored_bytes(data)
    assert sk1.encode() not in stored
    assert ak1.encode() in stored  # sanity: we are looking at the right file
    assert sk1.encode() not in _all_bytes(data)

    sealed.start()
    try:
        for sigv in ("s3v4", "s3"):
            c = _client(sealed, ak1, sk1, sigv)
            assert c.get_object(Bucket="sealed-bucket", Key="k")["Body"].read() == b"kept"
        with s3_error("SignatureDoesNotMatch", 403):
            _client(sealed, ak1, sk1 + "x").list_buckets()
        # presigned URLs verify against the sealed secret too
        url = _client(sealed, ak1, sk1).generate_presigned_url(
            "get_object", Params={"Bucket": "sealed-bucket", "Key": "k"}
        )
        assert requests.get(url, verify=sealed.cert).content == b"kept"
        # a key created while sealing is on is stored sealed as well
        k2 = sealed.create_key("alice")
        ak2, sk2 = str(k2["access_key"]), str(k2["secret_key"])
        _client(sealed, ak2, sk2).list_buckets()
        rotated = _json(sealed.admin("key", "rotate", ak2).stdout)
        _client(sealed, rotated["access_key"], rotated["secret_key"]).list_buckets()
        # root still works
        _client(sealed, sealed.root_access_key, sealed.root_secret_key).list_buckets()
        listing = sealed.admin("key", "list").stdout
        assert sk1 not in listing and sk2 not in listing
    finally:
        sealed.stop()

    _checkpoint(data)
    everything = _all_bytes(data)
    for secret in (sk1, sk2, rotated["secret_key"]):
        assert secret.encode() not in everything
    assert sealed.log_path is not None
    log = sealed.log_path.read_text(errors="replace")
    assert sk1 not in log and sk2 not in log

    # without the env (or with another key) the server refuses to start, clearly
    again = EnvServer(
        data_dir=data,
        root_access_key=plain.root_access_key,
        root_secret_key=plain.root_secret_key,
    )
    with pytest.raises(RuntimeError) as ei:
        again.start(timeout=20)
    assert "OORTGATE_SECRETS_KEY" in str(ei.value), str(ei.value)
    assert "exited with status" in str(ei.value)
    again.stop()


def test_serve_without_env_exits_nonzero(tmp_path: Path, sealed_key: str) -> None:
    """Run ``python -m oortgate serve`` directly: non-zero exit, stderr names the variable."""
    data = tmp_path / "data"
    srv = EnvServer(data_dir=data, extra_env={"OORTGATE_SECRETS_KEY": sealed_key})
    srv.start()
    try:
        srv.create_user("bob")
        srv.create_key("bob")
    finally:
        srv.stop()
    srv.admin("key", "reseal")
    env = {k: v for k, v in os.environ.items() if k != "OORTGATE_SECRETS_KEY"}
    env["OORTGATE_ROOT_ACCESS_KEY"] = srv.root_access_key
    env["OORTGATE_ROOT_SECRET_KEY"] = srv.root_secret_key
    try:
        res = subprocess.run(
            [
                PYTHON,
                "-m",
                "oortgate",
                "serve",
                "--data-dir",
                str(data),
                "--host",
                "127.0.0.1",
                "--https-port",
                str(free_port()),
                "--http-port",
                "0",
                "--workers",
                "1",
            ],
            cwd=str(REPO_ROOT),
            env=env,
            capture_output=True,
            text=True,
            timeout=20,
            start_new_session=True,
        )
    except subprocess.TimeoutExpired as exc:  # it kept running: that is the failure
        pytest.fail(f"serve without OORTGATE_SECRETS_KEY kept running: {exc.stderr!r}")
    assert res.returncode != 0
    assert "OORTGATE_SECRETS_KEY" in res.stderr, res.stderr
    assert "Traceback" not in res.stderr, res.stderr


def test_wrong_secrets_key_refused(tmp_path: Path, sealed_key: str) -> None:
    """With a different OORTGATE_SECRETS_KEY the sealed secrets cannot be opened: the server
    does not start, or at least never accepts the keys."""
    data = tmp_path / "data"
    srv = EnvServer(data_dir=data, extra_env={"OORTGATE_SECRETS_KEY": sealed_key})
    srv.start()
    try:
        srv.create_user("carol")
        k = srv.create_key("carol")
    finally:
        srv.stop()
    srv.admin("key", "reseal")
    wrong = EnvServer(
        data_dir=data,
        root_access_key=srv.root_access_key,
        root_secret_key=srv.root_secret_key,
        extra_env={"OORTGATE_SECRETS_KEY": base64.b64encode(os.urandom(32)).decode()},
    )
    try:
        wrong.start(timeout=20)
    except RuntimeError as exc:
        assert "OORTGATE_SECRETS_KEY" in str(exc)
        return
    try:
        with pytest.raises(Exception) as ei:
            _client(wrong, str(k["access_key"]), str(k["secret_key"])).list_buckets()
        assert ei.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403  # type: ignore[attr-defined]
    finally:
        wrong.stop()


@pytest.mark.parametrize("bad", ["not-base64!!", base64.b64encode(b"short").decode()])
def test_malformed_secrets_key(tmp_path: Path, bad: str) -> None:
    plain = EnvServer(data_dir=tmp_path / "data")
    plain.start()
    plain.stop()
    srv = EnvServer(data_dir=tmp_path / "data", extra_env={"OORTGATE_SECRETS_KEY": bad})
    res = srv.admin("key", "reseal", check=False)
    assert res.returncode != 0
    assert "OORTGATE_SECRETS_KEY" in res.stderr + res.stdout
    assert "Traceback" not in res.stderr
