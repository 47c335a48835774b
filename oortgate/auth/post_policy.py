"""Browser-based uploads (POST Object): the policy document and its signatures. Pure.

A form carries a base64 JSON policy (expiration + conditions) signed with the uploader's
key (SigV4: hex HMAC-SHA256 with the day's signing key; SigV2: base64 HMAC-SHA1). The
server checks the signature, the expiration, and every form field against the conditions.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from oortgate.auth import sigv4
from oortgate.errors import S3Error

# Fields that need no condition (AWS: the signature, the file, the policy itself and
# x-ignore-*; the SigV2 credential fields are never in boto3's conditions either).
UNCONDITIONED = frozenset({"x-amz-signature", "signature", "file", "policy", "awsaccesskeyid"})


def _denied(reason: str) -> S3Error:
    return S3Error("AccessDenied", f"Invalid according to Policy: {reason}")


@dataclass(frozen=True, slots=True)
class PostPolicy:
    expiration: datetime
    conditions: list[Any]

    @classmethod
    def parse(cls, encoded: str) -> PostPolicy:
        try:
            doc = json.loads(base64.b64decode(encoded, validate=True))
            expiration = datetime.fromisoformat(doc["expiration"].replace("Z", "+00:00"))
            conditions = doc.get("conditions", [])
            if not isinstance(conditions, list):
                raise ValueError("conditions must be a list")
        # RecursionError: arrays nested thousands deep (a 64 KiB field holds 48,000).
        except (binascii.Error, ValueError, KeyError, TypeError, AttributeError,
                RecursionError) as exc:  # fmt: skip
            raise S3Error("InvalidPolicyDocument", "Invalid Policy: Invalid JSON.") from exc
        if expiration.tzinfo is None:
            expiration = expiration.replace(tzinfo=UTC)
        return cls(expiration, conditions)

    def content_length_range(self) -> tuple[int, int] | None:
        for condition in self.conditions:
            if isinstance(condition, list) and condition and condition[0] == "content-length-range":
                try:
                    return int(condition[1]), int(condition[2])
                except (IndexError, TypeError, ValueError, OverflowError) as exc:  # Infinity
                    message = "Invalid Policy: Invalid content-length-range."
                    raise S3Error("InvalidPolicyDocument", message) from exc
        return None

    def check(self, fields: dict[str, str], bucket: str, now: datetime) -> None:
        """Every condition holds and every field is covered by one; else AccessDenied
        with AWS's reason. ``fields`` has lowercase names; ``bucket`` joins them."""
        if now > self.expiration:
            raise _denied("Policy expired.")
        values = {**fields, "bucket": bucket}
        covered = {"bucket"}
        for condition in self.conditions:
            name = self._check_one(condition, values)
            if name is not None:
                covered.add(name)
        extra = sorted(n for n in fields if n not in covered and n not in UNCONDITIONED
                       and not n.startswith("x-ignore-"))  # fmt: skip
        if extra:
            raise _denied(f"Extra input fields: {', '.join(extra)}")

    @staticmethod
    def _check_one(condition: Any, values: dict[str, str]) -> str | None:
        """Check one condition; returns the field name it covers."""
        if isinstance(condition, dict) and len(condition) == 1:
            ((name, expected),) = condition.items()
            op, name = "eq", str(name).lower()
        elif isinstance(condition, list) and len(condition) == 3 and isinstance(condition[0], str):
            op = condition[0].lower()
            if op == "content-length-range":
                return None
            name, expected = str(condition[1]).lower().removeprefix("$"), condition[2]
        else:
            raise S3Error(
                "InvalidPolicyDocument", f"Invalid Policy: Invalid condition {condition!r}"
            )
        actual = values.get(name, "")
        ok = actual == str(expected) if op == "eq" else (
            op == "starts-with" and _starts_with(name, actual, str(expected)))  # fmt: skip
        if not ok:
            raise _denied(f'Policy Condition failed: ["{op}", "${name}", "{expected}"]')
        return name


def _starts_with(name: str, actual: str, prefix: str) -> bool:
    # Content-Type may list several values; each must match (AWS).
    if name == "content-type" and "," in actual:
        return all(v.strip().startswith(prefix) for v in actual.split(","))
    return actual.startswith(prefix)


@dataclass(frozen=True, slots=True)
class FormCredentials:
    access_key: str
    signature: str
    sigv4_scope: tuple[str, str, str] | None  # (date, region, service) for SigV4


def form_credentials(fields: dict[str, str]) -> FormCredentials | None:
    """The credentials a form carries, or None for an anonymous form."""
    if "x-amz-signature" in fields or "x-amz-credential" in fields:
        if fields.get("x-amz-algorithm") != sigv4.ALGORITHM:
            raise S3Error("InvalidArgument", "POST requires the x-amz-algorithm field to be "
                          "AWS4-HMAC-SHA256")  # fmt: skip
        parts = fields.get("x-amz-credential", "").split("/")
        if len(parts) != 5 or parts[4] != "aws4_request" or "x-amz-signature" not in fields:
            raise S3Error("InvalidArgument", "POST requires valid x-amz-credential and "
                          "x-amz-signature fields")  # fmt: skip
        return FormCredentials(parts[0], fields["x-amz-signature"], (parts[1], parts[2], parts[3]))
    if "awsaccesskeyid" in fields or "signature" in fields:
        if "awsaccesskeyid" not in fields or "signature" not in fields:
            raise S3Error("InvalidArgument", "POST requires AWSAccessKeyId and signature")
        return FormCredentials(fields["awsaccesskeyid"], fields["signature"], None)
    return None


def verify_signature(creds: FormCredentials, policy_b64: str, secret: str, region: str) -> None:
    if creds.sigv4_scope is not None:
        date, scope_region, service = creds.sigv4_scope
        if scope_region != region or service != "s3":
            raise S3Error("AuthorizationQueryParametersError", f"Error parsing the "
                          f"X-Amz-Credential parameter; the region '{scope_region}' is wrong; "
                          f"expecting '{region}'", Region=region)  # fmt: skip
        key = sigv4.signing_key(secret, date, region, service)
        expected = hmac.new(key, policy_b64.encode(), hashlib.sha256).hexdigest()
    else:
        digest = hmac.new(secret.encode(), policy_b64.encode(), hashlib.sha1).digest()
        expected = base64.b64encode(digest).decode()
    if not hmac.compare_digest(expected.encode(), creds.signature.encode()):
        raise S3Error("SignatureDoesNotMatch", AWSAccessKeyId=creds.access_key,
                      StringToSign=policy_b64)  # fmt: skip
