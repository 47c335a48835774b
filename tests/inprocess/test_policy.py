"""oortgate.policy through the handlers: owners, canned and explicit ACLs, Object
Ownership and PublicAccessBlock decide who may do what."""

from __future__ import annotations

from botocore.credentials import Credentials

from oortgate.bucket_controls import PublicAccessBlock

from ._client import Client, Harness

DENIED = (403, "AccessDenied")


def _block(harness: Harness, bucket: str, **flags: bool) -> None:
    found = harness.get_bucket(bucket)
    assert found is not None
    config = PublicAccessBlock(**flags).dumps()
    harness.run(harness.meta.set_bucket_public_access_block(found.id, config))


def _object_owner(client: Client, bucket: str, key: str) -> str | None:
    return client.get(bucket, key, "acl").xml().findtext("Owner/ID")


def test_the_owner_holds_everything_others_nothing(
    owner: Client, other: Client, anon: Client, bucket: str
) -> None:
    assert owner.put(bucket, "k").status == 200
    for client in (other, anon):
        assert client.get(bucket, "k").error == DENIED
        assert client.put(bucket, "k2").error == DENIED
        assert client.request("GET", f"/{bucket}", "list-type=2").error == DENIED
        assert client.request("GET", f"/{bucket}", "acl").error == DENIED
        assert client.request("DELETE", f"/{bucket}/k").error == DENIED
    assert owner.get(bucket, "k").status == 200


def test_canned_bucket_acls(harness: Harness, owner: Client, other: Client, anon: Client) -> None:
    harness.bucket(owner, "readable", acl="public-read")
    harness.bucket(owner, "members", acl="authenticated-read")
    harness.bucket(owner, "open", acl="public-read-write")
    assert anon.request("GET", "/readable", "list-type=2").status == 200
    assert anon.put("readable", "k").error == DENIED
    assert other.request("GET", "/members", "list-type=2").status == 200
    assert anon.request("GET", "/members", "list-type=2").error == DENIED
    assert anon.put("open", "k").status == 200
    # Owner-only operations stay the owner's whatever the ACL grants.
    assert anon.request("DELETE", "/open").error == DENIED
    assert other.request("GET", "/open", "cors").error == DENIED


def test_objects_belong_to_their_writer(harness: Harness, owner: Client, other: Client) -> None:
    harness.bucket(owner, "open", acl="public-read-write")
    other.put("open", "theirs", b"x")
    assert _object_owner(other, "open", "theirs") == other.canonical_id
    assert owner.get("open", "theirs").error == DENIED  # ObjectWriter: no grant to the bucket owner
    other.put("open", "shared", b"x", x_amz_acl="bucket-owner-full-control")
    assert owner.get("open", "shared").status == 200
    assert _object_owner(owner, "open", "shared") == other.canonical_id
    # The bucket owner may still delete what others wrote (WRITE on the bucket).
    assert owner.request("DELETE", "/open/theirs").status == 204


def test_bucket_owner_preferred(harness: Harness, owner: Client, other: Client) -> None:
    harness.bucket(owner, "pref", acl="public-read-write", ownership="BucketOwnerPreferred")
    other.put("pref", "given", b"x", x_amz_acl="bucket-owner-full-control")
    assert _object_owner(owner, "pref", "given") == owner.canonical_id
    other.put("pref", "kept", b"x")
    assert _object_owner(other, "pref", "kept") == other.canonical_id


