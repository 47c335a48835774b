"""Settings: defaults < a TOML file (--config) < OORTGATE_* environment < command-line flags.

Validated once at start with messages that name the setting and the source; granian's
worker processes receive the result as JSON in one environment variable.
"""

from __future__ import annotations

import dataclasses
import json
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from oortgate.endpoints import Endpoints
from oortgate.networks import parse_networks
from oortgate.storage.space import FreeSpaceMinimum, parse_min_free_space, parse_size
from oortgate.store_urls import (
    BlobLocation,
    BlobUrlError,
    metadata_url_problems,
    parse_blob_url,
    parse_redis_url,
    redact_url,
)

ENV_PREFIX = "OORTGATE_"
ARCHIVE_CLASSES = ("GLACIER_IR", "GLACIER", "DEEP_ARCHIVE", "STANDARD_IA")
RATE_LIMIT_FALLBACKS = ("local", "open", "closed")
# A Redis call slower than this would hold every request behind it: the fallback is faster.
MAX_RATE_LIMIT_TIMEOUT = 5.0
ENV_SETTINGS = ENV_PREFIX + "SETTINGS_JSON"
DEFAULT_DATA_DIR = "./oortgate-data"
MAX_INLINE = 1024 * 1024  # an inline body is held in memory while it arrives
# Every writing worker heartbeats its session this often (see oortgate.sessions); one
# whose heartbeat is older than session_timeout is dead, and its leftovers are reaped.
HEARTBEAT_INTERVAL = 10.0
SESSION_TIMEOUT = 90.0  # the default: nine missed heartbeats


class ConfigError(ValueError):
    """A setting is missing, unknown or out of range; the message says which and where."""


