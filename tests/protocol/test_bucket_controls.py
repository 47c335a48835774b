"""Object Ownership (?ownershipControls) and PublicAccessBlock (?publicAccessBlock).

Without OwnershipControls a bucket behaves as ObjectWriter (objects belong to their
writer), which is what this gateway has always done; BucketOwnerEnforced disables ACLs,
BucketOwnerPreferred gives the bucket owner objects written with
bucket-owner-full-control. BlockPublicAcls refuses public ACLs, IgnorePublicAcls makes
them grant nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import requests
from botocore import UNSIGNED
from botocore.exceptions import ClientError

from ._server import ServerProcess
from ._types import RawFor, UniqueName
from ._util import s3_error

ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"


class Pair:
    def __init__(self, make_user: Callable[..., Any], client_for: Callable[..., Any]) -> None:
        self.owner_keys, self.other_keys = make_user(), make_user()
        self.owner = client_for(*self.owner_keys)
        self.other = client_for(*self.other_keys)
        self.anon = client_for("anonymous", "anonymous", signature_version=UNSIGNED)
        self.owner_id = str(self.owner_keys.canonical_id)
        self.other_id = str(self.other_keys.canonical_id)


@pytest.fixture(scope="module")
def pair(make_user: Callable[..., Any], client_for: Callable[..., Any]) -> Pair:
    return Pair(make_user, client_for)


@pytest.fixture
def shared(pair: Pair, make_bucket: Callable[..., str]) -> str:
    """A public-read-write bucket of pair.owner (so that pair.other may write in it)."""
    name = make_bucket(pair.owner)
    pair.owner.put_bucket_acl(Bucket=name, ACL="public-read-write")
    return name


def denied(fn: Callable[[], Any]) -> None:
    with pytest.raises(ClientError) as ei:
        fn()
    assert ei.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403, ei.value.response


def set_ownership(client: Any, bucket: str, ownership: str) -> None:
    client.put_bucket_ownership_controls(
        Bucket=bucket, OwnershipControls={"Rules": [{"ObjectOwnership": ownership}]}
    )


def object_owner(client: Any, bucket: str, key: str) -> str:
    return str(client.get_object_acl(Bucket=bucket, Key=key)["Owner"]["ID"])


def no_acls(code: str = "AccessControlListNotSupported") -> Any:
    return s3_error(code, 400)


# -- OwnershipControls ----------------------------------------------------------------------


def test_ownership_controls_round_trip(pair: Pair, shared: str) -> None:
    with s3_error("OwnershipControlsNotFoundError", 404):
        pair.owner.get_bucket_ownership_controls(Bucket=shared)
    for ownership in ("BucketOwnerPreferred", "ObjectWriter"):
        set_ownership(pair.owner, shared, ownership)
        rules = pair.owner.get_bucket_ownership_controls(Bucket=shared)["OwnershipControls"]
        assert rules == {"Rules": [{"ObjectOwnership": ownership}]}
    denied(lambda: pair.other.get_bucket_ownership_controls(Bucket=shared))
    denied(lambda: set_ownership(pair.other, shared, "BucketOwnerPreferred"))
    denied(lambda: pair.other.delete_bucket_ownership_controls(Bucket=shared))
    pair.owner.delete_bucket_ownership_controls(Bucket=shared)
    with s3_error("OwnershipControlsNotFoundError", 404):
        pair.owner.get_bucket_ownership_controls(Bucket=shared)


def test_ownership_controls_bad_xml(pair: Pair, shared: str, raw_for: RawFor) -> None:
    raw = raw_for(*pair.owner_keys)
    body = (
        b"<OwnershipControls><Rule><ObjectOwnership>Mine</ObjectOwnership></Rule>"
        b"</OwnershipControls>"
    )
    resp = raw.request("PUT", shared, query={"ownershipControls": ""}, body=body)
    assert resp.status_code == 400 and b"<Code>MalformedXML</Code>" in resp.content, resp.text
    with s3_error("OwnershipControlsNotFoundError", 404):
        pair.owner.get_bucket_ownership_controls(Bucket=shared)


def test_object_writer_keeps_the_writer_as_owner(pair: Pair, shared: str) -> None:
    set_ownership(pair.owner, shared, "ObjectWriter")
    pair.other.put_object(Bucket=shared, Key="o", Body=b"x", ACL="bucket-owner-full-control")
    assert object_owner(pair.other, shared, "o") == pair.other_id


def test_bucket_owner_preferred(pair: Pair, shared: str) -> None:
    set_ownership(pair.owner, shared, "BucketOwnerPreferred")
    pair.other.put_object(Bucket=shared, Key="given", Body=b"g", ACL="bucket-owner-full-control")
    pair.other.put_object(Bucket=shared, Key="kept", Body=b"k")
    assert object_owner(pair.owner, shared, "given") == pair.owner_id
    assert object_owner(pair.other, shared, "kept") == pair.other_id
    # the bucket owner owns "given": the writer has no grant left on it
    denied(lambda: pair.other.get_object(Bucket=shared, Key="given"))
    denied(lambda: pair.owner.get_object(Bucket=shared, Key="kept"))


def test_bucket_owner_enforced_disables_acls(
    pair: Pair, shared: str, server: ServerProcess
) -> None:
    pair.other.put_object(Bucket=shared, Key="theirs", Body=b"t", ACL="public-read")
    # a bucket ACL granting others must go first
    with no_acls("InvalidBucketAclWithObjectOwnership"):
        set_ownership(pair.owner, shared, "BucketOwnerEnforced")
    pair.owner.put_bucket_acl(Bucket=shared, ACL="private")
    set_ownership(pair.owner, shared, "BucketOwnerEnforced")
    # every object now belongs to the bucket owner; ACLs grant nothing
    assert pair.owner.get_object(Bucket=shared, Key="theirs")["Body"].read() == b"t"
    denied(lambda: pair.other.get_object(Bucket=shared, Key="theirs"))
    url = f"{server.endpoint}/{shared}/theirs"
    assert requests.get(url, verify=server.cert, timeout=30).status_code == 403
    acl = pair.owner.get_object_acl(Bucket=shared, Key="theirs")
    assert acl["Owner"]["ID"] == pair.owner_id
    assert [(g["Grantee"]["ID"], g["Permission"]) for g in acl["Grants"]] == [
        (pair.owner_id, "FULL_CONTROL")
    ]
    listed = pair.owner.list_objects(Bucket=shared)["Contents"]
    assert [o["Owner"]["ID"] for o in listed] == [pair.owner_id]
    bucket_acl = pair.owner.get_bucket_acl(Bucket=shared)
    assert [g["Permission"] for g in bucket_acl["Grants"]] == ["FULL_CONTROL"]
    # setting ACLs fails; bucket-owner-full-control (or no ACL) is accepted
    with no_acls():
        pair.owner.put_bucket_acl(Bucket=shared, ACL="public-read")
    with no_acls():
        pair.owner.put_object_acl(Bucket=shared, Key="theirs", ACL="private")
    with no_acls():
        pair.owner.put_object(Bucket=shared, Key="n", Body=b"x", ACL="public-read")
    with no_acls():
        pair.owner.put_object(Bucket=shared, Key="n", Body=b"x", GrantRead=f"uri={ALL_USERS}")
    pair.owner.put_object(Bucket=shared, Key="n", Body=b"x", ACL="bucket-owner-full-control")
    pair.owner.put_object(Bucket=shared, Key="m", Body=b"y")
    pair.owner.put_object_acl(Bucket=shared, Key="m", ACL="bucket-owner-full-control")
    # back to ObjectWriter: the ACLs the objects had apply again
    set_ownership(pair.owner, shared, "ObjectWriter")
    assert requests.get(url, verify=server.cert, timeout=30).content == b"t"
    assert object_owner(pair.other, shared, "theirs") == pair.other_id


def test_create_bucket_with_object_ownership(pair: Pair, unique_name: UniqueName) -> None:
    name = unique_name("own")
    with no_acls("InvalidBucketAclWithObjectOwnership"):
        pair.owner.create_bucket(
            Bucket=name, ACL="public-read", ObjectOwnership="BucketOwnerEnforced"
        )
    with s3_error("InvalidArgument", 400):
        pair.owner.create_bucket(Bucket=name, ObjectOwnership="Everybody")
    with pytest.raises(ClientError):
        pair.owner.head_bucket(Bucket=name)
    pair.owner.create_bucket(Bucket=name, ObjectOwnership="BucketOwnerEnforced")
    try:
        rules = pair.owner.get_bucket_ownership_controls(Bucket=name)["OwnershipControls"]
        assert rules["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]
        with no_acls():
            pair.owner.put_bucket_acl(Bucket=name, ACL="public-read")
    finally:
        pair.owner.delete_bucket(Bucket=name)


# -- PublicAccessBlock ----------------------------------------------------------------------

FLAGS = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")


def set_block(client: Any, bucket: str, **flags: bool) -> None:
    client.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration=flags)


def test_public_access_block_round_trip(pair: Pair, shared: str) -> None:
    with s3_error("NoSuchPublicAccessBlockConfiguration", 404):
        pair.owner.get_public_access_block(Bucket=shared)
    set_block(pair.owner, shared, BlockPublicPolicy=True, RestrictPublicBuckets=True)
    got = pair.owner.get_public_access_block(Bucket=shared)["PublicAccessBlockConfiguration"]
    assert got == {
        "BlockPublicAcls": False,
        "IgnorePublicAcls": False,
        "BlockPublicPolicy": True,
        "RestrictPublicBuckets": True,
    }
    denied(lambda: pair.other.get_public_access_block(Bucket=shared))
    denied(lambda: set_block(pair.other, shared, BlockPublicAcls=True))
    pair.owner.delete_public_access_block(Bucket=shared)
    with s3_error("NoSuchPublicAccessBlockConfiguration", 404):
        pair.owner.get_public_access_block(Bucket=shared)


def test_block_public_acls(pair: Pair, shared: str) -> None:
    set_block(pair.owner, shared, BlockPublicAcls=True)
    call: Callable[[], object]
    for call in (
        lambda: pair.owner.put_object(Bucket=shared, Key="p", Body=b"x", ACL="public-read"),
        lambda: pair.owner.put_object(
            Bucket=shared, Key="p", Body=b"x", GrantRead=f"uri={ALL_USERS}"
        ),
        lambda: pair.owner.put_bucket_acl(Bucket=shared, ACL="authenticated-read"),
        lambda: pair.owner.create_multipart_upload(Bucket=shared, Key="p", ACL="public-read"),
    ):
        with s3_error("AccessDenied", 403):
            call()
    pair.owner.put_object(Bucket=shared, Key="p", Body=b"x", ACL="private")
    with s3_error("AccessDenied", 403):
        pair.owner.put_object_acl(Bucket=shared, Key="p", ACL="public-read-write")
    # ACLs that were public before the block are left alone (the bucket's, here)
    assert pair.anon.list_objects_v2(Bucket=shared)["KeyCount"] == 1


def test_ignore_public_acls(pair: Pair, shared: str, server: ServerProcess) -> None:
    pair.owner.put_object(Bucket=shared, Key="pub", Body=b"x", ACL="public-read")
    pair.owner.put_object(Bucket=shared, Key="auth", Body=b"y", ACL="authenticated-read")
    url = f"{server.endpoint}/{shared}/pub"
    assert requests.get(url, verify=server.cert, timeout=30).status_code == 200
    set_block(pair.owner, shared, IgnorePublicAcls=True)
    assert requests.get(url, verify=server.cert, timeout=30).status_code == 403
    denied(lambda: pair.other.get_object(Bucket=shared, Key="auth"))
    denied(lambda: pair.anon.list_objects_v2(Bucket=shared))
    denied(lambda: pair.other.put_object(Bucket=shared, Key="w", Body=b"x"))
    # public ACLs may still be set (BlockPublicAcls is off) and the owner is unaffected
    pair.owner.put_object_acl(Bucket=shared, Key="auth", ACL="public-read")
    assert pair.owner.get_object(Bucket=shared, Key="pub")["Body"].read() == b"x"
    pair.owner.delete_public_access_block(Bucket=shared)
    assert requests.get(url, verify=server.cert, timeout=30).status_code == 200
    assert pair.other.get_object(Bucket=shared, Key="auth")["Body"].read() == b"y"


def test_public_access_block_bad_xml(pair: Pair, shared: str, raw_for: RawFor) -> None:
    raw = raw_for(*pair.owner_keys)
    for body in (
        b"<PublicAccessBlockConfiguration><BlockPublicAcls>maybe</BlockPublicAcls>"
        b"</PublicAccessBlockConfiguration>",
        b"<PublicAccessBlockConfiguration><BlockEverything>true</BlockEverything>"
        b"</PublicAccessBlockConfiguration>",
        b"<OwnershipControls/>",
    ):
        resp = raw.request("PUT", shared, query={"publicAccessBlock": ""}, body=body)
        assert resp.status_code == 400 and b"<Code>MalformedXML</Code>" in resp.content, resp.text
    with s3_error("NoSuchPublicAccessBlockConfiguration", 404):
        pair.owner.get_public_access_block(Bucket=shared)


def _post_form(client: Any, server: Any, bucket: str, acl: str) -> requests.Response:
    form = client.generate_presigned_post(
        bucket, "form.txt", Fields={"acl": acl}, Conditions=[{"acl": acl}]
    )
    parts: list[tuple[str, tuple[Any, ...]]] = [(k, (None, v)) for k, v in form["fields"].items()]
    parts.append(("file", ("form.txt", b"posted", "text/plain")))
    return requests.post(form["url"], files=parts, verify=server.cert, timeout=60)


def test_browser_post_acl_obeys_the_bucket_settings(
    pair: Pair, shared: str, server: ServerProcess
) -> None:
    set_block(pair.owner, shared, BlockPublicAcls=True)
    resp = _post_form(pair.owner, server, shared, "public-read")
    assert resp.status_code == 403 and b"<Code>AccessDenied</Code>" in resp.content, resp.text
    pair.owner.delete_public_access_block(Bucket=shared)
    pair.owner.put_bucket_acl(Bucket=shared, ACL="private")
    set_ownership(pair.owner, shared, "BucketOwnerEnforced")
    resp = _post_form(pair.owner, server, shared, "public-read")
    assert resp.status_code == 400 and b"AccessControlListNotSupported" in resp.content, resp.text
    assert "Contents" not in pair.owner.list_objects_v2(Bucket=shared)
    assert _post_form(pair.owner, server, shared, "bucket-owner-full-control").status_code == 204
