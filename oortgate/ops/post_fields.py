"""What a POST form's fields ask of the object it uploads, beyond the policy: integrity
checks (Content-MD5, x-amz-checksum-*), features refused rather than ignored, and where
the answer points (the object's URL, the redirect). Pure."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from urllib.parse import quote, urlencode, urlsplit

from oortgate.auth.checksums import (
    algorithm_for_header,
    content_md5,
    is_valid_b64,
    named_algorithm,
)
from oortgate.errors import S3Error

# Fields naming features this gateway lacks: an upload that asks for them is refused,
# never stored without them. (Tags come in the ``tagging`` field, an XML <Tagging>
# document; the header form ``x-amz-tagging`` is no POST field.)
_UNSUPPORTED_PREFIXES = ("x-amz-server-side-encryption", "x-amz-grant-", "x-amz-object-lock-")
_UNSUPPORTED = frozenset({"x-amz-tagging"})


@dataclass(frozen=True, slots=True)
class Integrity:
    """The digests the form says the file has (each checked once it is stored)."""

    md5: bytes | None
    algorithm: str | None  # the flexible checksum to compute and store
    checksum: str | None  # its expected base64 value, if the form sent one

    @classmethod
    def from_fields(cls, fields: dict[str, str]) -> Integrity:
        sent = [(alg, fields[name]) for name in fields if (alg := algorithm_for_header(name))]
        if len(sent) > 1:
            raise S3Error("InvalidRequest", "Expecting a single x-amz-checksum- header. "
                          "Multiple checksum Types are not allowed.")  # fmt: skip
        algorithm = named_algorithm(fields, "x-amz-checksum-algorithm")
        expected = None
        if sent:
            found, expected = sent[0][0], sent[0][1].strip()
            if algorithm is not None and algorithm != found:
                raise S3Error("InvalidRequest", "Value for x-amz-checksum-algorithm header "
                              "is invalid.")  # fmt: skip
            if not is_valid_b64(found, expected):
                raise S3Error(
                    "InvalidRequest", f"Value for x-amz-checksum-{found.lower()} header is invalid."
                )
            algorithm = found
        return cls(content_md5(fields), algorithm, expected)

    def verify(self, md5: bytes, checksum: tuple[str, str] | None) -> None:
        """BadDigest when what was received is not what the form announced."""
        if self.md5 is not None and self.md5 != md5:
            raise S3Error("BadDigest", ExpectedDigest=self.md5.hex(), CalculatedDigest=md5.hex())
        if self.checksum is not None and (
            checksum is None or base64.b64decode(checksum[1]) != base64.b64decode(self.checksum)
        ):
            raise S3Error("BadDigest", f"The {self.algorithm} you specified did not match the "
                          "calculated checksum.")  # fmt: skip


def reject_unsupported(fields: dict[str, str]) -> None:
    for name in fields:
        if name in _UNSUPPORTED or name.startswith(_UNSUPPORTED_PREFIXES):
            raise S3Error("NotImplemented", f"The form field {name} is not implemented.",
                          Header=name)  # fmt: skip


def object_url(host: str, bucket: str | None, key: str) -> str:
    """The new object's URL, as AWS's Location shows it: the host the client used
    (``bucket`` None: a virtual host, the bucket is in it) and the key URL-encoded,
    "/" included."""
    path = quote(key, safe="")
    return f"https://{host}/{path}" if bucket is None else f"https://{host}/{bucket}/{path}"


def redirect_url(target: str, bucket: str, key: str, etag: str) -> str | None:
    """success_action_redirect with bucket, key and etag appended; None when the value
    is no absolute http(s) URL, which AWS answers as if the field were absent."""
    parts = urlsplit(target)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    query = urlencode({"bucket": bucket, "key": key, "etag": etag})
    joiner = "&" if parts.query else ("" if target.endswith("?") else "?")
    return f"{target}{joiner}{query}"
