"""Bucket policies through the handlers: Put/Get/DeleteBucketPolicy and
GetBucketPolicyStatus, and the policy's part in every permission check (an explicit Deny
over any grant, an Allow where no ACL grants, PublicAccessBlock's two policy flags)."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

from oortgate.bucket_controls import PublicAccessBlock

from ._client import Client, Harness

DENIED = (403, "AccessDenied")
PUBLIC_READ = {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
               "Resource": "arn:aws:s3:::bkt/*"}  # fmt: skip


def _policy(*statements: dict[str, Any]) -> bytes:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)}).encode()


def put_policy(client: Client, *statements: dict[str, Any], bucket: str = "bkt") -> Any:
    return client.request("PUT", f"/{bucket}", "policy", _policy(*statements))


def _block(harness: Harness, bucket: str, **flags: bool) -> None:
    found = harness.get_bucket(bucket)
    assert found is not None
    harness.run(harness.meta.set_bucket_public_access_block(found.id,
                                                             PublicAccessBlock(**flags).dumps()))


def test_put_get_delete_and_status(owner: Client, bucket: str) -> None:
    assert owner.request("GET", "/bkt", "policy").error == (404, "NoSuchBucketPolicy")
    assert owner.request("GET", "/bkt", "policyStatus").error == (404, "NoSuchBucketPolicy")
    body = _policy(PUBLIC_READ)
    assert owner.request("PUT", "/bkt", "policy", body).status == 204
    got = owner.request("GET", "/bkt", "policy")
    assert (got.status, got.body, got.headers["content-type"]) == (200, body, "application/json")
    status = owner.request("GET", "/bkt", "policyStatus")
    assert status.texts("IsPublic") == ["true"]
    assert owner.request("DELETE", "/bkt", "policy").status == 204
    assert owner.request("GET", "/bkt", "policy").error == (404, "NoSuchBucketPolicy")
    assert owner.request("DELETE", "/bkt", "policy").status == 204  # none: still 204


def test_only_the_owner_manages_the_policy(owner: Client, other: Client, anon: Client,
                                           bucket: str) -> None:  # fmt: skip
    everything = {"Effect": "Allow", "Principal": "*", "Action": "s3:*",
                  "Resource": ["arn:aws:s3:::bkt", "arn:aws:s3:::bkt/*"]}  # fmt: skip
    assert put_policy(owner, everything).status == 204
    for client in (other, anon):
        assert put_policy(client, PUBLIC_READ).error == DENIED
        assert client.request("GET", "/bkt", "policy").error == DENIED
        assert client.request("DELETE", "/bkt", "policy").error == DENIED
        assert client.request("GET", "/bkt", "policyStatus").error == DENIED


def test_the_owner_can_always_remove_a_policy_that_locks_it_out(owner: Client,
                                                                bucket: str) -> None:  # fmt: skip
    lockout = {"Effect": "Deny", "Principal": "*", "Action": "s3:*",
               "Resource": ["arn:aws:s3:::bkt", "arn:aws:s3:::bkt/*"]}  # fmt: skip
    assert put_policy(owner, lockout).status == 204  # stored, as AWS stores it
    assert owner.put(bucket, "k").error == DENIED  # the Deny holds for the owner too
    assert owner.request("GET", "/bkt", "list-type=2").error == DENIED
    assert owner.request("GET", "/bkt", "policy").status == 200
    assert owner.request("DELETE", "/bkt", "policy").status == 204
    assert owner.put(bucket, "k").status == 200


def test_malformed_policies(owner: Client, bucket: str) -> None:
    cases = [
        (b"not json", "Policies must be valid JSON and the first byte must be '{'"),
        (b"{oops", "This policy contains invalid Json"),
        (_policy({**PUBLIC_READ, "Resource": "arn:aws:s3:::elsewhere/*"}),
         "Policy has invalid resource"),
        (_policy({**PUBLIC_READ, "Principal": {"AWS": "123456789012"}}),
         "Invalid principal in policy"),
        (_policy({**PUBLIC_READ, "Action": "s3:Teleport"}), "Policy has invalid action"),
        (b"{" + b" " * 20 * 1024 + b"}", "Policy exceeds the maximum allowed document size."),
    ]
    for body, message in cases:
        reply = owner.request("PUT", "/bkt", "policy", body)
        assert reply.error == (400, "MalformedPolicy"), body[:40]
        assert reply.xml().findtext("Message") == message
    assert owner.request("GET", "/bkt", "policy").error == (404, "NoSuchBucketPolicy")


def test_public_read_lets_anonymous_get(owner: Client, anon: Client, bucket: str) -> None:
    owner.put(bucket, "photos/cat.jpg", b"meow")
    assert anon.get(bucket, "photos/cat.jpg").error == DENIED
    put_policy(owner, PUBLIC_READ)
    got = anon.get(bucket, "photos/cat.jpg")
    assert (got.status, got.body) == (200, b"meow")
    assert anon.request("HEAD", "/bkt/photos/cat.jpg").status == 200
    # Only s3:GetObject: no listing, no writes; a missing key is AccessDenied to a
    # caller who may not list the bucket.
    assert anon.request("GET", "/bkt", "list-type=2").error == DENIED
    assert anon.put(bucket, "new").error == DENIED
    assert anon.get(bucket, "missing").error == DENIED


def test_a_missing_key_is_no_such_key_to_whoever_may_list(owner: Client, anon: Client,
                                                          bucket: str) -> None:  # fmt: skip
    listing = {"Effect": "Allow", "Principal": "*", "Action": "s3:ListBucket",
               "Resource": "arn:aws:s3:::bkt"}  # fmt: skip
    put_policy(owner, PUBLIC_READ, listing)
    assert anon.get(bucket, "missing").error == (404, "NoSuchKey")
    assert anon.request("GET", "/bkt", "list-type=2").status == 200


def test_a_deny_overrides_an_acl_grant(owner: Client, anon: Client, bucket: str) -> None:
    owner.put(bucket, "open/a", b"x", x_amz_acl="public-read")
    owner.put(bucket, "secret/a", b"x", x_amz_acl="public-read")
    deny = {"Effect": "Deny", "Principal": "*", "Action": "s3:GetObject",
            "Resource": "arn:aws:s3:::bkt/secret/*"}  # fmt: skip
    put_policy(owner, deny)
    assert anon.get(bucket, "open/a").status == 200
    assert anon.get(bucket, "secret/a").error == DENIED
    assert owner.get(bucket, "secret/a").error == DENIED  # the owner too, as on AWS


def test_a_user_allowed_on_a_prefix(owner: Client, other: Client, bucket: str) -> None:
    grant = [
        {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam:::user/other"},
         "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
         "Resource": "arn:aws:s3:::bkt/shared/*"},
        {"Effect": "Allow", "Principal": {"CanonicalUser": other.canonical_id},
         "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::bkt",
         "Condition": {"StringLike": {"s3:prefix": "shared/*"}}},
    ]  # fmt: skip
    assert put_policy(owner, *grant).status == 204
    assert other.put(bucket, "shared/a", b"x").status == 200
    assert other.get(bucket, "shared/a").status == 200
    assert other.put(bucket, "private/a", b"x").error == DENIED
    assert other.request("GET", "/bkt", "list-type=2&prefix=shared/").status == 200
    assert other.request("GET", "/bkt", "list-type=2&prefix=private/").error == DENIED
    assert other.request("GET", "/bkt", "list-type=2").error == DENIED  # no prefix at all
    assert other.request("DELETE", "/bkt/shared/a").status == 204


def test_delete_objects_asks_the_policy_for_each_key(owner: Client, other: Client,
                                                     bucket: str) -> None:  # fmt: skip
    for key in ("shared/a", "private/a"):
        owner.put(bucket, key, b"x")
    grant = {"Effect": "Allow", "Principal": {"CanonicalUser": other.canonical_id},
             "Action": "s3:DeleteObject", "Resource": "arn:aws:s3:::bkt/shared/*"}  # fmt: skip
    put_policy(owner, grant)
    body = (b"<Delete><Object><Key>shared/a</Key></Object>"
            b"<Object><Key>private/a</Key></Object></Delete>")  # fmt: skip
    md5 = base64.b64encode(hashlib.md5(body).digest()).decode()
    reply = other.request("POST", "/bkt", "delete", body, {"content-md5": md5})
    assert reply.status == 200, reply.body
    assert reply.texts("Deleted/Key") == ["shared/a"]
    assert reply.texts("Error/Key") == ["private/a"]
    assert reply.texts("Error/Code") == ["AccessDenied"]
    assert owner.get(bucket, "private/a").status == 200
    assert owner.get(bucket, "shared/a").error == (404, "NoSuchKey")


def test_conditions_on_the_request(owner: Client, anon: Client, bucket: str) -> None:
    owner.put(bucket, "k", b"x")
    by_agent = {**PUBLIC_READ, "Condition": {"StringLike": {"aws:UserAgent": "rclone/*"}}}
    put_policy(owner, by_agent)
    assert anon.get(bucket, "k", user_agent="rclone/v1.66").status == 200
    assert anon.get(bucket, "k", user_agent="curl/8").error == DENIED
    by_address = {**PUBLIC_READ, "Condition": {"IpAddress": {"aws:SourceIp": "127.0.0.0/8"}}}
    put_policy(owner, by_address)
    assert anon.get(bucket, "k").status == 200  # the harness's client is 127.0.0.1
    elsewhere = {**PUBLIC_READ, "Condition": {"NotIpAddress": {"aws:SourceIp": "127.0.0.0/8"}}}
    put_policy(owner, elsewhere)
    assert anon.get(bucket, "k").error == DENIED
    tagged = {**PUBLIC_READ, "Condition": {"StringEquals": {"s3:ExistingObjectTag/share": "yes"}}}
    put_policy(owner, tagged)
    owner.put(bucket, "shared", b"x", x_amz_tagging="share=yes")
    assert anon.get(bucket, "shared").status == 200
    assert anon.get(bucket, "k").error == DENIED


def test_secure_transport_behind_a_proxy(tmp_path: Path) -> None:
    harness = Harness(tmp_path, trusted_proxies="127.0.0.1/32")
    try:
        owner, anon = harness.user("owner"), harness.anonymous()
        harness.bucket(owner, "bkt")
        owner.put("bkt", "k", b"x")
        https_only = {**PUBLIC_READ, "Condition": {"Bool": {"aws:SecureTransport": "true"}}}
        put_policy(owner, https_only)
        assert anon.get("bkt", "k", x_forwarded_proto="https").status == 200
        assert anon.get("bkt", "k", x_forwarded_proto="http").error == DENIED
    finally:
        harness.close()


def test_block_public_policy(harness: Harness, owner: Client, bucket: str) -> None:
    _block(harness, bucket, BlockPublicPolicy=True)
    assert put_policy(owner, PUBLIC_READ).error == DENIED
    assert owner.request("GET", "/bkt", "policy").error == (404, "NoSuchBucketPolicy")
    fixed = {**PUBLIC_READ, "Principal": {"CanonicalUser": owner.canonical_id}}
    assert put_policy(owner, fixed).status == 204  # not public: accepted


def test_restrict_public_buckets(harness: Harness, owner: Client, other: Client, anon: Client,
                                 bucket: str) -> None:  # fmt: skip
    owner.put(bucket, "k", b"x")
    put_policy(owner, PUBLIC_READ)
    assert anon.get(bucket, "k").status == 200
    _block(harness, bucket, RestrictPublicBuckets=True)
    assert anon.get(bucket, "k").error == DENIED
    assert other.get(bucket, "k").error == DENIED
    assert owner.get(bucket, "k").status == 200
    assert owner.request("GET", "/bkt", "policyStatus").texts("IsPublic") == ["true"]
    _block(harness, bucket)
    assert anon.get(bucket, "k").status == 200


def test_a_home_prefix_per_user(harness: Harness, owner: Client, other: Client,
                                bucket: str) -> None:  # fmt: skip
    third = harness.user("third")
    home = {"Effect": "Allow", "Principal": {"AWS": ["arn:aws:iam:::user/other",
                                                     "arn:aws:iam:::user/third"]},
            "Action": ["s3:GetObject", "s3:PutObject"],
            "Resource": "arn:aws:s3:::bkt/home/${aws:username}/*"}  # fmt: skip
    put_policy(owner, home)
    assert other.put(bucket, "home/other/a", b"x").status == 200
    assert third.put(bucket, "home/third/a", b"x").status == 200
    assert other.put(bucket, "home/third/b", b"x").error == DENIED
    assert third.get(bucket, "home/other/a").error == DENIED


def test_more_condition_keys(owner: Client, other: Client, anon: Client, bucket: str) -> None:
    owner.put(bucket, "k", b"x")
    everyone_writes = {"Effect": "Allow", "Principal": "*", "Action": "s3:PutObject",
                       "Resource": "arn:aws:s3:::bkt/*"}  # fmt: skip
    # The classic: uploads must hand the bucket owner full control.
    require_acl = {"Effect": "Deny", "Principal": "*", "Action": "s3:PutObject",
                   "Resource": "arn:aws:s3:::bkt/*", "Condition": {"StringNotEquals": {
                       "s3:x-amz-acl": "bucket-owner-full-control"}}}  # fmt: skip
    put_policy(owner, everyone_writes, require_acl)
    assert other.put(bucket, "a", b"x").error == DENIED
    assert other.put(bucket, "a", b"x", x_amz_acl="bucket-owner-full-control").status == 200
    # Hot-link protection and a time window.
    referer = {**PUBLIC_READ, "Condition": {
        "StringLike": {"aws:Referer": "https://example.com/*"},
        "DateLessThan": {"aws:CurrentTime": "2999-01-01T00:00:00Z"},
    }}  # fmt: skip
    put_policy(owner, referer)
    assert anon.get(bucket, "k", referer="https://example.com/page").status == 200
    assert anon.get(bucket, "k", referer="https://elsewhere.example/").error == DENIED
    assert anon.get(bucket, "k").error == DENIED
    expired = {**PUBLIC_READ, "Condition": {"DateLessThan": {"aws:EpochTime": 946684800}}}
    put_policy(owner, expired)
    assert anon.get(bucket, "k").error == DENIED
    # Listings: small pages only, no delimiter.
    small_pages = {"Effect": "Allow", "Principal": "*", "Action": "s3:ListBucket",
                   "Resource": "arn:aws:s3:::bkt", "Condition": {
                       "NumericLessThanEquals": {"s3:max-keys": 10},
                       "Null": {"s3:delimiter": "true"}}}  # fmt: skip
    put_policy(owner, small_pages)
    assert anon.request("GET", "/bkt", "list-type=2&max-keys=5").status == 200
    assert anon.request("GET", "/bkt", "list-type=2&max-keys=50").error == DENIED
    assert anon.request("GET", "/bkt", "list-type=2").error == DENIED  # max-keys absent
    assert anon.request("GET", "/bkt", "list-type=2&max-keys=5&delimiter=/").error == DENIED
    # Tags a writer asks for.
    tagged_only = {**everyone_writes, "Condition": {
        "StringEquals": {"s3:RequestObjectTag/team": "media"}}}  # fmt: skip
    put_policy(owner, tagged_only)
    assert anon.put(bucket, "t", b"x", x_amz_tagging="team=media").status == 200
    assert anon.put(bucket, "t", b"x", x_amz_tagging="team=ops").error == DENIED


def test_an_allow_reaches_only_the_bucket_owners_objects(
    harness: Harness, owner: Client, other: Client, anon: Client
) -> None:
    # AWS: under ObjectWriter, an object another user wrote is shared by its own ACL,
    # whatever the bucket policy allows; the policy's Deny still holds for it.
    harness.bucket(owner, "bkt", acl="public-read-write")
    owner.put("bkt", "mine", b"x")
    other.put("bkt", "theirs", b"x")
    put_policy(owner, PUBLIC_READ)
    assert anon.get("bkt", "mine").status == 200
    assert anon.get("bkt", "theirs").error == DENIED
    other.put("bkt", "given", b"x", x_amz_acl="public-read")
    assert anon.get("bkt", "given").status == 200  # its ACL grants
    deny = {**PUBLIC_READ, "Effect": "Deny", "Resource": "arn:aws:s3:::bkt/given"}
    put_policy(owner, PUBLIC_READ, deny)
    assert anon.get("bkt", "given").error == DENIED
    # BucketOwnerEnforced: the bucket owner owns everything, the policy reaches it all.
    found = harness.get_bucket("bkt")
    assert found is not None
    harness.run(harness.meta.set_bucket_ownership(found.id, "BucketOwnerEnforced"))
    assert anon.get("bkt", "theirs").status == 200
