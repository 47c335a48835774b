"""Bucket policies: AWS's JSON access policies on a bucket, parsed (parse.py), their
Condition operators (conditions.py) and their decision on a request (evaluate.py). Pure:
the handlers store the text (ops/bucket_policy.py), the permission check asks
``stored_policy(text)`` for the parsed form (ops/permissions.py)."""

from __future__ import annotations

import functools

from oortgate.bucket_policy.conditions import PolicyError
from oortgate.bucket_policy.evaluate import Decision, Request, decide, is_public
from oortgate.bucket_policy.parse import Policy, parse_policy

__all__ = ["Decision", "Policy", "PolicyError", "Request", "decide", "is_public",
           "parse_policy", "stored_policy"]  # fmt: skip


@functools.lru_cache(maxsize=256)  # parsed once per distinct policy, not once per request
def stored_policy(text: str, bucket: str) -> Policy:
    """A stored policy (checked when it was put, so it parses)."""
    return parse_policy(text.encode("utf-8"), bucket)
