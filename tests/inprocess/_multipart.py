"""Multipart steps shared by the multipart test modules."""

from __future__ import annotations

from ._client import Client

MIB = 1024 * 1024
PART = b"p" * (5 * MIB)  # the smallest part allowed before the last


def create(client: Client, bucket: str, key: str, **headers: str) -> str:
    reply = client.request("POST", f"/{bucket}/{key}", "uploads", headers=_names(headers))
    assert reply.status == 200, reply.body
    upload_id = reply.xml().findtext("UploadId")
    assert upload_id
    return upload_id


def upload(client: Client, bucket: str, key: str, upload_id: str, number: int, data: bytes) -> str:
    reply = client.request(
        "PUT", f"/{bucket}/{key}", f"partNumber={number}&uploadId={upload_id}", data
    )
    assert reply.status == 200, reply.body
    return reply.headers["etag"]


def complete_xml(parts: list[tuple[int, str]]) -> bytes:
    inner = "".join(f"<Part><PartNumber>{n}</PartNumber><ETag>{e}</ETag></Part>" for n, e in parts)
    return f"<CompleteMultipartUpload>{inner}</CompleteMultipartUpload>".encode()


def _names(headers: dict[str, str]) -> dict[str, str]:
    return {k.replace("_", "-"): v for k, v in headers.items()}
