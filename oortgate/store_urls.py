"""The stores' URLs: where blobs live (``blob_url``, ``archive_blob_url``), the metadata
store (``metadata_url``) and the shared rate limit (``rate_limit_url``), and how a URL is
shown without its password.

Empty: in the data directory. ``file:///abs/dir``: a directory of its own, which may be
a mount shared by several gateways. ``rados://POOL?conf=PATH&id=CLIENT&namespace=NS``: a
Ceph pool (NS: a RADOS namespace of its own in it, optional).
Parsed once, at configuration time, so that a bad URL stops the start (exit 2) with a
message naming the setting; the stores are built from the typed values.
"""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass
from pathlib import Path

RADOS_QUERY_KEYS = ("conf", "id", "namespace")
DEFAULT_CEPH_CONF = Path("/etc/ceph/ceph.conf")  # librados' own default
DEFAULT_CEPH_CLIENT = "admin"


class BlobUrlError(ValueError):
    """The URL cannot name a blob store; the message says why (the caller names the
    setting)."""


@dataclass(frozen=True, slots=True)
class DataDirBlobs:
    """Blobs under the data directory (the default)."""


@dataclass(frozen=True, slots=True)
class DirectoryBlobs:
    path: Path  # absolute


@dataclass(frozen=True, slots=True)
class RadosBlobs:
    pool: str
    conf: Path | None = None  # ceph.conf; None: DEFAULT_CEPH_CONF
    client_id: str | None = None  # the cephx user without "client."; None: "admin"
    namespace: str = ""  # a RADOS namespace of the pool (several stores in one pool)

    @property
    def conf_path(self) -> Path:
        return self.conf or DEFAULT_CEPH_CONF

    @property
    def client(self) -> str:
        return self.client_id or DEFAULT_CEPH_CLIENT


BlobLocation = DataDirBlobs | DirectoryBlobs | RadosBlobs


def parse_blob_url(url: str) -> BlobLocation:
    """The typed location; raises BlobUrlError for anything else."""
    text = url.strip()
    if not text:
        return DataDirBlobs()
    try:
        parts = urllib.parse.urlsplit(text)
    except ValueError as exc:
        raise BlobUrlError(f"{url!r} is not a URL ({exc})") from None
    if parts.scheme == "file":
        return _directory(url, parts)
    if parts.scheme == "rados":
        return _rados(url, parts)
    if not parts.scheme:
        raise BlobUrlError(f"{url!r} is not a URL: use file:///absolute/dir or rados://POOL")
    raise BlobUrlError(f"{url!r}: scheme {parts.scheme}:// is not supported "
                       "(file:// or rados://)")  # fmt: skip


def _directory(url: str, parts: urllib.parse.SplitResult) -> DirectoryBlobs:
    if parts.netloc not in ("", "localhost"):
        raise BlobUrlError(f"{url!r}: a file:// URL names a local path (file:///dir), "
                           f"not a host ({parts.netloc})")  # fmt: skip
    if parts.query or parts.fragment:
        raise BlobUrlError(f"{url!r}: a file:// URL takes no query or fragment")
    path = urllib.parse.unquote(parts.path)
    if not path.startswith("/"):
        raise BlobUrlError(f"{url!r}: the directory must be an absolute path (file:///dir)")
    if "\x00" in path:
        raise BlobUrlError(f"{url!r}: the path holds a NUL character")
    resolved = Path(path)
    if resolved == Path("/") or ".." in resolved.parts:
        raise BlobUrlError(f"{url!r}: name a directory of its own, without '..'")
    return DirectoryBlobs(resolved)


def _rados(url: str, parts: urllib.parse.SplitResult) -> RadosBlobs:
    pool = urllib.parse.unquote(parts.netloc)
    if parts.path not in ("", "/"):
        raise BlobUrlError(f"{url!r}: write rados://POOL?conf=PATH&id=CLIENT (no path)")
    if not pool:
        raise BlobUrlError(f"{url!r}: the pool is missing (rados://POOL)")
    if "@" in pool or ":" in pool or "/" in pool:
        raise BlobUrlError(f"{url!r}: {pool!r} is not a pool name")
    if parts.fragment:
        raise BlobUrlError(f"{url!r}: a rados:// URL takes no fragment")
    try:
        query = urllib.parse.parse_qs(parts.query, keep_blank_values=True, strict_parsing=True)
    except ValueError:
        if parts.query:
            raise BlobUrlError(f"{url!r}: the query is not key=value&...") from None
        query = {}
    unknown = sorted(set(query) - set(RADOS_QUERY_KEYS))
    if unknown:
        raise BlobUrlError(f"{url!r}: unknown query key(s) {', '.join(unknown)} "
                           f"(known: {', '.join(RADOS_QUERY_KEYS)})")  # fmt: skip
    values: dict[str, str] = {}
    for key, given in query.items():
        if len(given) != 1 or not given[0]:
            raise BlobUrlError(f"{url!r}: {key} must be given once, with a value")
        values[key] = given[0]
    conf = values.get("conf")
    if conf is not None and not conf.startswith("/"):
        raise BlobUrlError(f"{url!r}: conf must be an absolute path")
    client = values.get("id")
    if client is not None and client.startswith("client."):
        client = client.removeprefix("client.")  # librados wants the name without it
    namespace = values.get("namespace", "")
    if namespace.endswith((".stripes", ".tmp")):  # the store's own sub-namespaces
        raise BlobUrlError(f"{url!r}: a namespace may not end in .stripes or .tmp")
    return RadosBlobs(pool, Path(conf) if conf else None, client or None, namespace)


def describe(location: BlobLocation) -> str:
    """For messages: where the blobs are."""
    if isinstance(location, DirectoryBlobs):
        return f"directory {location.path}"
    if isinstance(location, RadosBlobs):
        where = f" (namespace {location.namespace})" if location.namespace else ""
        return f"RADOS pool {location.pool}{where}"
    return "the data directory"


def metadata_url_problems(url: str) -> list[str]:
    """What is wrong with a metadata_url (nothing: empty, or a PostgreSQL URL that parses)."""
    if not url:
        return []
    from psycopg import ProgrammingError
    from psycopg.conninfo import conninfo_to_dict

    if not url.startswith(("postgresql://", "postgres://")):
        return ["metadata_url must be empty (the embedded SQLite) or a postgresql:// URL"]
    try:
        conninfo_to_dict(url)
        _ = urllib.parse.urlsplit(url).port  # libpq would only find a bad port when connecting
    except ValueError:
        return ["metadata_url does not parse: its port is not a number"]
    except ProgrammingError as exc:
        return [f"metadata_url does not parse: {str(exc).replace(url, '<url>')}"]
    return []


def parse_redis_url(url: str) -> tuple[str, int, int]:
    """(host, port, database) of a redis:// or rediss:// URL; ValueError saying what is
    wrong (without echoing the URL: it may hold a password)."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("redis", "rediss"):
        raise ValueError("must be a redis:// or rediss:// URL")
    try:
        port = parts.port or 6379
    except ValueError:
        raise ValueError("the port is not a number from 1 to 65535") from None
    if not parts.hostname:
        raise ValueError("names no host")
    db = parts.path.strip("/") or "0"
    if not db.isdigit():
        raise ValueError("the path must be a database number (redis://host:6379/0)")
    return parts.hostname, port, int(db)


def redact_url(url: str) -> str:
    """The URL with the password of its user-info (``scheme://user:PASSWORD@host``) as ***."""
    parts = urllib.parse.urlsplit(url)
    if parts.password is None:
        return url
    netloc = f"{parts.username or ''}:***@{parts.netloc.rpartition('@')[2]}"
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))
