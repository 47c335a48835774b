"""The AccessControlPolicy document: parsed from Put*Acl, built for Get*Acl."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final
from xml.etree.ElementTree import Element

from oortgate import policy
from oortgate.acl_grants import EMAIL, ID, MAX_GRANTS, URI, Requested, malformed
from oortgate.xml.core import Node, child_text, document, parse

XSI: Final = "http://www.w3.org/2001/XMLSchema-instance"
_XSI_TYPE: Final = "{" + XSI + "}type"
_XML_GRANTEE: Final = {"CanonicalUser": ("ID", ID), "Group": ("URI", URI),
                       "AmazonCustomerByEmail": ("EmailAddress", EMAIL)}  # fmt: skip

Owner = tuple[str, str]  # (canonical id, display name)


def parse_policy(body: bytes) -> tuple[str, list[Requested]]:
    """(Owner/ID, grants) of an AccessControlPolicy document (MalformedACLError if it is
    not one; MalformedXML if it is not XML)."""
    root = parse(body)
    owner = root.find("Owner")
    owner_id = child_text(owner, "ID") if owner is not None else None
    acl = root.find("AccessControlList")
    if root.tag != "AccessControlPolicy" or not owner_id or acl is None:
        raise malformed()
    found = [_grant(grant) for grant in acl]
    if len(found) > MAX_GRANTS:
        raise malformed()
    return owner_id, found


def _grant(grant: Element) -> Requested:
    grantee = grant.find("Grantee")
    permission = child_text(grant, "Permission")
    if grant.tag != "Grant" or grantee is None or permission not in policy.PERMISSIONS:
        raise malformed()
    kind = grantee.get(_XSI_TYPE) or next(
        (t for t, (tag, _) in _XML_GRANTEE.items() if grantee.find(tag) is not None), None
    )
    if kind not in _XML_GRANTEE:
        raise malformed()
    tag, requested_kind = _XML_GRANTEE[kind]
    value = (child_text(grantee, tag) or "").strip()
    if not value:
        raise malformed()
    return Requested(requested_kind, value, permission)


@dataclass(frozen=True, slots=True)
class ShownGrant:
    """A grant as Get*Acl lists it: to a group (its URI) or to a user."""

    grantee: str | Owner  # a group's URI, or (canonical id, display name)
    permission: str


def policy_document(owner: Owner, grants: Sequence[ShownGrant]) -> bytes:
    root = Node("AccessControlPolicy")
    node = root.add("Owner")
    node.add("ID", owner[0])
    node.add("DisplayName", owner[1])
    listed = root.add("AccessControlList")
    for grant in grants:
        element = listed.add("Grant")
        grantee = element.add("Grantee")
        grantee.attrs["xmlns:xsi"] = XSI
        if isinstance(grant.grantee, str):
            grantee.attrs["xsi:type"] = "Group"
            grantee.add("URI", grant.grantee)
        else:
            grantee.attrs["xsi:type"] = "CanonicalUser"
            grantee.add("ID", grant.grantee[0])
            grantee.add("DisplayName", grant.grantee[1])
        element.add("Permission", grant.permission)
    return document(root)
