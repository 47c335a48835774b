"""MetaStore on SQLite: WAL, synchronous=FULL, one connection per worker process.

The store is assembled from one class per concern: the connection (``sqlite_db``; the
schema is in ``sqlite_schema``), blob reference counts, accounts and buckets, objects,
versions and object lock, listings, the blob lifecycle, multipart uploads, sessions,
console sign-outs.
"""

from __future__ import annotations

from oortgate.errors import S3Error
from oortgate.meta.models import BucketUsage, MetaCounts, StorageUsage
from oortgate.meta.sqlite_accounts import AccountsStore
from oortgate.meta.sqlite_blob_lifecycle import BlobLifecycleStore
from oortgate.meta.sqlite_db import successor
from oortgate.meta.sqlite_listing import ListingStore
from oortgate.meta.sqlite_multipart import MultipartStore
from oortgate.meta.sqlite_schema import SCHEMA_VERSION
from oortgate.meta.sqlite_sessions import SessionsStore
from oortgate.meta.sqlite_signouts import SignoutsStore
from oortgate.meta.sqlite_stats import metadata_counts
from oortgate.meta.sqlite_versions import VersionsStore

__all__ = ["SCHEMA_VERSION", "SqliteMetaStore", "successor"]


class SqliteMetaStore(
    AccountsStore,
    MultipartStore,
    VersionsStore,
    ListingStore,
    BlobLifecycleStore,
    SessionsStore,
    SignoutsStore,
):
    def delete_bucket(self, bucket_id: int) -> None:
        """Refuses a bucket with objects; its open uploads go with it (as on AWS).
        Deleting a bucket that no longer exists is a no-op."""
        with self._write() as db:
            row = self._one("SELECT name, owner_id FROM buckets WHERE id = ?", bucket_id)
            if row is None:
                return
            if self.has_objects(bucket_id):
                raise S3Error("BucketNotEmpty", BucketName=row[0])
            self._drop_bucket_uploads(bucket_id)
            db.execute("DELETE FROM buckets WHERE id = ?", (bucket_id,))
            self._count_down(row[1], "bucket_count")

    def bucket_usage(self, owner_id: int) -> list[BucketUsage]:
        sql = (
            "SELECT b.name, b.tier, b.created, COUNT(o.key), TOTAL(o.size) FROM buckets b"
            " LEFT JOIN objects o ON o.bucket_id = b.id WHERE b.owner_id = ?"
            " GROUP BY b.id ORDER BY b.name"
        )
        with self._snapshot() as db:
            rows = db.execute(sql, (owner_id,)).fetchall()
        return [BucketUsage(n, t, c, count, int(size)) for n, t, c, count, size in rows]

    def usage(self, garbage_due_before: float) -> StorageUsage:
        with self._snapshot() as db:
            stored, count = db.execute("SELECT TOTAL(size), COUNT(*) FROM objects").fetchone()
            (garbage,) = db.execute("SELECT COUNT(*) FROM garbage").fetchone()
            (due,) = db.execute(
                "SELECT COUNT(*) FROM garbage INDEXED BY garbage_queued WHERE queued_at <= ?",
                (garbage_due_before,),
            ).fetchone()
        return StorageUsage(int(stored), count, due, garbage - due)

    def counts(self, garbage_due_before: float) -> MetaCounts:
        with self._snapshot() as db:
            return metadata_counts(db, garbage_due_before)
