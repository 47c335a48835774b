"""ops/object_read.py: a GET that loses a race to the collector (grace 0). The key is
overwritten or deleted, and the old blob collected, after the GET looked the key up and
before it opened the blob: the GET answers as one that came after the change would (the
new object; NoSuchKey; NoSuchVersion). The blob of a record still current missing is
damage: 500 InternalError and a log line.

The race is made deterministic by a hook in read_lease.take, which the read calls
between the lookup and the open: there the test changes the key through the gateway
and deletes the old blobs, as the collector would.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Awaitable, Callable, Sequence

import pytest

from oortgate.meta.base import MetaStore
from oortgate.meta.models import Segment
from oortgate.ops import read_lease

from ._client import Client, Harness, Reply, _exchange

OLD = bytes(range(256)) * 200  # 51,200 bytes: past inline_max_size, stored as a blob
NEW = b"new-" * 20_000  # a blob too
SMALL = b"small and inline"
VERSIONING = (b'<VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
              b"<Status>Enabled</Status></VersioningConfiguration>")  # fmt: skip

Change = Callable[[], Awaitable[object]]


def _race(monkeypatch: pytest.MonkeyPatch, harness: Harness, change: Change | None,
          times: int = 1) -> list[int]:  # fmt: skip
    """From now on the first ``times`` reads of blobs lose the race: ``change`` runs
    (if any), then the blobs the read is about to open are deleted. Returns a list
    that counts the races run."""
    real_take = read_lease.take
    ran: list[int] = []

    async def take(meta: MetaStore, segments: Sequence[Segment]) -> str | None:
        if len(ran) < times and segments:
            ran.append(1)
            if change is not None:
                await change()
            for segment in segments:
                await harness.gateway.services.blobs.delete(segment.blob_id)
        return await real_take(meta, segments)

    monkeypatch.setattr(read_lease, "take", take)
    return ran


def _send(client: Client, method: str, path: str, query: str = "", body: bytes = b"",
          headers: dict[str, str] | None = None) -> Change:  # fmt: skip
    """The request, sent from inside the GET (on the harness's loop)."""

    async def send() -> Reply:
        scope = client.scope(method, path, query, body, headers)
        reply = await _exchange(client.harness.gateway, scope, body)
        assert reply.status in (200, 204), reply
        return reply

    return send


@pytest.mark.parametrize("new", [NEW, SMALL], ids=["blob", "inline"])
def test_an_overwritten_key_serves_the_new_object(
    monkeypatch: pytest.MonkeyPatch, harness: Harness, owner: Client, bucket: str, new: bytes
) -> None:
    assert owner.put(bucket, "obj", OLD).status == 200
    ran = _race(monkeypatch, harness, _send(owner, "PUT", f"/{bucket}/obj", body=new))
    reply = owner.get(bucket, "obj")
    assert ran == [1]
    assert reply.status == 200, reply
    assert reply.body == new
    assert reply.headers["etag"] == f'"{hashlib.md5(new).hexdigest()}"'
    assert reply.headers["content-length"] == str(len(new))


def test_a_range_of_an_overwritten_key_is_the_new_objects(
    monkeypatch: pytest.MonkeyPatch, harness: Harness, owner: Client, bucket: str
) -> None:
    assert owner.put(bucket, "obj", OLD).status == 200
    _race(monkeypatch, harness, _send(owner, "PUT", f"/{bucket}/obj", body=NEW))
    reply = owner.get(bucket, "obj", range="bytes=-10")
    assert reply.status == 206
    assert reply.body == NEW[-10:]
    assert reply.headers["content-range"] == f"bytes {len(NEW) - 10}-{len(NEW) - 1}/{len(NEW)}"


def test_the_new_object_is_authorized_anew(
    monkeypatch: pytest.MonkeyPatch, harness: Harness, owner: Client, anon: Client, bucket: str
) -> None:
    """Readable by anyone before, private after the overwrite: not for the anonymous GET."""
    assert owner.put(bucket, "obj", OLD, x_amz_acl="public-read").status == 200
    assert anon.get(bucket, "obj").body == OLD
    _race(monkeypatch, harness, _send(owner, "PUT", f"/{bucket}/obj", body=NEW))
    assert anon.get(bucket, "obj").error == (403, "AccessDenied")


def test_a_deleted_key_is_no_such_key(
    monkeypatch: pytest.MonkeyPatch, harness: Harness, owner: Client, bucket: str,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    assert owner.put(bucket, "obj", OLD).status == 200
    _race(monkeypatch, harness, _send(owner, "DELETE", f"/{bucket}/obj"))
    with caplog.at_level(logging.ERROR, logger="oortgate"):
        assert owner.get(bucket, "obj").error == (404, "NoSuchKey")
    assert "damaged object" not in caplog.text


def test_a_deleted_version_is_no_such_version(
    monkeypatch: pytest.MonkeyPatch, harness: Harness, owner: Client, bucket: str
) -> None:
    assert owner.request("PUT", f"/{bucket}", "versioning", VERSIONING).status == 200
    version = owner.put(bucket, "obj", OLD).headers["x-amz-version-id"]
    assert owner.put(bucket, "obj", NEW).status == 200
    path, query = f"/{bucket}/obj", f"versionId={version}"
    _race(monkeypatch, harness, _send(owner, "DELETE", path, query))
    assert owner.get(bucket, "obj", query).error == (404, "NoSuchVersion")


def test_a_current_record_whose_blob_is_gone_is_damage(
    monkeypatch: pytest.MonkeyPatch, harness: Harness, owner: Client, bucket: str,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    assert owner.put(bucket, "obj", OLD).status == 200
    ran = _race(monkeypatch, harness, None)  # the blob vanishes; the key is unchanged
    with caplog.at_level(logging.ERROR, logger="oortgate"):
        assert owner.get(bucket, "obj").error == (500, "InternalError")
    assert ran == [1]  # looked up again, but not read again: the same record
    assert "damaged object" in caplog.text and "'obj'" in caplog.text


def test_a_race_lost_twice_is_an_error_to_retry_not_damage(
    monkeypatch: pytest.MonkeyPatch, harness: Harness, owner: Client, bucket: str,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    assert owner.put(bucket, "obj", OLD).status == 200
    ran = _race(monkeypatch, harness, _send(owner, "PUT", f"/{bucket}/obj", body=NEW), times=5)
    with caplog.at_level(logging.ERROR, logger="oortgate"):
        assert owner.get(bucket, "obj").error == (500, "InternalError")
    assert ran == [1, 1]  # the lookup, then one more: no loop
    assert "damaged object" not in caplog.text
    monkeypatch.undo()
    assert owner.get(bucket, "obj").body == NEW  # asked again, the client gets the newest
