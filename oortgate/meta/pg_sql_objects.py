"""The PostgreSQL functions for objects, listings and blob references (schema version 1).

Each write is one function call: one round trip, one transaction. Under READ COMMITTED
every statement in a (volatile) function sees what committed before it started, and
invariants are guarded by locking a named row first, in one order everywhere: bucket
row, upload row, the key (og_lock_key), object row, blob rows (sorted by id), user row.
An S3 error leaves as
SQLSTATE OGS3E with the code as message and the XML fields as JSON detail.
"""

from __future__ import annotations

_ERRORS = r"""
CREATE FUNCTION og_raise(p_code text, p_fields jsonb DEFAULT '{}') RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION USING ERRCODE = 'OGS3E', MESSAGE = p_code, DETAIL = p_fields::text;
END $$
"""

# The smallest string greater than every string starting with p (NULL: none), as
# oortgate.meta.sqlite_db.successor.
_SUCCESSOR = r"""
CREATE FUNCTION og_successor(p og_name) RETURNS og_name
LANGUAGE plpgsql IMMUTABLE STRICT AS $$
DECLARE
    c integer;
BEGIN
    FOR i IN REVERSE length(p)..1 LOOP
        c := ascii(substr(p, i, 1)) + 1;
        IF c = 55296 THEN c := 57344; END IF;  -- no surrogates in UTF-8
        IF c <= 1114111 THEN RETURN (substr(p, 1, i - 1) || chr(c))::og_name; END IF;
    END LOOP;
    RETURN NULL;
END $$
"""

# oortgate.meta.preconditions.check, on the row as this transaction locked it.
_CHECK = r"""
CREATE FUNCTION og_check(p_found boolean, p_etag text, p_size bigint, p_lm double precision,
    p_key og_name, c_match text[], c_none_match boolean, c_size bigint, c_lm bigint)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF c_none_match AND p_found THEN
        PERFORM og_raise('PreconditionFailed', jsonb_build_object('Condition', 'If-None-Match'));
    END IF;
    IF c_match IS NOT NULL THEN
        IF NOT p_found THEN
            PERFORM og_raise('NoSuchKey', jsonb_build_object('Key', p_key));
        END IF;
        IF NOT ('*' = ANY(c_match) OR p_etag = ANY(c_match)) THEN
            PERFORM og_raise('PreconditionFailed', jsonb_build_object('Condition', 'If-Match'));
        END IF;
    END IF;
    IF NOT p_found THEN RETURN; END IF;
    IF c_size IS NOT NULL AND c_size <> p_size THEN
        PERFORM og_raise('PreconditionFailed',
                         jsonb_build_object('Condition', 'x-amz-if-match-size'));
    END IF;
    IF c_lm IS NOT NULL AND c_lm <> trunc(p_lm)::bigint THEN
        PERFORM og_raise('PreconditionFailed',
                         jsonb_build_object('Condition', 'x-amz-if-match-last-modified-time'));
    END IF;
END $$
"""

# A write of (bucket, key) holds the key itself, whether an object is there or not: a
# condition checked on the row as read must still hold when the row is replaced, and
# with no row to lock, a create committed in between would be overwritten (two
# If-None-Match: * PUTs both winning). A transaction-scoped advisory lock on a hash of
# the pair (a collision only makes two writers take turns).
_KEY_LOCK = r"""
CREATE FUNCTION og_lock_key(p_bucket bigint, p_key og_name) RETURNS void
LANGUAGE sql AS $$
    SELECT pg_advisory_xact_lock(hashtextextended(p_bucket::text || '/' || p_key, 0))
$$
"""

