"""oortgate.config.load(flags, config_file, env): defaults < TOML file < OORTGATE_*
environment < flags, with conversion and validation errors that name the setting."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from oortgate.config import ENV_SETTINGS, ConfigError, Settings, load
from oortgate.tls import ensure_self_signed


def _toml(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "oortgate.toml"
    path.write_text(text)
    return path


def _load(flags: dict[str, Any] | None = None, file: Path | None = None, **env: str) -> Settings:
    return load(flags or {}, file, env)


def test_defaults() -> None:
    s = _load()
    assert s.host == "127.0.0.1"
    assert s.https_port == 8443
    assert s.http_port == 8080
    assert s.hsts_max_age == 31536000
    assert s.rate_limit == 100.0
    assert s.rate_burst == 20
    assert s.region == "us-east-1"
    assert s.tls_cert is None and s.tls_key is None
    assert s.workers >= 1
    assert s.data_dir == Path("./oortgate-data").resolve()


def test_precedence_flag_over_env_over_file_over_default(tmp_path: Path) -> None:
    file = _toml(
        tmp_path,
        'https_port = 9443\nhttp_port = 9080\nworkers = 3\nrate_burst = 5\nregion = "eu-west-1"\n',
    )
    s = _load(
        {"workers": 5, "region": None},  # None: flag not given
        file,
        OORTGATE_WORKERS="4",
        OORTGATE_HTTP_PORT="9081",
        OORTGATE_RATE_LIMIT="50",
    )
    assert s.workers == 5  # flag
    assert s.http_port == 9081  # env over file
    assert s.rate_limit == 50.0  # env over default
    assert s.https_port == 9443  # file over default
    assert s.rate_burst == 5
    assert s.region == "eu-west-1"  # the None flag did not override the file
    assert s.hsts_max_age == 31536000  # default


def test_unrelated_environment_variables_are_ignored() -> None:
    s = _load(OORTGATE_ROOT_ACCESS_KEY="AK", OORTGATE_SECRETS_KEY="k", HTTPS_PORT="1")
    assert s.https_port == 8443


def test_an_unknown_oortgate_variable_is_an_error() -> None:
    """A typo (RATE_LIMT) would silently leave the setting at its default."""
    with pytest.raises(ConfigError, match="OORTGATE_NOT_A_SETTING, OORTGATE_RATE_LIMT"):
        _load(OORTGATE_RATE_LIMT="5", OORTGATE_NOT_A_SETTING="x")


def test_toml_keys_may_use_dashes(tmp_path: Path) -> None:
    s = _load(file=_toml(tmp_path, "https-port = 9443\nhsts-max-age = 0\n"))
    assert s.https_port == 9443
    assert s.hsts_max_age == 0


def test_paths_are_resolved(tmp_path: Path) -> None:
    s = _load({"data_dir": str(tmp_path / "a" / ".." / "b")})
    assert s.data_dir == tmp_path / "b"


def test_strings_from_the_environment_are_converted() -> None:
    s = _load(OORTGATE_RATE_LIMIT="2.5", OORTGATE_RATE_BURST="3", OORTGATE_HSTS_MAX_AGE="60")
    assert (s.rate_limit, s.rate_burst, s.hsts_max_age) == (2.5, 3, 60)
    assert isinstance(s.rate_burst, int)


def test_zero_http_port_and_zero_rate_limit_mean_off() -> None:
    s = _load({"http_port": 0, "rate_limit": 0, "hsts_max_age": 0})
    assert (s.http_port, s.rate_limit, s.hsts_max_age) == (0, 0.0, 0)


def _error(flags: dict[str, Any] | None = None, file: Path | None = None, **env: str) -> str:
    with pytest.raises(ConfigError) as ei:
        _load(flags, file, **env)
    return str(ei.value)


def test_unknown_toml_key_is_named(tmp_path: Path) -> None:
    msg = _error(file=_toml(tmp_path, "https_port = 9443\nrate_limt = 5\n"))
    assert "rate_limt" in msg
    assert str(tmp_path / "oortgate.toml") in msg


def test_invalid_toml_and_missing_file(tmp_path: Path) -> None:
    assert "TOML" in _error(file=_toml(tmp_path, "https_port = = 1\n"))
    assert "missing.toml" in _error(file=tmp_path / "missing.toml")


@pytest.mark.parametrize(
    ("flags", "env", "names"),
    [
        ({"https_port": 0}, {}, ["https_port"]),
        ({"https_port": 70000}, {}, ["https_port"]),
        ({"http_port": -1}, {}, ["http_port"]),
        ({"http_port": 65536}, {}, ["http_port"]),
        ({"https_port": 9000, "http_port": 9000}, {}, ["http_port", "https_port"]),
        ({}, {"OORTGATE_HTTPS_PORT": "443x"}, ["https_port", "OORTGATE_HTTPS_PORT"]),
        ({}, {"OORTGATE_WORKERS": "1.5"}, ["workers", "OORTGATE_WORKERS"]),
        ({"workers": 0}, {}, ["workers"]),
        ({"rate_limit": -1}, {}, ["rate_limit"]),
        ({"rate_burst": -1}, {}, ["rate_burst"]),
        ({"hsts_max_age": -1}, {}, ["hsts_max_age"]),
        ({}, {"OORTGATE_RATE_LIMIT": "fast"}, ["rate_limit", "OORTGATE_RATE_LIMIT"]),
        ({"log_level": "loud"}, {}, ["log_level"]),
        ({"region": ""}, {}, ["region"]),
    ],
)
def test_bad_values_are_rejected_naming_the_setting(
    flags: dict[str, Any], env: dict[str, str], names: list[str]
) -> None:
    msg = _error(flags, None, **env)
    for name in names:
        assert name in msg, msg


def test_bad_value_from_a_flag_names_the_flag() -> None:
    msg = _error({"https_port": "abc"})
    assert "https_port" in msg and "--https-port" in msg


def test_bad_value_in_the_file_names_the_file(tmp_path: Path) -> None:
    file = _toml(tmp_path, 'workers = "many"\n')
    msg = _error(file=file)
    assert "workers" in msg and str(file) in msg


def test_a_boolean_is_not_a_port(tmp_path: Path) -> None:
    assert "https_port" in _error(file=_toml(tmp_path, "https_port = true\n"))


def test_non_integral_float_is_not_an_int(tmp_path: Path) -> None:
    assert "rate_burst" in _error(file=_toml(tmp_path, "rate_burst = 2.5\n"))
    assert _load(file=_toml(tmp_path, "rate_burst = 3.0\n")).rate_burst == 3


def test_tls_cert_and_key_go_together(tmp_path: Path) -> None:
    cert, key = ensure_self_signed(tmp_path / "tls")
    for flags in ({"tls_cert": str(cert)}, {"tls_key": str(key)}):
        msg = _error(flags)
        assert "tls_cert" in msg and "tls_key" in msg
    s = _load({"tls_cert": str(cert), "tls_key": str(key)})
    assert (s.tls_cert, s.tls_key) == (cert, key)


def test_tls_files_must_load_and_match(tmp_path: Path) -> None:
    cert, key = ensure_self_signed(tmp_path / "one")
    _, other_key = ensure_self_signed(tmp_path / "two")
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("-----BEGIN CERTIFICATE-----\nnot base64\n")
    cases = [
        ((garbage, key), f"tls_cert {garbage} cannot be used: not a readable PEM certificate"),
        ((cert, garbage), f"tls_key {garbage} cannot be used: not a readable"),
        ((cert, other_key), "cannot be used together: KEY_VALUES_MISMATCH"),
    ]
    for (cert_path, key_path), expected in cases:
        msg = _error({"tls_cert": str(cert_path), "tls_key": str(key_path)})
        assert expected in msg, msg


def test_tls_files_must_exist(tmp_path: Path) -> None:
    cert = tmp_path / "c.pem"
    cert.write_text("x")
    msg = _error({"tls_cert": str(cert), "tls_key": str(tmp_path / "nokey.pem")})
    assert "nokey.pem" in msg


def test_several_problems_are_reported_together() -> None:
    msg = _error({"https_port": 0, "workers": 0})
    assert "https_port" in msg and "workers" in msg


def test_workers_rebuild_the_same_settings_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = _load({"data_dir": str(tmp_path), "https_port": 9443, "rate_limit": 7.5, "workers": 2})
    env = s.to_env()
    assert json.loads(env[ENV_SETTINGS])["https_port"] == 9443
    monkeypatch.setenv(ENV_SETTINGS, env[ENV_SETTINGS])
    assert Settings.from_env() == s


def test_trusted_proxy_flag_takes_several_networks() -> None:
    from oortgate.cli import build_parser, settings_from

    args = build_parser().parse_args(
        ["config", "check", "--trusted-proxy", "10.0.0.0/8", "192.168.0.1"]
    )
    assert settings_from(args).trusted_proxies == "10.0.0.0/8,192.168.0.1"


def test_version_flag(capsys: pytest.CaptureFixture[str]) -> None:
    from oortgate import __version__
    from oortgate.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"oortgate {__version__}"


def test_the_shared_rate_limit_settings_from_each_source(tmp_path: Path) -> None:
    assert (_load().rate_limit_url, _load().rate_limit_fallback) == ("", "local")
    file = _toml(tmp_path, 'rate_limit_url = "rediss://:pw@redis.example:6380/2"\n')
    assert _load(file=file).rate_limit_url == "rediss://:pw@redis.example:6380/2"
    env = _load(OORTGATE_RATE_LIMIT_URL="redis://10.0.0.5", OORTGATE_RATE_LIMIT_FALLBACK="open")
    assert (env.rate_limit_url, env.rate_limit_fallback) == ("redis://10.0.0.5", "open")
    flags = _load({"rate_limit_fallback": "closed"}, None, OORTGATE_RATE_LIMIT_FALLBACK="open")
    assert flags.rate_limit_fallback == "closed"


@pytest.mark.parametrize(("url", "why"), [
    ("http://redis.example:6379", "redis:// or rediss://"),
    ("redis.example:6379", "redis:// or rediss://"),
    ("redis://redis.example:99999", "port"),
    ("redis://redis.example:six", "port"),
    ("redis://:6379/0", "no host"),
    ("redis://redis.example/zero", "database number"),
])  # fmt: skip
def test_a_bad_rate_limit_url_names_the_setting_not_the_password(url: str, why: str) -> None:
    with pytest.raises(ConfigError) as caught:
        _load(OORTGATE_RATE_LIMIT_URL=url.replace("://", "://:s3cret@", 1))
    assert "rate_limit_url" in str(caught.value) and why in str(caught.value)
    assert "s3cret" not in str(caught.value)


def test_a_bad_rate_limit_fallback_is_named() -> None:
    with pytest.raises(ConfigError, match="rate_limit_fallback must be one of local, open"):
        _load({"rate_limit_fallback": "fail-open"})


def test_the_redis_timeout_is_50_ms_unless_set_and_must_be_sane() -> None:
    assert _load().rate_limit_timeout == 0.05
    assert _load(OORTGATE_RATE_LIMIT_TIMEOUT="0.5").rate_limit_timeout == 0.5
    for bad in (0.0, -1.0, 60.0):
        with pytest.raises(ConfigError, match="rate_limit_timeout must be above 0"):
            _load({"rate_limit_timeout": bad})


def test_config_check_shows_no_password_of_a_url() -> None:
    from oortgate.store_urls import redact_url

    s = load({"data_dir": "/tmp/x", "metadata_url": "postgresql://og:s3cret@db:5432/og",
              "rate_limit_url": "redis://:hunter2@cache:6379/0"}, None, {})  # fmt: skip
    shown = s.shown()
    assert shown["metadata_url"] == "postgresql://og:***@db:5432/og"
    assert shown["rate_limit_url"] == "redis://:***@cache:6379/0"
    assert "s3cret" not in str(shown) and "hunter2" not in str(shown)
    assert s.as_dict()["metadata_url"].endswith("s3cret@db:5432/og")  # the workers' copy
    assert redact_url("postgresql://db/og") == "postgresql://db/og"


def test_the_session_timeout_is_90_s_unless_set_and_spans_two_heartbeats() -> None:
    assert _load().session_timeout == 90.0
    assert _load(OORTGATE_SESSION_TIMEOUT="25").session_timeout == 25.0
    assert _load({"session_timeout": 20.0}).session_timeout == 20.0
    with pytest.raises(ConfigError, match="session_timeout must be at least 20 seconds"):
        _load({"session_timeout": 19.5})
