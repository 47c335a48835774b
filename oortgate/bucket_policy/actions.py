"""The S3 actions a bucket policy may name, and what each applies to: the bucket
(``arn:aws:s3:::bucket``) or its objects (``arn:aws:s3:::bucket/key``).

AWS refuses a policy naming an action it does not know ("Policy has invalid action") or
an action none of the statement's resources can be (e.g. s3:GetObject on the bucket ARN
alone). The list is AWS's, not only what this gateway serves: a policy written for AWS
(s3:GetObjectVersion, s3:PutLifecycleConfiguration...) is accepted and simply never
matches an operation that does not exist here.
"""

from __future__ import annotations

import functools
import re
from typing import Final

BUCKET: Final = "bucket"
OBJECT: Final = "object"

_BUCKET_ACTIONS = """
CreateBucket DeleteBucket ListBucket ListBucketVersions ListBucketMultipartUploads
GetBucketLocation GetBucketVersioning PutBucketVersioning GetBucketAcl PutBucketAcl
GetBucketCORS PutBucketCORS GetBucketTagging PutBucketTagging GetBucketPolicy
PutBucketPolicy DeleteBucketPolicy GetBucketPolicyStatus GetBucketOwnershipControls
PutBucketOwnershipControls GetBucketPublicAccessBlock PutBucketPublicAccessBlock
GetLifecycleConfiguration PutLifecycleConfiguration GetBucketLogging PutBucketLogging
GetBucketNotification PutBucketNotification GetBucketWebsite PutBucketWebsite
DeleteBucketWebsite GetEncryptionConfiguration PutEncryptionConfiguration
GetReplicationConfiguration PutReplicationConfiguration GetBucketObjectLockConfiguration
PutBucketObjectLockConfiguration GetAccelerateConfiguration PutAccelerateConfiguration
GetBucketRequestPayment PutBucketRequestPayment GetAnalyticsConfiguration
PutAnalyticsConfiguration GetInventoryConfiguration PutInventoryConfiguration
GetMetricsConfiguration PutMetricsConfiguration GetIntelligentTieringConfiguration
PutIntelligentTieringConfiguration ListBucketByTags
"""
_OBJECT_ACTIONS = """
GetObject GetObjectVersion PutObject DeleteObject DeleteObjectVersion GetObjectAcl
PutObjectAcl GetObjectVersionAcl PutObjectVersionAcl GetObjectTagging PutObjectTagging
DeleteObjectTagging GetObjectVersionTagging PutObjectVersionTagging
DeleteObjectVersionTagging GetObjectAttributes GetObjectVersionAttributes
AbortMultipartUpload ListMultipartUploadParts RestoreObject GetObjectRetention
PutObjectRetention GetObjectLegalHold PutObjectLegalHold BypassGovernanceRetention
GetObjectTorrent GetObjectVersionTorrent ReplicateObject ReplicateDelete ReplicateTags
ObjectOwnerOverrideToBucketOwner
"""

# "s3:action" in lower case -> (its spelling, what it applies to). Actions compare
# without regard to case, as AWS compares them.
ACTIONS: Final[dict[str, tuple[str, str]]] = {
    f"s3:{name.lower()}": (f"s3:{name}", kind)
    for kind, names in ((BUCKET, _BUCKET_ACTIONS), (OBJECT, _OBJECT_ACTIONS))
    for name in names.split()
}


@functools.lru_cache(maxsize=4096)
def glob(pattern: str, *, ignore_case: bool = False) -> re.Pattern[str]:
    """An IAM wildcard pattern (``*``: any run of characters, ``?``: any one) as a regex."""
    body = "".join(
        ".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern
    )
    return re.compile(body, re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def glob_match(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    if "*" not in pattern and "?" not in pattern:
        return pattern.lower() == value.lower() if ignore_case else pattern == value
    return glob(pattern, ignore_case=ignore_case).fullmatch(value) is not None


def expand(pattern: str) -> tuple[str, ...]:
    """The known actions an action pattern names (``*`` and ``s3:*``: all of them)."""
    lowered = pattern.lower()
    if lowered in ACTIONS:
        return (lowered,)
    return tuple(a for a in ACTIONS if glob_match(lowered, a))


def action_matches(pattern: str, action: str) -> bool:
    """Does an action pattern of a policy name ``action`` (e.g. "s3:GetObject")?"""
    return glob_match(pattern, action, ignore_case=True)