_REFERENCES = r"""
CREATE FUNCTION og_claim(p_blob og_name) RETURNS boolean LANGUAGE plpgsql AS $$
-- A new row is about to reference p_blob: a pending upload's count starts at 1 (its mark
-- goes), a live blob gets one more (guarded: a count that reached 0 stays gone).
BEGIN
    DELETE FROM pending_blobs WHERE blob_id = p_blob;
    IF FOUND THEN
        INSERT INTO blobs (blob_id, refs) VALUES (p_blob, 1)
            ON CONFLICT (blob_id) DO UPDATE SET refs = blobs.refs + 1;
        RETURN true;
    END IF;
    UPDATE blobs SET refs = refs + 1 WHERE blob_id = p_blob AND refs > 0;
    RETURN FOUND;
END $$;
CREATE FUNCTION og_release(p_blob og_name) RETURNS void LANGUAGE plpgsql AS $$
-- A row referencing p_blob is gone: one less; the last queues the blob as garbage (an
-- inline blob has no file: its row just goes).
DECLARE
    n integer;
BEGIN
    IF p_blob = '' THEN RETURN; END IF;
    IF left(p_blob, 1) = 'i' THEN
        UPDATE inline_blobs SET refs = refs - 1 WHERE blob_id = p_blob RETURNING refs INTO n;
        IF n IS NOT NULL AND n <= 0 THEN DELETE FROM inline_blobs WHERE blob_id = p_blob; END IF;
        RETURN;
    END IF;
    UPDATE blobs SET refs = refs - 1 WHERE blob_id = p_blob RETURNING refs INTO n;
    IF n IS NULL OR n <= 0 THEN
        DELETE FROM blobs WHERE blob_id = p_blob;
        INSERT INTO garbage (blob_id, queued_at) VALUES (p_blob, og_now())
            ON CONFLICT (blob_id) DO NOTHING;
    END IF;
END $$;
CREATE FUNCTION og_release_all(p_blobs og_name[]) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    b og_name;
BEGIN
    FOR b IN SELECT x FROM unnest(p_blobs) AS x ORDER BY x LOOP
        PERFORM og_release(b);
    END LOOP;
END $$;
CREATE FUNCTION og_remove_object(p_bucket bigint, p_key og_name) RETURNS og_name[]
LANGUAGE plpgsql AS $$
-- Delete the rows of (bucket, key); its blob ids, not yet released (NULL: no object).
DECLARE
    b og_name;
    n integer;
    ids og_name[];
BEGIN
    DELETE FROM objects o WHERE o.bucket_id = p_bucket AND o.key = p_key
        RETURNING o.blob_id, o.parts_count INTO b, n;
    IF NOT FOUND THEN RETURN NULL; END IF;
    IF n = 0 THEN RETURN ARRAY[b]; END IF;
    WITH d AS (DELETE FROM object_parts p WHERE p.bucket_id = p_bucket AND p.key = p_key
               RETURNING p.blob_id)
    SELECT coalesce(array_agg(d.blob_id), '{}') INTO ids FROM d;
    RETURN ids;
END $$
"""

RECORD_PARAMS = """p_bucket bigint, p_key og_name, p_blob og_name, p_size bigint,
    p_etag text, p_ctype text, p_headers text, p_meta text, p_sums text, p_class text,
    p_parts_count integer, p_acl text, p_owner bigint, p_rready double precision,
    p_rexpiry double precision, p_tags text, p_crc text, p_pblobs og_name[],
    p_psizes bigint[], p_pnums integer[], p_psums text[], p_pcrcs text[]"""
RECORD_ARGS = ", ".join(["%s"] * 17 + ["%s::og_name[]", "%s::bigint[]", "%s::integer[]",
                                       "%s::text[]", "%s::text[]"])  # fmt: skip
CONDITION_ARGS = "%s::text[], %s, %s::bigint, %s::bigint"

_REPLACE = f"""
CREATE FUNCTION og_replace_object({RECORD_PARAMS}) RETURNS double precision
LANGUAGE plpgsql AS $$
-- Write the record over whatever (bucket, key) held; the old blobs are released after
-- the new references exist (blobs shared by both stay alive). Its last_modified: now.
DECLARE
    old og_name[];
    lm double precision := og_now();
BEGIN
    old := og_remove_object(p_bucket, p_key);
    INSERT INTO objects (bucket_id, key, blob_id, size, etag, last_modified, content_type,
        system_headers, user_metadata, checksums, storage_class, parts_count, acl, owner_id,
        restore_ready, restore_expiry, tags, crc64)
    VALUES (p_bucket, p_key, p_blob, p_size, p_etag, lm, p_ctype, p_headers, p_meta, p_sums,
        p_class, p_parts_count, p_acl, p_owner, p_rready, p_rexpiry, p_tags, p_crc);
    IF p_parts_count > 0 THEN
        INSERT INTO object_parts (bucket_id, key, idx, blob_id, size, part_number, checksum,
            crc64)
        SELECT p_bucket, p_key, (t.ord - 1)::integer, t.b, t.s, t.n, t.c, t.x
        FROM unnest(p_pblobs, p_psizes, p_pnums, p_psums, p_pcrcs)
            WITH ORDINALITY AS t(b, s, n, c, x, ord);
    END IF;
    IF old IS NOT NULL THEN PERFORM og_release_all(old); END IF;
    RETURN lm;
END $$
"""

