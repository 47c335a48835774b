"""ops/service.py: ListBuckets lists the caller's buckets only, and only to a signed caller."""

from __future__ import annotations

from ._client import Client, Harness


def test_list_buckets_shows_the_callers_buckets_only(
    harness: Harness, owner: Client, other: Client
) -> None:
    harness.bucket(owner, "alpha")
    harness.bucket(owner, "beta")
    harness.bucket(other, "gamma")
    reply = owner.request("GET", "/")
    assert reply.status == 200
    assert reply.texts("Buckets/Bucket/Name") == ["alpha", "beta"]
    assert reply.xml().findtext("Owner/ID") == owner.canonical_id
    assert other.request("GET", "/").texts("Buckets/Bucket/Name") == ["gamma"]


def test_list_buckets_of_a_user_without_buckets_is_empty(other: Client) -> None:
    reply = other.request("GET", "/")
    assert reply.status == 200
    assert reply.texts("Buckets/Bucket") == []


def test_list_buckets_refuses_anonymous_callers(anon: Client) -> None:
    assert anon.request("GET", "/").error == (403, "AccessDenied")


def test_list_buckets_pages_and_filters(harness: Harness, owner: Client) -> None:
    for name in ("logs-a", "logs-b", "media"):
        harness.bucket(owner, name)
    first = owner.request("GET", "/", "max-buckets=2")
    assert first.texts("Buckets/Bucket/Name") == ["logs-a", "logs-b"]
    token = first.xml().findtext("ContinuationToken")
    assert token
    rest = owner.request("GET", "/", f"max-buckets=2&continuation-token={token}")
    assert rest.texts("Buckets/Bucket/Name") == ["media"]
    assert rest.xml().findtext("ContinuationToken") is None
    assert owner.request("GET", "/", "prefix=logs-").texts("Buckets/Bucket/Name") == [
        "logs-a", "logs-b",
    ]  # fmt: skip
    assert owner.request("GET", "/", "bucket-region=eu-west-1").texts("Buckets/Bucket") == []