@dataclass(frozen=True, slots=True)
class Settings:
    data_dir: Path = Path(DEFAULT_DATA_DIR)
    host: str = "127.0.0.1"
    https_port: int = 8443
    http_port: int = 8080  # the plain-HTTP listener that redirects to HTTPS; 0: none
    archive_https_port: int = 0  # a second HTTPS port standing for the Archive endpoint
    workers: int = field(default_factory=lambda: os.cpu_count() or 1)
    region: str = "us-east-1"
    tls_cert: Path | None = None
    tls_key: Path | None = None
    hsts_max_age: int = 31536000  # Strict-Transport-Security on HTTPS answers; 0: none
    rate_limit: float = 100.0  # requests per second per access key (or client address)
    rate_burst: int = 20  # requests admitted at once above the steady rate
    # One budget for every gateway: a Redis (redis:// or rediss://); "": this host's own.
    rate_limit_url: str = ""
    rate_limit_fallback: str = "local"  # while Redis is unusable: local, open or closed
    rate_limit_timeout: float = 0.05  # seconds each Redis call may take before the fallback
    log_level: str = "info"
    # The two endpoints: s3-standard.<domain> and s3-archive.<domain> unless named.
    domain: str = "localhost"
    standard_endpoint: str = ""
    archive_endpoint: str = ""
    trusted_proxies: str = ""  # comma-separated CIDRs whose X-Forwarded-* are believed
    serve_cross_tier: bool = False  # serve a bucket through the other tier's endpoint
    archive_storage_class: str = "GLACIER_IR"
    archive_restore_required: bool = False  # Glacier semantics: RestoreObject before GET
    archive_restore_seconds: float = 0.0  # how long a restore takes
    max_buckets_per_user: int = 100
    max_object_size: int = 5 * 1024**3
    # PUTs of at most this many bytes are stored inside the metadata store (one commit,
    # shared by concurrent writers, instead of a file and its fsyncs); 0: never.
    inline_max_size: int = 16 * 1024
    gc_interval: float = 2.0
    # How long a "day" of lifecycle rules lasts (tests shorten it); the worker's passes
    # come every lifecycle_interval seconds (0: a quarter day, at most an hour).
    lifecycle_day_seconds: float = 86400.0
    lifecycle_interval: float = 0.0
    # An overwritten or deleted object's blobs are deleted this long after, so downloads
    # under way finish with the bytes they started with.
    gc_grace: float = 900.0
    # Writes are refused (507) when free space falls below this: bytes ("1GiB") or a
    # percent of the filesystem ("5%"); "0": only when the disk is really full.
    min_free_space: str = "1%"
    # A preallocated file given up so that deletes work on a full disk; "0": none.
    space_reserve: str = "64MiB"
    # The grace the collector keeps while space is low (deleted data comes back sooner).
    gc_low_space_grace: float = 30.0
    # A session whose worker has not heartbeaten for this long (crashed, or cut off from
    # the metadata store) is ended by whoever sweeps: its pending blobs become garbage,
    # its temp files go. Give every gateway of one metadata store the same value.
    session_timeout: float = SESSION_TIMEOUT
    # A request body that makes no progress for this long is answered 400 RequestTimeout
    # (a client that declared 100 bytes and sent 3 would otherwise hold its slot for good).
    body_timeout: float = 30.0
    # Connections (see oortgate.connections): held by the workers together before new
    # ones wait in the kernel's accept queue of listen_backlog; a connection that has not
    # finished its TLS handshake or a request's headers, idle keep-alive included, is
    # closed after header_timeout seconds.
    max_connections: int = 16384
    # Requests one client address may have under way in one worker (stalled uploads, slow
    # downloads); the next answers 503 SlowDown (see oortgate.http.client_slots). 0: none.
    max_requests_per_client: int = 1024
    listen_backlog: int = 4096
    header_timeout: float = 10.0
    # Observability: JSON Lines access log (a file, or "-": standard output; "": none)
    # and Prometheus metrics on a plain-HTTP port of their own (0: none).
    access_log: str = ""
    metrics_port: int = 0
    metrics_host: str = "127.0.0.1"
    console: bool = True  # the web console at /_console/ on the Standard HTTPS listener
    console_idle_timeout: float = 1800.0  # a console session unused this long signs out
    # Where blobs live (see oortgate.store_urls): "" the data directory; file:///dir a
    # directory of its own, possibly a mount several gateways share; rados://POOL?... Ceph.
    blob_url: str = ""
    archive_blob_url: str = ""  # the Archive tier's objects; "": same as blob_url
    # SQLite's locks do not work on network or FUSE file systems: such a data_dir is
    # refused unless this says it is local all the same (see preflight.check_data_dir_mount).
    allow_network_data_dir: bool = False
    # The metadata store: "" the embedded SQLite in data_dir; "postgresql://...": PostgreSQL.
    metadata_url: str = ""

    @property
    def endpoints(self) -> Endpoints:
        return Endpoints(
            (self.standard_endpoint or f"s3-standard.{self.domain}").lower(),
            (self.archive_endpoint or f"s3-archive.{self.domain}").lower(),
        )

    @property
    def free_space_minimum(self) -> FreeSpaceMinimum:
        return parse_min_free_space(self.min_free_space)

    @property
    def space_reserve_bytes(self) -> int:
        return parse_size(self.space_reserve)

    @property
    def blob_location(self) -> BlobLocation:
        return parse_blob_url(self.blob_url)

    @property
    def archive_blob_location(self) -> BlobLocation:
        """The Archive tier's store; the same as blob_location unless set apart."""
        return parse_blob_url(self.archive_blob_url or self.blob_url)

    @property
    def rate_limit_path(self) -> Path:
        return self.data_dir / "ratelimit.bin"

    @property
    def tls_dir(self) -> Path:
        return self.data_dir / "tls"

    def to_env(self) -> dict[str, str]:
        """Worker processes rebuild the settings from this."""
        return {ENV_SETTINGS: json.dumps(self.as_dict())}

    def as_dict(self) -> dict[str, Any]:
        return {
            k: str(v) if isinstance(v, Path) else v for k, v in dataclasses.asdict(self).items()
        }

    def shown(self) -> dict[str, Any]:
        """``as_dict`` for people (``config check``): a URL's password replaced by ***."""
        return {k: redact_url(v) if k.endswith("_url") else v for k, v in self.as_dict().items()}

    @classmethod
    def from_env(cls) -> Settings:
        raw = os.environ.get(ENV_SETTINGS)
        return load({}, None, os.environ) if raw is None else _build(json.loads(raw), "worker")


