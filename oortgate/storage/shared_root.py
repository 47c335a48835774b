"""A blob directory of its own (``blob_url = file:///dir``), which several gateways may
share: who else uses it decides what each may clean up.

Blob ids are random and every blob is named by a record in one metadata store, so
gateways that share a metadata store (PostgreSQL) also share the directory safely; but
gateways with a metadata store each (two embedded SQLite databases, by mistake or while
moving) would each see the other's blobs as orphans, and the other's temp directories
as those of dead sessions. So every metadata store that uses the directory registers in
``owners/`` (one empty file named by its identity), and:

- temp files go under ``tmp/<owner>/<session>/``: each metadata store reaps the sessions
  it knows, and never sees another's;
- the orphan sweep (blobs no record names) runs only while this metadata store is the
  only one registered, and even then spares blobs younger than ``ORPHAN_MIN_AGE``: a blob
  another gateway has just committed may not have its record visible yet. A sweep that
  checked the owners before a second one registered deletes none of the newcomer's
  blobs, which are all younger than that check (the sweep takes less than an hour).

A metadata store given up for good leaves its owner file: the orphan sweep then stays
off until that file is removed by hand (the README says so). Refusing a second owner
instead would also refuse the moves from one metadata store to another.
"""

from __future__ import annotations

import os
import re
import secrets
from pathlib import Path

OWNERS = "owners"
ORPHAN_MIN_AGE = 3600.0
IDENTITY_FILE = "metadata.id"  # in the data directory: the embedded store's identity
_OWNER_PATTERN = re.compile(r"[0-9a-z][0-9a-z._-]{0,63}")


def check_owner(owner: str) -> str:
    if _OWNER_PATTERN.fullmatch(owner) is None:
        raise ValueError(f"invalid metadata store identity: {owner!r}")
    return owner


def register(root: Path, owner: str) -> None:
    """Record that ``owner`` names blobs here (idempotent, durable before its first blob)."""
    directory = root / OWNERS
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = directory / check_owner(owner)
    if path.exists():
        return
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o600))
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def owners(root: Path) -> list[str]:
    try:
        names = os.listdir(root / OWNERS)
    except FileNotFoundError:
        return []
    return sorted(n for n in names if _OWNER_PATTERN.fullmatch(n))


def orphan_min_age(root: Path, owner: str) -> float | None:
    """How old an unknown blob must be before ``owner``'s sweep may delete it; None:
    never (another metadata store uses the directory too)."""
    return ORPHAN_MIN_AGE if owners(root) == [owner] else None


def embedded_identity(data_dir: Path) -> str:
    """The embedded metadata store's identity: a random name kept in its data directory
    (made on first use; a copy of the data directory is the same store)."""
    path = data_dir / IDENTITY_FILE
    try:
        return check_owner(path.read_text().strip())
    except FileNotFoundError:
        pass
    identity = "sqlite-" + secrets.token_hex(8)
    temp = data_dir / f"{IDENTITY_FILE}.{secrets.token_hex(4)}"
    temp.write_text(identity + "\n")
    try:
        os.link(temp, path)  # atomic, and never replaces one another process just made
    except FileExistsError:
        pass
    finally:
        temp.unlink()
    return check_owner(path.read_text().strip())
