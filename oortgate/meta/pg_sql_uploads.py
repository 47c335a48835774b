"""The PostgreSQL functions for multipart uploads and buckets (schema version 1): each
write one call, guard rows locked in the order of oortgate.meta.pg_sql_objects."""

from __future__ import annotations

from oortgate.meta.pg_sql_objects import RECORD_PARAMS

_DROP = r"""
CREATE FUNCTION og_drop_upload(p_upload og_name) RETURNS void LANGUAGE plpgsql AS $$
-- Delete an upload and its parts, releasing their blobs (a completed object's parts stay
-- referenced through its object_parts rows). The caller holds the upload row.
DECLARE
    ids og_name[];
BEGIN
    WITH d AS (DELETE FROM upload_parts p WHERE p.upload_id = p_upload RETURNING p.blob_id)
    SELECT coalesce(array_agg(d.blob_id), '{}') INTO ids FROM d;
    DELETE FROM uploads u WHERE u.upload_id = p_upload;
    PERFORM og_release_all(ids);
END $$;
CREATE FUNCTION og_abort_upload(p_upload og_name) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM uploads u WHERE u.upload_id = p_upload FOR UPDATE;
    IF NOT FOUND THEN RETURN false; END IF;
    PERFORM og_drop_upload(p_upload);
    RETURN true;
END $$
"""

_PART = r"""
CREATE FUNCTION og_put_part(p_upload og_name, p_number integer, p_blob og_name,
    p_size bigint, p_etag text, p_checksum text, p_crc text) RETURNS void
LANGUAGE plpgsql AS $$
-- Add or replace a part. Guard: the upload row (shared: parts go on in parallel; a
-- Complete or Abort holds it exclusively, and a part after it finds no upload).
DECLARE
    old og_name;
BEGIN
    PERFORM 1 FROM uploads u WHERE u.upload_id = p_upload FOR SHARE;
    IF NOT FOUND OR NOT og_claim(p_blob) THEN
        PERFORM og_raise('NoSuchUpload', jsonb_build_object('UploadId', p_upload));
    END IF;
    SELECT p.blob_id INTO old FROM upload_parts p
        WHERE p.upload_id = p_upload AND p.part_number = p_number FOR UPDATE;
    INSERT INTO upload_parts (upload_id, part_number, blob_id, size, etag, last_modified,
        checksum, crc64)
    VALUES (p_upload, p_number, p_blob, p_size, p_etag, og_now(), p_checksum, p_crc)
    ON CONFLICT (upload_id, part_number) DO UPDATE SET blob_id = excluded.blob_id,
        size = excluded.size, etag = excluded.etag, last_modified = excluded.last_modified,
        checksum = excluded.checksum, crc64 = excluded.crc64;
    IF old IS NOT NULL AND old <> p_blob THEN PERFORM og_release(old); END IF;
END $$
"""

_COMPLETE = f"""
CREATE FUNCTION og_complete_upload(p_upload og_name, p_used_numbers integer[],
    p_used_blobs og_name[], p_keep_days integer, {RECORD_PARAMS},
    c_match text[], c_none_match boolean, c_size bigint, c_lm bigint)
RETURNS double precision LANGUAGE plpgsql AS $$
DECLARE
    cur record;
    bad integer;
    b og_name;
    lm double precision;
BEGIN
    PERFORM 1 FROM buckets WHERE id = p_bucket FOR SHARE;
    PERFORM 1 FROM uploads u WHERE u.upload_id = p_upload FOR UPDATE;
    IF NOT FOUND THEN
        PERFORM og_raise('NoSuchUpload', jsonb_build_object('UploadId', p_upload));
    END IF;
    SELECT t.n INTO bad FROM unnest(p_used_numbers, p_used_blobs) AS t(n, b)
        LEFT JOIN upload_parts p ON p.upload_id = p_upload AND p.part_number = t.n
        WHERE p.blob_id IS DISTINCT FROM t.b LIMIT 1;
    IF FOUND THEN
        PERFORM og_raise('InvalidPart', jsonb_build_object('PartNumber', bad::text));
    END IF;
    PERFORM og_lock_key(p_bucket, p_key);
    SELECT o.etag, o.size, o.last_modified INTO cur FROM objects o
        WHERE o.bucket_id = p_bucket AND o.key = p_key FOR UPDATE;
    PERFORM og_check(FOUND, cur.etag, cur.size, cur.last_modified, p_key,
                     c_match, c_none_match, c_size, c_lm);
    PERFORM 1 FROM buckets WHERE id = p_bucket;
    IF NOT FOUND THEN PERFORM og_raise('NoSuchBucket'); END IF;
    FOR b IN SELECT x FROM unnest(p_pblobs) AS x ORDER BY x LOOP
        UPDATE blobs SET refs = refs + 1 WHERE blob_id = b AND refs > 0;
        IF NOT FOUND THEN PERFORM og_raise('InvalidPart'); END IF;
    END LOOP;
    lm := og_replace_object(p_bucket, p_key, p_blob, p_size, p_etag, p_ctype, p_headers,
        p_meta, p_sums, p_class, p_parts_count, p_acl, p_owner, p_rready, p_rexpiry, p_tags,
        p_crc, p_pblobs, p_psizes, p_pnums, p_psums, p_pcrcs);
    PERFORM og_drop_upload(p_upload);
    DELETE FROM completed_uploads WHERE completed < og_now() - p_keep_days * 86400;
    INSERT INTO completed_uploads (upload_id, bucket_id, key, etag, last_modified, completed)
    VALUES (p_upload, p_bucket, p_key, p_etag, lm, og_now())
    ON CONFLICT (upload_id) DO UPDATE SET bucket_id = excluded.bucket_id,
        key = excluded.key, etag = excluded.etag, last_modified = excluded.last_modified,
        completed = excluded.completed;
    RETURN lm;
END $$
"""