_LOG_LEVELS = ("critical", "error", "warning", "info", "debug")
_FIELDS = {f.name: f for f in dataclasses.fields(Settings)}
# OORTGATE_* variables that are not settings: the root key pair made at first start, the
# key that seals secrets, and what `serve` hands its own child processes.
OTHER_VARIABLES = frozenset(
    ENV_PREFIX + name
    for name in (
        "ROOT_ACCESS_KEY", "ROOT_SECRET_KEY", "SECRETS_KEY", "SETTINGS_JSON", "PORT_TIER",
        "HTTPS_PUBLIC_PORT", "REDIRECT_HOST",
    )
)  # fmt: skip
# The test suite's own variables (OORTGATE_TEST_PG_URL, _REDIS_URL, _BACKENDS: see
# tests/): the servers and tools the tests start inherit them, and ignore them.
TEST_VARIABLE_PREFIX = ENV_PREFIX + "TEST_"


def load(flags: Mapping[str, Any], config_file: Path | None, env: Mapping[str, str]) -> Settings:
    """Merge the sources (flags given as None are ignored) and validate."""
    values: dict[str, Any] = {"data_dir": DEFAULT_DATA_DIR}
    sources: dict[str, str] = {}
    if config_file is not None:
        for name, value in _read_toml(config_file).items():
            values[name], sources[name] = value, str(config_file)
    _reject_unknown_variables(env)
    for name in _FIELDS:
        env_name = ENV_PREFIX + name.upper()
        if env_name in env:
            values[name], sources[name] = env[env_name], env_name
    for name, value in flags.items():
        if value is not None:
            values[name], sources[name] = value, f"--{name.replace('_', '-')}"
    return _build(values, "", sources)


def _reject_unknown_variables(env: Mapping[str, str]) -> None:
    """A misspelt variable would otherwise leave its setting at the default, silently."""
    known = {ENV_PREFIX + name.upper() for name in _FIELDS} | OTHER_VARIABLES
    unknown = sorted(n for n in env if n.startswith(ENV_PREFIX) and n not in known
                     and not n.startswith(TEST_VARIABLE_PREFIX))  # fmt: skip
    if unknown:
        raise ConfigError(
            f"unknown environment variable(s) {', '.join(unknown)}; settings are "
            f"{ENV_PREFIX}<NAME> for NAME in {', '.join(sorted(_FIELDS))}"
        )


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as handle:
            doc = tomllib.load(handle)
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from exc
    values = {name.replace("-", "_"): value for name, value in doc.items()}
    unknown = sorted(set(values) - set(_FIELDS))
    if unknown:
        raise ConfigError(f"config file {path}: unknown setting(s) {', '.join(unknown)}; "
                          f"known: {', '.join(sorted(_FIELDS))}")  # fmt: skip
    return values


def _build(
    values: Mapping[str, Any], default_source: str, sources: Mapping[str, str] | None = None
) -> Settings:
    sources = sources or {}
    converted: dict[str, Any] = {}
    for name, value in values.items():
        source = sources.get(name, default_source)
        converted[name] = _convert(name, value, source)
    settings = Settings(**converted)
    _validate(settings)
    return settings


