"""blob_url parsing (oortgate.store_urls) and its settings (exit 2 naming the setting)."""

from __future__ import annotations

from pathlib import Path

import pytest

from oortgate.config import ConfigError, load
from oortgate.store_urls import (
    BlobUrlError,
    DataDirBlobs,
    DirectoryBlobs,
    RadosBlobs,
    parse_blob_url,
)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("", DataDirBlobs()),
        ("  ", DataDirBlobs()),
        ("file:///srv/blobs", DirectoryBlobs(Path("/srv/blobs"))),
        ("file://localhost/srv/blobs/", DirectoryBlobs(Path("/srv/blobs"))),
        ("file:///mnt/with%20space", DirectoryBlobs(Path("/mnt/with space"))),
        ("rados://oort", RadosBlobs("oort")),
        ("rados://oort/", RadosBlobs("oort")),
        (
            "rados://oort-archive?conf=/etc/ceph/ceph.conf&id=gateway",
            RadosBlobs("oort-archive", Path("/etc/ceph/ceph.conf"), "gateway"),
        ),
        ("rados://p?id=client.gw", RadosBlobs("p", None, "gw")),
        ("rados://p?namespace=gw-1", RadosBlobs("p", None, None, "gw-1")),
    ],
)
def test_valid_urls(url: str, expected: object) -> None:
    assert parse_blob_url(url) == expected


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("relative/dir", "not a URL"),
        ("/abs/without/scheme", "not a URL"),
        ("file:relative", "absolute"),
        ("file://server/share", "not a host"),
        ("file:///", "of its own"),
        ("file:///srv/../etc", "of its own"),
        ("file:///srv?x=1", "no query"),
        ("s3://bucket", "not supported"),
        ("http://host/x", "not supported"),
        ("rados://", "pool is missing"),
        ("rados://?conf=/etc/ceph/ceph.conf", "pool is missing"),
        ("rados://p/sub", "no path"),
        ("rados://user@p", "not a pool name"),
        ("rados://p?user=x", "unknown query key"),
        ("rados://p?conf=relative.conf", "absolute"),
        ("rados://p?id=a&id=b", "once"),
        ("rados://p?id=", "once"),
        ("rados://p?junk", "key=value"),
        ("rados://p?namespace=x.stripes", "may not end in"),
        ("rados://p?namespace=x.tmp", "may not end in"),
    ],
)
def test_invalid_urls(url: str, reason: str) -> None:
    with pytest.raises(BlobUrlError, match=reason):
        parse_blob_url(url)


def test_settings_name_the_setting(tmp_path: Path) -> None:
    flags = {"data_dir": str(tmp_path), "archive_blob_url": "rados://p?bad=1"}
    with pytest.raises(ConfigError, match=r"^archive_blob_url: .*unknown query key\(s\) bad"):
        load(flags, None, {})
    env = {"OORTGATE_BLOB_URL": "nfs://x"}
    with pytest.raises(ConfigError, match=r"^blob_url: .*not supported"):
        load({"data_dir": str(tmp_path)}, None, env)


def test_archive_blob_url_defaults_to_blob_url(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text('blob_url = "file:///srv/blobs"\n')
    settings = load({}, config, {})
    assert settings.blob_location == settings.archive_blob_location == DirectoryBlobs(
        Path("/srv/blobs")
    )
    apart = load({"archive_blob_url": "rados://cold"}, config, {})
    assert apart.archive_blob_location == RadosBlobs("cold")
    assert apart.blob_location == DirectoryBlobs(Path("/srv/blobs"))
