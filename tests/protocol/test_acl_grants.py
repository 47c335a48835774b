"""Explicit ACL grants: by canonical user id and by group URI, in an AccessControlPolicy
body or in x-amz-grant-* headers; enforced for every permission, returned by GetXAcl, and
refused with AWS's errors when they name nobody (or an e-mail address)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests
from botocore import UNSIGNED
from botocore.exceptions import ClientError

from ._server import ServerProcess
from ._types import MakeBucket, RawFor, RunCli, S3Client
from ._util import s3_error

ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"
AUTH_USERS = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"
LOG_DELIVERY = "http://acs.amazonaws.com/groups/s3/LogDelivery"


class Team:
    """A bucket owner, a user it grants things to, and a third user it does not."""

    def __init__(self, make_user: Callable[..., Any], client_for: Callable[..., Any]) -> None:
        self.owner_keys, self.friend_keys = make_user(), make_user()
        self.owner = client_for(*self.owner_keys)
        self.friend = client_for(*self.friend_keys)
        self.stranger = client_for(*make_user())
        self.anon = client_for("anonymous", "anonymous", signature_version=UNSIGNED)

    @property
    def owner_id(self) -> str:
        return str(self.owner_keys.canonical_id)

    @property
    def friend_id(self) -> str:
        return str(self.friend_keys.canonical_id)


@pytest.fixture(scope="module")
def team(make_user: Callable[..., Any], client_for: Callable[..., Any]) -> Team:
    return Team(make_user, client_for)


@pytest.fixture
def box(team: Team, make_bucket: Callable[..., str]) -> str:
    """A private bucket of team.owner holding one private object "o"."""
    name = make_bucket(team.owner)
    team.owner.put_object(Bucket=name, Key="o", Body=b"secret")
    return name


def denied(fn: Callable[[], Any]) -> None:
    with pytest.raises(ClientError) as ei:
        fn()
    assert ei.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403, ei.value.response


def acp(owner_id: str, *grants: tuple[str, str, str]) -> dict[str, Any]:
    """An AccessControlPolicy: grants are (type, id or URI or e-mail, permission)."""
    key = {"CanonicalUser": "ID", "Group": "URI", "AmazonCustomerByEmail": "EmailAddress"}
    items = [{"Grantee": {"Type": t, key[t]: who}, "Permission": p} for t, who, p in grants]
    return {"Owner": {"ID": owner_id}, "Grants": items}


def listed(resp: dict[str, Any]) -> list[tuple[str, str, str]]:
    """The grants in the order the server listed them."""
    out = []
    for grant in resp["Grants"]:
        grantee = grant["Grantee"]
        who = grantee.get("ID") if grantee["Type"] == "CanonicalUser" else grantee.get("URI")
        out.append((grantee["Type"], str(who), grant["Permission"]))
    return out


# -- canonical user grants, one permission at a time ----------------------------------------


def test_object_read_grant_by_canonical_id(team: Team, box: str) -> None:
    denied(lambda: team.friend.get_object(Bucket=box, Key="o"))
    policy = acp(team.owner_id, ("CanonicalUser", team.friend_id, "READ"))
    team.owner.put_object_acl(Bucket=box, Key="o", AccessControlPolicy=policy)
    assert team.friend.get_object(Bucket=box, Key="o")["Body"].read() == b"secret"
    assert team.friend.head_object(Bucket=box, Key="o")["ContentLength"] == 6
    denied(lambda: team.stranger.get_object(Bucket=box, Key="o"))
    denied(lambda: team.anon.get_object(Bucket=box, Key="o"))
    # READ is not READ_ACP
    denied(lambda: team.friend.get_object_acl(Bucket=box, Key="o"))
    resp = team.owner.get_object_acl(Bucket=box, Key="o")
    assert resp["Owner"]["ID"] == team.owner_id
    assert listed(resp) == [("CanonicalUser", team.friend_id, "READ")]
    assert resp["Grants"][0]["Grantee"]["DisplayName"] == team.friend_keys.name


def test_object_acp_grants(team: Team, box: str) -> None:
    policy = acp(
        team.owner_id,
        ("CanonicalUser", team.owner_id, "FULL_CONTROL"),
        ("CanonicalUser", team.friend_id, "READ_ACP"),
    )
    team.owner.put_object_acl(Bucket=box, Key="o", AccessControlPolicy=policy)
    assert len(team.friend.get_object_acl(Bucket=box, Key="o")["Grants"]) == 2
    denied(lambda: team.friend.put_object_acl(Bucket=box, Key="o", ACL="public-read"))
    denied(lambda: team.friend.get_object(Bucket=box, Key="o"))
    team.owner.put_object_acl(Bucket=box, Key="o", GrantWriteACP=f"id={team.friend_id}")
    denied(lambda: team.friend.get_object_acl(Bucket=box, Key="o"))
    # WRITE_ACP lets the friend rewrite the ACL, naming the object's owner as its owner
    friend_reads = acp(team.owner_id, ("CanonicalUser", team.friend_id, "READ"))
    team.friend.put_object_acl(Bucket=box, Key="o", AccessControlPolicy=friend_reads)
    assert team.friend.get_object(Bucket=box, Key="o")["Body"].read() == b"secret"
    assert team.owner.get_object_acl(Bucket=box, Key="o")["Owner"]["ID"] == team.owner_id


def test_full_control_grant_header(team: Team, box: str) -> None:
    upper = team.friend_id.upper()  # canonical ids are hex, in either case
    team.owner.put_object_acl(Bucket=box, Key="o", GrantFullControl=f'id="{upper}"')
    assert team.friend.get_object(Bucket=box, Key="o")["Body"].read() == b"secret"
    assert listed(team.friend.get_object_acl(Bucket=box, Key="o")) == [
        ("CanonicalUser", team.friend_id, "FULL_CONTROL")
    ]
    team.friend.put_object_acl(Bucket=box, Key="o", ACL="public-read")
    assert team.anon.get_object(Bucket=box, Key="o")["Body"].read() == b"secret"


def test_bucket_grants_by_canonical_id(team: Team, box: str) -> None:
    denied(lambda: team.friend.list_objects_v2(Bucket=box))
    team.owner.put_bucket_acl(Bucket=box, GrantRead=f"id={team.friend_id}")
    assert team.friend.list_objects_v2(Bucket=box)["KeyCount"] == 1
    denied(lambda: team.friend.put_object(Bucket=box, Key="new", Body=b"x"))
    denied(lambda: team.stranger.list_objects_v2(Bucket=box))
    team.owner.put_bucket_acl(
        Bucket=box, GrantWrite=f"id={team.friend_id}", GrantReadACP=f"id={team.friend_id}"
    )
    team.friend.put_object(Bucket=box, Key="new", Body=b"x")
    denied(lambda: team.friend.list_objects_v2(Bucket=box))
    grants = listed(team.friend.get_bucket_acl(Bucket=box))
    assert grants == [
        ("CanonicalUser", team.friend_id, "WRITE"),
        ("CanonicalUser", team.friend_id, "READ_ACP"),
    ]
    denied(lambda: team.friend.put_bucket_acl(Bucket=box, ACL="public-read"))
    team.owner.put_bucket_acl(Bucket=box, GrantWriteACP=f"id={team.friend_id}")
    team.friend.put_bucket_acl(Bucket=box, ACL="public-read")
    assert team.anon.list_objects_v2(Bucket=box)["KeyCount"] == 2


# -- group grants ---------------------------------------------------------------------------


def test_all_users_read_lets_anonymous_read(team: Team, box: str, server: ServerProcess) -> None:
    url = f"{server.endpoint}/{box}/o"
    assert requests.get(url, verify=server.cert, timeout=30).status_code == 403
    policy = acp(team.owner_id, ("Group", ALL_USERS, "READ"))  # no canned ACL's grants
    team.owner.put_object_acl(Bucket=box, Key="o", AccessControlPolicy=policy)
    resp = requests.get(url, verify=server.cert, timeout=30)  # no signature at all
    assert resp.status_code == 200 and resp.content == b"secret"


def test_authenticated_users_and_log_delivery(team: Team, box: str) -> None:
    policy = acp(team.owner_id, ("Group", AUTH_USERS, "READ"), ("Group", LOG_DELIVERY, "WRITE"))
    team.owner.put_object_acl(Bucket=box, Key="o", AccessControlPolicy=policy)
    assert team.stranger.get_object(Bucket=box, Key="o")["Body"].read() == b"secret"
    denied(lambda: team.anon.get_object(Bucket=box, Key="o"))
    assert listed(team.owner.get_object_acl(Bucket=box, Key="o")) == [
        ("Group", AUTH_USERS, "READ"),
        ("Group", LOG_DELIVERY, "WRITE"),
    ]


def test_grant_headers_on_put_object_and_the_raw_document(
    team: Team, box: str, server: ServerProcess
) -> None:
    team.owner.put_object(
        Bucket=box,
        Key="g",
        Body=b"shared",
        GrantRead=f'id="{team.friend_id}", uri="{AUTH_USERS}"',
        GrantFullControl=f"id={team.owner_id}",
    )
    assert team.friend.get_object(Bucket=box, Key="g")["Body"].read() == b"shared"
    assert team.stranger.get_object(Bucket=box, Key="g")["Body"].read() == b"shared"
    denied(lambda: team.anon.get_object(Bucket=box, Key="g"))
    url = team.owner.generate_presigned_url("get_object_acl", Params={"Bucket": box, "Key": "g"})
    root = ET.fromstring(requests.get(url, verify=server.cert, timeout=30).content)
    ns = "{http://s3.amazonaws.com/doc/2006-03-01/}"
    xsi = "{http://www.w3.org/2001/XMLSchema-instance}type"
    grants = root.findall(f"{ns}AccessControlList/{ns}Grant")
    shown = [(g.findall(f"{ns}Grantee")[0].get(xsi), g.findtext(f"{ns}Permission")) for g in grants]
    assert shown == [
        ("CanonicalUser", "READ"),
        ("Group", "READ"),
        ("CanonicalUser", "FULL_CONTROL"),
    ]


# -- refusals -------------------------------------------------------------------------------


def test_unknown_canonical_id_is_invalid(team: Team, box: str) -> None:
    nobody = "f" * 64
    with s3_error("InvalidArgument", 400):
        team.owner.put_object_acl(
            Bucket=box,
            Key="o",
            AccessControlPolicy=acp(team.owner_id, ("CanonicalUser", nobody, "READ")),
        )
    with s3_error("InvalidArgument", 400):
        team.owner.put_object(Bucket=box, Key="n", Body=b"x", GrantRead=f"id={nobody}")
    with s3_error("InvalidArgument", 400):
        team.owner.put_bucket_acl(Bucket=box, GrantRead=f"id={nobody}")
    assert team.owner.list_objects_v2(Bucket=box)["KeyCount"] == 1


def test_email_grantee_is_unresolvable(team: Team, box: str) -> None:
    with s3_error("UnresolvableGrantByEmailAddress", 400):
        team.owner.put_object_acl(
            Bucket=box,
            Key="o",
            AccessControlPolicy=acp(
                team.owner_id, ("AmazonCustomerByEmail", "a@b.example", "READ")
            ),
        )
    with s3_error("UnresolvableGrantByEmailAddress", 400):
        team.owner.put_bucket_acl(Bucket=box, GrantRead='emailAddress="a@b.example"')


@pytest.mark.parametrize("value", ["everyone", 'uri="http://example.com/group"', "id=", "id=a;b"])
def test_bad_grant_header_is_invalid(team: Team, box: str, value: str) -> None:
    with s3_error("InvalidArgument", 400):
        team.owner.put_object(Bucket=box, Key="n", Body=b"x", GrantRead=value)
    assert team.owner.list_objects_v2(Bucket=box)["KeyCount"] == 1


def test_canned_acl_and_grant_headers_together(team: Team, box: str) -> None:
    call: Callable[[], object]
    for call in (
        lambda: team.owner.put_object(
            Bucket=box, Key="n", Body=b"x", ACL="private", GrantRead=f"uri={ALL_USERS}"
        ),
        lambda: team.owner.put_object_acl(
            Bucket=box, Key="o", ACL="private", GrantRead=f"uri={ALL_USERS}"
        ),
        lambda: team.owner.create_multipart_upload(
            Bucket=box, Key="n", ACL="public-read", GrantRead=f"uri={ALL_USERS}"
        ),
    ):
        with s3_error("InvalidRequest", 400) as ei:
            call()
        assert "Canned ACLs and Header Grants" in ei.value.response["Error"]["Message"]
    assert team.owner.list_objects_v2(Bucket=box)["KeyCount"] == 1
    denied(lambda: team.anon.get_object(Bucket=box, Key="o"))


def test_acl_body_must_name_the_owner(team: Team, box: str) -> None:
    # the friend may write the ACL, but not give the object to itself
    team.owner.put_object_acl(Bucket=box, Key="o", GrantWriteACP=f"id={team.friend_id}")
    giveaway = acp(team.friend_id, ("CanonicalUser", team.friend_id, "FULL_CONTROL"))
    with s3_error("AccessDenied", 403):
        team.friend.put_object_acl(Bucket=box, Key="o", AccessControlPolicy=giveaway)
    with s3_error("AccessDenied", 403):
        team.owner.put_bucket_acl(Bucket=box, AccessControlPolicy=giveaway)
    assert team.owner.get_object_acl(Bucket=box, Key="o")["Owner"]["ID"] == team.owner_id


def test_acl_body_without_owner_is_malformed(team: Team, box: str, raw_for: RawFor) -> None:
    raw = raw_for(*team.owner_keys)
    body = (
        '<AccessControlPolicy xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><AccessControlList>'
        '<Grant><Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        f'xsi:type="Group"><URI>{ALL_USERS}</URI></Grantee><Permission>READ</Permission></Grant>'
        "</AccessControlList></AccessControlPolicy>"
    ).encode()
    resp = raw.request("PUT", box, "o", query={"acl": ""}, body=body)
    assert resp.status_code == 400 and b"MalformedACLError" in resp.content, resp.text
    bad = body.replace(b"<Permission>READ<", b"<Permission>EVERYTHING<")
    resp = raw.request("PUT", box, query={"acl": ""}, body=bad)
    assert resp.status_code == 400 and b"MalformedACLError" in resp.content, resp.text


# -- the canned ACLs' grants, in AWS's order -------------------------------------------------


CANNED_ORDER = {
    "private": [("owner", "FULL_CONTROL")],
    "public-read": [("owner", "FULL_CONTROL"), (ALL_USERS, "READ")],
    "public-read-write": [("owner", "FULL_CONTROL"), (ALL_USERS, "READ"), (ALL_USERS, "WRITE")],
    "authenticated-read": [("owner", "FULL_CONTROL"), (AUTH_USERS, "READ")],
    "bucket-owner-read": [("owner", "FULL_CONTROL"), ("bucket-owner", "READ")],
    "bucket-owner-full-control": [("owner", "FULL_CONTROL"), ("bucket-owner", "FULL_CONTROL")],
}


def test_canned_acl_grant_order(team: Team, make_bucket: MakeBucket) -> None:
    """Objects the friend wrote in the owner's public-read-write bucket list the object
    owner first; on the bucket itself the bucket-owner-* grants collapse into the owner's."""
    name = make_bucket(team.owner)
    ids = {"owner": team.friend_id, "bucket-owner": team.owner_id}
    for acl, order in CANNED_ORDER.items():
        team.owner.put_bucket_acl(Bucket=name, ACL="public-read-write")
        team.friend.put_object(Bucket=name, Key=acl, Body=b"x", ACL=acl)
        expected = [("CanonicalUser", ids[g], p) if g in ids else ("Group", g, p) for g, p in order]
        assert listed(team.friend.get_object_acl(Bucket=name, Key=acl)) == expected, acl
        team.owner.put_bucket_acl(Bucket=name, ACL=acl)
        groups = [("Group", g, p) for g, p in order if g not in ids]
        on_bucket = [("CanonicalUser", team.owner_id, "FULL_CONTROL"), *groups]
        assert listed(team.owner.get_bucket_acl(Bucket=name)) == on_bucket, acl


def test_aws_cli_grants(
    aws: RunCli, s3: S3Client, bucket: str, server: ServerProcess, tmp_path: Path
) -> None:
    src = tmp_path / "shared.txt"
    src.write_bytes(b"from the cli")
    aws("s3", "cp", str(src), f"s3://{bucket}/cli.txt", "--grants", f"read=uri={ALL_USERS}")
    resp = requests.get(f"{server.endpoint}/{bucket}/cli.txt", verify=server.cert, timeout=30)
    assert resp.status_code == 200 and resp.content == b"from the cli"
    aws("s3api", "put-object-acl", "--bucket", bucket, "--key", "cli.txt", "--grant-read",
        f'uri="{AUTH_USERS}"')  # fmt: skip
    assert listed(s3.get_object_acl(Bucket=bucket, Key="cli.txt")) == [
        ("Group", AUTH_USERS, "READ")
    ]
