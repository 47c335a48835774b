"""The console's own actions (POST, JSON, CSRF-checked by the caller): presigned URLs
for the signed-in key, bucket creation through the S3 API, access keys and users."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from oortgate.console import backend
from oortgate.console.presign import BadPresign, presign
from oortgate.console.qr import qr_data_uri
from oortgate.console.s3_inprocess import App, S3For
from oortgate.console.session import Session, Sessions
from oortgate.console.web import Incoming, as_json, json_error
from oortgate.endpoints import ARCHIVE, STANDARD
from oortgate.meta.models import AccessKey, User
from oortgate.ops.context import Services
from oortgate.ops.response import Response
from oortgate.xml.error import error_code_and_message

MAX_RATE = 1_000_000
_USER_NAME = re.compile(r"[A-Za-z0-9_.@+=,-]{1,64}")


@dataclass(frozen=True, slots=True)
class Caller:
    session: Session
    key: AccessKey
    user: User
    csrf: str


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


class Actions:
    def __init__(self, services: Services, sessions: Sessions, app: App) -> None:
        self.services = services
        self.sessions = sessions
        self.app = app  # the gateway itself: bucket creation goes through its S3 API

    async def run(self, incoming: Incoming, caller: Caller) -> Response:
        handler = {
            "api/presign": self._presign,
            "api/buckets": self._create_bucket,
            "api/keys": self._create_key,
            "api/keys/enable": self._enable_key,
            "api/keys/delete": self._delete_key,
            "api/keys/rotate": self._rotate_key,
            "api/keys/rate": self._rate_key,
            "api/users": self._create_user,
            "api/users/delete": self._delete_user,
        }.get(incoming.path)
        if handler is None:
            return json_error(404, "no such console action")
        try:
            return await handler(await incoming.json(), incoming, caller)
        except backend.Refused as refused:
            return json_error(409, str(refused))

    def _sign(self, caller: Caller, host: str, op: str, bucket: str, key: str,
              params: dict[str, str], expires: int,
              headers: dict[str, str] | None = None) -> str:  # fmt: skip
        return presign(
            op, bucket, key, params, expires, host=host, access_key=caller.key.access_key,
            secret_key=caller.key.secret_key, region=self.services.settings.region,
            headers=headers,
        ).url  # fmt: skip

    async def _presign(self, body: dict[str, Any], incoming: Incoming, caller: Caller) -> Response:
        raw_params, raw_headers = body.get("params") or {}, body.get("headers") or {}
        if not isinstance(raw_params, dict) or not isinstance(raw_headers, dict):
            return json_error(400, "params and headers must be objects")
        params = {str(k): str(v) for k, v in raw_params.items()}
        headers = {str(k).lower(): str(v) for k, v in raw_headers.items()}
        expires = body.get("expires", 300)
        if not isinstance(expires, int) or isinstance(expires, bool):
            return json_error(400, "expires must be a number of seconds")
        op, bucket, key = _text(body.get("op")), _text(body.get("bucket")), _text(body.get("key"))
        try:
            url = self._sign(caller, incoming.host, op, bucket, key, params, expires, headers)
        except (BadPresign, UnicodeEncodeError) as exc:
            return json_error(400, str(exc))
        absolute = f"https://{incoming.host}{url}"
        answer: dict[str, str | None] = {"url": url, "absolute": absolute}
        if body.get("qr") is True:
            answer["qr"] = await self.services.offload(qr_data_uri, absolute)
        return as_json(answer)

    async def _create_bucket(
        self, body: dict[str, Any], incoming: Incoming, caller: Caller
    ) -> Response:
        """CreateBucket is sent to the S3 API in-process, signed by the caller's key and
        addressed to the tier's endpoint (a browser cannot choose the Host it sends)."""
        name, tier = _text(body.get("name")), _text(body.get("tier")) or STANDARD
        if tier not in (STANDARD, ARCHIVE):
            return json_error(400, "tier is standard or archive")
        if not name or "/" in name or len(name) > 63:
            return json_error(400, "a bucket name is 3 to 63 characters, without '/'")
        host = self.services.settings.endpoints.host_of(tier)
        s3 = S3For(self.app, self.services.settings.region, caller.key, host, incoming.client)
        answer = await s3("CreateBucket", name)
        if answer.ok:
            return as_json({"ok": True, "bucket": name, "tier": tier})
        code, message = error_code_and_message(answer.body)
        return as_json({"ok": False, "code": code, "message": message}, answer.status)

    async def _create_key(
        self, body: dict[str, Any], incoming: Incoming, caller: Caller
    ) -> Response:
        key = await backend.create_key(self.services, caller.user)
        # The only time the secret leaves the server: the page shows it once.
        return as_json({"access_key": key.access_key, "secret_key": key.secret_key})

    async def _enable_key(
        self, body: dict[str, Any], incoming: Incoming, caller: Caller
    ) -> Response:
        access_key, enabled = _text(body.get("access_key")), body.get("enabled")
        if not isinstance(enabled, bool):
            return json_error(400, "enabled must be true or false")
        if access_key == caller.key.access_key and not enabled:
            return json_error(
                409, "this session signed in with that key: use another to disable it"
            )
        await backend.set_key_enabled(self.services, caller.user, access_key, enabled)
        return as_json({"ok": True})

    async def _delete_key(
        self, body: dict[str, Any], incoming: Incoming, caller: Caller
    ) -> Response:
        access_key = _text(body.get("access_key"))
        if access_key == caller.key.access_key:
            return json_error(409, "this session signed in with that key: use another to delete it")
        await backend.delete_key(self.services, caller.user, access_key)
        return as_json({"ok": True})

    async def _rotate_key(
        self, body: dict[str, Any], incoming: Incoming, caller: Caller
    ) -> Response:
        access_key = _text(body.get("access_key"))
        if access_key == caller.key.access_key:
            return json_error(409, "this session signed in with that key: use another to rotate it")
        key = await backend.rotate_key(self.services, caller.user, access_key)
        return as_json({"access_key": key.access_key, "secret_key": key.secret_key,
                        "replaces": access_key})  # fmt: skip

    async def _rate_key(self, body: dict[str, Any], incoming: Incoming, caller: Caller) -> Response:
        """A key's own rate limit in requests per second; null: the server's default."""
        rate = body.get("rate")
        if rate is not None and (isinstance(rate, bool) or not isinstance(rate, int | float)
                                 or not 0 < rate <= MAX_RATE):  # fmt: skip
            return json_error(400, f"the rate is a number of requests per second, 0 to {MAX_RATE}")
        value = None if rate is None else float(rate)
        await backend.set_key_rate_limit(self.services, caller.user, _text(body.get("access_key")),
                                         value)  # fmt: skip
        return as_json({"ok": True, "rate_limit": value})

    async def _create_user(
        self, body: dict[str, Any], incoming: Incoming, caller: Caller
    ) -> Response:
        if not backend.is_root(caller.user):
            return json_error(403, "only the root user manages users")
        name = _text(body.get("name"))
        if not _USER_NAME.fullmatch(name):
            return json_error(400, "a user name is 1 to 64 letters, digits or _.@+=,-")
        user, key = await backend.create_user(self.services, name)
        return as_json({"name": user.name, "access_key": key.access_key,
                        "secret_key": key.secret_key})  # fmt: skip

    async def _delete_user(
        self, body: dict[str, Any], incoming: Incoming, caller: Caller
    ) -> Response:
        if not backend.is_root(caller.user):
            return json_error(403, "only the root user manages users")
        await backend.delete_user(self.services, _text(body.get("name")))
        return as_json({"ok": True})
