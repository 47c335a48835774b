"""Canned ACLs on buckets and objects, as AWS's legacy ACL model defines them.

Objects belong to their writer; the bucket owner holds no implicit rights on objects other
users wrote (only bucket WRITE, i.e. deleting them), except through bucket-owner-read /
bucket-owner-full-control. Anonymous requests count as AllUsers, signed ones also as
AuthenticatedUsers.
"""

from __future__ import annotations

import contextlib
import hashlib
import subprocess
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
from botocore import UNSIGNED
from botocore.exceptions import ClientError

from ._server import ServerProcess
from ._types import ClientFor, MakeUser, UniqueName
from ._util import etag, rand, s3_error

ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"
AUTH_USERS = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"
ANONYMOUS_ID = "65a011a29cdf8ec533ec3d1ccaae921c"  # AWS's canonical id of anonymous

GROUP_ACLS = ["private", "public-read", "public-read-write", "authenticated-read"]
BUCKET_OWNER_ACLS = ["bucket-owner-read", "bucket-owner-full-control"]
ALL_ACLS = GROUP_ACLS + BUCKET_OWNER_ACLS

Grant = tuple[str, str, str]  # (grantee type, canonical id or group URI, permission)


def expected_grants(acl: str, owner_id: str, bucket_owner_id: str | None = None) -> list[Grant]:
    """The grant list AWS documents for a canned ACL."""
    grants: list[Grant] = [("CanonicalUser", owner_id, "FULL_CONTROL")]
    if acl in ("public-read", "public-read-write"):
        grants.append(("Group", ALL_USERS, "READ"))
    if acl == "public-read-write":
        grants.append(("Group", ALL_USERS, "WRITE"))
    if acl == "authenticated-read":
        grants.append(("Group", AUTH_USERS, "READ"))
    if acl == "bucket-owner-read":
        assert bucket_owner_id is not None
        grants.append(("CanonicalUser", bucket_owner_id, "READ"))
    if acl == "bucket-owner-full-control":
        assert bucket_owner_id is not None
        grants.append(("CanonicalUser", bucket_owner_id, "FULL_CONTROL"))
    return sorted(grants)


def grants_of(resp: dict[str, Any]) -> list[Grant]:
    out: list[Grant] = []
    for g in resp["Grants"]:
        grantee = g["Grantee"]
        kind = grantee["Type"]
        ident = grantee.get("ID") if kind == "CanonicalUser" else grantee.get("URI")
        out.append((kind, str(ident), g["Permission"]))
    return sorted(out)


def policy_for(grants: list[Grant], owner_id: str) -> dict[str, Any]:
    """An AccessControlPolicy parameter for boto3 listing exactly these grants."""
    items = []
    for kind, ident, perm in grants:
        grantee = (
            {"Type": kind, "ID": ident}
            if kind == "CanonicalUser"
            else {
                "Type": kind,
                "URI": ident,
            }
        )
        items.append({"Grantee": grantee, "Permission": perm})
    return {"Owner": {"ID": owner_id}, "Grants": items}


def assert_only_owner(resp: dict[str, Any], owner_id: str) -> None:
    """On a bucket (or an object its bucket owner wrote) the bucket-owner-* ACLs add nothing
    beyond the owner's own rights: no group grant, nothing for anyone else."""
    grants = grants_of(resp)
    assert ("CanonicalUser", owner_id, "FULL_CONTROL") in grants, grants
    assert all(kind == "CanonicalUser" and ident == owner_id for kind, ident, _ in grants), grants


def denied(fn: Callable[[], Any]) -> None:
    """The call fails with 403 (AccessDenied; HEAD responses carry no code, only 403)."""
    with pytest.raises(ClientError) as ei:
        fn()
    resp = ei.value.response
    status = resp["ResponseMetadata"]["HTTPStatusCode"]
    code = resp["Error"]["Code"]
    assert status == 403 and code in ("AccessDenied", "403"), resp


# -- fixtures ------------------------------------------------------------------------------


class People:
    def __init__(self, make_user: Callable[..., Any], client_for: Callable[..., Any]) -> None:
        self.owner_keys = make_user()
        self.other_keys = make_user()
        self.owner = client_for(*self.owner_keys)
        self.other = client_for(*self.other_keys)
        self.anon = client_for("anonymous", "anonymous", signature_version=UNSIGNED)

    @property
    def owner_id(self) -> str:
        return str(self.owner_keys.canonical_id)

    @property
    def other_id(self) -> str:
        return str(self.other_keys.canonical_id)


@pytest.fixture(scope="module")
def people(make_user: Callable[..., Any], client_for: Callable[..., Any]) -> People:
    p = People(make_user, client_for)
    assert p.owner_id and p.other_id and p.owner_id != p.other_id
    return p


def _cleanup(client: Any, name: str) -> None:
    with contextlib.suppress(ClientError):
        for up in client.list_multipart_uploads(Bucket=name).get("Uploads", []):
            with contextlib.suppress(ClientError):
                client.abort_multipart_upload(Bucket=name, Key=up["Key"], UploadId=up["UploadId"])
        for obj in client.list_objects_v2(Bucket=name).get("Contents", []):
            with contextlib.suppress(ClientError):
                client.delete_object(Bucket=name, Key=obj["Key"])
    with contextlib.suppress(ClientError):
        client.delete_bucket(Bucket=name)


