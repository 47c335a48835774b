"""Optional encryption at rest of the secret keys (they are HMAC keys: the server must
be able to read them back, so they are encrypted, not hashed).

With ``OORTGATE_SECRETS_KEY`` (base64 of 32 random bytes) set, secrets are stored as
``enc:v1:<base64(nonce | AES-256-GCM ciphertext)>``; values without the prefix are
plaintext from before the key was set and still work.
"""

from __future__ import annotations

import base64
import binascii
import os
import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

ENV_VAR = "OORTGATE_SECRETS_KEY"
PREFIX = "enc:v1:"


class SecretBoxError(Exception):
    """A sealed secret cannot be opened: missing or wrong OORTGATE_SECRETS_KEY."""


class SecretBox:
    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise SecretBoxError(f"{ENV_VAR} must be the base64 of exactly 32 bytes")
        self._aead = AESGCM(key)

    @classmethod
    def from_env(cls) -> SecretBox | None:
        value = os.environ.get(ENV_VAR)
        if not value:
            return None
        try:
            return cls(base64.b64decode(value, validate=True))
        except binascii.Error as exc:
            raise SecretBoxError(f"{ENV_VAR} is not valid base64") from exc

    @staticmethod
    def generate_key() -> str:
        return base64.b64encode(secrets.token_bytes(32)).decode()

    def seal(self, plaintext: str) -> str:
        nonce = secrets.token_bytes(12)
        sealed = self._aead.encrypt(nonce, plaintext.encode(), PREFIX.encode())
        return PREFIX + base64.b64encode(nonce + sealed).decode()

    def open(self, stored: str) -> str:
        if not stored.startswith(PREFIX):
            return stored
        raw = base64.b64decode(stored[len(PREFIX) :])
        try:
            return self._aead.decrypt(raw[:12], raw[12:], PREFIX.encode()).decode()
        except InvalidTag as exc:
            raise SecretBoxError(f"a stored secret does not open with this {ENV_VAR}") from exc


def open_secret(box: SecretBox | None, stored: str) -> str:
    if box is None:
        if stored.startswith(PREFIX):
            raise SecretBoxError(f"secrets are encrypted: set {ENV_VAR} to read them")
        return stored
    return box.open(stored)


def seal_secret(box: SecretBox | None, plaintext: str) -> str:
    return plaintext if box is None else box.seal(plaintext)