_BUCKET = r"""
CREATE FUNCTION og_delete_bucket(p_bucket bigint) RETURNS void LANGUAGE plpgsql AS $$
-- Guard: the bucket row, exclusively (a PUT or Complete holds it shared): refused while
-- objects remain; its open uploads go with it. No such bucket: nothing to do.
DECLARE
    bname og_name;
    owner bigint;
    u og_name;
BEGIN
    SELECT b.name, b.owner_id INTO bname, owner FROM buckets b WHERE b.id = p_bucket
        FOR UPDATE;
    IF NOT FOUND THEN RETURN; END IF;
    IF EXISTS (SELECT 1 FROM objects o WHERE o.bucket_id = p_bucket) THEN
        PERFORM og_raise('BucketNotEmpty', jsonb_build_object('BucketName', bname));
    END IF;
    FOR u IN SELECT x.upload_id FROM uploads x WHERE x.bucket_id = p_bucket
             ORDER BY x.upload_id FOR UPDATE LOOP
        PERFORM og_drop_upload(u);
    END LOOP;
    DELETE FROM buckets WHERE id = p_bucket;
    UPDATE users SET bucket_count = bucket_count - 1 WHERE id = owner AND bucket_count > 0;
END $$;
CREATE FUNCTION og_create_bucket(p_name og_name, p_owner bigint, p_region text,
    p_limit integer, p_acl text, p_tier text, p_ownership text, p_object_lock text)
RETURNS TABLE (b_id bigint, b_created double precision) LANGUAGE plpgsql AS $$
-- Guard: the owner's row, whose bucket_count is raised only below the limit. A bucket
-- created with a lock has it, and versioning Enabled, from its first row.
DECLARE
    holder bigint;
BEGIN
    SELECT b.owner_id INTO holder FROM buckets b WHERE b.name = p_name;
    IF FOUND THEN
        PERFORM og_raise(CASE WHEN holder = p_owner THEN 'BucketAlreadyOwnedByYou'
                              ELSE 'BucketAlreadyExists' END,
                         jsonb_build_object('BucketName', p_name));
    END IF;
    UPDATE users SET bucket_count = bucket_count + 1
        WHERE id = p_owner AND bucket_count < p_limit;
    IF NOT FOUND THEN
        IF NOT EXISTS (SELECT 1 FROM users WHERE id = p_owner) THEN
            RAISE EXCEPTION USING ERRCODE = 'OGVAL', MESSAGE = 'no such user: ' || p_owner;
        END IF;
        PERFORM og_raise('TooManyBuckets');
    END IF;
    BEGIN
        INSERT INTO buckets (name, owner_id, region, created, acl, tier, ownership,
            versioning, object_lock)
        VALUES (p_name, p_owner, p_region, og_now(), p_acl, p_tier, p_ownership,
            CASE WHEN p_object_lock IS NOT NULL THEN 'Enabled' END, p_object_lock)
        RETURNING id, created INTO b_id, b_created;
    EXCEPTION WHEN unique_violation THEN  -- lost a race to another writer
        PERFORM og_raise('BucketAlreadyExists', jsonb_build_object('BucketName', p_name));
    END;
    RETURN NEXT;
END $$
"""

UPLOAD_FUNCTIONS = (_DROP, _PART, _COMPLETE, _BUCKET)
KEY_LOCKED = (_COMPLETE,)  # changed since version 1 (see pg_sql_objects.KEY_LOCKED)
LOCK_AT_CREATE = (_BUCKET,)  # changed since version 10: og_create_bucket takes the lock