def test_bucket_owner_enforced(
    harness: Harness, owner: Client, other: Client, anon: Client
) -> None:
    harness.bucket(owner, "enf", ownership="BucketOwnerEnforced")
    assert owner.put("enf", "k", x_amz_acl="public-read").error == (
        400, "AccessControlListNotSupported",
    )  # fmt: skip
    assert owner.put("enf", "k", x_amz_acl="bucket-owner-full-control").status == 200
    assert owner.put("enf", "k").status == 200
    put_acl = owner.request("PUT", "/enf", "acl", headers={"x-amz-acl": "public-read"})
    assert put_acl.error == (400, "AccessControlListNotSupported")
    # ACLs off: a public ACL stored before counts for nothing; only the owner gets in.
    harness.bucket(owner, "legacy", acl="public-read", ownership="BucketOwnerEnforced")
    assert anon.request("GET", "/legacy", "list-type=2").error == DENIED
    # Objects others wrote (when it allowed them) belong to the bucket owner.
    harness.bucket(owner, "taken", acl="public-read-write")
    other.put("taken", "k", b"x")
    found = harness.get_bucket("taken")
    assert found is not None
    harness.run(harness.meta.set_bucket_ownership(found.id, "BucketOwnerEnforced"))
    assert owner.get("taken", "k").status == 200
    assert _object_owner(owner, "taken", "k") == owner.canonical_id
    assert other.get("taken", "k").error == DENIED


def test_create_bucket_ownership_headers(harness: Harness, owner: Client) -> None:
    both = {"x-amz-object-ownership": "BucketOwnerEnforced", "x-amz-acl": "public-read"}
    reply = owner.request("PUT", "/fresh", headers=both)
    assert reply.error == (400, "InvalidBucketAclWithObjectOwnership")
    bad = owner.request("PUT", "/fresh", headers={"x-amz-object-ownership": "Mine"})
    assert bad.error == (400, "InvalidArgument")
    ok = owner.request("PUT", "/fresh", headers={"x-amz-object-ownership": "BucketOwnerEnforced"})
    assert ok.status == 200
    made = harness.get_bucket("fresh")
    assert made is not None and made.ownership == "BucketOwnerEnforced"


def test_block_public_acls(harness: Harness, owner: Client, bucket: str) -> None:
    _block(harness, bucket, BlockPublicAcls=True)
    assert owner.put(bucket, "k", x_amz_acl="public-read").error == DENIED
    assert owner.put(bucket, "k", x_amz_acl="private").status == 200
    assert owner.request("PUT", f"/{bucket}/k", "acl",
                         headers={"x-amz-acl": "public-read"}).error == DENIED  # fmt: skip
    assert owner.request("PUT", f"/{bucket}", "acl",
                         headers={"x-amz-acl": "authenticated-read"}).error == DENIED  # fmt: skip


def test_ignore_public_acls(harness: Harness, owner: Client, anon: Client, bucket: str) -> None:
    owner.put(bucket, "k", b"x", x_amz_acl="public-read")
    assert anon.get(bucket, "k").status == 200
    _block(harness, bucket, IgnorePublicAcls=True)
    assert anon.get(bucket, "k").error == DENIED
    assert owner.get(bucket, "k").status == 200
    _block(harness, bucket)
    assert anon.get(bucket, "k").status == 200


def test_explicit_user_grants(owner: Client, other: Client, bucket: str) -> None:
    grant = {"x-amz-grant-write": f'id="{other.canonical_id}"'}
    assert owner.request("PUT", f"/{bucket}", "acl", headers=grant).status == 200
    assert other.put(bucket, "k").status == 200
    assert other.request("GET", f"/{bucket}", "list-type=2").error == DENIED  # WRITE, not READ


def test_expected_bucket_owner(owner: Client, other: Client, bucket: str) -> None:
    owner.put(bucket, "k")
    right = owner.get(bucket, "k", x_amz_expected_bucket_owner=owner.canonical_id)
    assert right.status == 200
    wrong = owner.get(bucket, "k", x_amz_expected_bucket_owner=other.canonical_id)
    assert wrong.error == DENIED


def test_unknown_keys_and_bad_signatures(harness: Harness, owner: Client, bucket: str) -> None:
    stranger = Client(harness, Credentials("AKNOBODY", "secret"), None)
    assert stranger.request("GET", "/").error == (403, "InvalidAccessKeyId")
    assert owner.credentials is not None
    forged = Client(harness, Credentials(owner.credentials.access_key, "wrong"), owner.user)
    assert forged.request("GET", "/").error == (403, "SignatureDoesNotMatch")
    harness.run(harness.meta.set_key_enabled(owner.credentials.access_key, False))
    assert owner.request("GET", "/").error == (403, "InvalidAccessKeyId")
