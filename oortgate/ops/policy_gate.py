"""The bucket policy's verdict on a request: the condition keys the request carries and
the resource it names, handed to oortgate.bucket_policy (pure) by Context.authorize.

Condition keys, as AWS fills them (a key a request does not carry is absent):
aws:SourceIp, aws:SecureTransport, aws:Referer, aws:UserAgent, aws:CurrentTime,
aws:EpochTime, aws:PrincipalType; aws:username, aws:userid and aws:PrincipalAccount (the
canonical id) and aws:PrincipalArn (arn:aws:iam::<canonical id>:user/<name>) for signed
requests; s3:prefix, s3:delimiter and s3:max-keys on listings; s3:x-amz-acl,
s3:x-amz-grant-*, s3:x-amz-copy-source, s3:x-amz-metadata-directive, s3:VersionId;
s3:RequestObjectTag/<key> and s3:RequestObjectTagKeys from ``x-amz-tagging``;
s3:ExistingObjectTag/<key> from the object's tags.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from oortgate import bucket_policy, tagging
from oortgate.bucket_controls import load_public_access_block
from oortgate.bucket_policy import Decision
from oortgate.bucket_policy.actions import ACTIONS, OBJECT
from oortgate.bucket_policy.parse import S3_ARN
from oortgate.errors import S3Error
from oortgate.meta.models import Bucket, ObjectRecord, User
from oortgate.ops.operations import Op

_LISTINGS = frozenset({Op.ListObjects, Op.ListObjectsV2, Op.ListObjectVersions})
_LIST_KEYS = ("prefix", "delimiter", "max-keys")
_HEADER_KEYS = ("x-amz-acl", "x-amz-copy-source", "x-amz-metadata-directive")


@dataclass(slots=True)
class RequestFacts:
    """What a policy's conditions may ask about the request (Context builds it)."""

    op: Op
    user: User | None
    headers: dict[str, str]
    query: dict[str, str]
    client: str  # the client's address (behind a trusted proxy: the forwarded one)
    https: bool
    now: float = field(default_factory=time.time)

    def keys(self) -> dict[str, tuple[str, ...]]:
        keys: dict[str, tuple[str, ...]] = {
            "aws:securetransport": ("true" if self.https else "false",),
            "aws:currenttime": (time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.now)),),
            "aws:epochtime": (str(int(self.now)),),
            "aws:principaltype": ("Anonymous" if self.user is None else "User",),
        }
        if self.client:
            keys["aws:sourceip"] = (self.client,)
        for header, key in (("referer", "aws:referer"), ("user-agent", "aws:useragent")):
            if header in self.headers:
                keys[key] = (self.headers[header],)
        if self.user is not None:
            name, account = self.user.name, self.user.canonical_id
            keys["aws:username"] = (name,)
            keys["aws:userid"] = (account,)
            keys["aws:principalaccount"] = (account,)  # each user is its own account
            keys["aws:principalarn"] = (f"arn:aws:iam::{account}:user/{name}",)
        if self.op in _LISTINGS:
            keys |= {f"s3:{q}": (self.query[q],) for q in _LIST_KEYS if q in self.query}
        for name, value in self.headers.items():
            if name in _HEADER_KEYS or name.startswith("x-amz-grant-"):
                keys[f"s3:{name}"] = (value,)
        if "versionId" in self.query:
            keys["s3:versionid"] = (self.query["versionId"],)
        self._request_tags(keys)
        return keys

    def _request_tags(self, keys: dict[str, tuple[str, ...]]) -> None:
        if "x-amz-tagging" not in self.headers:
            return
        try:
            tags = tagging.parse_header(self.headers["x-amz-tagging"])
        except S3Error:
            return  # refused by the handler, with its own error
        keys["s3:requestobjecttagkeys"] = tuple(tags)
        for key, value in tags.items():
            keys[f"s3:requestobjecttag/{key.lower()}"] = (value,)


def verdict(
    bucket: Bucket,
    action: str | None,
    key: str | None,
    facts: RequestFacts,
    record: ObjectRecord | None = None,
) -> Decision:
    """The bucket policy's decision on ``action`` (None: no policy decides the operation)
    on the bucket, or on its object ``key`` for object actions."""
    if bucket.policy is None or action is None:
        return Decision.NONE
    policy = bucket_policy.stored_policy(bucket.policy, bucket.name)
    resource = f"{S3_ARN}{bucket.name}"
    if ACTIONS[action.lower()][1] == OBJECT and key is not None:
        resource = f"{resource}/{key}"
    context = facts.keys()
    if record is not None:
        for name, value in record.tags.items():
            context[f"s3:existingobjecttag/{name.lower()}"] = (value,)
    user = facts.user
    owner = user is not None and user.id == bucket.owner_id
    restrict = load_public_access_block(bucket.public_access_block).RestrictPublicBuckets
    # RestrictPublicBuckets: a public policy grants nobody outside the owner's account
    # (here, anyone but the owner) anything; its Deny statements still hold.
    public_allows = owner or not restrict or not bucket_policy.is_public(policy)
    request = bucket_policy.Request(
        action, resource, None if user is None else user.canonical_id,
        None if user is None else user.name, context,
    )  # fmt: skip
    return bucket_policy.decide(policy, request, public_allows=public_allows)
