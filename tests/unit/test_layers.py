"""The package's structure: layers import one way (http -> ops -> meta/storage), and
one composition root opens the stores."""

from __future__ import annotations

import ast
import fnmatch
from collections.abc import Iterator
from pathlib import Path

import oortgate

PACKAGE = Path(oortgate.__file__).parent
BELOW_HTTP = ("ops", "meta", "storage", "auth")
COMPOSITION_ROOT = {"stores.py", "meta/sqlite.py", "storage/local.py"}
# The implementations behind the protocols: the SQLite adapter and its thread and cache,
# the local-file adapter, the RADOS store. They may name the classes they drive; nothing
# else may.
IMPLEMENTATIONS = {"meta/sqlite_async.py", "meta/worker.py", "meta/lookup_cache.py",
                   "storage/local_async.py", "storage/rados_blobs.py",
                   "storage/rados_lazy.py"}  # fmt: skip
CONCRETE_MODULES = ("oortgate.meta.sqlite", "oortgate.meta.sqlite_*", "oortgate.meta.worker",
                    "oortgate.meta.lookup_cache", "oortgate.storage.local",
                    "oortgate.storage.local_*", "oortgate.storage.rados_*",
                    "oortgate.ratelimit", "oortgate.ratelimit_redis",
                    "oortgate.meta.pg_*")  # fmt: skip
DB_FILE = "meta.sqlite3"


def _modules(*folders: str) -> Iterator[Path]:
    for folder in folders:
        yield from sorted((PACKAGE / folder).rglob("*.py"))


def _imported(path: Path) -> Iterator[tuple[int, str]]:
    """(line, module) of every import, at any depth (function-level ones too)."""
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            yield from ((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module is not None:
            if node.level:  # relative: resolve against the module's package
                parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
                base = ".".join(parts[: len(parts) - node.level])
                yield node.lineno, f"{base}.{node.module}"
            else:
                yield node.lineno, node.module


def _is_http(module: str) -> bool:
    return module == "oortgate.http" or module.startswith("oortgate.http.")


def test_layers_below_http_never_import_it() -> None:
    offenders = [
        f"{path.relative_to(PACKAGE)}:{line}: {module}"
        for path in [*_modules(*BELOW_HTTP), PACKAGE / "config.py"]
        for line, module in _imported(path)
        if _is_http(module)
    ]
    assert offenders == []


def _name(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return node.name if isinstance(node, ast.alias) else None


def _opens_a_store(node: ast.AST) -> bool:
    """Names the metadata store, builds a blob store, or names the database file."""
    if _name(node) in ("SqliteMetaStore", "PgMetaStore"):
        return True
    if isinstance(node, ast.Call) and _name(node.func) in (
        "LocalBlobStore",
        "AsyncSqliteMeta",
        "AsyncLocalBlobs",
        "SharedRateLimiter",
        "RadosBlobStore",
        "open_rados_blobs",
        "RedisRateLimiter",
    ):
        return True
    return isinstance(node, ast.Constant) and node.value == DB_FILE


def test_only_the_composition_root_opens_the_stores() -> None:
    offenders = [
        f"{path.relative_to(PACKAGE)}:{getattr(node, 'lineno', '?')}"
        for path in _modules(".")
        if path.relative_to(PACKAGE).as_posix() not in COMPOSITION_ROOT | IMPLEMENTATIONS
        for node in ast.walk(ast.parse(path.read_text(), str(path)))
        if _opens_a_store(node)
    ]
    assert offenders == []


def _is_concrete(module: str) -> bool:
    """A store implementation: meta.sqlite* (and its thread and cache), storage.local*,
    the mmap rate limiter (ratelimit_base, the protocol, is not one)."""
    return any(fnmatch.fnmatchcase(module, pattern) for pattern in CONCRETE_MODULES)


def test_the_server_layers_see_only_the_protocols() -> None:
    """ops/ and http/ work on MetaStore, BlobStore and RateLimiter alone: another
    backend slots in without a change there."""
    offenders = [
        f"{path.relative_to(PACKAGE)}:{line}: {module}"
        for path in _modules("ops", "http")
        for line, module in _imported(path)
        if _is_concrete(module)
    ]
    assert offenders == []


def test_the_concrete_check_knows_the_implementations() -> None:
    concrete = ["oortgate.meta.sqlite_async", "oortgate.storage.local_async", "oortgate.ratelimit",
                "oortgate.storage.rados_blobs", "oortgate.meta.pg_store",
                "oortgate.ratelimit_redis"]
    protocols = ["oortgate.meta.base", "oortgate.ratelimit_base", "oortgate.storage.base"]
    assert all(map(_is_concrete, concrete))
    assert not any(map(_is_concrete, protocols))


BLOB_LIFECYCLE = {"add_pending_blob", "drop_pending_blob", "open_writer"}
BLOB_WRITER = "ops/blob_writer.py"


def _lifecycle_calls(path: Path) -> Iterator[tuple[int, str]]:
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Attribute) and node.attr in BLOB_LIFECYCLE:
            yield node.lineno, node.attr


def test_one_writer_service_owns_the_blob_lifecycle() -> None:
    """Only ops/blob_writer.py marks a blob pending, opens a writer or drops a mark:
    every handler's commit-or-drop is the one service's (a handler that did its own
    would be one more place to leak a pending blob on a failure path)."""
    offenders = [
        f"{path.relative_to(PACKAGE)}:{line}: {name}"
        for path in _modules("ops", "http", "console")
        if path.relative_to(PACKAGE).as_posix() != BLOB_WRITER
        for line, name in _lifecycle_calls(path)
    ]
    assert offenders == []
    assert {name for _, name in _lifecycle_calls(PACKAGE / BLOB_WRITER)} == BLOB_LIFECYCLE