@pytest.fixture
def new_bucket(unique_name: Callable[[str], str]) -> Iterator[Callable[..., str]]:
    """new_bucket(client, acl=None) -> name, created by that client (the bucket owner)."""
    made: list[tuple[Any, str]] = []

    def make(client: Any, acl: str | None = None) -> str:
        name = unique_name("acl")
        kwargs = {"ACL": acl} if acl else {}
        client.create_bucket(Bucket=name, **kwargs)
        made.append((client, name))
        return name

    yield make
    for client, name in reversed(made):
        _cleanup(client, name)


@pytest.fixture
def owner_bucket(people: People, new_bucket: Callable[..., str]) -> str:
    return new_bucket(people.owner)


@pytest.fixture
def prw_bucket(people: People, new_bucket: Callable[..., str]) -> str:
    """A public-read-write bucket of ``people.owner``."""
    return new_bucket(people.owner, "public-read-write")


# -- bucket ACL round trips ----------------------------------------------------------------


@pytest.mark.parametrize("acl", ALL_ACLS)
def test_create_bucket_with_canned_acl(
    people: People, new_bucket: Callable[..., str], acl: str
) -> None:
    name = new_bucket(people.owner, acl)
    resp = people.owner.get_bucket_acl(Bucket=name)
    assert resp["Owner"]["ID"] == people.owner_id
    if acl in BUCKET_OWNER_ACLS:
        assert_only_owner(resp, people.owner_id)
    else:
        assert grants_of(resp) == expected_grants(acl, people.owner_id)


def test_default_bucket_acl_is_private(people: People, owner_bucket: str) -> None:
    resp = people.owner.get_bucket_acl(Bucket=owner_bucket)
    assert resp["Owner"]["ID"] == people.owner_id
    assert grants_of(resp) == expected_grants("private", people.owner_id)
    grant = resp["Grants"][0]
    assert grant["Grantee"]["Type"] == "CanonicalUser"
    assert grant["Grantee"].get("DisplayName") == people.owner_keys.name


@pytest.mark.parametrize("acl", ALL_ACLS)
def test_put_bucket_acl_canned(people: People, owner_bucket: str, acl: str) -> None:
    people.owner.put_bucket_acl(Bucket=owner_bucket, ACL=acl)
    resp = people.owner.get_bucket_acl(Bucket=owner_bucket)
    assert resp["Owner"]["ID"] == people.owner_id
    if acl in BUCKET_OWNER_ACLS:
        assert_only_owner(resp, people.owner_id)
    else:
        assert grants_of(resp) == expected_grants(acl, people.owner_id)


@pytest.mark.parametrize("acl", GROUP_ACLS)
def test_put_bucket_acl_grant_xml(people: People, owner_bucket: str, acl: str) -> None:
    # start from something else so the change is visible
    people.owner.put_bucket_acl(
        Bucket=owner_bucket, ACL="public-read" if acl == "private" else "private"
    )
    grants = expected_grants(acl, people.owner_id)
    people.owner.put_bucket_acl(
        Bucket=owner_bucket, AccessControlPolicy=policy_for(grants, people.owner_id)
    )
    assert grants_of(people.owner.get_bucket_acl(Bucket=owner_bucket)) == grants


def test_bucket_acl_changes_access(people: People, owner_bucket: str) -> None:
    people.owner.put_object(Bucket=owner_bucket, Key="k", Body=b"x")
    denied(lambda: people.anon.list_objects_v2(Bucket=owner_bucket))
    people.owner.put_bucket_acl(Bucket=owner_bucket, ACL="public-read")
    keys = [o["Key"] for o in people.anon.list_objects_v2(Bucket=owner_bucket)["Contents"]]
    assert keys == ["k"]
    # the bucket's ACL says nothing about its objects: "k" is still private
    denied(lambda: people.anon.get_object(Bucket=owner_bucket, Key="k"))
    people.owner.put_bucket_acl(Bucket=owner_bucket, ACL="private")
    denied(lambda: people.anon.list_objects_v2(Bucket=owner_bucket))


# -- object ACL round trips ----------------------------------------------------------------


@pytest.mark.parametrize("acl", GROUP_ACLS)
def test_put_object_with_canned_acl(people: People, owner_bucket: str, acl: str) -> None:
    people.owner.put_object(Bucket=owner_bucket, Key="o", Body=b"data", ACL=acl)
    resp = people.owner.get_object_acl(Bucket=owner_bucket, Key="o")
    assert resp["Owner"]["ID"] == people.owner_id
    assert grants_of(resp) == expected_grants(acl, people.owner_id)


@pytest.mark.parametrize("acl", BUCKET_OWNER_ACLS)
def test_put_object_bucket_owner_acl_by_another_user(
    people: People, prw_bucket: str, acl: str
) -> None:
    people.other.put_object(Bucket=prw_bucket, Key="o", Body=b"data", ACL=acl)
    resp = people.other.get_object_acl(Bucket=prw_bucket, Key="o")
    assert resp["Owner"]["ID"] == people.other_id
    assert grants_of(resp) == expected_grants(acl, people.other_id, people.owner_id)


