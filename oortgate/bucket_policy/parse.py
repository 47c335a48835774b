"""A bucket policy document: parsed and checked as AWS checks PutBucketPolicy. Pure.

Principals are this gateway's users, named as AWS names principals, a user's canonical
id standing for its account (as ``x-amz-expected-bucket-owner`` does):

- ``"*"`` or ``{"AWS": "*"}``: everyone, anonymous callers included;
- ``{"CanonicalUser": "<canonical id>"}``, ``{"AWS": "<canonical id>"}`` or
  ``{"AWS": "arn:aws:iam::<canonical id>:root"}``: that user;
- ``{"AWS": "arn:aws:iam:::user/<name>"}`` (the account left out, as Ceph RGW does
  without tenants) or ``arn:aws:iam::<canonical id>:user/<name>``: the user of that name.

Anything else (12-digit account ids, roles, services) names nobody who exists here:
"Invalid principal in policy", as AWS answers for a principal it cannot resolve.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Final

from oortgate.bucket_policy.actions import ACTIONS, BUCKET, OBJECT, expand, glob_match
from oortgate.bucket_policy.conditions import Condition, PolicyError, parse_conditions

MAX_POLICY_BYTES: Final = 20 * 1024  # AWS's limit on a bucket policy
VERSIONS: Final = ("2012-10-17", "2008-10-17")
S3_ARN: Final = "arn:aws:s3:::"
ALLOW: Final = "Allow"
DENY: Final = "Deny"
_POLICY_FIELDS: Final = frozenset({"Version", "Id", "Statement"})
_STATEMENT_FIELDS: Final = frozenset({
    "Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction", "Resource",
    "NotResource", "Condition",
})  # fmt: skip
_CANONICAL = re.compile(r"[0-9a-fA-F]{64}")
_USER_ARN = re.compile(r"arn:aws:iam::([0-9a-fA-F]{64})?:user/([^/]+)")
_ROOT_ARN = re.compile(r"arn:aws:iam::([0-9a-fA-F]{64}):root")
INVALID_JSON: Final = "This policy contains invalid Json"
INVALID_PRINCIPAL: Final = "Invalid principal in policy"


@dataclass(frozen=True, slots=True)
class Principals:
    everyone: bool = False
    canonical_ids: frozenset[str] = frozenset()  # in lower case
    # (canonical id or "" for any, user name) from user ARNs
    users: frozenset[tuple[str, str]] = frozenset()

    def include(self, canonical_id: str | None, name: str | None) -> bool:
        """Is the caller (canonical id and name; None for anonymous) one of these?"""
        if self.everyone:
            return True
        if canonical_id is None or name is None:
            return False
        lowered = canonical_id.lower()
        if lowered in self.canonical_ids:
            return True
        return ("", name) in self.users or (lowered, name) in self.users


@dataclass(frozen=True, slots=True)
class Statement:
    effect: str  # ALLOW or DENY
    principals: Principals
    not_principal: bool  # NotPrincipal: everyone but these
    actions: tuple[str, ...]  # patterns, in lower case
    not_action: bool
    resources: tuple[str, ...]  # ARN patterns
    not_resource: bool
    conditions: tuple[Condition, ...]
    sid: str = ""


@dataclass(frozen=True, slots=True)
class Policy:
    statements: tuple[Statement, ...]
    version: str = "2008-10-17"


def parse_policy(body: bytes, bucket: str) -> Policy:
    """The policy of ``bucket``, or PolicyError (400 MalformedPolicy) with AWS's message."""
    if len(body) > MAX_POLICY_BYTES:
        raise PolicyError("Policy exceeds the maximum allowed document size.")
    if not body.startswith(b"{"):
        raise PolicyError("Policies must be valid JSON and the first byte must be '{'")
    try:
        document = json.loads(body.decode("utf-8"), object_pairs_hook=_no_duplicates)
    except (UnicodeDecodeError, ValueError, RecursionError):  # deep nesting: no 500
        raise PolicyError(INVALID_JSON) from None
    if not isinstance(document, dict):
        raise PolicyError(INVALID_JSON)
    _known_fields(document, _POLICY_FIELDS)
    version = document.get("Version", "2008-10-17")
    if version not in VERSIONS:
        raise PolicyError("The policy must contain a valid version string")
    if "Statement" not in document:
        raise PolicyError("Missing required field Statement")
    raw = document["Statement"]
    items = raw if isinstance(raw, list) else [raw]
    if not items:
        raise PolicyError("Could not parse the policy: Statement is empty!")
    statements = tuple(_statement(item, bucket) for item in items)
    sids = [s.sid for s in statements if s.sid]
    if len(sids) != len(set(sids)):
        raise PolicyError("Statement IDs (SID) in a single policy must be unique.")
    return Policy(statements, version)


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise PolicyError(INVALID_JSON)
        result[key] = value
    return result


