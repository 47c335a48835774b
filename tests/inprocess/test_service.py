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