def _convert(name: str, value: Any, source: str) -> Any:
    kind = str(_FIELDS[name].type)
    where = f"{name} (from {source})" if source else name
    try:
        if kind == "int":
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError
            return int(value)
        if kind == "float":
            return float(value)
        if kind == "bool":
            return _boolean(value)
        if kind == "Path":
            return Path(str(value)).expanduser().resolve()
        if kind == "Path | None":
            return None if value in (None, "") else Path(str(value)).expanduser().resolve()
        return str(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{where}: {value!r} is not a valid {kind}") from None


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ValueError(text)


def _validate(s: Settings) -> None:
    problems = []
    if not 1 <= s.https_port <= 65535:
        problems.append("https_port must be a TCP port (1-65535)")
    for name in ("http_port", "archive_https_port", "metrics_port"):
        if not 0 <= getattr(s, name) <= 65535:
            problems.append(f"{name} must be a TCP port (1-65535), or 0 for none")
    used = [p for p in (s.https_port, s.http_port, s.archive_https_port, s.metrics_port) if p]
    if len(used) != len(set(used)):
        problems.append("https_port, http_port, archive_https_port and metrics_port must differ")
    if s.metrics_port and not s.metrics_host:
        problems.append("metrics_host cannot be empty")
    if s.workers < 1:
        problems.append("workers must be at least 1")
    if (s.tls_cert is None) != (s.tls_key is None):
        problems.append("tls_cert and tls_key go together")
    for path in (s.tls_cert, s.tls_key):
        if path is not None and not path.is_file():
            problems.append(f"{path} does not exist")
    if not problems and s.tls_cert is not None and s.tls_key is not None:
        from oortgate.tls import pair_problems  # cryptography only when a pair is given

        problems.extend(pair_problems(s.tls_cert, s.tls_key))
    if s.rate_limit < 0 or s.rate_burst < 0 or s.hsts_max_age < 0:
        problems.append("rate_limit, rate_burst and hsts_max_age cannot be negative")
    problems.extend(_rate_limit_problems(s))
    if s.log_level not in _LOG_LEVELS:
        problems.append(f"log_level must be one of {', '.join(_LOG_LEVELS)}")
    if not s.region:
        problems.append("region cannot be empty")
    if s.archive_storage_class not in ARCHIVE_CLASSES:
        problems.append(f"archive_storage_class must be one of {', '.join(ARCHIVE_CLASSES)}")
    try:
        parse_networks(s.trusted_proxies)
    except ValueError as exc:
        problems.append(f"trusted_proxies: {exc}")
    if not 0 <= s.inline_max_size <= MAX_INLINE:
        problems.append(f"inline_max_size must be between 0 and {MAX_INLINE}")
    if s.lifecycle_day_seconds <= 0:
        problems.append("lifecycle_day_seconds must be positive")
    if s.lifecycle_interval < 0:
        problems.append("lifecycle_interval cannot be negative")
    if s.archive_restore_seconds < 0:
        problems.append("archive_restore_seconds cannot be negative")
    if s.console_idle_timeout <= 0:
        problems.append("console_idle_timeout must be positive")
    if s.body_timeout <= 0:
        problems.append("body_timeout must be positive")
    if s.max_requests_per_client < 0:
        problems.append("max_requests_per_client must be 0 (no limit) or more")
    if s.header_timeout <= 0 or s.max_connections < 1 or s.listen_backlog < 1:
        problems.append("header_timeout, max_connections and listen_backlog must be positive")
    if s.gc_grace < 0 or s.gc_low_space_grace < 0:
        problems.append("gc_grace and gc_low_space_grace cannot be negative")
    if s.session_timeout < 2 * HEARTBEAT_INTERVAL:  # one late beat must not end a live one
        problems.append(f"session_timeout must be at least {2 * HEARTBEAT_INTERVAL:g} seconds"
                        f" (two heartbeats)")  # fmt: skip
    problems.extend(_space_problems(s))
    problems.extend(_blob_url_problems(s))
    problems.extend(metadata_url_problems(s.metadata_url))
    if problems:
        raise ConfigError("; ".join(problems))


def _rate_limit_problems(s: Settings) -> list[str]:
    problems = []
    if s.rate_limit_fallback not in RATE_LIMIT_FALLBACKS:
        problems.append(f"rate_limit_fallback must be one of {', '.join(RATE_LIMIT_FALLBACKS)}")
    if not 0 < s.rate_limit_timeout <= MAX_RATE_LIMIT_TIMEOUT:
        problems.append(f"rate_limit_timeout must be above 0 and at most "
                        f"{MAX_RATE_LIMIT_TIMEOUT:.0f} seconds")  # fmt: skip
    if s.rate_limit_url:
        try:
            parse_redis_url(s.rate_limit_url)
        except ValueError as exc:
            problems.append(f"rate_limit_url: {exc}")
    return problems


def _space_problems(s: Settings) -> list[str]:
    problems = []
    try:
        parse_min_free_space(s.min_free_space)
    except ValueError as exc:
        problems.append(f"min_free_space: {exc}")
    try:
        parse_size(s.space_reserve)
    except ValueError as exc:
        problems.append(f"space_reserve: {exc}")
    return problems


def _blob_url_problems(s: Settings) -> list[str]:
    problems = []
    for name in ("blob_url", "archive_blob_url"):
        try:
            parse_blob_url(getattr(s, name))
        except BlobUrlError as exc:
            problems.append(f"{name}: {exc}")
    return problems
