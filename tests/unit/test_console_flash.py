"""The console's flash messages: a cookie bound to its session by a MAC (pure code)."""

from __future__ import annotations

from oortgate.console.flash import FLASH, Flash, cleared_flash_cookie, flash_cookie, read_flash
from oortgate.console.session import Sessions


def _value(set_cookie: str) -> str:
    return set_cookie.split(";", 1)[0]  # "name=value"


def _parts(set_cookie: str) -> tuple[str, str]:
    body, mac = _value(set_cookie).split("=", 1)[1].split(".")
    return body, mac


def test_a_flash_reads_back_in_its_session_only() -> None:
    sessions = Sessions(b"k" * 32)
    mine = sessions.read(sessions.issue("AK", "secret", now=1.0), now=2.0)
    other = sessions.read(sessions.issue("AK", "secret", now=1.0), now=2.0)
    assert mine is not None and other is not None
    made = flash_cookie(sessions, mine, "AccessDenied: Access Denied <b>", error=True)
    assert "HttpOnly" in made and "SameSite=Strict" in made and "Max-Age=60" in made
    header = "a=b; " + _value(made)
    assert read_flash(sessions, mine, header) == Flash("AccessDenied: Access Denied <b>", True)
    assert read_flash(sessions, other, header) is None  # another session's
    assert read_flash(Sessions(b"x" * 32), mine, header) is None  # another server's
    assert read_flash(sessions, mine, "a=b") is None


def test_a_changed_or_made_up_flash_is_ignored() -> None:
    sessions = Sessions(b"k" * 32)
    session = sessions.read(sessions.issue("AK", "secret", now=1.0), now=2.0)
    assert session is not None
    body, mac = _parts(flash_cookie(sessions, session, "Saved.", error=False))
    forged, _ = _parts(flash_cookie(sessions, session, "Sign in at evil.example", error=True))
    for value in (f"{forged}.{mac}", body, f"{body}.{mac}.x", f"!!.{mac}", ""):
        assert read_flash(sessions, session, f"{FLASH}={value}") is None, value
    assert read_flash(sessions, session, f"{FLASH}={body}.{mac}") == Flash("Saved.", False)
    assert cleared_flash_cookie().startswith(f"{FLASH}=;") and "Max-Age=0" in cleared_flash_cookie()
