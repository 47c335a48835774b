"""Every metadata-store call the console makes, in one place.

The console reads and changes only what S3 has no operation for: who signs in, access
keys, users and the totals a dashboard shows. Objects and buckets go through the S3 API.
"""

from __future__ import annotations

import hmac

from oortgate import accounts
from oortgate.meta.base import MAX_KEYS_PER_USER, MetaStore
from oortgate.meta.models import AccessKey, BucketUsage, User
from oortgate.ops.context import Services


class Refused(Exception):
    """A console action this user may not take, or that the store refused; the message
    is meant for the user."""


def is_root(user: User) -> bool:
    return user.name == accounts.ROOT_USER


async def signed_in(services: Services, access_key: str) -> tuple[AccessKey, User] | None:
    """The enabled key of a session and its user (cached point lookup, per request)."""
    found = await services.meta.get_credentials(access_key)
    if found is None or not found[0].enabled:
        return None
    return found


async def check_secret(services: Services, access_key: str, secret_key: str) -> User | None:
    """The user, if the key exists, is enabled and its secret is this one. The
    comparison takes the same time wherever the secrets differ."""
    found = await services.meta.get_credentials(access_key)
    stored = found[0].secret_key if found else "x" * len(secret_key)
    same = hmac.compare_digest(stored.encode(), secret_key.encode())
    if found is None or not found[0].enabled or not same:
        return None
    return found[1]


async def keys_visible_to(services: Services, user: User) -> list[tuple[AccessKey, str]]:
    """(key, its user's name): root sees every key, others their own."""
    meta = services.meta
    if is_root(user):
        names = {u.id: u.name for u in await meta.list_users()}
        keys = await meta.list_keys(None)
        return [(k, names.get(k.user_id, "?")) for k in keys]
    return [(k, user.name) for k in await meta.list_keys(user.id)]


async def _key_for_change(services: Services, user: User, access_key: str) -> AccessKey:
    key = await services.meta.get_key(access_key)
    if key is None or (key.user_id != user.id and not is_root(user)):
        raise Refused("no such access key")
    return key


async def _new_key(meta: MetaStore, user: User) -> AccessKey:
    return await meta.create_key(user.id, accounts.new_access_key(), accounts.new_secret_key())


async def create_key(services: Services, user: User) -> AccessKey:
    try:
        return await _new_key(services.meta, user)
    except ValueError:
        raise Refused(f"a user has at most {MAX_KEYS_PER_USER} access keys") from None


async def set_key_enabled(services: Services, user: User, access_key: str, on: bool) -> None:
    await _key_for_change(services, user, access_key)
    await services.meta.set_key_enabled(access_key, on)


async def rotate_key(services: Services, user: User, access_key: str) -> AccessKey:
    """A new key for the old key's user; the old one is disabled (deleted later, once
    nothing uses it). As ``oortgate admin key rotate``."""
    old = await _key_for_change(services, user, access_key)
    holder = await services.meta.get_user(old.user_id)
    if holder is None:
        raise Refused("no such access key")
    new = await create_key(services, holder)
    await services.meta.set_key_enabled(access_key, False)
    return new


async def set_key_rate_limit(
    services: Services, user: User, access_key: str, rate: float | None
) -> None:
    """Root sets any rate; a key's owner may only lower its own keys' (at most the
    server's default): otherwise the limit would be the user's to lift."""
    await _key_for_change(services, user, access_key)
    default = services.settings.rate_limit
    if not is_root(user) and rate is not None and 0 < default < rate:
        raise Refused(f"only the root user sets a rate above the server's {default:g}/s")
    await services.meta.set_key_rate_limit(access_key, rate)


async def delete_key(services: Services, user: User, access_key: str) -> None:
    await _key_for_change(services, user, access_key)
    await services.meta.delete_key(access_key)


async def users(services: Services) -> list[User]:
    return await services.meta.list_users()


async def create_user(services: Services, name: str) -> tuple[User, AccessKey]:
    meta = services.meta
    try:
        user = await meta.create_user(name)
    except ValueError:
        raise Refused(f"the user name {name!r} is taken") from None
    return user, await _new_key(meta, user)


async def delete_user(services: Services, name: str) -> None:
    meta = services.meta
    user = await meta.get_user_by_name(name)
    if user is None:
        raise Refused(f"no such user: {name!r}")
    if is_root(user):
        raise Refused("the root user cannot be removed")
    try:
        await meta.delete_user(user.id)
    except ValueError:
        raise Refused(f"{name} still owns buckets, objects or uploads: delete them first") from None


async def bucket_usage(services: Services, user: User) -> list[BucketUsage]:
    return await services.meta.bucket_usage(user.id)