@pytest.mark.parametrize("acl", BUCKET_OWNER_ACLS)
def test_bucket_owner_acl_on_own_object_adds_nothing(
    people: People, owner_bucket: str, acl: str
) -> None:
    people.owner.put_object(Bucket=owner_bucket, Key="o", Body=b"data", ACL=acl)
    resp = people.owner.get_object_acl(Bucket=owner_bucket, Key="o")
    assert resp["Owner"]["ID"] == people.owner_id
    assert_only_owner(resp, people.owner_id)
    denied(lambda: people.other.get_object(Bucket=owner_bucket, Key="o"))
    denied(lambda: people.anon.get_object(Bucket=owner_bucket, Key="o"))


def test_default_object_acl_is_private(people: People, owner_bucket: str) -> None:
    people.owner.put_object(Bucket=owner_bucket, Key="o", Body=b"data")
    resp = people.owner.get_object_acl(Bucket=owner_bucket, Key="o")
    assert grants_of(resp) == expected_grants("private", people.owner_id)
    assert resp["Grants"][0]["Grantee"].get("DisplayName") == people.owner_keys.name


@pytest.mark.parametrize("acl", ALL_ACLS)
def test_put_object_acl_canned(people: People, prw_bucket: str, acl: str) -> None:
    # written by "other", so bucket-owner-* grants name a different canonical user
    people.other.put_object(Bucket=prw_bucket, Key="o", Body=b"data")
    people.other.put_object_acl(Bucket=prw_bucket, Key="o", ACL=acl)
    resp = people.other.get_object_acl(Bucket=prw_bucket, Key="o")
    assert resp["Owner"]["ID"] == people.other_id
    assert grants_of(resp) == expected_grants(acl, people.other_id, people.owner_id)


@pytest.mark.parametrize("acl", ALL_ACLS)
def test_put_object_acl_grant_xml(people: People, prw_bucket: str, acl: str) -> None:
    people.other.put_object(
        Bucket=prw_bucket,
        Key="o",
        Body=b"data",
        ACL="public-read" if acl == "private" else "private",
    )
    grants = expected_grants(acl, people.other_id, people.owner_id)
    people.other.put_object_acl(
        Bucket=prw_bucket, Key="o", AccessControlPolicy=policy_for(grants, people.other_id)
    )
    resp = people.other.get_object_acl(Bucket=prw_bucket, Key="o")
    assert resp["Owner"]["ID"] == people.other_id
    assert grants_of(resp) == grants


def test_grant_xml_order_does_not_matter(people: People, owner_bucket: str) -> None:
    people.owner.put_object(Bucket=owner_bucket, Key="o", Body=b"data")
    grants = expected_grants("public-read-write", people.owner_id)
    people.owner.put_object_acl(
        Bucket=owner_bucket,
        Key="o",
        AccessControlPolicy=policy_for(list(reversed(grants)), people.owner_id),
    )
    assert grants_of(people.owner.get_object_acl(Bucket=owner_bucket, Key="o")) == grants


def test_get_object_acl_document_shape(
    people: People, owner_bucket: str, server: ServerProcess
) -> None:
    """The raw XML: AccessControlPolicy/Owner, Grantee with xsi:type, Group URI."""
    people.owner.put_object(Bucket=owner_bucket, Key="o", Body=b"data", ACL="public-read")
    url = people.owner.generate_presigned_url(
        "get_object_acl", Params={"Bucket": owner_bucket, "Key": "o"}
    )
    resp = requests.get(url, verify=server.cert, timeout=30)
    assert resp.status_code == 200, resp.text
    root = ET.fromstring(resp.content)
    ns = "{http://s3.amazonaws.com/doc/2006-03-01/}"
    xsi = "{http://www.w3.org/2001/XMLSchema-instance}type"
    assert root.tag == f"{ns}AccessControlPolicy"
    assert root.findtext(f"{ns}Owner/{ns}ID") == people.owner_id
    grantees = root.findall(f"{ns}AccessControlList/{ns}Grant/{ns}Grantee")
    kinds = sorted(g.get(xsi) or "" for g in grantees)
    assert kinds == ["CanonicalUser", "Group"]
    uris = [g.findtext(f"{ns}URI") for g in grantees if g.get(xsi) == "Group"]
    assert uris == [ALL_USERS]


def test_overwrite_replaces_the_acl(people: People, owner_bucket: str) -> None:
    people.owner.put_object(Bucket=owner_bucket, Key="o", Body=b"v1", ACL="public-read")
    assert people.anon.get_object(Bucket=owner_bucket, Key="o")["Body"].read() == b"v1"
    people.owner.put_object(Bucket=owner_bucket, Key="o", Body=b"v2")
    denied(lambda: people.anon.get_object(Bucket=owner_bucket, Key="o"))
    resp = people.owner.get_object_acl(Bucket=owner_bucket, Key="o")
    assert grants_of(resp) == expected_grants("private", people.owner_id)


# -- explicit grant sets, grant headers, invalid names -------------------------------------


def _explicit_sets(owner_id: str, other_id: str) -> dict[str, list[Grant]]:
    full = ("CanonicalUser", owner_id, "FULL_CONTROL")
    return {
        "another-user-read": [full, ("CanonicalUser", other_id, "READ")],
        "all-users-read-acp": [full, ("Group", ALL_USERS, "READ_ACP")],
        "all-users-full-control": [full, ("Group", ALL_USERS, "FULL_CONTROL")],
        "auth-users-write": [full, ("Group", AUTH_USERS, "WRITE")],
        "owner-read-only": [("CanonicalUser", owner_id, "READ")],
        "public-read-plus-auth-read": [
            full,
            ("Group", ALL_USERS, "READ"),
            ("Group", AUTH_USERS, "READ"),
        ],
    }


