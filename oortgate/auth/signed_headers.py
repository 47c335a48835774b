"""Which headers a SigV4 signature must cover. A client (or anyone on the way) that adds
an ``x-amz-*`` header after signing could change what a signed request does: make an
object public (``x-amz-acl``), turn an empty PUT into a copy of a private object
(``x-amz-copy-source``). AWS refuses such a request, and so does this gateway."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Final

from oortgate.errors import S3Error

# A header signature binds these headers' values even when SignedHeaders omits them:
# the payload hash is the canonical request's last line, the date is in the string to sign.
_BOUND_UNSIGNED: Final = frozenset({"x-amz-content-sha256", "x-amz-date"})
_ALWAYS: Final = ("content-md5", "host")


def unsigned_headers(
    headers: Mapping[str, str], signed: Collection[str], *, presigned: bool
) -> list[str]:
    """The x-amz-*, Content-MD5 and Host headers present but not signed, sorted."""
    exempt = () if presigned else _BOUND_UNSIGNED
    return sorted(
        name
        for name in headers
        if (name.startswith("x-amz-") or name in _ALWAYS)
        and name not in signed
        and name not in exempt
    )


def check_all_signed(
    headers: Mapping[str, str], signed: Collection[str], *, presigned: bool
) -> None:
    """403 AccessDenied naming the headers the signature does not cover, as AWS."""
    unsigned = unsigned_headers(headers, signed, presigned=presigned)
    if unsigned:
        names = ", ".join(unsigned)
        raise S3Error(
            "AccessDenied",
            f"There were headers present in the request which were not signed: {names}",
            HeadersNotSigned=names,
        )
