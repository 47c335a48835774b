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
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from oortgate.auth import sigv4
from oortgate.auth.sigv4_keys import signing_key
from oortgate.errors import S3Error
from oortgate.numbers import parse_count

# Fields that need no condition (AWS: the signature, the file, the policy itself and
# x-ignore-*; the SigV2 credential fields are never in boto3's conditions either).
UNCONDITIONED = frozenset({"x-amz-signature", "signature", "file", "policy", "awsaccesskeyid"})

# ISO 8601 as AWS's POST policies carry it ("2013-08-01T12:00:00.000Z"); a date without
# its "T" or time zone is refused, as AWS refuses it, even where Python would read it.
_EXPIRATION = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})")
_OPERATORS = ("eq", "starts-with")


def _denied(reason: str) -> S3Error:
    return S3Error("AccessDenied", f"Invalid according to Policy: {reason}")


def _invalid(reason: str) -> S3Error:
    return S3Error("InvalidPolicyDocument", f"Invalid Policy: {reason}")


@dataclass(frozen=True, slots=True)
class Condition:
    """``eq`` or ``starts-with`` on one form field (``name``: lowercase, no "$")."""

    op: str
    name: str
    value: str
    spelled: str  # the field as the policy names it, for AWS's failure message

    def holds(self, actual: str) -> bool:
        if self.op == "eq":
            return actual == self.value
        # Content-Type may list several values; each must match (AWS).
        if self.name == "content-type" and "," in actual:
            return all(v.strip().startswith(self.value) for v in actual.split(","))
        return actual.startswith(self.value)

    def failure(self) -> S3Error:
        return _denied(f'Policy Condition failed: ["{self.op}", "{self.spelled}", "{self.value}"]')


@dataclass(frozen=True, slots=True)
class PostPolicy:
    expiration: datetime
    conditions: list[Condition]
    length_range: tuple[int, int] | None = None  # content-length-range, inclusive

    @classmethod
    def parse(cls, encoded: str) -> PostPolicy:
        """The policy, checked whole: a malformed one is 400 InvalidPolicyDocument
        whatever the form holds (AWS), before any field is compared."""
        try:
            raw_doc = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise _invalid("invalid Base64 encoding.") from exc
        try:
            doc = json.loads(raw_doc)
        # RecursionError: arrays nested thousands deep (a 64 KiB field holds 48,000).
        except (ValueError, RecursionError) as exc:
            raise _invalid("Invalid JSON.") from exc
        if not isinstance(doc, dict):
            raise _invalid("Invalid JSON.")
        if "expiration" not in doc:
            raise _invalid("Policy missing expiration.")
        if "conditions" not in doc:
            raise _invalid("Policy missing conditions.")
        if not isinstance(doc["conditions"], list):
            raise _invalid("Invalid 'conditions' value: must be a List.")
        conditions, length_range = [], None
        for raw in doc["conditions"]:
            if isinstance(raw, list) and raw and raw[0] == "content-length-range":
                length_range = _length_range(raw)
            else:
                conditions.append(_condition(raw))
        return cls(_expiration(doc["expiration"]), conditions, length_range)

    def content_length_range(self) -> tuple[int, int] | None:
        return self.length_range

    def check(self, fields: dict[str, str], bucket: str, now: datetime) -> None:
        """Every condition holds and every field is covered by one; else AccessDenied
        with AWS's reason. ``fields`` has lowercase names; ``bucket`` joins them."""
        if now > self.expiration:
            raise _denied("Policy expired.")
        values = {**fields, "bucket": bucket}
        for condition in self.conditions:
            if not condition.holds(values.get(condition.name, "")):
                raise condition.failure()
        covered = {"bucket"} | {c.name for c in self.conditions}
        extra = sorted(n for n in fields if n not in covered and n not in UNCONDITIONED
                       and not n.startswith("x-ignore-"))  # fmt: skip
        if extra:
            raise _denied(f"Extra input fields: {', '.join(extra)}")


def _expiration(value: Any) -> datetime:
    if not isinstance(value, str) or not _EXPIRATION.fullmatch(value):
        raise _invalid(f"Invalid 'expiration' value: '{value}'")
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:  # matches the pattern, yet no date (month 13...)
        raise _invalid(f"Invalid 'expiration' value: '{value}'") from exc


def _condition(raw: Any) -> Condition:
    """One eq / starts-with condition, refused with AWS's words when malformed."""
    if isinstance(raw, dict):
        if len(raw) != 1:
            raise _invalid("Invalid Simple-Condition: Simple-Conditions must have exactly "
                           "one property specified.")  # fmt: skip
        ((name, value),) = raw.items()
        if not isinstance(value, str):
            raise _invalid("Invalid Simple-Condition: value must be a string.")
        return Condition("eq", name.lower().removeprefix("$"), value, f"${name}")
    if not isinstance(raw, list):
        raise _invalid("Invalid condition test: must be a List or Object.")
    if not raw or not isinstance(raw[0], str):
        raise _invalid("Invalid Condition: missing operation identifier.")
    op = raw[0].lower()
    if op not in _OPERATORS:
        raise _invalid(f"Invalid Condition: unknown operation '{raw[0]}'.")
    if len(raw) != 3:
        raise _invalid(f"Invalid {raw[0]}: wrong number of arguments.")
    name, value = raw[1], raw[2]
    if not isinstance(name, str) or not name.startswith("$") or not isinstance(value, str):
        raise _invalid(f"Invalid Condition: {json.dumps(raw)}")
    return Condition(op, name[1:].lower(), value, name)


def _length_range(raw: list[Any]) -> tuple[int, int]:
    if len(raw) != 3:
        raise _invalid("Invalid content-length-range: wrong number of arguments.")
    low, high = _integer(raw[1]), _integer(raw[2])
    if low is None or high is None or not 0 <= low <= high:
        raise _invalid(f"Invalid content-length-range: {json.dumps(raw)}")
    return low, high


def _integer(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str):  # parse_count: isdigit() also takes "²", int() does not
        text = value.strip()
        count = parse_count(text.removeprefix("-"))
        return None if count is None else -count if text.startswith("-") else count
    return None


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
        key = signing_key(secret, date, region, service)
        expected = hmac.new(key, policy_b64.encode(), hashlib.sha256).hexdigest()
    else:
        digest = hmac.new(secret.encode(), policy_b64.encode(), hashlib.sha1).digest()
        expected = base64.b64encode(digest).decode()
    if not hmac.compare_digest(expected.encode(), creds.signature.encode()):
        raise S3Error("SignatureDoesNotMatch", AWSAccessKeyId=creds.access_key,
                      StringToSign=policy_b64)  # fmt: skip
