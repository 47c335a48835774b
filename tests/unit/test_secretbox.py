import base64
import secrets
from pathlib import Path

import pytest

from oortgate.meta.sqlite import SqliteMetaStore
from oortgate.secretbox import PREFIX, SecretBox, SecretBoxError, open_secret


def box() -> SecretBox:
    return SecretBox(secrets.token_bytes(32))


def test_seal_and_open() -> None:
    b = box()
    sealed = b.seal("wJalrXUtnFEMI/K7MDENG")
    assert sealed.startswith(PREFIX) and "wJalr" not in sealed
    assert b.open(sealed) == "wJalrXUtnFEMI/K7MDENG"
    assert b.seal("x") != b.seal("x")  # fresh nonce each time


def test_wrong_or_missing_key_is_a_clear_error() -> None:
    sealed = box().seal("secret")
    with pytest.raises(SecretBoxError):
        box().open(sealed)
    with pytest.raises(SecretBoxError):
        open_secret(None, sealed)
    assert open_secret(None, "plain") == "plain"


def test_bad_key_material(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(SecretBoxError):
        SecretBox(b"short")
    monkeypatch.setenv("OORTGATE_SECRETS_KEY", "not base64!")
    with pytest.raises(SecretBoxError):
        SecretBox.from_env()
    monkeypatch.setenv("OORTGATE_SECRETS_KEY", base64.b64encode(b"k" * 32).decode())
    assert SecretBox.from_env() is not None


def test_store_keeps_secrets_sealed_at_rest(tmp_path: Path) -> None:
    path = tmp_path / "meta.sqlite3"
    plain = SqliteMetaStore(path)
    user = plain.create_user("u")
    plain.create_key(user.id, "AKOLD", "old-secret")
    b = box()
    sealed_store = SqliteMetaStore(path, b)
    sealed_store.create_key(user.id, "AKNEW", "new-secret")
    raw = dict(sealed_store._conn.execute("SELECT access_key, secret_key FROM access_keys"))
    assert raw["AKOLD"] == "old-secret" and raw["AKNEW"].startswith(PREFIX)
    assert sealed_store.get_key("AKNEW").secret_key == "new-secret"  # type: ignore[union-attr]
    assert sealed_store.get_key("AKOLD").secret_key == "old-secret"  # type: ignore[union-attr]
    assert sealed_store.reseal_keys() == 1
    raw = dict(sealed_store._conn.execute("SELECT access_key, secret_key FROM access_keys"))
    assert all(v.startswith(PREFIX) for v in raw.values())
    with pytest.raises(SecretBoxError):
        plain.get_key("AKOLD")
