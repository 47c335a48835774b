"""Console session tokens and CSRF tokens (pure code)."""

from __future__ import annotations

from pathlib import Path

from oortgate.console.session import Sessions, cookie, server_secret, token_from


def test_a_token_reads_back_until_idle_or_too_old() -> None:
    sessions = Sessions(b"k" * 32, idle_timeout=60)
    token = sessions.issue("AKIDEXAMPLE", "secret", now=1000.0)
    session = sessions.read(token, now=1030.0)
    assert session is not None and session.access_key == "AKIDEXAMPLE"
    assert sessions.read(token, now=1061.0) is None  # idle
    assert sessions.refreshed(session, now=1005.0) is None  # fresh: no new cookie
    slid = sessions.refreshed(session, now=1050.0)
    assert slid is not None
    assert sessions.read(slid, now=1100.0) is not None  # used at 1050: alive at 1100
    assert sessions.read(slid, now=1000.0 + 12 * 3600 + 1) is None  # absolute limit


def _flip(text: str) -> str:
    """The same text with its first character changed."""
    return ("B" if text[0] == "A" else "A") + text[1:]


def test_forged_tampered_and_foreign_tokens_are_no_session() -> None:
    sessions = Sessions(b"k" * 32)
    token = sessions.issue("AK", "secret", now=1.0)
    body, mac = token.split(".")
    assert sessions.read(token, now=2.0) is not None
    flipped_body, flipped_mac = _flip(body) + "." + mac, body + "." + _flip(mac)
    for bad in ("", "x", "a.b.c", body + ".", "." + mac, flipped_body, flipped_mac, "!!!." + mac):
        assert sessions.read(bad, now=2.0) is None, bad
    assert Sessions(b"j" * 32).read(token, now=2.0) is None  # another server's secret


def test_a_session_proves_the_secret_it_signed_in_with() -> None:
    sessions = Sessions(b"k" * 32)
    session = sessions.read(sessions.issue("AK", "secret", 1.0), 1.0)
    assert session is not None
    assert sessions.proves(session, "secret")
    assert not sessions.proves(session, "new secret")
    assert "secret" not in session.proof


def test_csrf_is_tied_to_the_session() -> None:
    sessions = Sessions(b"k" * 32)
    one = sessions.read(sessions.issue("AK", "secret", 1.0), 1.0)
    two = sessions.read(sessions.issue("AK", "secret", 1.0), 1.0)
    assert one is not None and two is not None
    assert sessions.csrf_ok(one, sessions.csrf(one))
    assert not sessions.csrf_ok(one, sessions.csrf(two))
    assert not sessions.csrf_ok(one, None) and not sessions.csrf_ok(one, "")


def test_the_server_secret_is_made_once_and_kept(tmp_path: Path) -> None:
    first = server_secret(tmp_path)
    assert len(first) == 32 and server_secret(tmp_path) == first
    assert (tmp_path / "console-session.key").stat().st_mode & 0o077 == 0
    assert [p.name for p in tmp_path.iterdir()] == ["console-session.key"]


def test_cookie_flags_and_parsing() -> None:
    value = cookie("abc")
    assert value == "oortgate_console=abc; Path=/_console/; HttpOnly; Secure; SameSite=Strict"
    assert token_from("a=1; oortgate_console=abc; b=2") == "abc"
    assert token_from(None) is None and token_from("other=1") is None