@pytest.mark.parametrize(
    "case",
    [
        "another-user-read",
        "all-users-read-acp",
        "all-users-full-control",
        "auth-users-write",
        "owner-read-only",
        "public-read-plus-auth-read",
    ],
)
def test_explicit_grant_sets_are_stored_as_given(
    people: People, owner_bucket: str, case: str
) -> None:
    grants = _explicit_sets(people.owner_id, people.other_id)[case]
    people.owner.put_object(Bucket=owner_bucket, Key="o", Body=b"data")
    acp = policy_for(grants, people.owner_id)
    people.owner.put_object_acl(Bucket=owner_bucket, Key="o", AccessControlPolicy=acp)
    people.owner.put_bucket_acl(Bucket=owner_bucket, AccessControlPolicy=acp)
    assert grants_of(people.owner.get_object_acl(Bucket=owner_bucket, Key="o")) == sorted(grants)
    assert grants_of(people.owner.get_bucket_acl(Bucket=owner_bucket)) == sorted(grants)
    # the owner keeps every right whatever the ACL says (it cannot lock itself out)
    assert people.owner.get_object(Bucket=owner_bucket, Key="o")["Body"].read() == b"data"
    people.owner.put_object(Bucket=owner_bucket, Key="o2", Body=b"x")


GRANT_READ = f'uri="{ALL_USERS}"'
PUBLIC_READ = [("Group", ALL_USERS, "READ")]  # what GRANT_READ alone grants


def test_grant_header_on_put_object(people: People, owner_bucket: str) -> None:
    people.owner.put_object(Bucket=owner_bucket, Key="g", Body=b"x", GrantRead=GRANT_READ)
    assert people.anon.get_object(Bucket=owner_bucket, Key="g")["Body"].read() == b"x"
    # the headers' grants are the whole ACL: no implicit grant to the owner is listed
    assert grants_of(people.owner.get_object_acl(Bucket=owner_bucket, Key="g")) == PUBLIC_READ


def test_grant_header_on_create_bucket(people: People, unique_name: UniqueName) -> None:
    name = unique_name("acl")
    people.owner.create_bucket(Bucket=name, GrantRead=GRANT_READ)
    try:
        assert grants_of(people.owner.get_bucket_acl(Bucket=name)) == PUBLIC_READ
        assert people.anon.list_objects_v2(Bucket=name)["KeyCount"] == 0
    finally:
        _cleanup(people.owner, name)


def test_grant_header_on_copy_and_multipart(people: People, owner_bucket: str) -> None:
    people.owner.put_object(Bucket=owner_bucket, Key="src", Body=b"x")
    people.owner.copy_object(
        Bucket=owner_bucket,
        Key="dst",
        CopySource={"Bucket": owner_bucket, "Key": "src"},
        GrantRead=GRANT_READ,
    )
    _multipart(people.owner, owner_bucket, "mp", [b"parts"], GrantRead=GRANT_READ)
    for key, body in (("dst", b"x"), ("mp", b"parts")):
        assert people.anon.get_object(Bucket=owner_bucket, Key=key)["Body"].read() == body
        assert grants_of(people.owner.get_object_acl(Bucket=owner_bucket, Key=key)) == PUBLIC_READ
    denied(lambda: people.anon.get_object(Bucket=owner_bucket, Key="src"))


def test_grant_header_on_put_object_acl(people: People, owner_bucket: str) -> None:
    people.owner.put_object(Bucket=owner_bucket, Key="o", Body=b"x")
    denied(lambda: people.anon.get_object(Bucket=owner_bucket, Key="o"))
    people.owner.put_object_acl(Bucket=owner_bucket, Key="o", GrantRead=GRANT_READ)
    assert people.anon.get_object(Bucket=owner_bucket, Key="o")["Body"].read() == b"x"


def test_grant_header_on_put_bucket_acl(people: People, owner_bucket: str) -> None:
    denied(lambda: people.anon.list_objects_v2(Bucket=owner_bucket))
    people.owner.put_bucket_acl(Bucket=owner_bucket, GrantRead=GRANT_READ)
    assert grants_of(people.owner.get_bucket_acl(Bucket=owner_bucket)) == PUBLIC_READ
    assert people.anon.list_objects_v2(Bucket=owner_bucket)["KeyCount"] == 0


