"""One-time messages after a form: what a change did, or S3's reason for refusing it,
shown by the page the form goes back to (POST, redirect, GET: a reload does not send
the form again).

The message rides in a short-lived cookie whose MAC binds it to the session: no other
page or site can make the console show words of its choosing.
"""

from __future__ import annotations

import base64
import hmac
import json
from dataclasses import dataclass

from oortgate.console.session import Session, Sessions, cookie_value

FLASH = "oortgate_flash"
MAX_AGE = 60  # seconds: it is read by the very next page
MAX_TEXT = 1000
_PURPOSE = "flash"


@dataclass(frozen=True, slots=True)
class Flash:
    text: str
    error: bool


def _attributes(max_age: int) -> str:
    return f"; Path=/_console/; HttpOnly; Secure; SameSite=Strict; Max-Age={max_age}"


def flash_cookie(sessions: Sessions, session: Session, text: str, *, error: bool) -> str:
    payload = json.dumps([text[:MAX_TEXT], error]).encode()
    body = base64.urlsafe_b64encode(payload).rstrip(b"=").decode("ascii")
    return f"{FLASH}={body}.{sessions.tag(session, _PURPOSE, payload)}" + _attributes(MAX_AGE)


def cleared_flash_cookie() -> str:
    return f"{FLASH}=" + _attributes(0)


def read_flash(sessions: Sessions, session: Session, cookie_header: str | None) -> Flash | None:
    value = cookie_value(cookie_header, FLASH)
    if not value or value.count(".") != 1:
        return None
    body, mac = value.split(".")
    try:
        payload = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except ValueError:
        return None
    if not hmac.compare_digest(mac.encode(), sessions.tag(session, _PURPOSE, payload).encode()):
        return None
    try:
        text, error = json.loads(payload)
    except (ValueError, TypeError):
        return None
    return Flash(str(text), bool(error))
