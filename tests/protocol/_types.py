"""The types of the protocol fixtures (conftest.py), for the tests' annotations.

boto3 builds its client methods at run time; the clients stay ``Any`` so that tests may
send what no typed stub allows (bad parameters on purpose, raw header overrides).
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from typing import Any, TypeAlias

from ._s3raw import RawClient

S3Client: TypeAlias = Any
MinioClient: TypeAlias = Any


class UserKeys(tuple):  # type: ignore[type-arg]
    """(access_key, secret_key), plus the user's name and canonical id."""

    name: str
    canonical_id: str
    user_id: str

    def __new__(cls, ak: str, sk: str, name: str, canonical_id: str, user_id: str) -> UserKeys:
        obj = super().__new__(cls, (ak, sk))
        obj.name = name
        obj.canonical_id = canonical_id
        obj.user_id = user_id
        return obj

    @property
    def access_key(self) -> str:
        return str(self[0])

    @property
    def secret_key(self) -> str:
        return str(self[1])


ClientFor: TypeAlias = Callable[..., S3Client]
MakeUser: TypeAlias = Callable[..., UserKeys]
UniqueName: TypeAlias = Callable[..., str]
MakeBucket: TypeAlias = Callable[..., str]
RawFor: TypeAlias = Callable[[str, str], RawClient]
RunCli: TypeAlias = Callable[..., subprocess.CompletedProcess[str]]