def test_invalid_canned_acl_name(
    people: People, owner_bucket: str, unique_name: UniqueName
) -> None:
    with s3_error("InvalidArgument", 400):
        people.owner.put_object(Bucket=owner_bucket, Key="o", Body=b"x", ACL="public")
    assert "Contents" not in people.owner.list_objects_v2(Bucket=owner_bucket)
    people.owner.put_object(Bucket=owner_bucket, Key="o", Body=b"x")
    with s3_error("InvalidArgument", 400):
        people.owner.put_object_acl(Bucket=owner_bucket, Key="o", ACL="Public-Read")
    with s3_error("InvalidArgument", 400):
        people.owner.put_bucket_acl(Bucket=owner_bucket, ACL="world")
    with s3_error("InvalidArgument", 400):
        people.owner.create_multipart_upload(Bucket=owner_bucket, Key="mp", ACL="nope")
    with s3_error("InvalidArgument", 400):
        people.owner.copy_object(
            Bucket=owner_bucket,
            Key="copy",
            CopySource={"Bucket": owner_bucket, "Key": "o"},
            ACL="everyone",
        )
    name = unique_name("acl")
    try:
        with s3_error("InvalidArgument", 400):
            people.owner.create_bucket(Bucket=name, ACL="publicread")
    finally:
        _cleanup(people.owner, name)
    resp = people.owner.get_object_acl(Bucket=owner_bucket, Key="o")
    assert grants_of(resp) == expected_grants("private", people.owner_id)
    resp = people.owner.get_bucket_acl(Bucket=owner_bucket)
    assert grants_of(resp) == expected_grants("private", people.owner_id)
    assert [o["Key"] for o in people.owner.list_objects_v2(Bucket=owner_bucket)["Contents"]] == [
        "o"
    ]


# -- plain HTTP clients without credentials ------------------------------------------------


def _curl(server: Any, path: str, *extra: str) -> tuple[int, bytes]:
    out = subprocess.run(
        [
            "curl",
            "-sS",
            "--cacert",
            server.cert,
            "-o",
            "-",
            "-w",
            "\n%{http_code}",
            *extra,
            f"{server.endpoint}{path}",
        ],
        capture_output=True,
        timeout=60,
        check=True,
    )
    body, _, code = out.stdout.rpartition(b"\n")
    return int(code), body


def test_public_read_object_with_curl(
    people: People, owner_bucket: str, server: ServerProcess
) -> None:
    data = rand(50_000)
    people.owner.put_object(Bucket=owner_bucket, Key="pub/file.bin", Body=data, ACL="public-read")
    status, body = _curl(server, f"/{owner_bucket}/pub/file.bin")
    assert status == 200
    assert hashlib.md5(body).hexdigest() == hashlib.md5(data).hexdigest()
    assert body == data


def test_private_object_with_curl_is_access_denied(
    people: People, owner_bucket: str, server: ServerProcess
) -> None:
    people.owner.put_object(Bucket=owner_bucket, Key="secret", Body=b"top secret")
    status, body = _curl(server, f"/{owner_bucket}/secret")
    assert status == 403
    assert b"top secret" not in body
    root = ET.fromstring(body)
    assert root.tag == "Error"
    assert root.findtext("Code") == "AccessDenied"


def test_public_read_object_with_requests(
    people: People, owner_bucket: str, server: ServerProcess
) -> None:
    data = rand(10_000)
    people.owner.put_object(
        Bucket=owner_bucket, Key="p", Body=data, ACL="public-read", ContentType="image/png"
    )
    url = f"{server.endpoint}/{owner_bucket}/p"
    resp = requests.get(url, verify=server.cert, timeout=30)
    assert resp.status_code == 200
    assert resp.content == data
    assert resp.headers["ETag"] == etag(data)
    assert resp.headers["Content-Type"] == "image/png"
    head = requests.head(url, verify=server.cert, timeout=30)
    assert head.status_code == 200
    assert head.headers["Content-Length"] == str(len(data))
    assert head.headers["ETag"] == etag(data)
    ranged = requests.get(url, headers={"Range": "bytes=10-19"}, verify=server.cert, timeout=30)
    assert ranged.status_code == 206
    assert ranged.content == data[10:20]


def test_anonymous_head_and_get_with_boto3(people: People, owner_bucket: str) -> None:
    people.owner.put_object(Bucket=owner_bucket, Key="p", Body=b"hello", ACL="public-read")
    people.owner.put_object(Bucket=owner_bucket, Key="q", Body=b"hidden")
    head = people.anon.head_object(Bucket=owner_bucket, Key="p")
    assert head["ContentLength"] == 5
    assert people.anon.get_object(Bucket=owner_bucket, Key="p")["Body"].read() == b"hello"
    denied(lambda: people.anon.head_object(Bucket=owner_bucket, Key="q"))
    denied(lambda: people.anon.get_object(Bucket=owner_bucket, Key="q"))
    # a public object does not make its ACL public
    denied(lambda: people.anon.get_object_acl(Bucket=owner_bucket, Key="p"))


def test_anonymous_cannot_write_a_public_read_bucket(
    people: People, new_bucket: Callable[..., str], server: ServerProcess
) -> None:
    name = new_bucket(people.owner, "public-read")
    resp = requests.put(
        f"{server.endpoint}/{name}/x", data=b"intruder", verify=server.cert, timeout=30
    )
    assert resp.status_code == 403
    assert ET.fromstring(resp.content).findtext("Code") == "AccessDenied"
    assert "Contents" not in people.owner.list_objects_v2(Bucket=name)


# -- public-read-write buckets: objects belong to their writer ------------------------------


def _owner_in_listing(client: Any, bucket: str, key: str) -> dict[str, Any]:
    for obj in client.list_objects(Bucket=bucket, Prefix=key)["Contents"]:
        if obj["Key"] == key:
            return dict(obj["Owner"])
    raise AssertionError(f"{key} not listed")


