"""`oortgate admin`: users and access keys, straight on the metadata store (works while
the server runs: SQLite in WAL mode takes concurrent writers, PostgreSQL any number), and
`stats` (read-only). One code path for every backend: the async MetaStore, in the
command's own event loop."""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import sys

from oortgate import accounts, stores
from oortgate.config import ConfigError, Settings
from oortgate.errors import StoreUnavailable
from oortgate.meta.base import MetaStore
from oortgate.meta.models import AccessKey, User
from oortgate.migrate_cli import add_migrate_commands
from oortgate.secretbox import ENV_VAR as SECRETS_ENV
from oortgate.secretbox import SecretBox, SecretBoxError


def add_admin_commands(admin: argparse.ArgumentParser) -> None:
    objects = admin.add_subparsers(dest="object", required=True)
    user = objects.add_parser("user", help="users").add_subparsers(dest="action", required=True)
    user.add_parser("create", help="create a user").add_argument("name")
    user.add_parser("list", help="list users")
    key = objects.add_parser("key", help="access keys").add_subparsers(dest="action", required=True)
    create = key.add_parser("create", help="create a key for USER (prints it as JSON)")
    create.add_argument("user")
    create.add_argument("--access-key", help="use this access key id instead of a random one")
    create.add_argument("--secret-key", help="use this secret instead of a random one")
    key.add_parser("list", help="list keys (secrets are never shown)").add_argument(
        "user", nargs="?"
    )
    for action in ("disable", "enable", "delete"):
        key.add_parser(action, help=f"{action} a key").add_argument("access_key")
    key.add_parser(
        "rotate", help="create a new key for the same user and disable this one (prints JSON)"
    ).add_argument("access_key")
    key.add_parser("reseal", help="encrypt every stored secret with $OORTGATE_SECRETS_KEY")
    limit = key.add_parser("limit", help="set a key's request rate (per second; 'default' "
                           "for the server's rate_limit)")  # fmt: skip
    limit.add_argument("access_key")
    limit.add_argument("rate")
    add_migrate_commands(objects)
    stats = objects.add_parser("stats", help="what the data directory holds (read-only)")
    stats.add_argument("--json", action="store_true", help="print one JSON object")
    stats.add_argument("--gc-grace", type=float, default=900.0,
                       help="garbage older than this many seconds counts as due "
                       "(default 900, as the server)")  # fmt: skip


def run_admin(args: argparse.Namespace, settings: Settings) -> int:
    if not settings.metadata_url and not stores.db_path(args.data_dir).exists():
        print(
            f"oortgate: no gateway data in {args.data_dir} (start `oortgate serve` first)",
            file=sys.stderr,
        )
        return 2
    try:
        meta = stores.open_tool_meta(settings)
    except SecretBoxError as exc:
        print(f"oortgate: {exc}", file=sys.stderr)
        return 2
    try:
        return asyncio.run(_run_on(meta, args, settings))
    except (StoreUnavailable, sqlite3.Error) as exc:
        where = "metadata_url" if settings.metadata_url else stores.db_path(args.data_dir)
        print(f"oortgate: cannot use {where}: {exc}", file=sys.stderr)
        return 2


async def _run_on(meta: MetaStore, args: argparse.Namespace, settings: Settings) -> int:
    try:
        if args.object == "stats":
            return await _print_stats(meta, args, settings)
        return await _admin_action(meta, args)
    except ConfigError:
        raise  # a setting the command cannot work with: the CLI's exit 2 names it
    except (ValueError, LookupError, SecretBoxError) as exc:
        print(f"oortgate: {exc}", file=sys.stderr)
        return 1
    finally:
        await meta.close()


async def _admin_action(meta: MetaStore, args: argparse.Namespace) -> int:
    if args.object == "user":
        if args.action == "create":
            _print(_user_json(await meta.create_user(args.name)))
        else:
            _print([_user_json(u) for u in await meta.list_users()])
        return 0
    if args.action == "create":
        user = await _find_user(meta, args.user)
        key = await accounts.create_key(meta, user, args.access_key, args.secret_key)
        _print({**_key_json(key, user), "secret_key": key.secret_key})
        return 0
    if args.action == "rotate":
        old = await meta.get_key(args.access_key)
        if old is None:
            raise LookupError(f"no such access key: {args.access_key}")
        holder = await meta.get_user(old.user_id)
        assert holder is not None, "a key always belongs to a user"
        key = await accounts.create_key(meta, holder)
        await meta.set_key_enabled(old.access_key, False)
        _print({**_key_json(key, holder), "secret_key": key.secret_key, "replaces": old.access_key})
        return 0
    if args.action == "limit":
        rate = None if args.rate == "default" else float(args.rate)
        if rate is not None and rate <= 0:
            raise ValueError("the rate must be a positive number of requests per second")
        if not await meta.set_key_rate_limit(args.access_key, rate):
            raise LookupError(f"no such access key: {args.access_key}")
        _print({"access_key": args.access_key, "rate_limit": rate})
        return 0
    if args.action == "reseal":
        if SecretBox.from_env() is None:
            raise ValueError(f"set {SECRETS_ENV} first (base64 of 32 random bytes)")
        _print({"resealed": await meta.reseal_keys()})
        return 0
    if args.action == "list":
        owner = await _find_user(meta, args.user) if args.user else None
        users = {u.id: u for u in await meta.list_users()}
        keys = await meta.list_keys(owner.id if owner else None)
        _print([_key_json(k, users[k.user_id]) for k in keys])
        return 0
    done = (
        await meta.delete_key(args.access_key)
        if args.action == "delete"
        else await meta.set_key_enabled(args.access_key, args.action == "enable")
    )
    if not done:
        raise LookupError(f"no such access key: {args.access_key}")
    _print({"access_key": args.access_key, "action": args.action})
    return 0


async def _print_stats(meta: MetaStore, args: argparse.Namespace, settings: Settings) -> int:
    from oortgate.stats import collect, render_table

    await meta.ping()  # connects first (on PostgreSQL: the schema the blobs need)
    blobs = stores.open_tool_blobs(settings)
    try:
        stats = await collect(meta, blobs, args.data_dir, args.gc_grace)
    finally:
        await blobs.close()
    print(json.dumps(stats) if args.json else render_table(stats))
    return 0


async def _find_user(meta: MetaStore, name: str) -> User:
    user = await meta.get_user_by_name(name)
    if user is None:
        raise LookupError(f"no such user: {name}")
    return user


def _user_json(user: User) -> dict[str, object]:
    return {"id": user.id, "name": user.name, "canonical_id": user.canonical_id}


def _key_json(key: AccessKey, user: User) -> dict[str, object]:
    return {"access_key": key.access_key, "user": user.name, "enabled": key.enabled,
            "rate_limit": key.rate_limit}  # fmt: skip


def _print(value: object) -> None:
    print(json.dumps(value, indent=2))
