"""ops/permissions.ACTION (each operation's name in a bucket policy) and the condition
keys ops/policy_gate.py reads off a request."""

from __future__ import annotations

from oortgate.bucket_policy.actions import ACTIONS
from oortgate.meta.models import User
from oortgate.ops.operations import Op
from oortgate.ops.permissions import ACTION, PERMISSION
from oortgate.ops.policy_gate import RequestFacts

ALICE = User(1, "alice", "a" * 64, 0.0)


def test_every_operation_has_an_action_and_each_is_aws_s() -> None:
    assert set(ACTION) == set(Op) == set(PERMISSION)
    for op, action in ACTION.items():
        assert action is None or action.lower() in ACTIONS, op
        assert ACTIONS[action.lower()][0] == action if action else True  # AWS's spelling


def test_policy_operations_are_the_owners_alone() -> None:
    for op in (Op.PutBucketPolicy, Op.GetBucketPolicy, Op.DeleteBucketPolicy,
               Op.GetBucketPolicyStatus):  # fmt: skip
        assert ACTION[op] is None and PERMISSION[op].bucket == "OWNER_ONLY"


def test_keys_of_a_signed_listing() -> None:
    headers = {"user-agent": "rclone/1", "referer": "https://example.com/"}
    query = {"list-type": "2", "prefix": "a/", "delimiter": "/", "max-keys": "10"}
    keys = RequestFacts(Op.ListObjectsV2, ALICE, headers, query, "192.0.2.1", True,
                        now=0.0).keys()  # fmt: skip
    assert keys == {
        "aws:securetransport": ("true",), "aws:currenttime": ("1970-01-01T00:00:00Z",),
        "aws:epochtime": ("0",), "aws:principaltype": ("User",),
        "aws:sourceip": ("192.0.2.1",), "aws:useragent": ("rclone/1",),
        "aws:referer": ("https://example.com/",), "aws:username": ("alice",),
        "aws:userid": ("a" * 64,), "aws:principalaccount": ("a" * 64,),
        "aws:principalarn": (f"arn:aws:iam::{'a' * 64}:user/alice",),
        "s3:prefix": ("a/",), "s3:delimiter": ("/",),
        "s3:max-keys": ("10",),
    }  # fmt: skip


def test_keys_of_an_anonymous_put() -> None:
    headers = {"x-amz-acl": "public-read", "x-amz-tagging": "Project=x&b=2",
               "x-amz-grant-read": 'id="c"'}  # fmt: skip
    keys = RequestFacts(Op.PutObject, None, headers, {"prefix": "p"}, "", False).keys()
    assert keys["aws:securetransport"] == ("false",)
    assert keys["aws:principaltype"] == ("Anonymous",)
    assert "aws:username" not in keys and "aws:sourceip" not in keys
    assert "s3:prefix" not in keys  # listings only
    assert keys["s3:x-amz-acl"] == ("public-read",)
    assert keys["s3:x-amz-grant-read"] == ('id="c"',)
    assert keys["s3:requestobjecttagkeys"] == ("Project", "b")
    assert keys["s3:requestobjecttag/project"] == ("x",)
