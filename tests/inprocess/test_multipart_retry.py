"""ops/multipart_retry.py: a Complete whose upload is gone replays a success that still
stands, and is NoSuchUpload otherwise."""

from __future__ import annotations

from . import _multipart as mp
from ._client import Client


def _completed(owner: Client, bucket: str, key: str) -> tuple[str, bytes, str]:
    upload_id = mp.create(owner, bucket, key)
    etag = mp.upload(owner, bucket, key, upload_id, 1, b"only part")
    body = mp.complete_xml([(1, etag)])
    first = owner.request("POST", f"/{bucket}/{key}", f"uploadId={upload_id}", body)
    assert first.status == 200
    result = first.xml().findtext("ETag")
    assert result is not None
    return upload_id, body, result


def test_a_retried_complete_answers_as_the_first(owner: Client, bucket: str) -> None:
    upload_id, body, etag = _completed(owner, bucket, "k")
    again = owner.request("POST", f"/{bucket}/k", f"uploadId={upload_id}", body)
    assert again.status == 200
    assert again.xml().findtext("ETag") == etag
    assert again.xml().findtext("Key") == "k"


def test_a_retry_with_other_parts_is_no_such_upload(owner: Client, bucket: str) -> None:
    upload_id, _, _ = _completed(owner, bucket, "k")
    other = mp.complete_xml([(1, '"0123456789abcdef0123456789abcdef"')])
    reply = owner.request("POST", f"/{bucket}/k", f"uploadId={upload_id}", other)
    assert reply.error == (404, "NoSuchUpload")


def test_no_replay_once_the_object_is_replaced(owner: Client, bucket: str) -> None:
    upload_id, body, _ = _completed(owner, bucket, "k")
    assert owner.put(bucket, "k", b"overwritten").status == 200
    reply = owner.request("POST", f"/{bucket}/k", f"uploadId={upload_id}", body)
    assert reply.error == (404, "NoSuchUpload")
    assert owner.get(bucket, "k").body == b"overwritten"


def test_no_replay_for_another_key(owner: Client, bucket: str) -> None:
    upload_id, body, _ = _completed(owner, bucket, "k")
    reply = owner.request("POST", f"/{bucket}/elsewhere", f"uploadId={upload_id}", body)
    assert reply.error == (404, "NoSuchUpload")


def test_an_unknown_upload_is_no_such_upload(owner: Client, bucket: str) -> None:
    body = mp.complete_xml([(1, '"0123456789abcdef0123456789abcdef"')])
    reply = owner.request("POST", f"/{bucket}/k", "uploadId=never-was", body)
    assert reply.error == (404, "NoSuchUpload")
