"""The composition root of persistence: the one place that picks the metadata and blob
store implementations and knows where their files live in the data directory. The
server, the start-up sweep, `oortgate gc`, `admin` and `fsck` all open them here."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from oortgate import sessions
from oortgate.meta.sqlite import SqliteMetaStore
from oortgate.secretbox import SecretBox
from oortgate.storage.local import LocalBlobStore

if TYPE_CHECKING:
    from oortgate.config import Settings

# The implementations, for callers that need more than the MetaStore/BlobStore protocols
# (admin's key resealing, fsck's blob walk).
MetaDb = SqliteMetaStore
Blobs = LocalBlobStore

DB_FILE = "meta.sqlite3"


def db_path(data_dir: Path) -> Path:
    return data_dir / DB_FILE


def open_meta(data_dir: Path, box: SecretBox | None = None) -> MetaDb:
    """A metadata connection; ``box`` (default: from the environment) opens secrets."""
    return SqliteMetaStore(db_path(data_dir), box if box is not None else SecretBox.from_env())


def open_blobs(data_dir: Path) -> Blobs:
    return LocalBlobStore(data_dir)


@dataclass(frozen=True, slots=True)
class Stores:
    meta: MetaDb  # for writes, on the store's worker thread
    blobs: Blobs
    reader: MetaDb  # a second connection, for point lookups on the event loop


def open_stores(settings: Settings) -> Stores:
    """What a server worker process runs on: its writes belong to a new session (see
    oortgate.sessions; the caller heartbeats it)."""
    box = SecretBox.from_env()
    meta, blobs = open_meta(settings.data_dir, box), open_blobs(settings.data_dir)
    sessions.open_session(meta, blobs)
    return Stores(meta, blobs, open_meta(settings.data_dir, box))
