"""Explicit ACL grants as clients send them: the x-amz-grant-* headers and the
AccessControlPolicy XML (parsed in oortgate.xml.acl). Pure: parsing, validation, and
resolution to policy.Grant (canonical ids become user ids through a lookup the caller
passes in).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final

from oortgate import policy
from oortgate.errors import S3Error

GRANT_HEADERS: Final = {
    "x-amz-grant-read": policy.READ,
    "x-amz-grant-write": policy.WRITE,
    "x-amz-grant-read-acp": policy.READ_ACP,
    "x-amz-grant-write-acp": policy.WRITE_ACP,
    "x-amz-grant-full-control": policy.FULL_CONTROL,
}
MAX_GRANTS: Final = 100  # AWS's limit per ACL

ID: Final = "id"
URI: Final = "uri"
EMAIL: Final = "emailaddress"
# One `kind=value` or `kind="value"` of a grant header, and the comma after it.
_HEADER_ITEM = re.compile(r'\s*([A-Za-z]+)\s*=\s*(?:"([^"]*)"|([^",\s]+))\s*(?:,|$)')
_MALFORMED = ("The XML you provided was not well-formed or did not validate against our "
              "published schema")  # fmt: skip


@dataclass(frozen=True, slots=True)
class Requested:
    """A grant as the client named its grantee: (kind, value) and the permission."""

    kind: str  # ID, URI or EMAIL
    value: str
    permission: str


def has_grant_headers(headers: Mapping[str, str]) -> bool:
    return any(name in GRANT_HEADERS for name in headers)


def header_grants(headers: Mapping[str, str]) -> list[Requested]:
    """The grants of the x-amz-grant-* headers, in a fixed order (the headers')."""
    found: list[Requested] = []
    for name, permission in GRANT_HEADERS.items():
        value = headers.get(name)
        if value is not None:
            found += [Requested(k, v, permission) for k, v in _header_items(name, value)]
    return found


def _header_items(name: str, value: str) -> list[tuple[str, str]]:
    items, pos = [], 0
    while pos < len(value):
        match = _HEADER_ITEM.match(value, pos)
        kind = match.group(1).lower() if match else ""
        if match is None or kind not in (ID, URI, EMAIL):
            raise S3Error("InvalidArgument", "Argument format not recognized",
                          ArgumentName=name, ArgumentValue=value)  # fmt: skip
        items.append((kind, match.group(2) if match.group(2) is not None else match.group(3)))
        pos = match.end()
    if not items:
        raise S3Error("InvalidArgument", "Argument format not recognized", ArgumentName=name,
                      ArgumentValue=value)  # fmt: skip
    return items


def malformed() -> S3Error:
    return S3Error("MalformedACLError", _MALFORMED, status=400)


def resolve(
    requested: list[Requested], user_id_of: Callable[[str], int | None]
) -> list[policy.Grant]:
    """policy.Grants for the requested ones (duplicates dropped, order kept)."""
    out: list[policy.Grant] = []
    for item in requested:
        grant = policy.Grant(_grantee(item, user_id_of), item.permission)
        if grant not in out:
            out.append(grant)
    return out


def _grantee(item: Requested, user_id_of: Callable[[str], int | None]) -> str | int:
    if item.kind == URI:
        if item.value not in policy.GROUPS:
            raise S3Error("InvalidArgument", "Invalid group uri", ArgumentName="Group/URI",
                          ArgumentValue=item.value)  # fmt: skip
        return item.value
    if item.kind == EMAIL:
        # Accounts here have no e-mail addresses, so none can resolve (as on AWS for an
        # address of no account; regions without e-mail grants refuse them all).
        raise S3Error("UnresolvableGrantByEmailAddress", "The e-mail address you provided "
                      "does not match any account on record.", EmailAddress=item.value)  # fmt: skip
    user_id = user_id_of(item.value)
    if user_id is None:
        raise S3Error("InvalidArgument", "Invalid id", ArgumentName="CanonicalUser/ID",
                      ArgumentValue=item.value)  # fmt: skip
    return user_id
