"""ops/listing.py: ListObjects v1/v2 and ListObjectVersions over the handler's paging."""

from __future__ import annotations

import pytest

from ._client import Client

KEYS = ["a/1", "a/2", "b/1", "c", "d e"]


@pytest.fixture
def filled(owner: Client, bucket: str) -> str:
    for key in KEYS:
        assert owner.put(bucket, key, key.encode()).status == 200
    return bucket


def test_v2_lists_keys_in_order_with_sizes(owner: Client, filled: str) -> None:
    reply = owner.request("GET", f"/{filled}", "list-type=2")
    assert reply.status == 200
    assert reply.texts("Contents/Key") == KEYS
    assert reply.texts("Contents/Size") == [str(len(k)) for k in KEYS]
    assert reply.xml().findtext("KeyCount") == "5"
    assert reply.xml().findtext("IsTruncated") == "false"


def test_v2_delimiter_and_prefix(owner: Client, filled: str) -> None:
    reply = owner.request("GET", f"/{filled}", "list-type=2&delimiter=/")
    assert reply.texts("Contents/Key") == ["c", "d e"]
    assert reply.texts("CommonPrefixes/Prefix") == ["a/", "b/"]
    reply = owner.request("GET", f"/{filled}", "list-type=2&prefix=a/")
    assert reply.texts("Contents/Key") == ["a/1", "a/2"]


def test_v2_continuation_pages_through_everything(owner: Client, filled: str) -> None:
    seen: list[str] = []
    query = "list-type=2&max-keys=2"
    while True:
        reply = owner.request("GET", f"/{filled}", query)
        assert reply.status == 200
        seen += reply.texts("Contents/Key")
        token = reply.xml().findtext("NextContinuationToken")
        if reply.xml().findtext("IsTruncated") == "false":
            assert token is None
            break
        assert token
        query = f"list-type=2&max-keys=2&continuation-token={token}"
    assert seen == KEYS


def test_v2_start_after_and_fetch_owner(owner: Client, filled: str) -> None:
    reply = owner.request("GET", f"/{filled}", "list-type=2&start-after=b/1")
    assert reply.texts("Contents/Key") == ["c", "d e"]
    assert reply.xml().findtext("StartAfter") == "b/1"
    assert reply.texts("Contents/Owner/ID") == []
    reply = owner.request("GET", f"/{filled}", "list-type=2&fetch-owner=true&max-keys=1")
    assert reply.texts("Contents/Owner/ID") == [owner.canonical_id]


def test_v1_marker_and_url_encoding(owner: Client, filled: str) -> None:
    reply = owner.request("GET", f"/{filled}", "marker=c")
    assert reply.status == 200
    assert reply.texts("Contents/Key") == ["d e"]
    assert reply.xml().findtext("Marker") == "c"
    encoded = owner.request("GET", f"/{filled}", "marker=c&encoding-type=url")
    assert encoded.texts("Contents/Key") == ["d+e"]  # AWS form-encodes: a space is "+"


def test_versions_list_every_object_as_null(owner: Client, filled: str) -> None:
    reply = owner.request("GET", f"/{filled}", "versions&max-keys=2")
    assert reply.status == 200
    assert reply.texts("Version/Key") == ["a/1", "a/2"]
    assert reply.texts("Version/VersionId") == ["null", "null"]
    assert reply.texts("Version/IsLatest") == ["true", "true"]
    assert reply.xml().findtext("IsTruncated") == "true"


@pytest.mark.parametrize("query", ["encoding-type=base64", "list-type=2&max-keys=-1",
                                   "max-keys=many"])  # fmt: skip
def test_bad_parameters_are_invalid_arguments(owner: Client, filled: str, query: str) -> None:
    assert owner.request("GET", f"/{filled}", query).error == (400, "InvalidArgument")


def test_listing_needs_read_permission(other: Client, anon: Client, filled: str) -> None:
    assert other.request("GET", f"/{filled}", "list-type=2").error == (403, "AccessDenied")
    assert anon.request("GET", f"/{filled}").error == (403, "AccessDenied")
    assert other.request("GET", "/missing", "list-type=2").error == (404, "NoSuchBucket")