def test_anonymous_put_into_public_read_write_bucket(
    people: People, prw_bucket: str, server: ServerProcess
) -> None:
    data = b"dropped anonymously"
    resp = requests.put(
        f"{server.endpoint}/{prw_bucket}/drop", data=data, verify=server.cert, timeout=30
    )
    assert resp.status_code == 200, resp.text
    assert resp.headers["ETag"] == etag(data)
    # the object belongs to the anonymous principal
    assert _owner_in_listing(people.owner, prw_bucket, "drop")["ID"] == ANONYMOUS_ID
    # the bucket owner did not write it and holds no grant on it
    denied(lambda: people.owner.get_object(Bucket=prw_bucket, Key="drop"))
    denied(lambda: people.owner.get_object_acl(Bucket=prw_bucket, Key="drop"))
    denied(lambda: people.other.get_object(Bucket=prw_bucket, Key="drop"))
    # ... but may delete it (bucket WRITE)
    people.owner.delete_object(Bucket=prw_bucket, Key="drop")
    assert "Contents" not in people.owner.list_objects_v2(Bucket=prw_bucket)


def test_anonymous_owner_sees_its_acl(
    people: People, prw_bucket: str, server: ServerProcess
) -> None:
    resp = requests.put(
        f"{server.endpoint}/{prw_bucket}/drop", data=b"anon", verify=server.cert, timeout=30
    )
    assert resp.status_code == 200, resp.text
    acl = people.anon.get_object_acl(Bucket=prw_bucket, Key="drop")
    assert acl["Owner"]["ID"] == ANONYMOUS_ID
    assert grants_of(acl) == expected_grants("private", ANONYMOUS_ID)
    assert people.anon.get_object(Bucket=prw_bucket, Key="drop")["Body"].read() == b"anon"


def test_anonymous_put_with_public_read_acl(
    people: People, prw_bucket: str, server: ServerProcess
) -> None:
    resp = requests.put(
        f"{server.endpoint}/{prw_bucket}/shared",
        data=b"for everyone",
        headers={"x-amz-acl": "public-read"},
        verify=server.cert,
        timeout=30,
    )
    assert resp.status_code == 200, resp.text
    assert people.owner.get_object(Bucket=prw_bucket, Key="shared")["Body"].read() == (
        b"for everyone"
    )
    status, body = _curl(server, f"/{prw_bucket}/shared")
    assert (status, body) == (200, b"for everyone")


def test_bucket_owner_cannot_read_other_users_private_object(
    people: People, prw_bucket: str
) -> None:
    people.other.put_object(Bucket=prw_bucket, Key="theirs", Body=b"mine only")
    assert _owner_in_listing(people.owner, prw_bucket, "theirs")["ID"] == people.other_id
    denied(lambda: people.owner.get_object(Bucket=prw_bucket, Key="theirs"))
    denied(lambda: people.owner.head_object(Bucket=prw_bucket, Key="theirs"))
    denied(lambda: people.owner.get_object_acl(Bucket=prw_bucket, Key="theirs"))
    denied(lambda: people.owner.put_object_acl(Bucket=prw_bucket, Key="theirs", ACL="private"))
    denied(
        lambda: people.owner.copy_object(
            Bucket=prw_bucket, Key="stolen", CopySource={"Bucket": prw_bucket, "Key": "theirs"}
        )
    )
    assert people.other.get_object(Bucket=prw_bucket, Key="theirs")["Body"].read() == b"mine only"
    keys = [o["Key"] for o in people.owner.list_objects_v2(Bucket=prw_bucket)["Contents"]]
    assert keys == ["theirs"]
    people.owner.delete_object(Bucket=prw_bucket, Key="theirs")
    assert "Contents" not in people.owner.list_objects_v2(Bucket=prw_bucket)


def test_bucket_owner_read(people: People, prw_bucket: str) -> None:
    people.other.put_object(Bucket=prw_bucket, Key="o", Body=b"readable", ACL="bucket-owner-read")
    assert people.owner.get_object(Bucket=prw_bucket, Key="o")["Body"].read() == b"readable"
    assert people.owner.head_object(Bucket=prw_bucket, Key="o")["ContentLength"] == 8
    # READ is not READ_ACP / WRITE_ACP
    denied(lambda: people.owner.get_object_acl(Bucket=prw_bucket, Key="o"))
    denied(lambda: people.owner.put_object_acl(Bucket=prw_bucket, Key="o", ACL="public-read"))
    denied(lambda: people.anon.get_object(Bucket=prw_bucket, Key="o"))
    acl = people.other.get_object_acl(Bucket=prw_bucket, Key="o")
    assert grants_of(acl) == expected_grants("bucket-owner-read", people.other_id, people.owner_id)


