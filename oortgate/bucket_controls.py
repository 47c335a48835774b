"""A bucket's Object Ownership setting and its PublicAccessBlock configuration. Pure:
their values and the stored forms of the two bucket columns that hold them (their XML is
in oortgate.xml.controls)."""

from __future__ import annotations

import functools
import json
from dataclasses import asdict, dataclass
from typing import Final

from oortgate.errors import S3Error

OBJECT_WRITER: Final = "ObjectWriter"  # objects belong to their writer (what no setting means)
BUCKET_OWNER_PREFERRED: Final = "BucketOwnerPreferred"  # ... unless written with b-o-f-c
BUCKET_OWNER_ENFORCED: Final = "BucketOwnerEnforced"  # ACLs off: the bucket owner owns all
OWNERSHIPS: Final = (OBJECT_WRITER, BUCKET_OWNER_PREFERRED, BUCKET_OWNER_ENFORCED)


def ownership_header(value: str | None) -> str | None:
    """CreateBucket's x-amz-object-ownership (None: no setting)."""
    if value is not None and value not in OWNERSHIPS:
        raise S3Error("InvalidArgument", f"Invalid x-amz-object-ownership header: {value}",
                      ArgumentName="x-amz-object-ownership", ArgumentValue=value)  # fmt: skip
    return value


@dataclass(frozen=True, slots=True)
class PublicAccessBlock:
    # The field names are the XML element names (and the stored JSON keys).
    BlockPublicAcls: bool = False  # refuse new public ACLs (403)
    IgnorePublicAcls: bool = False  # public ACLs grant nothing
    BlockPublicPolicy: bool = False  # refuse new public bucket policies (403)
    # A public bucket policy grants nobody but the bucket owner anything.
    RestrictPublicBuckets: bool = False

    def dumps(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))


FLAGS: Final = tuple(PublicAccessBlock.__dataclass_fields__)
NO_BLOCK: Final = PublicAccessBlock()


@functools.lru_cache(maxsize=1024)  # read on every request to a bucket that has one
def load_public_access_block(stored: str | None) -> PublicAccessBlock:
    if stored is None:
        return NO_BLOCK
    return PublicAccessBlock(**{k: bool(v) for k, v in json.loads(stored).items() if k in FLAGS})
