"""Users and access keys: generation, the root account, and the admin commands' logic."""

from __future__ import annotations

import secrets
import string

from oortgate.meta.base import MetaStore
from oortgate.meta.models import AccessKey, User

ROOT_USER = "root"
_AK_ALPHABET = string.ascii_uppercase + string.digits
_SK_ALPHABET = string.ascii_letters + string.digits + "+/"


def new_access_key() -> str:
    return "OORT" + "".join(secrets.choice(_AK_ALPHABET) for _ in range(16))


def new_secret_key() -> str:
    return "".join(secrets.choice(_SK_ALPHABET) for _ in range(40))


async def ensure_root(
    meta: MetaStore, access_key: str | None, secret_key: str | None
) -> AccessKey | None:
    """Make sure the root user has a usable key.

    With credentials from the environment, that key is (re)installed. Without them, a
    key is generated only if root has none yet; the new key is returned so the caller
    can print it once. Returns None when nothing new was generated. Gateways starting
    together may race here: a lost race for the user is looked up.
    """
    root = await meta.get_user_by_name(ROOT_USER)
    if root is None:
        try:
            root = await meta.create_user(ROOT_USER)
        except ValueError:
            root = await meta.get_user_by_name(ROOT_USER)
            assert root is not None
    if access_key and secret_key:
        try:
            await _install_key(meta, root, access_key, secret_key)
        except ValueError:
            # Another gateway starting with the same credentials made the key meanwhile:
            # a second look finds it installed.
            await _install_key(meta, root, access_key, secret_key)
        return None
    if await meta.list_keys(root.id):
        return None
    return await meta.create_key(root.id, new_access_key(), new_secret_key())


async def _install_key(meta: MetaStore, root: User, access_key: str, secret_key: str) -> None:
    """The root key from the environment, (re)installed unless it already is."""
    existing = await meta.get_key(access_key)
    mine = existing is not None and existing.user_id == root.id
    if existing is not None and mine and existing.secret_key == secret_key:
        if not existing.enabled:
            await meta.set_key_enabled(access_key, True)
        return
    if existing is not None:
        await meta.delete_key(access_key)
    await meta.create_key(root.id, access_key, secret_key)


async def create_key(
    meta: MetaStore, user: User, access_key: str | None = None, secret_key: str | None = None
) -> AccessKey:
    secret = secret_key or new_secret_key()
    return await meta.create_key(user.id, access_key or new_access_key(), secret)
