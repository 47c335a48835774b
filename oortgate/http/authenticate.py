"""Who is calling: SigV4 or SigV2 (header or presigned query), checked against the key store."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from oortgate.auth import sigv2, sigv4
from oortgate.meta.models import AccessKey, User
from oortgate.ops.context import Services, credentials


@dataclass(frozen=True, slots=True)
class Identity:
    user: User | None  # None: no credentials at all (anonymous)
    key: AccessKey | None
    # What the aws-chunked decoder needs to check chunk signatures (SigV4 only).
    signing: sigv4.SigningContext | None


ANONYMOUS = Identity(None, None, None)


async def authenticate(
    services: Services,
    method: str,
    raw_path: str,
    query: list[tuple[str, str]],
    headers: Mapping[str, str],
    vhost_bucket: str | None = None,
) -> Identity:
    """``vhost_bucket``: SigV2 signs "/bucket/key" even when the bucket is in the host."""
    view = sigv4.RequestView(method=method, path=raw_path, query=query, headers=headers)
    now = datetime.now(UTC)
    try:
        creds = sigv4.parse(view)
    except sigv4.NotSigV4:
        v2 = sigv2.parse(view)
        key, user = await credentials(services, v2.access_key)
        if vhost_bucket is not None:
            view = sigv4.RequestView(method, f"/{vhost_bucket}{raw_path}", query, headers)
        sigv2.verify(view, v2, key.secret_key, now=now)
        # SigV2 signs no payload: the body is checked only by Content-MD5 and checksums.
        return Identity(user, key, None)
    if creds is None:
        return ANONYMOUS
    key, user = await credentials(services, creds.access_key)
    signing = sigv4.verify(view, creds, key.secret_key, region=services.settings.region, now=now)
    return Identity(user, key, signing)
