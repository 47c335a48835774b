"""Console sessions: a signed token in a cookie, and the CSRF token tied to it.

The token carries the access key, a random session id, two times (issued, last seen)
and a MAC of the secret it signed in with. It is signed with HMAC-SHA256 under a key
derived from the server's own secret (a random file in the data directory, shared by
every worker), never from a user's secret. A token is valid while its signature holds,
it has been used within the idle timeout (the cookie is re-issued as it is used:
sliding), it is younger than the absolute limit, its session was not signed out and its
key is still enabled with the same secret. The last two are checked by the caller on
every request, in the metadata store (shared by every worker): a sign-out is a row
there until the token would have expired anyway; a key disabled, deleted or given a new
secret (and a user removed with its keys) ends its sessions with no row at all.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import hashlib
import hmac
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

COOKIE = "oortgate_console"
IDLE_TIMEOUT = 30 * 60.0
MAX_AGE = 12 * 3600.0  # signed in at most this long, however busy
REFRESH_AFTER = 60.0  # re-issue the cookie (slide the idle timeout) at most once a minute
KEY_FILE = "console-session.key"
_CONTEXT = b"oortgate console session v1"


@dataclass(frozen=True, slots=True)
class Session:
    access_key: str
    sid: str
    issued: float
    seen: float
    proof: str  # a MAC of the secret signed in with: a changed secret ends the session


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def server_secret(data_dir: Path) -> bytes:
    """The data directory's console secret, made once: written aside and linked into
    place, so that workers starting together all end up with the same one."""
    path = data_dir / KEY_FILE
    if not path.exists():
        temp = data_dir / f".{KEY_FILE}.{os.getpid()}.{secrets.token_hex(4)}"
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, secrets.token_bytes(32))
            os.fsync(fd)
        finally:
            os.close(fd)
        with contextlib.suppress(FileExistsError):  # another worker was first: use its
            os.link(temp, path)
        os.unlink(temp)
    secret = path.read_bytes()
    if len(secret) < 32:
        raise ValueError(f"{path} is damaged (shorter than 32 bytes): delete it to sign out all")
    return secret


class Sessions:
    def __init__(self, secret: bytes, idle_timeout: float = IDLE_TIMEOUT) -> None:
        self.idle_timeout = idle_timeout
        self._key = hmac.new(secret, _CONTEXT, hashlib.sha256).digest()

    def _mac(self, what: bytes) -> bytes:
        return hmac.new(self._key, what, hashlib.sha256).digest()

    def tag(self, session: Session, purpose: str, payload: bytes) -> str:
        """A MAC of ``payload`` for one purpose within one session (see console/flash.py)."""
        return _b64(self._mac(f"{purpose}:{session.sid}:".encode() + payload))

    def issue(self, access_key: str, secret_key: str, now: float) -> str:
        proof = self.proof(secret_key)
        return self._seal(Session(access_key, secrets.token_urlsafe(16), now, now, proof))

    def proof(self, secret_key: str) -> str:
        return _b64(self._mac(b"secret:" + secret_key.encode())[:12])

    def proves(self, session: Session, secret_key: str) -> bool:
        return hmac.compare_digest(session.proof.encode(), self.proof(secret_key).encode())

    def _seal(self, session: Session) -> str:
        payload = json.dumps(
            [
                session.access_key,
                session.sid,
                round(session.issued, 3),
                round(session.seen, 3),
                session.proof,
            ],
            separators=(",", ":"),
        ).encode()
        return f"{_b64(payload)}.{_b64(self._mac(payload))}"

    def read(self, token: str | None, now: float) -> Session | None:
        """The session of a valid, unexpired token; None for anything else."""
        if not token or token.count(".") != 1:
            return None
        body, mac = token.split(".")
        try:
            payload, given = _unb64(body), _unb64(mac)
        except (ValueError, TypeError):
            return None
        if not hmac.compare_digest(given, self._mac(payload)):
            return None
        try:
            ak, sid, issued, seen, proof = json.loads(payload)
            session = Session(str(ak), str(sid), float(issued), float(seen), str(proof))
        except (ValueError, TypeError):
            return None
        if now - session.seen > self.idle_timeout or now - session.issued > MAX_AGE:
            return None
        return session

    def refreshed(self, session: Session, now: float) -> str | None:
        """A new token that slides the idle timeout, or None if the old one is fresh."""
        if now - session.seen < min(REFRESH_AFTER, self.idle_timeout / 4):
            return None
        return self._seal(dataclasses.replace(session, seen=now))

    def csrf(self, session: Session) -> str:
        return _b64(self._mac(b"csrf:" + session.sid.encode()))

    def csrf_ok(self, session: Session, given: str | None) -> bool:
        return given is not None and hmac.compare_digest(
            given.encode(), self.csrf(session).encode()
        )


def cookie(token: str, max_age: int | None = None) -> str:
    """The Set-Cookie value: never readable by scripts, never sent cross-site, only to
    the console's own paths, only over HTTPS."""
    age = "" if max_age is None else f"; Max-Age={max_age}"
    return f"{COOKIE}={token}; Path=/_console/; HttpOnly; Secure; SameSite=Strict{age}"


def cleared_cookie() -> str:
    return cookie("", 0)


def token_from(cookie_header: str | None) -> str | None:
    return cookie_value(cookie_header, COOKIE)


def cookie_value(cookie_header: str | None, wanted: str) -> str | None:
    for part in (cookie_header or "").split(";"):
        name, _, value = part.strip().partition("=")
        if name == wanted:
            return value
    return None