def _known_fields(element: dict[str, Any], known: frozenset[str]) -> None:
    for name in element:
        if name not in known:
            raise PolicyError(f"Unknown field {name}")


def _one_of(item: dict[str, Any], name: str, required: bool = True) -> tuple[Any, bool]:
    """The value of ``name`` or ``Not<name>`` (exactly one of them), and which it was."""
    plain, negated = item.get(name), item.get(f"Not{name}")
    if plain is not None and negated is not None:
        raise PolicyError(f"Statement cannot contain both {name} and Not{name}")
    if plain is None and negated is None:
        if required:
            raise PolicyError(f"Missing required field {name}")
        return None, False
    return (negated, True) if plain is None else (plain, False)


def _strings(value: Any) -> tuple[str, ...]:
    values = value if isinstance(value, list) else [value]
    if not values or not all(isinstance(v, str) for v in values):
        raise PolicyError(INVALID_JSON)
    return tuple(values)


def _statement(item: Any, bucket: str) -> Statement:
    if not isinstance(item, dict):
        raise PolicyError(INVALID_JSON)
    _known_fields(item, _STATEMENT_FIELDS)
    sid = item.get("Sid", "")
    if not isinstance(sid, str) or not re.fullmatch(r"[A-Za-z0-9 ]*", sid):
        raise PolicyError("Statement IDs (SID) must be alpha-numeric.")
    effect = item.get("Effect")
    if effect is None:
        raise PolicyError("Missing required field Effect")
    if effect not in (ALLOW, DENY):
        raise PolicyError(f"Invalid effect: {effect}")
    raw_principal, not_principal = _one_of(item, "Principal")
    if not_principal and effect == ALLOW:
        raise PolicyError(INVALID_PRINCIPAL)  # AWS: NotPrincipal only with Deny
    raw_actions, not_action = _one_of(item, "Action")
    raw_resources, not_resource = _one_of(item, "Resource")
    actions = tuple(a.lower() for a in _strings(raw_actions))
    resources = _strings(raw_resources)
    for action in actions:
        if not expand(action):
            raise PolicyError("Policy has invalid action")
    for resource in resources:
        _check_resource(resource, bucket)
    if not not_action and not not_resource:
        _check_applies(actions, resources, bucket)
    conditions = parse_conditions(item["Condition"]) if "Condition" in item else ()
    principals = parse_principals(raw_principal)
    return Statement(effect, principals, not_principal, actions, not_action, resources,
                     not_resource, conditions, sid)  # fmt: skip


def parse_principals(raw: Any) -> Principals:
    if raw == "*":
        return Principals(everyone=True)
    if not isinstance(raw, dict) or not raw:
        raise PolicyError(INVALID_PRINCIPAL)
    everyone = False
    ids: set[str] = set()
    users: set[tuple[str, str]] = set()
    for kind, value in raw.items():
        if kind not in ("AWS", "CanonicalUser"):
            raise PolicyError(INVALID_PRINCIPAL)
        names = value if isinstance(value, list) else [value]
        if not names or not all(isinstance(n, str) for n in names):
            raise PolicyError(INVALID_PRINCIPAL)
        for name in names:
            if name == "*" and kind == "AWS":
                everyone = True
            elif _CANONICAL.fullmatch(name):
                ids.add(name.lower())
            elif kind == "AWS" and (root := _ROOT_ARN.fullmatch(name)):
                ids.add(root.group(1).lower())
            elif kind == "AWS" and (user := _USER_ARN.fullmatch(name)):
                users.add(((user.group(1) or "").lower(), user.group(2)))
            else:
                raise PolicyError(INVALID_PRINCIPAL)
    return Principals(everyone, frozenset(ids), frozenset(users))


def _check_resource(resource: str, bucket: str) -> None:
    """A resource is this bucket or objects in it (wildcards allowed)."""
    if not resource.startswith(S3_ARN):
        raise PolicyError("Policy has invalid resource")
    bucket_part = resource[len(S3_ARN):].split("/", 1)[0]
    # A pattern such as "arn:aws:s3:::bkt*" may reach this bucket through its "*".
    reaches = bool(bucket_part) and glob_match(bucket_part, bucket)
    if not reaches and not glob_match(resource, f"{S3_ARN}{bucket}"):
        raise PolicyError("Policy has invalid resource")


def _check_applies(actions: tuple[str, ...], resources: tuple[str, ...], bucket: str) -> None:
    """Each action named without wildcards must apply to one of the resources."""
    bucket_arn = f"{S3_ARN}{bucket}"
    has_bucket = any(glob_match(r, bucket_arn) for r in resources)
    has_objects = any("/" in r[len(S3_ARN):] or r.endswith("*") for r in resources)
    for action in actions:
        if action not in ACTIONS:
            continue  # a pattern: AWS checks only the actions a statement spells out
        kind = ACTIONS[action][1]
        if (kind == BUCKET and not has_bucket) or (kind == OBJECT and not has_objects):
            raise PolicyError("Action does not apply to any resource(s) in statement")
