"""ops/blob_writer.py: whatever fails between the pending mark and the metadata commit
(the blob store's write, the client, a digest, the commit itself, a cancelled task), the
request leaves no pending mark, no temp file, and no blob file past the next collection;
what did commit keeps its bytes.

The counts come from ``oortgate.stats.collect`` (what ``oortgate admin stats --json``
prints). Bodies are larger than a write batch (1 MiB), so the blob store has bytes of the
new blob when the failure comes.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from oortgate import gc, stats
from oortgate.meta.models import BlobBody
from oortgate.storage.base import BlobWriter

from . import _multipart as mp
from ._client import Client, Harness, Reply, reply
from .test_post_object import BOUNDARY, _form, _signed_fields

MIB = 1024 * 1024
BIG = b"b" * (2 * MIB + 5)  # past the inline limit and one write batch


class Step:
    """What the client does instead of sending the next body bytes."""


DISCONNECT, HANG = Step(), Step()
Action = bytes | Step | Callable[[], Awaitable[object]]  # bytes: one body message


async def _send(harness: Harness, scope: dict[str, Any], steps: list[Action],
                stalled: asyncio.Event | None = None) -> Reply | None:  # fmt: skip
    """The request, its body sent step by step (the last step ends it); an action (a
    coroutine function) runs when the gateway asks for the next body bytes. HANG: the
    client stalls, and the request's task is cancelled (None returned); so it is once
    ``stalled`` is set, if given."""
    sent: list[dict[str, Any]] = []
    cancel = stalled is not None or HANG in steps
    stalled = stalled or asyncio.Event()
    queue = list(steps)

    async def receive() -> dict[str, Any]:
        while queue:
            step = queue.pop(0)
            if isinstance(step, bytes):
                return {"type": "http.request", "body": step, "more_body": bool(queue)}
            if step is DISCONNECT:
                return {"type": "http.disconnect"}
            if step is HANG:
                stalled.set()
                await asyncio.sleep(3600)
            assert callable(step)
            await step()
        await asyncio.sleep(3600)  # asked again after the whole body, as a client waits
        raise AssertionError("unreachable")

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    task = asyncio.ensure_future(harness.gateway(scope, receive, send))
    if not cancel:
        await asyncio.wait_for(task, timeout=30)
        return reply(sent)
    await asyncio.wait_for(stalled.wait(), timeout=30)
    await asyncio.sleep(0.1)  # the first batch's write under way or done
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.wait_for(task, timeout=30)
    assert task.cancelled() or sent == [], "the handler swallowed the cancellation"
    return None


def _counts(harness: Harness) -> tuple[int, int, int, int]:
    """(pending marks, temp files, blob files, orphans) once due garbage is collected."""
    services = harness.gateway.services
    harness.run(gc.collect_due(services.meta, services.blobs, grace=0))
    found: Any = harness.run(stats.collect(services.meta, services.blobs, harness.data_dir, 0))
    blobs = found["blobs"]
    return blobs["pending"], found["temp_files"], blobs["files"], blobs["orphans"]


def _files(harness: Harness) -> int:
    return _counts(harness)[2]


def _left_nothing(harness: Harness, files_before: int) -> None:
    assert _counts(harness) == (0, 0, files_before, 0)


def _run(harness: Harness, client: Client, steps: list[Action], method: str, path: str,
         query: str = "", body: bytes = BIG, stalled: asyncio.Event | None = None,
         **headers: str) -> Reply | None:  # fmt: skip
    names = {k.replace("_", "-"): v for k, v in headers.items()}
    scope = client.scope(method, path, query, body, names)
    return harness.run(_send(harness, scope, steps, stalled))


def _halves(body: bytes = BIG) -> tuple[bytes, bytes]:
    return body[: 2 * MIB], body[2 * MIB :]


def test_a_committed_put_counts_one_file(harness: Harness, owner: Client, bucket: str) -> None:
    """The control: the counts see what a successful write leaves."""
    before = _files(harness)
    first, rest = _halves()
    got = _run(harness, owner, [first, rest], "PUT", f"/{bucket}/k")
    assert got is not None and got.status == 200
    assert _counts(harness) == (0, 0, before + 1, 0)
    assert owner.get(bucket, "k").body == BIG


def test_put_client_gone_mid_body(harness: Harness, owner: Client, bucket: str) -> None:
    owner.put(bucket, "kept", BIG)
    before = _files(harness)
    got = _run(harness, owner, [_halves()[0], DISCONNECT], "PUT", f"/{bucket}/k")
    assert got is not None and got.error == (400, "IncompleteBody")
    _left_nothing(harness, before)
    assert owner.get(bucket, "kept").body == BIG


class _FailingWriter:
    """A blob writer whose writes fail as a disk would (the file is the store's own)."""

    def __init__(self, inner: BlobWriter) -> None:
        self._inner = inner
        self.blob_id = inner.blob_id

    async def write(self, data: bytes) -> None:
        raise OSError(errno.EIO, "injected write failure")

    async def commit(self) -> None:
        await self._inner.commit()

    async def abort(self) -> None:
        await self._inner.abort()


def test_put_write_fails(
    harness: Harness, owner: Client, bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    blobs = harness.gateway.services.blobs
    real = blobs.open_writer

    async def failing(blob_id: str) -> BlobWriter:
        return _FailingWriter(await real(blob_id))

    before = _files(harness)
    monkeypatch.setattr(blobs, "open_writer", failing)
    got = _run(harness, owner, list(_halves()), "PUT", f"/{bucket}/k")
    assert got is not None and got.error == (500, "InternalError")
    monkeypatch.undo()
    _left_nothing(harness, before)
    assert owner.get(bucket, "k").status == 404


def test_put_digest_mismatch(harness: Harness, owner: Client, bucket: str) -> None:
    before = _files(harness)
    wrong_md5 = "1B2M2Y8AsgTpgAmY7PhCfg=="  # the MD5 of no bytes
    got = _run(harness, owner, list(_halves()), "PUT", f"/{bucket}/k", content_md5=wrong_md5)
    assert got is not None and got.error == (400, "BadDigest")
    got = _run(harness, owner, list(_halves()), "PUT", f"/{bucket}/k2",
               x_amz_checksum_crc32="AAAAAA==")  # fmt: skip
    assert got is not None and got.status == 400
    _left_nothing(harness, before)
    assert owner.get(bucket, "k").status == owner.get(bucket, "k2").status == 404


def test_put_loses_its_precondition_race(harness: Harness, owner: Client, bucket: str) -> None:
    before = _files(harness)

    async def winner() -> None:  # another writer creates the key while the body arrives
        scope = owner.scope("PUT", f"/{bucket}/k", body=b"first")
        assert (await _send(harness, scope, [b"first"])) is not None

    steps: list[Action] = [_halves()[0], winner, _halves()[1]]
    got = _run(harness, owner, steps, "PUT", f"/{bucket}/k", if_none_match="*")
    assert got is not None and got.error == (409, "ConditionalRequestConflict")
    _left_nothing(harness, before)  # the winner is inline: no file
    assert owner.get(bucket, "k").body == b"first"


def test_put_commit_fails(
    harness: Harness, owner: Client, bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The metadata store fails the commit itself (no S3 error: a disk, a driver)."""

    async def failing(*args: object) -> None:
        raise OSError(errno.EIO, "injected commit failure")

    before = _files(harness)
    monkeypatch.setattr(harness.meta, "put_object", failing)
    got = _run(harness, owner, list(_halves()), "PUT", f"/{bucket}/k")
    assert got is not None and got.error == (500, "InternalError")
    monkeypatch.undo()
    _left_nothing(harness, before)


def test_put_cancelled_mid_write(harness: Harness, owner: Client, bucket: str) -> None:
    before = _files(harness)
    assert _run(harness, owner, [_halves()[0], HANG], "PUT", f"/{bucket}/k") is None
    _left_nothing(harness, before)
    assert owner.get(bucket, "k").status == 404


def test_put_cancelled_while_the_mark_is_made(
    harness: Harness, owner: Client, bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The store applies the pending mark, but the task is cancelled before the answer
    comes back: the mark is dropped all the same."""
    real = harness.meta.add_pending_blob
    marked = asyncio.Event()

    async def slow_answer(blob_id: str) -> None:
        await real(blob_id)
        marked.set()
        await asyncio.sleep(3600)

    before = _files(harness)
    monkeypatch.setattr(harness.meta, "add_pending_blob", slow_answer)
    assert _run(harness, owner, list(_halves()), "PUT", f"/{bucket}/k", stalled=marked) is None
    monkeypatch.undo()
    _left_nothing(harness, before)


def _part_path(bucket: str, upload_id: str, number: int = 1) -> tuple[str, str]:
    return f"/{bucket}/mp", f"partNumber={number}&uploadId={upload_id}"


def test_upload_part_digest_mismatch(harness: Harness, owner: Client, bucket: str) -> None:
    upload_id = mp.create(owner, bucket, "mp")
    before = _files(harness)
    path, query = _part_path(bucket, upload_id)
    got = _run(harness, owner, list(_halves()), "PUT", path, query,
               content_md5="1B2M2Y8AsgTpgAmY7PhCfg==")  # fmt: skip
    assert got is not None and got.error == (400, "BadDigest")
    _left_nothing(harness, before)
    listed = owner.request("GET", f"/{bucket}/mp", f"uploadId={upload_id}")
    assert listed.texts("Part/PartNumber") == []


def test_upload_part_commit_finds_the_upload_aborted(
    harness: Harness, owner: Client, bucket: str
) -> None:
    upload_id = mp.create(owner, bucket, "mp")
    mp.upload(owner, bucket, "mp", upload_id, 2, b"an earlier part")
    before = _files(harness)

    async def abort() -> None:  # aborted by another client while this part arrives
        assert await harness.meta.abort_upload(upload_id)

    path, query = _part_path(bucket, upload_id)
    got = _run(harness, owner, [_halves()[0], abort, _halves()[1]], "PUT", path, query)
    assert got is not None and got.error == (404, "NoSuchUpload")
    _left_nothing(harness, before - 1)  # the earlier part went with the upload


def test_upload_part_commit_fails(
    harness: Harness, owner: Client, bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    upload_id = mp.create(owner, bucket, "mp")
    before = _files(harness)

    async def failing(*args: object) -> None:
        raise OSError(errno.EIO, "injected commit failure")

    monkeypatch.setattr(harness.meta, "put_part", failing)
    path, query = _part_path(bucket, upload_id)
    got = _run(harness, owner, list(_halves()), "PUT", path, query)
    assert got is not None and got.error == (500, "InternalError")
    monkeypatch.undo()
    _left_nothing(harness, before)


def test_upload_part_cancelled_mid_write(harness: Harness, owner: Client, bucket: str) -> None:
    upload_id = mp.create(owner, bucket, "mp")
    before = _files(harness)
    path, query = _part_path(bucket, upload_id)
    assert _run(harness, owner, [_halves()[0], HANG], "PUT", path, query) is None
    _left_nothing(harness, before)


def test_upload_part_copy_source_bytes_gone(harness: Harness, owner: Client, bucket: str) -> None:
    owner.put(bucket, "src", BIG)
    upload_id = mp.create(owner, bucket, "mp")
    found = harness.get_bucket(bucket)
    assert found is not None
    source = harness.run(harness.meta.get_object(found.id, "src"))
    assert source is not None and isinstance(source.body, BlobBody)
    harness.run(harness.gateway.services.blobs.delete(source.body.blob_id))  # lost under the row
    before = _files(harness)
    path, query = _part_path(bucket, upload_id)
    got = _run(harness, owner, [b""], "PUT", path, query, body=b"",
               x_amz_copy_source=f"/{bucket}/src")  # fmt: skip
    assert got is not None and got.error == (404, "NoSuchKey")
    _left_nothing(harness, before)


def test_post_object_refused_after_the_file(
    harness: Harness, owner: Client, anon: Client, bucket: str
) -> None:
    before = _files(harness)
    policy = [["starts-with", "$key", ""], ["content-length-range", len(BIG) + 1, 10 * MIB]]
    form = _form(_signed_fields(owner, bucket, policy, key="posted"), BIG)
    got = _run(harness, anon, [form[: 2 * MIB], form[2 * MIB :]], "POST", f"/{bucket}",
               body=form, content_type=f"multipart/form-data; boundary={BOUNDARY}")  # fmt: skip
    assert got is not None and got.error == (400, "EntityTooSmall")
    _left_nothing(harness, before)
    assert owner.get(bucket, "posted").status == 404