_PUT = f"""
CREATE FUNCTION og_put_object({RECORD_PARAMS}, p_inline bytea,
    c_match text[], c_none_match boolean, c_size bigint, c_lm bigint)
RETURNS double precision LANGUAGE plpgsql AS $$
DECLARE
    cur record;
    b og_name;
BEGIN
    PERFORM 1 FROM buckets WHERE id = p_bucket FOR SHARE;  -- guard: DeleteBucket waits
    IF NOT FOUND THEN PERFORM og_raise('NoSuchBucket'); END IF;
    PERFORM og_lock_key(p_bucket, p_key);
    SELECT o.etag, o.size, o.last_modified INTO cur FROM objects o
        WHERE o.bucket_id = p_bucket AND o.key = p_key FOR UPDATE;
    PERFORM og_check(FOUND, cur.etag, cur.size, cur.last_modified, p_key,
                     c_match, c_none_match, c_size, c_lm);
    IF p_inline IS NOT NULL THEN
        INSERT INTO inline_blobs (blob_id, data, refs) VALUES (p_blob, p_inline, 1)
            ON CONFLICT (blob_id) DO UPDATE SET refs = inline_blobs.refs + 1;
    ELSE
        FOR b IN SELECT x FROM unnest(CASE WHEN p_parts_count > 0 THEN p_pblobs
                                           ELSE ARRAY[p_blob] END) AS x ORDER BY x LOOP
            IF NOT og_claim(b) THEN  -- a copy whose source vanished
                PERFORM og_raise('NoSuchKey', jsonb_build_object('Key', p_key));
            END IF;
        END LOOP;
    END IF;
    RETURN og_replace_object(p_bucket, p_key, p_blob, p_size, p_etag, p_ctype, p_headers,
        p_meta, p_sums, p_class, p_parts_count, p_acl, p_owner, p_rready, p_rexpiry, p_tags,
        p_crc, p_pblobs, p_psizes, p_pnums, p_psums, p_pcrcs);
END $$
"""

_DELETE = r"""
CREATE FUNCTION og_delete_object(p_bucket bigint, p_key og_name,
    c_match text[], c_none_match boolean, c_size bigint, c_lm bigint)
RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    cur record;
    old og_name[];
BEGIN
    PERFORM og_lock_key(p_bucket, p_key);
    SELECT o.etag, o.size, o.last_modified INTO cur FROM objects o
        WHERE o.bucket_id = p_bucket AND o.key = p_key FOR UPDATE;
    PERFORM og_check(FOUND, cur.etag, cur.size, cur.last_modified, p_key,
                     c_match, c_none_match, c_size, c_lm);
    old := og_remove_object(p_bucket, p_key);
    IF old IS NULL THEN RETURN false; END IF;
    PERFORM og_release_all(old);
    RETURN true;
END $$;
CREATE FUNCTION og_delete_objects(p_bucket bigint, p_keys og_name[], c_match text[],
    c_none_match boolean[], c_size bigint[], c_lm bigint[])
RETURNS TABLE (idx integer, code text, detail text) LANGUAGE plpgsql AS $$
-- c_match[i]: a JSON array of ETags, or NULL. Returns the keys whose condition failed.
DECLARE
    matches text[];
BEGIN
    -- The keys in one order, whatever the request's: two batches cannot deadlock.
    PERFORM og_lock_key(p_bucket, k.x) FROM (SELECT DISTINCT x FROM unnest(p_keys) AS x
                                             ORDER BY x) AS k;
    FOR i IN 1..coalesce(array_length(p_keys, 1), 0) LOOP
        IF c_match[i] IS NULL AND NOT c_none_match[i] AND c_size[i] IS NULL
                AND c_lm[i] IS NULL THEN
            PERFORM og_delete_object(p_bucket, p_keys[i], NULL, false, NULL, NULL);
            CONTINUE;
        END IF;
        matches := CASE WHEN c_match[i] IS NULL THEN NULL
                   ELSE ARRAY(SELECT jsonb_array_elements_text(c_match[i]::jsonb)) END;
        BEGIN  -- a subtransaction: a failed condition changes nothing of this key
            PERFORM og_delete_object(p_bucket, p_keys[i], matches, c_none_match[i],
                                     c_size[i], c_lm[i]);
        EXCEPTION WHEN SQLSTATE 'OGS3E' THEN
            DECLARE
                m text;
                d text;
            BEGIN
                GET STACKED DIAGNOSTICS m = MESSAGE_TEXT, d = PG_EXCEPTION_DETAIL;
                idx := i - 1; code := m; detail := d;
                RETURN NEXT;
            END;
        END;
    END LOOP;
END $$
"""