def test_bucket_owner_full_control(people: People, prw_bucket: str) -> None:
    people.other.put_object(
        Bucket=prw_bucket, Key="o", Body=b"controlled", ACL="bucket-owner-full-control"
    )
    assert people.owner.get_object(Bucket=prw_bucket, Key="o")["Body"].read() == b"controlled"
    acl = people.owner.get_object_acl(Bucket=prw_bucket, Key="o")
    assert acl["Owner"]["ID"] == people.other_id
    assert grants_of(acl) == expected_grants(
        "bucket-owner-full-control", people.other_id, people.owner_id
    )
    denied(lambda: people.anon.get_object(Bucket=prw_bucket, Key="o"))
    # the bucket owner may change the ACL; the object keeps its owner
    people.owner.put_object_acl(Bucket=prw_bucket, Key="o", ACL="public-read")
    assert people.anon.get_object(Bucket=prw_bucket, Key="o")["Body"].read() == b"controlled"
    acl = people.other.get_object_acl(Bucket=prw_bucket, Key="o")
    assert acl["Owner"]["ID"] == people.other_id
    assert grants_of(acl) == expected_grants("public-read", people.other_id)
    # ... which dropped the bucket owner's grant: READ only through AllUsers now
    assert people.owner.get_object(Bucket=prw_bucket, Key="o")["Body"].read() == b"controlled"
    denied(lambda: people.owner.get_object_acl(Bucket=prw_bucket, Key="o"))
    denied(lambda: people.owner.put_object_acl(Bucket=prw_bucket, Key="o", ACL="private"))
    people.other.put_object_acl(Bucket=prw_bucket, Key="o", ACL="private")
    denied(lambda: people.owner.get_object(Bucket=prw_bucket, Key="o"))


def test_other_user_overwrite_takes_ownership(people: People, prw_bucket: str) -> None:
    people.owner.put_object(Bucket=prw_bucket, Key="o", Body=b"owner's", ACL="public-read")
    people.other.put_object(Bucket=prw_bucket, Key="o", Body=b"other's")
    assert _owner_in_listing(people.owner, prw_bucket, "o")["ID"] == people.other_id
    denied(lambda: people.owner.get_object(Bucket=prw_bucket, Key="o"))
    denied(lambda: people.anon.get_object(Bucket=prw_bucket, Key="o"))
    assert people.other.get_object(Bucket=prw_bucket, Key="o")["Body"].read() == b"other's"


# -- authenticated-read --------------------------------------------------------------------


def test_authenticated_read_object(
    people: People,
    owner_bucket: str,
    make_user: MakeUser,
    client_for: ClientFor,
    server: ServerProcess,
) -> None:
    people.owner.put_object(Bucket=owner_bucket, Key="o", Body=b"members", ACL="authenticated-read")
    third = client_for(*make_user())
    for reader in (people.other, third, people.owner):
        assert reader.get_object(Bucket=owner_bucket, Key="o")["Body"].read() == b"members"
        assert reader.head_object(Bucket=owner_bucket, Key="o")["ContentLength"] == 7
    denied(lambda: people.anon.get_object(Bucket=owner_bucket, Key="o"))
    denied(lambda: people.anon.head_object(Bucket=owner_bucket, Key="o"))
    status, body = _curl(server, f"/{owner_bucket}/o")
    assert status == 403 and b"members" not in body
    # reading is not writing
    denied(lambda: people.other.put_object(Bucket=owner_bucket, Key="o", Body=b"x"))
    denied(lambda: people.other.get_object_acl(Bucket=owner_bucket, Key="o"))


def test_authenticated_read_bucket(people: People, new_bucket: Callable[..., str]) -> None:
    name = new_bucket(people.owner, "authenticated-read")
    people.owner.put_object(Bucket=name, Key="o", Body=b"x")
    keys = [o["Key"] for o in people.other.list_objects_v2(Bucket=name)["Contents"]]
    assert keys == ["o"]
    denied(lambda: people.anon.list_objects_v2(Bucket=name))
    # listing does not grant reading
    denied(lambda: people.other.get_object(Bucket=name, Key="o"))


# -- copy and multipart --------------------------------------------------------------------


def test_copy_does_not_copy_the_source_acl(people: People, owner_bucket: str) -> None:
    people.owner.put_object(Bucket=owner_bucket, Key="src", Body=b"public", ACL="public-read")
    people.owner.copy_object(
        Bucket=owner_bucket, Key="copy", CopySource={"Bucket": owner_bucket, "Key": "src"}
    )
    acl = people.owner.get_object_acl(Bucket=owner_bucket, Key="copy")
    assert grants_of(acl) == expected_grants("private", people.owner_id)
    denied(lambda: people.anon.get_object(Bucket=owner_bucket, Key="copy"))
    assert people.anon.get_object(Bucket=owner_bucket, Key="src")["Body"].read() == b"public"


def test_copy_onto_itself_replaces_the_acl(people: People, owner_bucket: str) -> None:
    people.owner.put_object(Bucket=owner_bucket, Key="o", Body=b"data", ACL="public-read")
    people.owner.copy_object(
        Bucket=owner_bucket,
        Key="o",
        CopySource={"Bucket": owner_bucket, "Key": "o"},
        MetadataDirective="REPLACE",
        Metadata={"m": "1"},
    )
    acl = people.owner.get_object_acl(Bucket=owner_bucket, Key="o")
    assert grants_of(acl) == expected_grants("private", people.owner_id)
    denied(lambda: people.anon.get_object(Bucket=owner_bucket, Key="o"))


