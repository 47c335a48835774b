"""The SQLite schema: the statements that bring a database from version N-1 to N, and
the facts about its tables that other modules build queries from."""

from __future__ import annotations

from oortgate.meta.body_rows import INLINE_MARK

# A row's blob_id that names a blob file: not an inline blob, not a multipart object's ''.
FILE_BLOB = f"blob_id != '' AND substr(blob_id, 1, 1) != '{INLINE_MARK}'"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS users (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,
    canonical_id TEXT NOT NULL UNIQUE, created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS access_keys (access_key TEXT PRIMARY KEY, secret_key TEXT NOT NULL,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    enabled INTEGER NOT NULL, created REAL NOT NULL, rate_limit REAL);
CREATE INDEX IF NOT EXISTS access_keys_user ON access_keys(user_id);
CREATE TABLE IF NOT EXISTS buckets (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,
    owner_id INTEGER NOT NULL REFERENCES users(id), region TEXT NOT NULL, created REAL NOT NULL,
    acl TEXT NOT NULL DEFAULT 'private', cors TEXT, tier TEXT NOT NULL DEFAULT 'standard');
CREATE INDEX IF NOT EXISTS buckets_owner ON buckets(owner_id, name);
CREATE TABLE IF NOT EXISTS objects (bucket_id INTEGER NOT NULL REFERENCES buckets(id),
    key TEXT NOT NULL, blob_id TEXT NOT NULL, size INTEGER NOT NULL, etag TEXT NOT NULL,
    last_modified REAL NOT NULL, content_type TEXT NOT NULL, system_headers TEXT NOT NULL,
    user_metadata TEXT NOT NULL, checksums TEXT NOT NULL, storage_class TEXT NOT NULL,
    parts_count INTEGER NOT NULL DEFAULT 0, acl TEXT NOT NULL DEFAULT 'private', owner_id INTEGER,
    restore_ready REAL, restore_expiry REAL,
    PRIMARY KEY (bucket_id, key)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS objects_blob ON objects(blob_id);
CREATE TABLE IF NOT EXISTS object_parts (bucket_id INTEGER NOT NULL, key TEXT NOT NULL,
    idx INTEGER NOT NULL, blob_id TEXT NOT NULL, size INTEGER NOT NULL,
    PRIMARY KEY (bucket_id, key, idx)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS object_parts_blob ON object_parts(blob_id);
CREATE TABLE IF NOT EXISTS uploads (upload_id TEXT PRIMARY KEY,
    bucket_id INTEGER NOT NULL REFERENCES buckets(id), key TEXT NOT NULL,
    initiated REAL NOT NULL, content_type TEXT NOT NULL, system_headers TEXT NOT NULL,
    user_metadata TEXT NOT NULL, storage_class TEXT NOT NULL, checksum_algorithm TEXT,
    checksum_type TEXT, acl TEXT NOT NULL DEFAULT 'private', owner_id INTEGER) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS uploads_key ON uploads(bucket_id, key, upload_id);
CREATE TABLE IF NOT EXISTS upload_parts (upload_id TEXT NOT NULL, part_number INTEGER NOT NULL,
    blob_id TEXT NOT NULL, size INTEGER NOT NULL, etag TEXT NOT NULL,
    last_modified REAL NOT NULL, checksum TEXT,
    PRIMARY KEY (upload_id, part_number)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS upload_parts_blob ON upload_parts(blob_id);
CREATE TABLE IF NOT EXISTS pending_blobs (blob_id TEXT PRIMARY KEY, created REAL NOT NULL)
    WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS garbage (blob_id TEXT PRIMARY KEY) WITHOUT ROWID
"""

# Version 2: small objects' bytes, kept apart from the objects table so that listings
# scan narrow rows.
_INLINE_BLOBS = """
CREATE TABLE IF NOT EXISTS inline_blobs (blob_id TEXT PRIMARY KEY, data BLOB NOT NULL)
"""

# Version 3: when a blob became garbage, so that the collector can leave it for a grace
# period (a download under way may not have opened it yet); indexed, so that a pass of
# the collector reads only what is due, not the grace period's worth of fresh garbage.
_GARBAGE_QUEUED_AT = """
ALTER TABLE garbage ADD COLUMN queued_at REAL NOT NULL DEFAULT 0;
CREATE INDEX garbage_queued ON garbage(queued_at)
"""

# Version 4: a completed multipart object's parts keep the number the client gave each
# and its checksum (GetObjectAttributes lists them); NULL in rows written before.
_OBJECT_PART_ATTRIBUTES = """
ALTER TABLE object_parts ADD COLUMN part_number INTEGER;
ALTER TABLE object_parts ADD COLUMN checksum TEXT
"""

# Version 5: tag sets (see oortgate.tagging) as JSON, NULL when there are none:
# objects', open uploads' (applied at completion) and buckets'.
_TAGS = """
ALTER TABLE objects ADD COLUMN tags TEXT;
ALTER TABLE uploads ADD COLUMN tags TEXT;
ALTER TABLE buckets ADD COLUMN tags TEXT
"""

# Version 6: completed multipart uploads, so that a retried CompleteMultipartUpload (its response
# was lost) answers 200 again rather than NoSuchUpload; pruned by age (indexed).
_COMPLETED_UPLOADS = """
CREATE TABLE IF NOT EXISTS completed_uploads (upload_id TEXT PRIMARY KEY,
    bucket_id INTEGER NOT NULL, key TEXT NOT NULL, etag TEXT NOT NULL,
    last_modified REAL NOT NULL, completed REAL NOT NULL) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS completed_uploads_age ON completed_uploads(completed)
"""

# Version 7: a bucket's Object Ownership setting and its PublicAccessBlock configuration
# (JSON); NULL: none set.
_BUCKET_ACCESS_CONTROLS = """
ALTER TABLE buckets ADD COLUMN ownership TEXT;
ALTER TABLE buckets ADD COLUMN public_access_block TEXT
"""

# Version 8: each blob's integrity CRC (oortgate.integrity), where a row names the blob;
# NULL in rows written before (those are not checked on read).
_INTEGRITY = """
ALTER TABLE objects ADD COLUMN crc64 TEXT;
ALTER TABLE object_parts ADD COLUMN crc64 TEXT;
ALTER TABLE upload_parts ADD COLUMN crc64 TEXT
"""

# Version 9: nothing decides "is any row still pointing at this blob?" inside a
# transaction (correct only while one writer exists): each blob file has a row counting
# its references (inline blobs: a column), updated with the rows that reference it; a
# count reaching 0 queues the blob as garbage. Workers register sessions; a pending blob
# belongs to one (NULL: written before sessions, or by a session-less tool). Users carry
# their bucket and key counts, raised by a guarded UPDATE. All backfilled from the rows.
_REFERENCE_COUNTS = f"""
CREATE TABLE IF NOT EXISTS blobs (blob_id TEXT PRIMARY KEY, refs INTEGER NOT NULL)
    WITHOUT ROWID;
INSERT INTO blobs (blob_id, refs) SELECT blob_id, COUNT(*) FROM (
    SELECT blob_id FROM objects WHERE parts_count = 0 AND {FILE_BLOB}
    UNION ALL SELECT blob_id FROM object_parts WHERE {FILE_BLOB}
    UNION ALL SELECT blob_id FROM upload_parts WHERE {FILE_BLOB}) GROUP BY blob_id;
ALTER TABLE inline_blobs ADD COLUMN refs INTEGER NOT NULL DEFAULT 0;
UPDATE inline_blobs SET refs = (SELECT COUNT(*) FROM objects
    WHERE objects.blob_id = inline_blobs.blob_id AND objects.parts_count = 0);
DELETE FROM inline_blobs WHERE refs = 0;
CREATE TABLE IF NOT EXISTS sessions (session_id TEXT PRIMARY KEY, host TEXT NOT NULL,
    pid INTEGER NOT NULL, started REAL NOT NULL, heartbeat REAL NOT NULL) WITHOUT ROWID;
ALTER TABLE pending_blobs ADD COLUMN session_id TEXT;
CREATE INDEX pending_blobs_session ON pending_blobs(session_id);
ALTER TABLE users ADD COLUMN bucket_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN key_count INTEGER NOT NULL DEFAULT 0;
UPDATE users SET
    bucket_count = (SELECT COUNT(*) FROM buckets WHERE buckets.owner_id = users.id),
    key_count = (SELECT COUNT(*) FROM access_keys WHERE access_keys.user_id = users.id)
"""

# Version 10: console sessions signed out before their tokens expire (every worker
# refuses such a token at once); a row goes once its token would be refused anyway.
_CONSOLE_SIGNOUTS = """
CREATE TABLE IF NOT EXISTS console_signouts (sid TEXT PRIMARY KEY, expires REAL NOT NULL)
    WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS console_signouts_expires ON console_signouts(expires)
"""

# Version 11: a bucket's policy (the JSON text as put); NULL: none.
_BUCKET_POLICY = """
ALTER TABLE buckets ADD COLUMN policy TEXT
"""

# Version 12: read leases. A download of a large or multipart object leases its blobs
# under its worker's session; the collector skips a leased blob (see MetaStore.lease_blobs).
_READ_LEASES = """
CREATE TABLE IF NOT EXISTS read_leases (blob_id TEXT NOT NULL, lease_id TEXT NOT NULL,
    session_id TEXT NOT NULL, PRIMARY KEY (blob_id, lease_id)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS read_leases_lease ON read_leases(lease_id);
CREATE INDEX IF NOT EXISTS read_leases_session ON read_leases(session_id)
"""

# Version 13: a bucket's lifecycle rules (JSON); the leases that let one gateway at a
# time do a job (the lifecycle worker).
_LIFECYCLE = """
ALTER TABLE buckets ADD COLUMN lifecycle TEXT;
CREATE TABLE IF NOT EXISTS leases (name TEXT PRIMARY KEY, holder TEXT NOT NULL,
    expires REAL NOT NULL)
"""

# Version 14: versioning. ``objects`` keeps each key's current version only (its
# version_id '' being the null version), so reads and plain listings cost what they
# did; object_versions holds noncurrent versions and delete markers, newest first by
# ``seq`` (falling per key), with their parts in object_version_parts.
_VERSIONS = """
ALTER TABLE buckets ADD COLUMN versioning TEXT;
ALTER TABLE objects ADD COLUMN version_id TEXT NOT NULL DEFAULT '';
CREATE TABLE IF NOT EXISTS object_versions (bucket_id INTEGER NOT NULL REFERENCES buckets(id),
    key TEXT NOT NULL, seq INTEGER NOT NULL, version_id TEXT NOT NULL,
    marker INTEGER NOT NULL DEFAULT 0, blob_id TEXT NOT NULL, size INTEGER NOT NULL,
    etag TEXT NOT NULL, last_modified REAL NOT NULL, content_type TEXT NOT NULL,
    system_headers TEXT NOT NULL, user_metadata TEXT NOT NULL, checksums TEXT NOT NULL,
    storage_class TEXT NOT NULL, parts_count INTEGER NOT NULL DEFAULT 0,
    acl TEXT NOT NULL DEFAULT 'private', owner_id INTEGER, restore_ready REAL,
    restore_expiry REAL, tags TEXT, crc64 TEXT,
    PRIMARY KEY (bucket_id, key, seq)) WITHOUT ROWID;
CREATE UNIQUE INDEX IF NOT EXISTS object_versions_id ON object_versions(bucket_id, key, version_id);
CREATE INDEX IF NOT EXISTS object_versions_blob ON object_versions(blob_id);
CREATE TABLE IF NOT EXISTS object_version_parts (bucket_id INTEGER NOT NULL, key TEXT NOT NULL,
    seq INTEGER NOT NULL, idx INTEGER NOT NULL, blob_id TEXT NOT NULL, size INTEGER NOT NULL,
    part_number INTEGER NOT NULL, checksum TEXT, crc64 TEXT,
    PRIMARY KEY (bucket_id, key, seq, idx)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS object_version_parts_blob ON object_version_parts(blob_id)
"""

# Version 15: object lock. A bucket's lock configuration (JSON; NULL: no lock), the lock
# an upload's CreateMultipartUpload asked for (JSON, applied at Complete), and each
# locked version's retention and legal hold, keyed by version id rather than kept on the
# objects/object_versions rows: a version moving between those tables keeps its lock
# with no statement of its own, and reads of unlocked buckets never touch this table.
_OBJECT_LOCK = """
ALTER TABLE buckets ADD COLUMN object_lock TEXT;
ALTER TABLE uploads ADD COLUMN object_lock TEXT;
CREATE TABLE IF NOT EXISTS object_locks (bucket_id INTEGER NOT NULL, key TEXT NOT NULL,
    version_id TEXT NOT NULL, mode TEXT, retain_until REAL,
    legal_hold INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (bucket_id, key, version_id)) WITHOUT ROWID
"""

# The statements that bring a database from version N-1 to N, for N = 1, 2, ...
MIGRATIONS = (
    _SCHEMA, _INLINE_BLOBS, _GARBAGE_QUEUED_AT, _OBJECT_PART_ATTRIBUTES, _TAGS,
    _COMPLETED_UPLOADS, _BUCKET_ACCESS_CONTROLS, _INTEGRITY, _REFERENCE_COUNTS,
    _CONSOLE_SIGNOUTS, _BUCKET_POLICY, _READ_LEASES, _LIFECYCLE, _VERSIONS, _OBJECT_LOCK,
)  # fmt: skip
SCHEMA_VERSION = len(MIGRATIONS)

# Every table whose rows keep a blob alive.
BLOB_REFERENCES = (
    "objects",
    "object_parts",
    "upload_parts",
    "object_versions",
    "object_version_parts",
)
# Every table that knows a blob id: references, their counts, pending marks, garbage.
BLOB_TABLES = (*BLOB_REFERENCES, "blobs", "pending_blobs", "garbage")
