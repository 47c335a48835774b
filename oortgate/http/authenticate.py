"""Who is calling: SigV4 (header or presigned query), verified against the key store."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from oortgate.auth import sigv4
from oortgate.auth.payload import PayloadVerifier
from oortgate.errors import S3Error
from oortgate.http.context import Services
from oortgate.meta.models import User


@dataclass(frozen=True, slots=True)
class Identity:
    user: User
    verifier: PayloadVerifier


async def authenticate(
    services: Services,
    method: str,
    raw_path: str,
    query: list[tuple[str, str]],
    headers: Mapping[str, str],
) -> Identity:
    view = sigv4.RequestView(method=method, path=raw_path, query=query, headers=headers)
    try:
        creds = sigv4.parse(view)
    except sigv4.NotSigV4 as exc:
        raise S3Error(
            "NotImplemented", "Signature Version 2 is not implemented on this server yet."
        ) from exc
    if creds is None:
        raise S3Error("AccessDenied")
    key = await services.db(services.meta.get_key, creds.access_key)
    if key is None or not key.enabled:
        raise S3Error("InvalidAccessKeyId", AWSAccessKeyId=creds.access_key)
    signing = sigv4.verify(
        view, creds, key.secret_key, region=services.settings.region, now=datetime.now(UTC)
    )
    user = await services.db(services.meta.get_user, key.user_id)
    if user is None:
        raise S3Error("InvalidAccessKeyId", AWSAccessKeyId=creds.access_key)
    return Identity(user, PayloadVerifier(headers, signing))