@pytest.mark.parametrize("acl", ["public-read", "authenticated-read", "private"])
def test_copy_with_canned_acl(people: People, owner_bucket: str, acl: str) -> None:
    people.owner.put_object(Bucket=owner_bucket, Key="src", Body=b"payload")
    people.owner.copy_object(
        Bucket=owner_bucket,
        Key="copy",
        CopySource={"Bucket": owner_bucket, "Key": "src"},
        ACL=acl,
    )
    got = people.owner.get_object_acl(Bucket=owner_bucket, Key="copy")
    assert grants_of(got) == expected_grants(acl, people.owner_id)
    if acl == "public-read":
        assert people.anon.get_object(Bucket=owner_bucket, Key="copy")["Body"].read() == (
            b"payload"
        )
    else:
        denied(lambda: people.anon.get_object(Bucket=owner_bucket, Key="copy"))
    if acl == "private":
        denied(lambda: people.other.get_object(Bucket=owner_bucket, Key="copy"))
    else:
        assert people.other.get_object(Bucket=owner_bucket, Key="copy")["Body"].read() == (
            b"payload"
        )


def test_copy_by_another_user_is_owned_by_the_copier(
    people: People, owner_bucket: str, prw_bucket: str
) -> None:
    people.owner.put_object(Bucket=owner_bucket, Key="src", Body=b"shared", ACL="public-read")
    people.other.copy_object(
        Bucket=prw_bucket, Key="copy", CopySource={"Bucket": owner_bucket, "Key": "src"}
    )
    acl = people.other.get_object_acl(Bucket=prw_bucket, Key="copy")
    assert acl["Owner"]["ID"] == people.other_id
    assert grants_of(acl) == expected_grants("private", people.other_id)
    denied(lambda: people.owner.get_object(Bucket=prw_bucket, Key="copy"))


def _multipart(client: Any, bucket: str, key: str, parts: list[bytes], **kwargs: Any) -> None:
    upload = client.create_multipart_upload(Bucket=bucket, Key=key, **kwargs)["UploadId"]
    done = []
    for n, part in enumerate(parts, start=1):
        resp = client.upload_part(Bucket=bucket, Key=key, UploadId=upload, PartNumber=n, Body=part)
        done.append({"PartNumber": n, "ETag": resp["ETag"]})
    client.complete_multipart_upload(
        Bucket=bucket, Key=key, UploadId=upload, MultipartUpload={"Parts": done}
    )


def test_multipart_upload_with_public_read(
    people: People, owner_bucket: str, server: ServerProcess
) -> None:
    parts = [rand(5 * 1024 * 1024, seed=1), rand(1234, seed=2)]
    _multipart(people.owner, owner_bucket, "big", parts, ACL="public-read")
    acl = people.owner.get_object_acl(Bucket=owner_bucket, Key="big")
    assert grants_of(acl) == expected_grants("public-read", people.owner_id)
    resp = requests.get(f"{server.endpoint}/{owner_bucket}/big", verify=server.cert, timeout=60)
    assert resp.status_code == 200
    assert resp.content == b"".join(parts)
    assert people.anon.head_object(Bucket=owner_bucket, Key="big")["ContentLength"] == sum(
        map(len, parts)
    )


def test_multipart_upload_default_is_private(people: People, owner_bucket: str) -> None:
    _multipart(people.owner, owner_bucket, "mp", [b"small part"])
    acl = people.owner.get_object_acl(Bucket=owner_bucket, Key="mp")
    assert grants_of(acl) == expected_grants("private", people.owner_id)
    denied(lambda: people.anon.get_object(Bucket=owner_bucket, Key="mp"))


def test_multipart_by_another_user_is_owned_by_the_initiator(
    people: People, prw_bucket: str
) -> None:
    _multipart(people.other, prw_bucket, "mp", [b"theirs"], ACL="bucket-owner-read")
    acl = people.other.get_object_acl(Bucket=prw_bucket, Key="mp")
    assert acl["Owner"]["ID"] == people.other_id
    assert grants_of(acl) == expected_grants("bucket-owner-read", people.other_id, people.owner_id)
    assert people.owner.get_object(Bucket=prw_bucket, Key="mp")["Body"].read() == b"theirs"


def test_object_acl_of_missing_key(
    people: People, owner_bucket: str, new_bucket: Callable[..., str]
) -> None:
    with s3_error("NoSuchKey", 404):
        people.owner.get_object_acl(Bucket=owner_bucket, Key="nope")
    with s3_error("NoSuchKey", 404):
        people.owner.put_object_acl(Bucket=owner_bucket, Key="nope", ACL="public-read")
    # callers who may not list the bucket learn nothing
    with s3_error("AccessDenied", 403):
        people.other.get_object_acl(Bucket=owner_bucket, Key="nope")
    with s3_error("AccessDenied", 403):
        people.anon.put_object_acl(Bucket=owner_bucket, Key="nope", ACL="public-read")
    public = new_bucket(people.owner, "public-read")
    with s3_error("NoSuchKey", 404):
        people.anon.get_object_acl(Bucket=public, Key="nope")
    assert "Contents" not in people.owner.list_objects_v2(Bucket=owner_bucket)


def test_acl_of_missing_bucket(people: People, unique_name: UniqueName) -> None:
    name = unique_name("gone") + uuid.uuid4().hex[:4]
    with s3_error("NoSuchBucket", 404):
        people.owner.get_bucket_acl(Bucket=name)
    with s3_error("NoSuchBucket", 404):
        people.owner.put_bucket_acl(Bucket=name, ACL="private")
