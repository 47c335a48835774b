"""Group commit: concurrent metadata calls share commits, each keeps its own outcome."""

from __future__ import annotations

import asyncio
import secrets
from pathlib import Path

import pytest

from oortgate.errors import S3Error
from oortgate.meta.models import BlobBody, ObjectRecord
from oortgate.meta.sqlite import SqliteMetaStore
from oortgate.meta.worker import MetaWorker


def record(bucket_id: int, key: str, blob_id: str) -> ObjectRecord:
    return ObjectRecord(bucket_id, key, BlobBody(blob_id, 1), 1, "00", 1.0)


async def put(worker: MetaWorker, meta: SqliteMetaStore, bucket_id: int, key: str) -> None:
    blob = secrets.token_hex(16)
    await worker.call(meta.add_pending_blob, blob)
    await worker.call(meta.put_object, record(bucket_id, key, blob))


def test_concurrent_writes_share_commits_and_fail_alone(tmp_path: Path) -> None:
    meta = SqliteMetaStore(tmp_path / "m.db")
    user = meta.create_user("u")
    bucket = meta.create_bucket("b", user.id, "us-east-1", 100)
    commits = 0

    def count(statement: str) -> None:
        nonlocal commits
        commits += statement.strip().upper() == "COMMIT"

    meta._conn.set_trace_callback(count)
    worker = MetaWorker(meta)

    async def main() -> list[BaseException | None]:
        good = [put(worker, meta, bucket.id, f"k{i}") for i in range(60)]
        # A copy whose source blob does not exist fails; the others must not notice.
        bad = [worker.call(meta.put_object, record(bucket.id, "bad", "f" * 32)) for _ in range(3)]
        outcomes = await asyncio.gather(*good, *bad, return_exceptions=True)
        return [o if isinstance(o, BaseException) else None for o in outcomes]

    outcomes = asyncio.run(main())
    worker.close()
    assert outcomes[:60] == [None] * 60
    assert all(isinstance(o, S3Error) and o.code == "NoSuchKey" for o in outcomes[60:])
    page = meta.list_objects(bucket.id, max_keys=1000)
    assert sorted(o.key for o in page.objects) == sorted(f"k{i}" for i in range(60))
    assert commits < 120  # 120 writes: grouped, they took far fewer commits


def test_results_and_errors_reach_the_right_caller(tmp_path: Path) -> None:
    meta = SqliteMetaStore(tmp_path / "m.db")
    worker = MetaWorker(meta)

    async def main() -> None:
        users = await asyncio.gather(*(worker.call(meta.create_user, f"u{i}") for i in range(20)))
        assert [u.name for u in users] == [f"u{i}" for i in range(20)]
        with pytest.raises(ValueError, match="taken"):
            await worker.call(meta.create_user, "u3")
        assert (await worker.call(meta.get_user_by_name, "u7")) == users[7]

    asyncio.run(main())
    worker.close()
