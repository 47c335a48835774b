"""SigV4's keys: the daily signing key derived from a secret, and the signature of a
string to sign with it. Both are cached: a client's key changes once a day, and an HMAC
already keyed with it is copied instead of keyed again for every request."""

from __future__ import annotations

import functools
import hashlib
import hmac


@functools.lru_cache(maxsize=1024)
def signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    """The derived key; it only changes daily, so cache it."""
    key = _hmac(("AWS4" + secret).encode("utf-8"), date)
    for part in (region, service, "aws4_request"):
        key = _hmac(key, part)
    return key


def _hmac(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode("utf-8"), hashlib.sha256).digest()


def sign(key: bytes, string_to_sign: str) -> bytes:
    """The hex signature, as ASCII bytes (for hmac.compare_digest)."""
    mac = _keyed_hmac(key).copy()
    mac.update(string_to_sign.encode("utf-8"))
    return mac.hexdigest().encode("ascii")


@functools.lru_cache(maxsize=1024)
def _keyed_hmac(key: bytes) -> hmac.HMAC:
    """An HMAC already keyed with a (daily) signing key: copying it skips the key setup."""
    return hmac.new(key, digestmod=hashlib.sha256)
