"""The server-rendered pages of one bucket beyond its object browser: its settings
(versioning, object lock, policy, lifecycle) and the versions of one object, with the
forms that change them.

``b/BUCKET/settings`` and ``b/BUCKET/versions?key=K`` are pages; their forms POST to
``b/BUCKET/settings/ACTION`` and ``b/BUCKET/versions/delete`` with the CSRF token as a
field, and go back to the page with the outcome as a flash message (S3's own error
message when S3 refused). ``b/BUCKET/download?key=K&versionId=V`` redirects to a
presigned GetObject of that version, so the bytes never pass through the console.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

from oortgate.console import bucket_settings as settings
from oortgate.console import object_versions
from oortgate.console.actions import Caller
from oortgate.console.flash import cleared_flash_cookie, flash_cookie, read_flash
from oortgate.console.pages import Pages
from oortgate.console.presign import SERVER_OPERATIONS, BadPresign, presign
from oortgate.console.s3_inprocess import App, S3Answer, S3For
from oortgate.console.session import Sessions
from oortgate.console.web import Incoming, html, redirect, text
from oortgate.ops.context import Services
from oortgate.ops.response import Response

DOWNLOAD_LIFETIME = 300
Form = dict[str, str]
Change = Callable[[S3For, str, Form], Awaitable[S3Answer]]


def _page_of(bucket: str, what: str, key: str = "") -> str:
    where = f"/_console/b/{quote(bucket, safe='')}/{what}"
    return where + (f"?key={quote(key, safe='')}" if key else "")


class BucketRoutes:
    def __init__(self, services: Services, sessions: Sessions, pages: Pages, app: App) -> None:
        self.services = services
        self.sessions = sessions
        self.pages = pages
        self.app = app
        self.archive_classes = frozenset({services.settings.archive_storage_class})
        # action: (the change, what the page says it did)
        self.changes: dict[str, tuple[Change, Callable[[Form], str]]] = {
            "versioning": (self._versioning, lambda f: f"Versioning is now {f.get('status')}."),
            "retention": (self._retention, lambda f: "Saved the default retention."),
            "policy": (self._policy, lambda f: "Saved the bucket policy."),
            "policy-delete": (self._policy_delete, lambda f: "Deleted the bucket policy."),
            "public-prefix": (self._public_prefix,
                              lambda f: f"Objects under '{f.get('prefix', '')}' are now public."),
            "lifecycle-add": (self._lifecycle_add, lambda f: "Added the lifecycle rule."),
            "lifecycle-delete": (self._lifecycle_delete,
                                 lambda f: f"Deleted the lifecycle rule {f.get('id', '')!r}."),
        }  # fmt: skip

    def _s3(self, incoming: Incoming, caller: Caller) -> S3For:
        region = self.services.settings.region
        return S3For(self.app, region, caller.key, incoming.host, incoming.client)

    def _render(self, incoming: Incoming, caller: Caller, template: str,
                common: dict[str, Any], status: int = 200, **values: Any) -> Response:  # fmt: skip
        flash = read_flash(self.sessions, caller.session, incoming.headers.get("cookie"))
        if flash is not None:
            incoming.set_cookies.append(cleared_flash_cookie())
        return html(self.pages.render(template, **common, flash=flash, **values), status)

    def _refused(self, incoming: Incoming, caller: Caller, common: dict[str, Any],
                 bucket: str, answer: S3Answer) -> Response:  # fmt: skip
        """S3 would not show the bucket (no such bucket, not the caller's): its reason."""
        return self._render(incoming, caller, "bucket_refused.html", common, answer.status,
                            page="buckets", bucket=bucket, refused=answer.error())  # fmt: skip

    async def page(self, incoming: Incoming, caller: Caller, common: dict[str, Any],
                   bucket: str, what: str) -> Response:  # fmt: skip
        try:
            return await self._page(incoming, caller, common, bucket, what)
        except (BadPresign, UnicodeEncodeError) as exc:  # a name S3 cannot even be asked about
            return text(400, f"{exc}\n")

    async def post(self, incoming: Incoming, caller: Caller, bucket: str, what: str) -> Response:
        try:
            return await self._post(incoming, caller, bucket, what)
        except (BadPresign, UnicodeEncodeError) as exc:
            return text(400, f"{exc}\n")

    async def _page(self, incoming: Incoming, caller: Caller, common: dict[str, Any],
                    bucket: str, what: str) -> Response:  # fmt: skip
        s3 = self._s3(incoming, caller)
        if what == "settings":
            found = await settings.read_settings(s3, bucket, self.archive_classes)
            if isinstance(found, S3Answer):
                return self._refused(incoming, caller, common, bucket, found)
            return self._render(incoming, caller, "bucket_settings.html", common, page="buckets",
                                bucket=bucket, s=found, describe=settings.describe,
                                describe_filter=settings.describe_filter)  # fmt: skip
        key = incoming.query.get("key", "")
        if what == "versions" and key:
            after = incoming.query.get("after", "")
            versions = await object_versions.list_versions(s3, bucket, key, after)
            if isinstance(versions, S3Answer):
                return self._refused(incoming, caller, common, bucket, versions)
            return self._render(incoming, caller, "versions.html", common, page="buckets",
                                bucket=bucket, key=key, v=versions, after=after)  # fmt: skip
        if what == "download" and key:
            params = {"response-content-disposition": "attachment"}
            if incoming.query.get("versionId"):
                params["versionId"] = incoming.query["versionId"]
            signed = presign("GetObject", bucket, key, params, DOWNLOAD_LIFETIME,
                             host=incoming.host, access_key=caller.key.access_key,
                             secret_key=caller.key.secret_key,
                             region=self.services.settings.region,
                             operations=SERVER_OPERATIONS)  # fmt: skip
            return redirect(signed.url)
        return text(404, "no such console page\n")

    async def _post(self, incoming: Incoming, caller: Caller, bucket: str, what: str) -> Response:
        form = await incoming.form()
        if not self.sessions.csrf_ok(caller.session, form.get("csrf")):
            return text(403, "missing or wrong CSRF token\n")
        s3 = self._s3(incoming, caller)
        if what == "versions/delete":
            key, version_id = form.get("key", ""), form.get("versionId", "")
            back = _page_of(bucket, "versions", key)
            if not key or not version_id:
                return self._back(caller, back, "Which version? (key and version id)", error=True)
            answer = await object_versions.delete_version(s3, bucket, key, version_id)
            return self._outcome(caller, back, answer, f"Deleted version {version_id}.")
        action = what.removeprefix("settings/")
        if action not in self.changes or not what.startswith("settings/"):
            return text(404, "no such console action\n")
        change, done = self.changes[action]
        back = _page_of(bucket, "settings")
        try:
            answer = await change(s3, bucket, form)
        except settings.Refused as refused:
            return self._back(caller, back, str(refused), error=True)
        return self._outcome(caller, back, answer, done(form) if answer.ok else "")

    def _outcome(self, caller: Caller, back: str, answer: S3Answer, done: str) -> Response:
        if answer.ok:
            return self._back(caller, back, done, error=False)
        return self._back(caller, back, answer.error(), error=True)

    def _back(self, caller: Caller, back: str, message: str, *, error: bool) -> Response:
        response = redirect(back)
        cookie = flash_cookie(self.sessions, caller.session, message, error=error)
        response.headers.append(("set-cookie", cookie))
        return response

    # -- the settings forms: each sends one change through S3 --------------------------
    async def _versioning(self, s3: S3For, bucket: str, form: Form) -> S3Answer:
        return await settings.set_versioning(s3, bucket, form.get("status", ""))

    async def _retention(self, s3: S3For, bucket: str, form: Form) -> S3Answer:
        config = settings.lock_config(form.get("mode", ""), form.get("amount", ""),
                                      form.get("unit", ""))  # fmt: skip
        return await settings.set_default_retention(s3, bucket, config)

    async def _policy(self, s3: S3For, bucket: str, form: Form) -> S3Answer:
        return await settings.put_policy(s3, bucket, form.get("policy", ""))

    async def _policy_delete(self, s3: S3For, bucket: str, form: Form) -> S3Answer:
        return await settings.delete_policy(s3, bucket)

    async def _public_prefix(self, s3: S3For, bucket: str, form: Form) -> S3Answer:
        return await settings.make_prefix_public(s3, bucket, form.get("prefix", ""))

    async def _lifecycle_add(self, s3: S3For, bucket: str, form: Form) -> S3Answer:
        rule = settings.expiry_rule(form.get("prefix", ""), form.get("days", ""))
        return await settings.add_rule(s3, bucket, rule, self.archive_classes)

    async def _lifecycle_delete(self, s3: S3For, bucket: str, form: Form) -> S3Answer:
        return await settings.delete_rule(s3, bucket, form.get("id", ""), self.archive_classes)