# The listing walk of oortgate.meta.sqlite_listing, server-side: one call per page. After
# a common prefix P the next index seek starts at og_successor(P): its keys are skipped,
# never read.
_LIST = r"""
CREATE FUNCTION og_list(p_bucket bigint, p_prefix og_name, p_delim og_name,
    p_after og_name, p_limit integer)
RETURNS TABLE (l_key og_name, l_prefix boolean, l_size bigint, l_etag text,
    l_modified double precision, l_sums text, l_class text, l_parts integer, l_owner bigint)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    upper og_name := og_successor(p_prefix);
    bound og_name;
    inclusive boolean;
    rolled og_name;
    cut integer;
    n integer := 0;
    plen integer := length(p_prefix);
    r record;
BEGIN
    IF p_after >= p_prefix THEN bound := p_after; inclusive := false;
    ELSE bound := p_prefix; inclusive := true; END IF;
    LOOP
        rolled := NULL;
        FOR r IN SELECT o.key, o.size, o.etag, o.last_modified, o.checksums, o.storage_class,
                        o.parts_count, o.owner_id
                 FROM objects o
                 WHERE o.bucket_id = p_bucket AND o.key >= bound
                       AND (inclusive OR o.key <> bound)
                       AND (upper IS NULL OR o.key < upper)
                 ORDER BY o.key LIMIT p_limit - n LOOP
            cut := CASE WHEN p_delim = '' THEN 0
                        ELSE strpos(substr(r.key, plen + 1), p_delim) END;
            IF cut > 0 THEN
                rolled := left(r.key, plen + cut - 1 + length(p_delim));
                EXIT;
            END IF;
            l_key := r.key; l_prefix := false; l_size := r.size; l_etag := r.etag;
            l_modified := r.last_modified; l_sums := r.checksums; l_class := r.storage_class;
            l_parts := r.parts_count; l_owner := r.owner_id;
            RETURN NEXT;
            n := n + 1;
        END LOOP;
        IF rolled IS NULL THEN RETURN; END IF;  -- the range is exhausted, or the page full
        IF rolled > p_after THEN  -- (else listed on an earlier page)
            l_key := rolled; l_prefix := true; l_size := NULL; l_etag := NULL;
            l_modified := NULL; l_sums := NULL; l_class := NULL; l_parts := NULL;
            l_owner := NULL;
            RETURN NEXT;
            n := n + 1;
            IF n >= p_limit THEN RETURN; END IF;
        END IF;
        bound := og_successor(rolled);
        inclusive := true;
        IF bound IS NULL OR (upper IS NOT NULL AND bound >= upper) THEN RETURN; END IF;
    END LOOP;
END $$
"""

OBJECT_FUNCTIONS = (_ERRORS, _SUCCESSOR, _CHECK, _KEY_LOCK, _REFERENCES, _REPLACE, _PUT,
                    _DELETE, _LIST)  # fmt: skip
# Changed since version 1 (the key lock): what migration 3 replaces.
KEY_LOCKED = (_KEY_LOCK, _PUT, _DELETE)
