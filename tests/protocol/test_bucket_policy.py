"""Bucket policies (?policy, ?policyStatus) with boto3 and a plain HTTP client.

A policy is asked before the ACLs: an explicit Deny refuses whatever they grant, an
Allow grants what they do not. The owner alone manages the policy, and always may.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests

from ._server import ServerProcess
from ._types import ClientFor, MakeBucket, MakeUser, RunCli
from ._util import s3_error


class Users:
    def __init__(self, make_user: MakeUser, client_for: ClientFor) -> None:
        self.owner_keys, self.other_keys = make_user(), make_user()
        self.owner = client_for(*self.owner_keys)
        self.other = client_for(*self.other_keys)


@pytest.fixture(scope="module")
def users(make_user: MakeUser, client_for: ClientFor) -> Users:
    return Users(make_user, client_for)


@pytest.fixture
def bkt(users: Users, make_bucket: MakeBucket) -> str:
    return make_bucket(users.owner)


def policy(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def public_read(bucket: str, prefix: str = "", **fields: Any) -> dict[str, Any]:
    return {"Sid": "PublicRead", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
            "Resource": f"arn:aws:s3:::{bucket}/{prefix}*", **fields}  # fmt: skip


def denied(fn: Callable[[], Any]) -> None:
    with s3_error("AccessDenied", 403):
        fn()


def anonymous_get(server: ServerProcess, bucket: str, key: str, **headers: str) -> Any:
    """A plain GET, no signature: what a browser does with a permanent link."""
    return requests.get(f"{server.endpoint}/{bucket}/{key}", headers=headers,
                        verify=server.cert, timeout=30)  # fmt: skip


def test_put_get_status_delete(users: Users, bkt: str) -> None:
    s3 = users.owner
    with s3_error("NoSuchBucketPolicy", 404):
        s3.get_bucket_policy(Bucket=bkt)
    with s3_error("NoSuchBucketPolicy", 404):
        s3.get_bucket_policy_status(Bucket=bkt)
    text = policy(public_read(bkt))
    s3.put_bucket_policy(Bucket=bkt, Policy=text)
    assert s3.get_bucket_policy(Bucket=bkt)["Policy"] == text
    assert s3.get_bucket_policy_status(Bucket=bkt)["PolicyStatus"] == {"IsPublic": True}
    only_other = {**public_read(bkt), "Principal": {"CanonicalUser": users.other_keys.canonical_id}}
    s3.put_bucket_policy(Bucket=bkt, Policy=policy(only_other), ConfirmRemoveSelfBucketAccess=True)
    assert s3.get_bucket_policy_status(Bucket=bkt)["PolicyStatus"] == {"IsPublic": False}
    s3.delete_bucket_policy(Bucket=bkt)
    with s3_error("NoSuchBucketPolicy", 404):
        s3.get_bucket_policy(Bucket=bkt)


@pytest.mark.parametrize(("text", "message"), [
    ("nope", "Policies must be valid JSON and the first byte must be '{'"),
    ('{"Statement": [', "This policy contains invalid Json"),
    ('{"Version": "2012-10-17", "Statement": []}',
     "Could not parse the policy: Statement is empty!"),
])  # fmt: skip
def test_malformed_policy(users: Users, bkt: str, text: str, message: str) -> None:
    with s3_error("MalformedPolicy", 400) as info:
        users.owner.put_bucket_policy(Bucket=bkt, Policy=text)
    assert info.value.response["Error"]["Message"] == message


def test_malformed_statements(users: Users, bkt: str) -> None:
    cases = [
        ({**public_read(bkt), "Resource": "arn:aws:s3:::someone-else/*"},
         "Policy has invalid resource"),
        ({**public_read(bkt), "Principal": {"AWS": "arn:aws:iam::123456789012:root"}},
         "Invalid principal in policy"),
        ({**public_read(bkt), "Action": "s3:GetObjekt"}, "Policy has invalid action"),
        ({**public_read(bkt), "Resource": f"arn:aws:s3:::{bkt}"},
         "Action does not apply to any resource(s) in statement"),
    ]  # fmt: skip
    for statement, message in cases:
        with s3_error("MalformedPolicy", 400) as info:
            users.owner.put_bucket_policy(Bucket=bkt, Policy=policy(statement))
        assert info.value.response["Error"]["Message"] == message
    with s3_error("NoSuchBucketPolicy", 404):
        users.owner.get_bucket_policy(Bucket=bkt)


def test_only_the_owner_manages_the_policy(users: Users, bkt: str) -> None:
    everything = {"Effect": "Allow", "Principal": "*", "Action": "s3:*",
                  "Resource": [f"arn:aws:s3:::{bkt}", f"arn:aws:s3:::{bkt}/*"]}  # fmt: skip
    users.owner.put_bucket_policy(Bucket=bkt, Policy=policy(everything))
    denied(lambda: users.other.get_bucket_policy(Bucket=bkt))
    denied(lambda: users.other.put_bucket_policy(Bucket=bkt, Policy=policy(public_read(bkt))))
    denied(lambda: users.other.delete_bucket_policy(Bucket=bkt))
    denied(lambda: users.other.get_bucket_policy_status(Bucket=bkt))
    # ... though the policy lets them at the bucket's objects.
    users.other.put_object(Bucket=bkt, Key="by-other", Body=b"x")


def test_a_lockout_policy_is_stored_and_the_owner_can_remove_it(users: Users, bkt: str) -> None:
    lockout = {"Effect": "Deny", "Principal": "*", "Action": "s3:*",
               "Resource": [f"arn:aws:s3:::{bkt}", f"arn:aws:s3:::{bkt}/*"]}  # fmt: skip
    users.owner.put_bucket_policy(Bucket=bkt, Policy=policy(lockout))
    denied(lambda: users.owner.put_object(Bucket=bkt, Key="k", Body=b"x"))
    denied(lambda: users.owner.list_objects_v2(Bucket=bkt))
    assert json.loads(users.owner.get_bucket_policy(Bucket=bkt)["Policy"]) == json.loads(
        policy(lockout)
    )
    users.owner.delete_bucket_policy(Bucket=bkt)
    users.owner.put_object(Bucket=bkt, Key="k", Body=b"x")


def test_anonymous_link_through_a_public_read_policy(users: Users, bkt: str,
                                                     server: ServerProcess) -> None:  # fmt: skip
    users.owner.put_object(Bucket=bkt, Key="site/index.html", Body=b"<h1>hi</h1>",
                           ContentType="text/html")  # fmt: skip
    users.owner.put_object(Bucket=bkt, Key="private/notes", Body=b"secret")
    assert anonymous_get(server, bkt, "site/index.html").status_code == 403
    users.owner.put_bucket_policy(Bucket=bkt, Policy=policy(public_read(bkt, "site/")))
    page = anonymous_get(server, bkt, "site/index.html")
    assert (page.status_code, page.content) == (200, b"<h1>hi</h1>")
    assert page.headers["Content-Type"] == "text/html"
    assert anonymous_get(server, bkt, "private/notes").status_code == 403
    listing = requests.get(f"{server.endpoint}/{bkt}", verify=server.cert, timeout=30)
    assert listing.status_code == 403  # s3:GetObject only: no listing


def test_a_deny_overrides_an_acl_grant(users: Users, bkt: str, server: ServerProcess) -> None:
    for key in ("open/a", "closed/a"):
        users.owner.put_object(Bucket=bkt, Key=key, Body=b"x", ACL="public-read")
    assert anonymous_get(server, bkt, "closed/a").status_code == 200
    deny = {"Effect": "Deny", "Principal": "*", "Action": "s3:GetObject",
            "Resource": f"arn:aws:s3:::{bkt}/closed/*"}  # fmt: skip
    users.owner.put_bucket_policy(Bucket=bkt, Policy=policy(deny))
    assert anonymous_get(server, bkt, "open/a").status_code == 200
    reply = anonymous_get(server, bkt, "closed/a")
    assert reply.status_code == 403 and b"<Code>AccessDenied</Code>" in reply.content
    denied(lambda: users.other.get_object(Bucket=bkt, Key="closed/a"))


def test_another_user_on_a_prefix(users: Users, bkt: str) -> None:
    other = users.other_keys
    statements = [
        {"Sid": "ObjectsUnderShared", "Effect": "Allow",
         "Principal": {"AWS": f"arn:aws:iam:::user/{other.name}"},
         "Action": ["s3:GetObject", "s3:PutObject"], "Resource": f"arn:aws:s3:::{bkt}/shared/*"},
        {"Sid": "ListShared", "Effect": "Allow", "Principal": {"CanonicalUser": other.canonical_id},
         "Action": "s3:ListBucket", "Resource": f"arn:aws:s3:::{bkt}",
         "Condition": {"StringLike": {"s3:prefix": ["shared/", "shared/*"]}}},
    ]  # fmt: skip
    users.owner.put_bucket_policy(Bucket=bkt, Policy=policy(*statements))
    users.other.put_object(Bucket=bkt, Key="shared/report.csv", Body=b"1,2")
    assert users.other.get_object(Bucket=bkt, Key="shared/report.csv")["Body"].read() == b"1,2"
    listed = users.other.list_objects_v2(Bucket=bkt, Prefix="shared/")
    assert [o["Key"] for o in listed["Contents"]] == ["shared/report.csv"]
    denied(lambda: users.other.list_objects_v2(Bucket=bkt))
    denied(lambda: users.other.list_objects_v2(Bucket=bkt, Prefix="private/"))
    denied(lambda: users.other.put_object(Bucket=bkt, Key="private/x", Body=b"x"))
    # A missing key is NoSuchKey only to who may list the bucket: s3:ListBucket with no
    # prefix at all is not granted here, so the caller learns nothing (as on AWS).
    denied(lambda: users.other.get_object(Bucket=bkt, Key="shared/missing"))


def test_secure_transport_and_source_ip(users: Users, bkt: str, server: ServerProcess) -> None:
    users.owner.put_object(Bucket=bkt, Key="k", Body=b"x")
    https_only = public_read(bkt, Condition={"Bool": {"aws:SecureTransport": "true"}})
    users.owner.put_bucket_policy(Bucket=bkt, Policy=policy(https_only))
    assert anonymous_get(server, bkt, "k").status_code == 200  # the client's TLS counts
    not_here = public_read(bkt, Condition={"IpAddress": {"aws:SourceIp": "192.0.2.0/24"}})
    users.owner.put_bucket_policy(Bucket=bkt, Policy=policy(not_here))
    assert anonymous_get(server, bkt, "k").status_code == 403
    assert users.owner.get_bucket_policy_status(Bucket=bkt)["PolicyStatus"]["IsPublic"] is False
    here = public_read(bkt, Condition={"IpAddress": {"aws:SourceIp": ["127.0.0.0/8", "::1/128"]}})
    users.owner.put_bucket_policy(Bucket=bkt, Policy=policy(here))
    assert anonymous_get(server, bkt, "k").status_code == 200
    deny_plain = {"Effect": "Deny", "Principal": "*", "Action": "s3:*",
                  "Resource": [f"arn:aws:s3:::{bkt}", f"arn:aws:s3:::{bkt}/*"],
                  "Condition": {"Bool": {"aws:SecureTransport": "false"}}}  # fmt: skip
    users.owner.put_bucket_policy(Bucket=bkt, Policy=policy(deny_plain))
    assert users.owner.get_object(Bucket=bkt, Key="k")["Body"].read() == b"x"


def test_block_public_policy(users: Users, bkt: str, server: ServerProcess) -> None:
    users.owner.put_object(Bucket=bkt, Key="k", Body=b"x")
    users.owner.put_bucket_policy(Bucket=bkt, Policy=policy(public_read(bkt)))
    block = {"BlockPublicAcls": False, "IgnorePublicAcls": False, "BlockPublicPolicy": True,
             "RestrictPublicBuckets": False}  # fmt: skip
    users.owner.put_public_access_block(Bucket=bkt, PublicAccessBlockConfiguration=block)
    assert anonymous_get(server, bkt, "k").status_code == 200  # an existing policy stays
    denied(lambda: users.owner.put_bucket_policy(Bucket=bkt, Policy=policy(public_read(bkt))))
    named = {**public_read(bkt), "Principal": {"CanonicalUser": users.other_keys.canonical_id}}
    users.owner.put_bucket_policy(Bucket=bkt, Policy=policy(named))  # not public: accepted
    assert anonymous_get(server, bkt, "k").status_code == 403
    users.other.get_object(Bucket=bkt, Key="k")


def test_restrict_public_buckets(users: Users, bkt: str, server: ServerProcess) -> None:
    users.owner.put_object(Bucket=bkt, Key="k", Body=b"x")
    users.owner.put_bucket_policy(Bucket=bkt, Policy=policy(public_read(bkt)))
    block = {"RestrictPublicBuckets": True}
    users.owner.put_public_access_block(Bucket=bkt, PublicAccessBlockConfiguration=block)
    assert anonymous_get(server, bkt, "k").status_code == 403
    denied(lambda: users.other.get_object(Bucket=bkt, Key="k"))
    assert users.owner.get_object(Bucket=bkt, Key="k")["Body"].read() == b"x"
    users.owner.delete_public_access_block(Bucket=bkt)
    assert anonymous_get(server, bkt, "k").status_code == 200


def test_a_missing_bucket(users: Users, bkt: str) -> None:
    with s3_error("NoSuchBucket", 404):
        users.owner.get_bucket_policy(Bucket=bkt + "-missing")
    with s3_error("NoSuchBucket", 404):
        users.owner.put_bucket_policy(Bucket=bkt + "-missing", Policy=policy(public_read(bkt)))


def test_the_aws_cli_publishes_a_prefix(aws: RunCli, bucket: str, server: ServerProcess,
                                        tmp_path: Path) -> None:  # fmt: skip
    """What the README documents: one policy file, one command, permanent links."""
    page = tmp_path / "index.html"
    page.write_text("<p>public</p>")
    aws("s3", "cp", str(page), f"s3://{bucket}/public/index.html")
    document = tmp_path / "policy.json"
    document.write_text(policy(public_read(bucket, "public/")))
    aws("s3api", "put-bucket-policy", "--bucket", bucket, "--policy", f"file://{document}")
    status = aws("s3api", "get-bucket-policy-status", "--bucket", bucket).stdout
    assert json.loads(status) == {"PolicyStatus": {"IsPublic": True}}
    link = anonymous_get(server, bucket, "public/index.html")
    assert (link.status_code, link.text) == (200, "<p>public</p>")
    aws("s3api", "delete-bucket-policy", "--bucket", bucket)
    missing = aws("s3api", "get-bucket-policy", "--bucket", bucket, check=False)
    assert missing.returncode != 0 and "NoSuchBucketPolicy" in missing.stderr
    assert anonymous_get(server, bucket, "public/index.html").status_code == 403
