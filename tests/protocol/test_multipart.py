"""Multipart uploads through boto3 with default (checksum) settings, checked against AWS S3
semantics: transfers, the manual flow, every error, part reads, UploadPartCopy,
checksums (composite and full-object), concurrency, and storage hygiene.
"""

from __future__ import annotations

import base64
import hashlib
import random
import time
import zlib
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3
import pytest
from awscrt import checksums as crt
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import ClientError

from oortgate.config import Settings

from ._s3raw import (
    STREAMING_SIGNED,
    STREAMING_SIGNED_TRAILER,
    STREAMING_UNSIGNED_TRAILER,
    UNSIGNED,
    checksum_b64,
    checksum_header,
    error_code,
    signed_chunked_body,
    unsigned_chunked_body,
)
from ._server import REGION, ServerProcess
from ._util import all_files, at_once, body_of, inline_blob_count, rand, s3_error, stored_blob_count

MiB = 1024 * 1024
PART = 5 * MiB
INLINE_MAX = Settings().inline_max_size  # PUTs up to this size are stored inline


# --------------------------------------------------------------------------- helpers
def md5(data: bytes) -> bytes:
    return hashlib.md5(data).digest()


def mp_etag(parts: Sequence[bytes]) -> str:
    """The S3 ETag of a multipart object made of these parts' bytes."""
    return '"' + hashlib.md5(b"".join(md5(p) for p in parts)).hexdigest() + f'-{len(parts)}"'


def chunks(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


def crc32_raw(data: bytes) -> bytes:
    return zlib.crc32(data).to_bytes(4, "big")


def crc32c_raw(data: bytes) -> bytes:
    crc: int = crt.crc32c(data)
    return crc.to_bytes(4, "big")


def crc64nvme_raw(data: bytes) -> bytes:
    crc: int = crt.crc64nvme(data)
    return crc.to_bytes(8, "big")


def sha256_raw(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def composite(raw_fn: Callable[[bytes], bytes], parts: Sequence[bytes]) -> str:
    """AWS COMPOSITE checksum: checksum of the concatenated part checksums, then -N."""
    return b64(raw_fn(b"".join(raw_fn(p) for p in parts))) + f"-{len(parts)}"


def code_status(exc: ClientError) -> tuple[str | None, int]:
    r = exc.response
    return r.get("Error", {}).get("Code"), int(r["ResponseMetadata"]["HTTPStatusCode"])


def no_such_upload(call: Callable[[], Any]) -> None:
    with s3_error("NoSuchUpload", 404):
        call()


def put_parts(
    s3: Any, bucket: str, key: str, upload_id: str, parts: dict[int, bytes], **kw: Any
) -> dict[int, dict[str, Any]]:
    """Upload parts (number -> bytes) in parallel, in the given order; returns responses."""
    with ThreadPoolExecutor(max_workers=max(1, min(6, len(parts)))) as pool:
        futs = {
            n: pool.submit(
                s3.upload_part,
                Bucket=bucket,
                Key=key,
                UploadId=upload_id,
                PartNumber=n,
                Body=data,
                **kw,
            )
            for n, data in parts.items()
        }
        return {n: f.result() for n, f in futs.items()}


def completed(
    resps: dict[int, dict[str, Any]], numbers: Sequence[int], checksum: str | None = None
) -> dict[str, Any]:
    parts = []
    for n in numbers:
        entry = {"PartNumber": n, "ETag": resps[n]["ETag"]}
        if checksum:
            entry["Checksum" + checksum] = resps[n]["Checksum" + checksum]
        parts.append(entry)
    return {"Parts": parts}


def multipart_object(s3: Any, bucket: str, key: str, parts: Sequence[bytes]) -> str:
    """Create a multipart object from exactly these parts; returns its ETag."""
    uid = s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    resps = put_parts(s3, bucket, key, uid, {i + 1: p for i, p in enumerate(parts)})
    done = s3.complete_multipart_upload(
        Bucket=bucket,
        Key=key,
        UploadId=uid,
        MultipartUpload=completed(resps, range(1, len(parts) + 1)),
    )
    assert done["ETag"] == mp_etag(parts)
    return str(done["ETag"])


def read(s3: Any, bucket: str, key: str, **kw: Any) -> bytes:
    return body_of(s3.get_object(Bucket=bucket, Key=key, **kw))


def assert_no_object(s3: Any, bucket: str, key: str) -> None:
    """HEAD answers 404 (without a body, so without an error code)."""
    with pytest.raises(ClientError) as ei:
        s3.head_object(Bucket=bucket, Key=key)
    assert code_status(ei.value)[1] == 404, ei.value.response
    with s3_error("NoSuchKey", 404):
        s3.get_object(Bucket=bucket, Key=key)


def upload_gone(s3: Any, bucket: str, key: str, upload_id: str) -> bool:
    try:
        s3.list_parts(Bucket=bucket, Key=key, UploadId=upload_id)
    except ClientError as exc:
        assert code_status(exc) == ("NoSuchUpload", 404), exc.response
        return True
    return False


def open_upload_ids(s3: Any, bucket: str, prefix: str = "") -> list[str]:
    resp = s3.list_multipart_uploads(Bucket=bucket, Prefix=prefix)
    return [u["UploadId"] for u in resp.get("Uploads", [])]


# --------------------------------------------------------------------------- transfers
def test_upload_file_download_file_multipart(s3: Any, bucket: str, tmp_path: Path) -> None:
    data = rand(23 * MiB + 12345)
    src, dst = tmp_path / "src.bin", tmp_path / "dst.bin"
    src.write_bytes(data)
    cfg = TransferConfig(
        multipart_threshold=5 * MiB,
        multipart_chunksize=5 * MiB,
        max_concurrency=4,
        preferred_transfer_client="classic",
    )
    s3.upload_file(str(src), bucket, "big/file.bin", Config=cfg)
    s3.download_file(bucket, "big/file.bin", str(dst), Config=cfg)
    assert dst.read_bytes() == data

    parts = chunks(data, 5 * MiB)
    assert len(parts) == 5
    head = s3.head_object(Bucket=bucket, Key="big/file.bin", ChecksumMode="ENABLED")
    assert head["ETag"] == mp_etag(parts)
    assert head["ContentLength"] == len(data)
    # boto3 creates the upload with ChecksumAlgorithm=CRC32 (COMPOSITE by default) and
    # sends each part's CRC32: the object's checksum is the CRC32 of the part CRC32s, -N
    assert head.get("ChecksumCRC32") == composite(crc32_raw, parts), head
    assert head.get("ChecksumType") == "COMPOSITE", head

    got = s3.get_object(Bucket=bucket, Key="big/file.bin", ChecksumMode="ENABLED")
    assert got["ETag"] == mp_etag(parts)
    assert got.get("ChecksumCRC32") == composite(crc32_raw, parts)
    assert body_of(got) == data


def test_upload_fileobj_single_part_below_threshold(s3: Any, bucket: str) -> None:
    """A multipart upload of one (small) part is legal: the last part may be tiny."""
    import io

    data = rand(3 * MiB)
    s3.upload_fileobj(
        io.BytesIO(data),
        bucket,
        "small",
        Config=TransferConfig(
            multipart_threshold=1 * MiB,
            multipart_chunksize=5 * MiB,
            preferred_transfer_client="classic",
        ),
    )
    head = s3.head_object(Bucket=bucket, Key="small")
    assert head["ETag"] == mp_etag([data])
    assert read(s3, bucket, "small") == data


# --------------------------------------------------------------------------- manual flow
def test_manual_flow_out_of_order_reupload_subset(s3: Any, bucket: str) -> None:
    key = "dir/manual object.bin"
    create = s3.create_multipart_upload(
        Bucket=bucket,
        Key=key,
        Metadata={"color": "blue", "n": "42"},
        ContentType="application/x-test",
        ContentDisposition='attachment; filename="m.bin"',
        CacheControl="max-age=60",
    )
    uid = create["UploadId"]
    assert create["Bucket"] == bucket and create["Key"] == key and uid

    parts = {n: rand(PART) for n in range(1, 6)}
    parts[6] = rand(1234)
    order = [5, 3, 6, 1, 4, 2]  # out of order, in parallel
    resps = put_parts(s3, bucket, key, uid, {n: parts[n] for n in order})
    for n, r in resps.items():
        assert r["ETag"] == '"' + hashlib.md5(parts[n]).hexdigest() + '"'

    # re-upload part 2 with different data: the new data wins
    parts[2] = rand(PART + 777)
    resps[2] = s3.upload_part(Bucket=bucket, Key=key, UploadId=uid, PartNumber=2, Body=parts[2])
    assert resps[2]["ETag"] == '"' + hashlib.md5(parts[2]).hexdigest() + '"'

    # ListParts, paged two at a time
    seen: list[dict[str, Any]] = []
    marker = 0
    pages = 0
    while True:
        page = s3.list_parts(
            Bucket=bucket, Key=key, UploadId=uid, MaxParts=2, PartNumberMarker=marker
        )
        pages += 1
        assert page["UploadId"] == uid and page["Key"] == key and page["Bucket"] == bucket
        assert page["MaxParts"] == 2
        assert page.get("PartNumberMarker", 0) == marker
        got = page.get("Parts", [])
        assert len(got) <= 2
        seen += got
        if not page["IsTruncated"]:
            break
        assert len(got) == 2
        assert page["NextPartNumberMarker"] == got[-1]["PartNumber"]
        marker = page["NextPartNumberMarker"]
        assert pages < 10
    assert pages == 3
    assert [p["PartNumber"] for p in seen] == [1, 2, 3, 4, 5, 6]
    for p in seen:
        n = p["PartNumber"]
        assert p["Size"] == len(parts[n]), n
        assert p["ETag"] == resps[n]["ETag"], n
        assert "LastModified" in p
    # a marker in the middle
    page = s3.list_parts(Bucket=bucket, Key=key, UploadId=uid, PartNumberMarker=4)
    assert [p["PartNumber"] for p in page["Parts"]] == [5, 6]
    assert page["IsTruncated"] is False

    # the open upload is listed, the key is not an object yet
    assert uid in open_upload_ids(s3, bucket, "dir/")
    with s3_error("NoSuchKey", 404):
        s3.get_object(Bucket=bucket, Key=key)

    use = [1, 2, 4, 6]
    done = s3.complete_multipart_upload(
        Bucket=bucket, Key=key, UploadId=uid, MultipartUpload=completed(resps, use)
    )
    expect = b"".join(parts[n] for n in use)
    assert done["ETag"] == mp_etag([parts[n] for n in use])
    assert done["Key"] == key and done["Bucket"] == bucket

    got = s3.get_object(Bucket=bucket, Key=key)
    assert body_of(got) == expect
    assert got["ContentLength"] == len(expect)
    assert got["ETag"] == done["ETag"]
    head = s3.head_object(Bucket=bucket, Key=key)
    for r in (got, head):
        assert r["Metadata"] == {"color": "blue", "n": "42"}
        assert r["ContentType"] == "application/x-test"
        assert r["ContentDisposition"] == 'attachment; filename="m.bin"'
        assert r["CacheControl"] == "max-age=60"
        assert r["ETag"] == done["ETag"]
        assert r["ContentLength"] == len(expect)

    # the upload is gone once completed
    assert upload_gone(s3, bucket, key, uid)
    assert uid not in open_upload_ids(s3, bucket)
    listed = s3.list_objects_v2(Bucket=bucket, Prefix="dir/")["Contents"]
    assert [(o["Key"], o["Size"], o["ETag"]) for o in listed] == [(key, len(expect), done["ETag"])]


def _uploads_fixture(s3: Any, bucket: str) -> dict[str, list[str]]:
    """Open uploads: one per key, and five of key "c" created one after another."""
    ids: dict[str, list[str]] = {}
    for k in ["a/1", "a/2", "b/x/y", "c", "d/e/f", "e"]:
        ids.setdefault(k, []).append(s3.create_multipart_upload(Bucket=bucket, Key=k)["UploadId"])
    for _ in range(4):
        time.sleep(0.02)
        ids["c"].append(s3.create_multipart_upload(Bucket=bucket, Key="c")["UploadId"])
    return ids


def test_list_multipart_uploads_same_key_in_initiation_order(s3: Any, bucket: str) -> None:
    """AWS: uploads are sorted by key, and uploads of one key by initiation time."""
    ids = _uploads_fixture(s3, bucket)
    full = s3.list_multipart_uploads(Bucket=bucket)
    listed = [(u["Key"], u["UploadId"]) for u in full["Uploads"]]
    assert listed == [(k, u) for k in sorted(ids) for u in ids[k]]
    initiated = [u["Initiated"] for u in full["Uploads"] if u["Key"] == "c"]
    assert initiated == sorted(initiated)


def test_list_multipart_uploads_paging(s3: Any, bucket: str) -> None:
    ids = _uploads_fixture(s3, bucket)
    full = s3.list_multipart_uploads(Bucket=bucket)
    assert full["IsTruncated"] is False
    everything = [(u["Key"], u["UploadId"]) for u in full["Uploads"]]
    # sorted by key, every upload once
    assert [k for k, _ in everything] == sorted(k for k in ids for _ in ids[k])
    assert sorted(everything) == sorted((k, u) for k in ids for u in ids[k])
    for u in full["Uploads"]:
        assert "Initiated" in u
    c_order = [u for k, u in everything if k == "c"]  # the server's order within key "c"

    # Prefix
    resp = s3.list_multipart_uploads(Bucket=bucket, Prefix="a/")
    assert [(u["Key"], u["UploadId"]) for u in resp["Uploads"]] == [
        ("a/1", ids["a/1"][0]),
        ("a/2", ids["a/2"][0]),
    ]
    assert resp["Prefix"] == "a/"

    # Delimiter: keys roll up into common prefixes
    resp = s3.list_multipart_uploads(Bucket=bucket, Delimiter="/")
    assert [p["Prefix"] for p in resp.get("CommonPrefixes", [])] == ["a/", "b/", "d/"]
    assert [u["Key"] for u in resp["Uploads"]] == ["c"] * 5 + ["e"]
    assert resp["Delimiter"] == "/"
    resp = s3.list_multipart_uploads(Bucket=bucket, Delimiter="/", Prefix="d/")
    assert [p["Prefix"] for p in resp.get("CommonPrefixes", [])] == ["d/e/"]
    assert "Uploads" not in resp or resp["Uploads"] == []

    # KeyMarker alone: only keys after it
    resp = s3.list_multipart_uploads(Bucket=bucket, KeyMarker="c")
    assert [u["Key"] for u in resp["Uploads"]] == ["d/e/f", "e"]
    # KeyMarker + UploadIdMarker: the marker key's uploads after that id, then later keys
    resp = s3.list_multipart_uploads(Bucket=bucket, KeyMarker="c", UploadIdMarker=c_order[2])
    assert [(u["Key"], u["UploadId"]) for u in resp["Uploads"]] == (
        [("c", c_order[3]), ("c", c_order[4]), ("d/e/f", ids["d/e/f"][0]), ("e", ids["e"][0])]
    )

    # MaxUploads paging with NextKeyMarker / NextUploadIdMarker reproduces the listing
    paged: list[tuple[str, str]] = []
    km, um = "", ""
    for _ in range(30):
        kw: dict[str, Any] = {"Bucket": bucket, "MaxUploads": 3}
        if km:
            kw["KeyMarker"] = km
        if um:
            kw["UploadIdMarker"] = um
        resp = s3.list_multipart_uploads(**kw)
        assert resp["MaxUploads"] == 3
        got = [(u["Key"], u["UploadId"]) for u in resp.get("Uploads", [])]
        assert len(got) <= 3
        paged += got
        if not resp["IsTruncated"]:
            break
        assert len(got) == 3
        km, um = resp["NextKeyMarker"], resp["NextUploadIdMarker"]
        assert (km, um) == got[-1]
    assert paged == everything

    # paging with a delimiter counts common prefixes against MaxUploads
    entries: list[str] = []
    km = um = ""
    for _ in range(30):
        kw = {"Bucket": bucket, "MaxUploads": 2, "Delimiter": "/"}
        if km:
            kw["KeyMarker"] = km
        if um:
            kw["UploadIdMarker"] = um
        resp = s3.list_multipart_uploads(**kw)
        page_entries = [p["Prefix"] for p in resp.get("CommonPrefixes", [])] + [
            u["UploadId"] for u in resp.get("Uploads", [])
        ]
        assert len(page_entries) <= 2
        entries += page_entries
        if not resp["IsTruncated"]:
            break
        km, um = resp["NextKeyMarker"], resp.get("NextUploadIdMarker", "")
    assert sorted(entries) == sorted(["a/", "b/", "d/", *ids["c"], *ids["e"]])
    assert len(entries) == len(set(entries))


# --------------------------------------------------------------------------- payload modes
def _raw_upload_part(
    raw: Any,
    bucket: str,
    key: str,
    upload_id: str,
    number: int,
    data: bytes,
    mode: str,
    trailer: tuple[str, str] | None = None,
) -> Any:
    """UploadPart by hand in one SigV4 payload mode; ``trailer`` = (algorithm, value)."""
    url = raw.url(bucket, key, {"partNumber": str(number), "uploadId": upload_id})
    if mode in (UNSIGNED, "sha256"):
        payload = UNSIGNED if mode == UNSIGNED else hashlib.sha256(data).hexdigest()
        signed = raw.signed_headers("PUT", url, {"Content-Length": str(len(data))}, payload)
        return raw.send("PUT", url, signed.headers, data)
    headers = {"Content-Encoding": "aws-chunked", "x-amz-decoded-content-length": str(len(data))}
    trailers = None
    if trailer:
        name = checksum_header(trailer[0])
        headers["x-amz-trailer"] = name
        trailers = {name: trailer[1]}
    if mode == STREAMING_UNSIGNED_TRAILER:
        framed = unsigned_chunked_body(data, 65536, trailers)
        headers["Content-Length"] = str(len(framed))
        signed = raw.signed_headers("PUT", url, headers, mode)
    else:
        probe = raw.signed_headers("PUT", url, dict(headers, **{"Content-Length": "0"}), mode)
        headers["Content-Length"] = str(len(signed_chunked_body(probe, data, 65536, trailers)))
        signed = raw.signed_headers("PUT", url, headers, mode)
        framed = signed_chunked_body(signed, data, 65536, trailers)
    return raw.send("PUT", url, signed.headers, framed)


def test_upload_part_payload_modes(s3: Any, raw: Any, bucket: str) -> None:
    key = "payload modes"
    uid = s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    parts = {n: rand(PART + n) for n in range(1, 6)}
    parts[6] = rand(777)
    modes: list[tuple[str, tuple[str, str] | None]] = [
        (UNSIGNED, None),
        ("sha256", None),
        (STREAMING_SIGNED, None),
        (STREAMING_SIGNED_TRAILER, ("CRC32C", checksum_b64("CRC32C", parts[4]))),
        (STREAMING_UNSIGNED_TRAILER, ("CRC32", checksum_b64("CRC32", parts[5]))),
        (STREAMING_UNSIGNED_TRAILER, ("SHA256", checksum_b64("SHA256", parts[6]))),
    ]
    etags = {}
    for n, (mode, trailer) in enumerate(modes, 1):
        r = _raw_upload_part(raw, bucket, key, uid, n, parts[n], mode, trailer)
        assert r.status_code == 200, (mode, r.text)
        assert r.headers["ETag"] == '"' + hashlib.md5(parts[n]).hexdigest() + '"', mode
        etags[n] = r.headers["ETag"]
    # a wrong trailing checksum is BadDigest and does not replace the part
    r = _raw_upload_part(
        raw,
        bucket,
        key,
        uid,
        2,
        rand(100),
        STREAMING_UNSIGNED_TRAILER,
        ("CRC32", checksum_b64("CRC32", b"something else")),
    )
    assert (r.status_code, error_code(r.content)) == (400, "BadDigest"), r.text
    listed = s3.list_parts(Bucket=bucket, Key=key, UploadId=uid)["Parts"]
    assert [(p["PartNumber"], p["ETag"], p["Size"]) for p in listed] == [
        (n, etags[n], len(parts[n])) for n in range(1, 7)
    ]
    s3.complete_multipart_upload(
        Bucket=bucket,
        Key=key,
        UploadId=uid,
        MultipartUpload={"Parts": [{"PartNumber": n, "ETag": etags[n]} for n in range(1, 7)]},
    )
    got = s3.get_object(Bucket=bucket, Key=key)
    assert got["ETag"] == mp_etag([parts[n] for n in range(1, 7)])
    assert "aws-chunked" not in got.get("ContentEncoding", "")
    assert body_of(got) == b"".join(parts[n] for n in range(1, 7))


def test_upload_part_content_md5_mismatch(s3_noretry: Any, bucket: str) -> None:
    s3 = s3_noretry
    uid = s3.create_multipart_upload(Bucket=bucket, Key="md5")["UploadId"]
    with s3_error("BadDigest", 400):
        s3.upload_part(
            Bucket=bucket,
            Key="md5",
            UploadId=uid,
            PartNumber=1,
            Body=b"data",
            ContentMD5=base64.b64encode(md5(b"other")).decode(),
        )
    assert s3.list_parts(Bucket=bucket, Key="md5", UploadId=uid).get("Parts", []) == []


# --------------------------------------------------------------------------- errors
@pytest.mark.parametrize("number", [0, 10001])
def test_part_number_out_of_range(s3: Any, bucket: str, number: int) -> None:
    uid = s3.create_multipart_upload(Bucket=bucket, Key="k")["UploadId"]
    with s3_error("InvalidArgument", 400):
        s3.upload_part(Bucket=bucket, Key="k", UploadId=uid, PartNumber=number, Body=b"x")
    # 1 and 10000 are fine
    for ok in (1, 10000):
        s3.upload_part(Bucket=bucket, Key="k", UploadId=uid, PartNumber=ok, Body=b"x")
    page = s3.list_parts(Bucket=bucket, Key="k", UploadId=uid)
    assert [p["PartNumber"] for p in page["Parts"]] == [1, 10000]


def test_unknown_upload_id(s3: Any, bucket: str) -> None:
    bogus = "no-such-upload-" + "x" * 20
    no_such_upload(
        lambda: s3.upload_part(Bucket=bucket, Key="k", UploadId=bogus, PartNumber=1, Body=b"data")
    )
    no_such_upload(lambda: s3.list_parts(Bucket=bucket, Key="k", UploadId=bogus))
    no_such_upload(
        lambda: s3.complete_multipart_upload(
            Bucket=bucket,
            Key="k",
            UploadId=bogus,
            MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": '"' + "0" * 32 + '"'}]},
        )
    )
    no_such_upload(lambda: s3.abort_multipart_upload(Bucket=bucket, Key="k", UploadId=bogus))
    # a real upload id used with another key is not that upload
    uid = s3.create_multipart_upload(Bucket=bucket, Key="k")["UploadId"]
    no_such_upload(
        lambda: s3.upload_part(Bucket=bucket, Key="other", UploadId=uid, PartNumber=1, Body=b"data")
    )


def test_complete_errors(s3: Any, bucket: str, raw: Any) -> None:
    key = "errors"
    uid = s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    p1, p2, p3 = rand(PART), rand(PART), rand(100)
    resps = put_parts(s3, bucket, key, uid, {1: p1, 2: p2, 3: p3})
    e1, e2, e3 = (resps[n]["ETag"] for n in (1, 2, 3))

    def complete(parts: list[tuple[int, str]]) -> Any:
        return s3.complete_multipart_upload(
            Bucket=bucket,
            Key=key,
            UploadId=uid,
            MultipartUpload={"Parts": [{"PartNumber": n, "ETag": e} for n, e in parts]},
        )

    with s3_error("InvalidPartOrder", 400):
        complete([(2, e2), (1, e1)])
    with s3_error("InvalidPartOrder", 400):
        complete([(1, e1), (3, e3), (1, e1)])  # not [1, 1, 3]: a resent part, accepted
    with s3_error("InvalidPart", 400):
        complete([(1, e1), (2, '"' + hashlib.md5(b"wrong").hexdigest() + '"')])
    with s3_error("InvalidPart", 400):
        complete([(1, e1), (2, e2), (4, e3)])  # part 4 was never uploaded
    with s3_error("InvalidPart", 400):
        complete([(1, e2)])  # another part's ETag

    # empty part list -> MalformedXML (raw: boto3 would not send an empty list)
    r = raw.request(
        "POST",
        bucket,
        key,
        query={"uploadId": uid},
        headers={"Content-Type": "application/xml"},
        body=b"<CompleteMultipartUpload/>",
    )
    assert (r.status_code, error_code(r.content)) == (400, "MalformedXML"), r.text
    r = raw.request(
        "POST",
        bucket,
        key,
        query={"uploadId": uid},
        body=b'<CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
        b"</CompleteMultipartUpload>",
    )
    assert (r.status_code, error_code(r.content)) == (400, "MalformedXML"), r.text

    # none of the failures consumed the upload
    assert len(s3.list_parts(Bucket=bucket, Key=key, UploadId=uid)["Parts"]) == 3
    assert_no_object(s3, bucket, key)
    done = complete([(1, e1), (2, e2), (3, e3)])
    assert done["ETag"] == mp_etag([p1, p2, p3])
    assert read(s3, bucket, key) == p1 + p2 + p3


def test_entity_too_small(s3: Any, bucket: str) -> None:
    key = "small-parts"
    uid = s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    p1, p2, p3 = rand(PART - 1), rand(PART), rand(10)
    resps = put_parts(s3, bucket, key, uid, {1: p1, 2: p2, 3: p3})
    with s3_error("EntityTooSmall", 400):
        s3.complete_multipart_upload(
            Bucket=bucket, Key=key, UploadId=uid, MultipartUpload=completed(resps, [1, 2, 3])
        )
    # without the small first part it is fine (the last part may be small)
    done = s3.complete_multipart_upload(
        Bucket=bucket, Key=key, UploadId=uid, MultipartUpload=completed(resps, [2, 3])
    )
    assert done["ETag"] == mp_etag([p2, p3])
    assert read(s3, bucket, key) == p2 + p3


def test_abort(s3: Any, bucket: str) -> None:
    key = "aborted"
    uid = s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    resps = put_parts(s3, bucket, key, uid, {1: rand(PART), 2: rand(10)})
    assert (
        s3.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=uid)["ResponseMetadata"][
            "HTTPStatusCode"
        ]
        == 204
    )
    no_such_upload(
        lambda: s3.upload_part(Bucket=bucket, Key=key, UploadId=uid, PartNumber=3, Body=b"late")
    )
    no_such_upload(
        lambda: s3.complete_multipart_upload(
            Bucket=bucket, Key=key, UploadId=uid, MultipartUpload=completed(resps, [1, 2])
        )
    )
    no_such_upload(lambda: s3.list_parts(Bucket=bucket, Key=key, UploadId=uid))
    no_such_upload(lambda: s3.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=uid))
    assert uid not in open_upload_ids(s3, bucket)
    assert_no_object(s3, bucket, key)


# --------------------------------------------------------------------------- part reads
@pytest.fixture
def three_part_object(s3: Any, bucket: str) -> tuple[str, list[bytes]]:
    parts = [rand(PART), rand(PART), rand(MiB + 7)]
    multipart_object(s3, bucket, "parts", parts)
    return "parts", parts


def test_get_head_part_number(s3: Any, bucket: str, three_part_object: Any) -> None:
    key, parts = three_part_object
    data = b"".join(parts)
    total = len(data)
    start = 0
    for n, p in enumerate(parts, 1):
        end = start + len(p) - 1
        got = s3.get_object(Bucket=bucket, Key=key, PartNumber=n)
        assert got["ResponseMetadata"]["HTTPStatusCode"] == 206
        assert body_of(got) == p, n
        assert got["ContentLength"] == len(p)
        assert got["PartsCount"] == 3
        assert got["ContentRange"] == f"bytes {start}-{end}/{total}"
        assert got["ETag"] == mp_etag(parts)
        head = s3.head_object(Bucket=bucket, Key=key, PartNumber=n)
        assert head["ResponseMetadata"]["HTTPStatusCode"] == 206
        assert head["ContentLength"] == len(p)
        assert head["PartsCount"] == 3
        assert head["ContentRange"] == f"bytes {start}-{end}/{total}"
        start = end + 1
    # a part past the last one is not satisfiable
    with s3_error("InvalidPartNumber", 416):
        s3.get_object(Bucket=bucket, Key=key, PartNumber=4)
    with pytest.raises(ClientError) as ei:
        s3.head_object(Bucket=bucket, Key=key, PartNumber=4)
    assert code_status(ei.value)[1] == 416


def test_ranges_across_part_boundaries(s3: Any, bucket: str, three_part_object: Any) -> None:
    key, parts = three_part_object
    data = b"".join(parts)
    total = len(data)
    b1, b2 = PART, 2 * PART  # first byte of parts 2 and 3
    cases = [
        (0, b1 - 1),  # exactly part 1
        (b1, b1),  # first byte of part 2
        (b1 - 1, b1),  # last of part 1 + first of part 2
        (b1 - 1000, b1 + 1000),
        (b1, b2 - 1),  # exactly part 2
        (b2 - 1, b2),
        (100, total - 100),  # spans all three parts
        (b2, total - 1),  # exactly the last part
        (total - 1, total - 1),
    ]
    for first, last in cases:
        got = s3.get_object(Bucket=bucket, Key=key, Range=f"bytes={first}-{last}")
        assert got["ResponseMetadata"]["HTTPStatusCode"] == 206
        assert got["ContentRange"] == f"bytes {first}-{last}/{total}", (first, last)
        assert got["ContentLength"] == last - first + 1
        assert body_of(got) == data[first : last + 1], (first, last)
    got = s3.get_object(Bucket=bucket, Key=key, Range=f"bytes={b1 + 5}-")
    assert body_of(got) == data[b1 + 5 :]
    got = s3.get_object(Bucket=bucket, Key=key, Range=f"bytes=-{len(parts[2]) + 3}")
    assert body_of(got) == data[-(len(parts[2]) + 3) :]
    assert read(s3, bucket, key) == data


# --------------------------------------------------------------------------- UploadPartCopy
def test_upload_part_copy_from_multipart_source(s3: Any, bucket: str) -> None:
    src_parts = [rand(PART), rand(PART), rand(3 * MiB)]
    src_etag = multipart_object(s3, bucket, "copy/src", src_parts)
    src = b"".join(src_parts)
    source = {"Bucket": bucket, "Key": "copy/src"}

    key = "copy/dst"
    uid = s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    # part 1: 6 MiB crossing the boundary between source parts 1 and 2
    r1 = s3.upload_part_copy(
        Bucket=bucket,
        Key=key,
        UploadId=uid,
        PartNumber=1,
        CopySource=source,
        CopySourceRange=f"bytes={3 * MiB}-{9 * MiB - 1}",
        CopySourceIfMatch=src_etag,
    )
    # part 2: the whole source, no range
    r2 = s3.upload_part_copy(Bucket=bucket, Key=key, UploadId=uid, PartNumber=2, CopySource=source)
    # part 3: a small range crossing the boundary between source parts 2 and 3
    lo, hi = 2 * PART - 100, 2 * PART + 99
    r3 = s3.upload_part_copy(
        Bucket=bucket,
        Key=key,
        UploadId=uid,
        PartNumber=3,
        CopySource=f"{bucket}/copy/src",
        CopySourceRange=f"bytes={lo}-{hi}",
    )
    pieces = [src[3 * MiB : 9 * MiB], src, src[lo : hi + 1]]
    for r, piece in zip((r1, r2, r3), pieces, strict=True):
        assert r["CopyPartResult"]["ETag"] == '"' + hashlib.md5(piece).hexdigest() + '"'
        assert "LastModified" in r["CopyPartResult"]

    # bad ranges
    for bad in [
        "0-2",
        "bytes=0",
        "bytes=hello-world",
        "bytes=0-bar",
        "bytes=hello-",
        "bytes=0-2,3-5",
    ]:
        with s3_error("InvalidArgument", 400):
            s3.upload_part_copy(
                Bucket=bucket,
                Key=key,
                UploadId=uid,
                PartNumber=4,
                CopySource=source,
                CopySourceRange=bad,
            )
    for beyond in [f"bytes=0-{len(src)}", f"bytes={len(src)}-{len(src) + 10}"]:
        with pytest.raises(ClientError) as ei:
            s3.upload_part_copy(
                Bucket=bucket,
                Key=key,
                UploadId=uid,
                PartNumber=4,
                CopySource=source,
                CopySourceRange=beyond,
            )
        code, status = code_status(ei.value)
        assert code == "InvalidRange" and status in (400, 416), ei.value.response
    # copy-source conditions
    with s3_error("PreconditionFailed", 412):
        s3.upload_part_copy(
            Bucket=bucket,
            Key=key,
            UploadId=uid,
            PartNumber=4,
            CopySource=source,
            CopySourceIfMatch='"' + "0" * 32 + '-3"',
        )
    with s3_error("PreconditionFailed", 412):
        s3.upload_part_copy(
            Bucket=bucket,
            Key=key,
            UploadId=uid,
            PartNumber=4,
            CopySource=source,
            CopySourceIfNoneMatch=src_etag,
        )
    with s3_error("NoSuchKey", 404):
        s3.upload_part_copy(
            Bucket=bucket,
            Key=key,
            UploadId=uid,
            PartNumber=4,
            CopySource={"Bucket": bucket, "Key": "copy/missing"},
        )
    # none of the failures left a part 4
    listed = s3.list_parts(Bucket=bucket, Key=key, UploadId=uid)["Parts"]
    assert [(p["PartNumber"], p["Size"]) for p in listed] == [
        (1, 6 * MiB),
        (2, len(src)),
        (3, 200),
    ]

    done = s3.complete_multipart_upload(
        Bucket=bucket,
        Key=key,
        UploadId=uid,
        MultipartUpload={
            "Parts": [
                {"PartNumber": n, "ETag": r["CopyPartResult"]["ETag"]}
                for n, r in ((1, r1), (2, r2), (3, r3))
            ]
        },
    )
    assert done["ETag"] == mp_etag(pieces)
    assert read(s3, bucket, key) == b"".join(pieces)
    # reading parts of the result
    got = s3.get_object(Bucket=bucket, Key=key, PartNumber=2)
    assert body_of(got) == src and got["PartsCount"] == 3


def test_upload_part_copy_key_needs_decoding(s3: Any, bucket: str) -> None:
    src_key = "sp ace+plus=ünï{}.bin"
    data = rand(PART + 10)
    s3.put_object(Bucket=bucket, Key=src_key, Body=data)
    uid = s3.create_multipart_upload(Bucket=bucket, Key="dst")["UploadId"]
    r = s3.upload_part_copy(
        Bucket=bucket,
        Key="dst",
        UploadId=uid,
        PartNumber=1,
        CopySource={"Bucket": bucket, "Key": src_key},
        CopySourceRange="bytes=10-20",
    )
    s3.complete_multipart_upload(
        Bucket=bucket,
        Key="dst",
        UploadId=uid,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": r["CopyPartResult"]["ETag"]}]},
    )
    assert read(s3, bucket, "dst") == data[10:21]


# --------------------------------------------------------------------------- checksums
@pytest.mark.parametrize(
    ("algorithm", "raw_fn"),
    [("CRC32C", crc32c_raw), ("CRC64NVME", crc64nvme_raw), ("CRC32", crc32_raw)],
)
def test_full_object_checksum(
    s3: Any, bucket: str, algorithm: str, raw_fn: Callable[[bytes], bytes]
) -> None:
    key = f"full-{algorithm}"
    create = s3.create_multipart_upload(
        Bucket=bucket, Key=key, ChecksumAlgorithm=algorithm, ChecksumType="FULL_OBJECT"
    )
    assert create.get("ChecksumAlgorithm") == algorithm
    assert create.get("ChecksumType") == "FULL_OBJECT"
    uid = create["UploadId"]
    parts = {1: rand(PART), 2: rand(PART + 3), 3: rand(4321)}
    resps = put_parts(s3, bucket, key, uid, parts, ChecksumAlgorithm=algorithm)
    for n, r in resps.items():
        assert r["Checksum" + algorithm] == b64(raw_fn(parts[n])), n
    listed = s3.list_parts(Bucket=bucket, Key=key, UploadId=uid)
    assert listed.get("ChecksumAlgorithm") == algorithm
    assert listed.get("ChecksumType") == "FULL_OBJECT"
    for p in listed["Parts"]:
        assert p["Checksum" + algorithm] == b64(raw_fn(parts[p["PartNumber"]]))
    done = s3.complete_multipart_upload(
        Bucket=bucket,
        Key=key,
        UploadId=uid,
        MultipartUpload=completed(resps, [1, 2, 3], checksum=algorithm),
    )
    whole = parts[1] + parts[2] + parts[3]
    expect = b64(raw_fn(whole))
    assert done.get("Checksum" + algorithm) == expect
    assert done.get("ChecksumType") == "FULL_OBJECT"
    head = s3.head_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
    assert head.get("Checksum" + algorithm) == expect, head
    assert head.get("ChecksumType") == "FULL_OBJECT"
    # boto3 validates a full-object checksum of a GET itself
    got = s3.get_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
    assert got.get("Checksum" + algorithm) == expect
    assert body_of(got) == whole


def test_crc64nvme_defaults_to_full_object(s3: Any, bucket: str) -> None:
    key = "nvme-default"
    uid = s3.create_multipart_upload(Bucket=bucket, Key=key, ChecksumAlgorithm="CRC64NVME")[
        "UploadId"
    ]
    parts = {1: rand(PART), 2: rand(99)}
    resps = put_parts(s3, bucket, key, uid, parts, ChecksumAlgorithm="CRC64NVME")
    s3.complete_multipart_upload(
        Bucket=bucket, Key=key, UploadId=uid, MultipartUpload=completed(resps, [1, 2], "CRC64NVME")
    )
    head = s3.head_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
    assert head.get("ChecksumCRC64NVME") == b64(crc64nvme_raw(parts[1] + parts[2]))
    assert head.get("ChecksumType") == "FULL_OBJECT"


@pytest.mark.parametrize(("algorithm", "raw_fn"), [("SHA256", sha256_raw), ("CRC32C", crc32c_raw)])
def test_composite_checksum(
    s3: Any, bucket: str, algorithm: str, raw_fn: Callable[[bytes], bytes]
) -> None:
    key = f"composite-{algorithm}"
    create = s3.create_multipart_upload(
        Bucket=bucket, Key=key, ChecksumAlgorithm=algorithm, ChecksumType="COMPOSITE"
    )
    assert create.get("ChecksumType") == "COMPOSITE"
    uid = create["UploadId"]
    parts = {1: rand(PART), 2: rand(PART), 3: rand(50)}
    resps = put_parts(s3, bucket, key, uid, parts, ChecksumAlgorithm=algorithm)
    for n, r in resps.items():
        assert r["Checksum" + algorithm] == b64(raw_fn(parts[n])), n
    # completing with a subset: the composite covers exactly the parts used
    done = s3.complete_multipart_upload(
        Bucket=bucket,
        Key=key,
        UploadId=uid,
        MultipartUpload=completed(resps, [1, 3], checksum=algorithm),
    )
    expect = composite(raw_fn, [parts[1], parts[3]])
    assert done.get("Checksum" + algorithm) == expect
    head = s3.head_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
    assert head.get("Checksum" + algorithm) == expect, head
    assert head.get("ChecksumType") == "COMPOSITE"
    assert read(s3, bucket, key) == parts[1] + parts[3]


def test_composite_part_checksum_mismatch_is_invalid_part(s3: Any, bucket: str) -> None:
    key = "composite-mismatch"
    uid = s3.create_multipart_upload(Bucket=bucket, Key=key, ChecksumAlgorithm="SHA256")["UploadId"]
    resps = put_parts(s3, bucket, key, uid, {1: rand(100)}, ChecksumAlgorithm="SHA256")
    with s3_error("InvalidPart", 400):
        s3.complete_multipart_upload(
            Bucket=bucket,
            Key=key,
            UploadId=uid,
            MultipartUpload={
                "Parts": [
                    {
                        "PartNumber": 1,
                        "ETag": resps[1]["ETag"],
                        "ChecksumSHA256": b64(sha256_raw(b"other")),
                    }
                ]
            },
        )


@pytest.mark.parametrize(
    ("algorithm", "kind"),
    [("CRC64NVME", "COMPOSITE"), ("SHA256", "FULL_OBJECT"), ("SHA1", "FULL_OBJECT")],
)
def test_checksum_type_not_supported(s3: Any, bucket: str, algorithm: str, kind: str) -> None:
    with s3_error("InvalidRequest", 400):
        s3.create_multipart_upload(
            Bucket=bucket, Key="bad", ChecksumAlgorithm=algorithm, ChecksumType=kind
        )
    assert open_upload_ids(s3, bucket) == []


# --------------------------------------------------------------------------- concurrency
def _prepared_upload(s3: Any, bucket: str, key: str) -> tuple[str, list[bytes], dict[str, Any]]:
    parts = [rand(PART), rand(1000)]
    uid = s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    resps = put_parts(s3, bucket, key, uid, {1: parts[0], 2: parts[1]})
    return uid, parts, completed(resps, [1, 2])


def test_two_completesat_once(s3_noretry: Any, bucket: str) -> None:
    s3 = s3_noretry
    for i in range(3):
        key = f"race-complete-{i}"
        uid, parts, mpu = _prepared_upload(s3, bucket, key)

        def complete(key: str = key, uid: str = uid, mpu: dict[str, Any] = mpu) -> Any:
            return s3.complete_multipart_upload(
                Bucket=bucket, Key=key, UploadId=uid, MultipartUpload=mpu
            )

        results = at_once(complete, complete)
        ok = [r for r in results if not isinstance(r, ClientError)]
        bad = [r for r in results if isinstance(r, ClientError)]
        assert ok, [r.response for r in bad]
        for r in ok:
            assert r["ETag"] == mp_etag(parts)
        got = s3.get_object(Bucket=bucket, Key=key)
        assert got["ETag"] == mp_etag(parts)
        assert body_of(got) == b"".join(parts)
        assert upload_gone(s3, bucket, key, uid)
        # the loser finds the upload already completed: NoSuchUpload (its parts were right)
        for exc in bad:
            assert code_status(exc) == ("NoSuchUpload", 404), exc.response


def test_complete_retried_after_success(s3: Any, bucket: str) -> None:
    """A repeated complete of a completed upload: 200 with the same ETag (AWS accepts an
    idempotent retry) or NoSuchUpload; never a complaint about the parts."""
    key = "complete-twice"
    uid, parts, mpu = _prepared_upload(s3, bucket, key)
    first = s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=uid, MultipartUpload=mpu)
    try:
        again = s3.complete_multipart_upload(
            Bucket=bucket, Key=key, UploadId=uid, MultipartUpload=mpu
        )
    except ClientError as exc:
        assert code_status(exc) == ("NoSuchUpload", 404), exc.response
    else:
        assert again["ETag"] == first["ETag"]
    got = s3.get_object(Bucket=bucket, Key=key)
    assert got["ETag"] == first["ETag"] == mp_etag(parts)
    assert body_of(got) == b"".join(parts)


def test_complete_races_abort(s3_noretry: Any, bucket: str) -> None:
    s3 = s3_noretry
    outcomes = set()
    for i in range(4):
        key = f"race-abort-{i}"
        uid, parts, mpu = _prepared_upload(s3, bucket, key)

        def complete(key: str = key, uid: str = uid, mpu: dict[str, Any] = mpu) -> Any:
            return s3.complete_multipart_upload(
                Bucket=bucket, Key=key, UploadId=uid, MultipartUpload=mpu
            )

        def abort(key: str = key, uid: str = uid) -> Any:
            return s3.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=uid)

        done, aborted = at_once(complete, abort)
        assert upload_gone(s3, bucket, key, uid)
        assert uid not in open_upload_ids(s3, bucket, key)
        try:
            got = s3.get_object(Bucket=bucket, Key=key)
        except ClientError as exc:
            assert code_status(exc) == ("NoSuchKey", 404)
            got = None
        if isinstance(done, ClientError):
            # abort won: nothing was created
            assert got is None, "complete failed but the object exists"
            assert not isinstance(aborted, ClientError), aborted.response
            # the upload was aborted under the complete: that is NoSuchUpload, not a
            # complaint about the client's parts
            assert code_status(done) == ("NoSuchUpload", 404), done.response
            outcomes.add("aborted")
        else:
            # complete won: the object is whole; the abort found nothing (or was harmless)
            assert got is not None, "complete answered 200 but the object is missing"
            assert got["ETag"] == done["ETag"] == mp_etag(parts)
            assert body_of(got) == b"".join(parts)
            if isinstance(aborted, ClientError):
                assert code_status(aborted) == ("NoSuchUpload", 404), aborted.response
            outcomes.add("completed")
    assert outcomes


def test_plain_put_while_upload_open_then_complete(s3: Any, bucket: str) -> None:
    key = "overwritten"
    s3.put_object(Bucket=bucket, Key=key, Body=b"before")
    uid, parts, mpu = _prepared_upload(s3, bucket, key)
    s3.put_object(Bucket=bucket, Key=key, Body=b"plain put during the upload")
    assert read(s3, bucket, key) == b"plain put during the upload"
    s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=uid, MultipartUpload=mpu)
    got = s3.get_object(Bucket=bucket, Key=key)
    assert got["ETag"] == mp_etag(parts)
    assert body_of(got) == b"".join(parts)


def test_parallel_part_uploads_from_many_clients(
    s3: Any, bucket: str, server: ServerProcess
) -> None:
    """Parts of one upload from several independent clients (connection pools) at once."""
    key = "many-clients"
    uid = s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    clients = [_client(server) for _ in range(4)]
    parts = {n: rand(PART if n < 12 else 333) for n in range(1, 13)}
    with ThreadPoolExecutor(max_workers=8) as pool:
        futs = {
            n: pool.submit(
                clients[n % 4].upload_part,
                Bucket=bucket,
                Key=key,
                UploadId=uid,
                PartNumber=n,
                Body=data,
            )
            for n, data in sorted(parts.items(), key=lambda kv: random.random())
        }
        resps = {n: f.result() for n, f in futs.items()}
    done = s3.complete_multipart_upload(
        Bucket=bucket, Key=key, UploadId=uid, MultipartUpload=completed(resps, sorted(parts))
    )
    ordered = [parts[n] for n in sorted(parts)]
    assert done["ETag"] == mp_etag(ordered)
    assert read(s3, bucket, key) == b"".join(ordered)


def _client(server: ServerProcess, **config: Any) -> Any:
    return boto3.session.Session().client(
        "s3",
        endpoint_url=server.endpoint,
        region_name=REGION,
        aws_access_key_id=server.root_access_key,
        aws_secret_access_key=server.root_secret_key,
        verify=server.cert,
        config=Config(s3={"addressing_style": "path"}, **config),
    )


# --------------------------------------------------------------------------- copy, bucket
def test_copy_object_of_multipart_object(s3: Any, bucket: str) -> None:
    parts = [rand(PART), rand(PART), rand(12345)]
    multipart_object(s3, bucket, "mp/src", parts)
    data = b"".join(parts)
    r = s3.copy_object(Bucket=bucket, Key="mp/copy", CopySource={"Bucket": bucket, "Key": "mp/src"})
    copy_etag = r["CopyObjectResult"]["ETag"]
    got = s3.get_object(Bucket=bucket, Key="mp/copy")
    assert got["ETag"] == copy_etag
    assert body_of(got) == data
    # a range of the copy that spans the source's part boundary
    rng = s3.get_object(Bucket=bucket, Key="mp/copy", Range=f"bytes={PART - 3}-{PART + 2}")
    assert body_of(rng) == data[PART - 3 : PART + 3]
    s3.delete_object(Bucket=bucket, Key="mp/src")
    assert_no_object(s3, bucket, "mp/src")
    assert read(s3, bucket, "mp/copy") == data
    # overwriting the copy's source key does not affect the copy either
    s3.put_object(Bucket=bucket, Key="mp/src", Body=b"new")
    assert read(s3, bucket, "mp/copy") == data


def test_delete_bucket_with_open_upload(s3: Any, make_bucket: Callable[..., str]) -> None:
    name = make_bucket()
    uid = s3.create_multipart_upload(Bucket=name, Key="open")["UploadId"]
    s3.upload_part(Bucket=name, Key="open", UploadId=uid, PartNumber=1, Body=b"part")
    s3.delete_bucket(Bucket=name)  # open uploads do not count: aborted with the bucket
    with s3_error("NoSuchBucket", 404):
        s3.list_multipart_uploads(Bucket=name)
    s3.create_bucket(Bucket=name)
    assert open_upload_ids(s3, name) == []
    no_such_upload(lambda: s3.list_parts(Bucket=name, Key="open", UploadId=uid))


def test_delete_bucket_with_objects_and_upload(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="obj", Body=b"x")
    uid = s3.create_multipart_upload(Bucket=bucket, Key="open")["UploadId"]
    with s3_error("BucketNotEmpty", 409):
        s3.delete_bucket(Bucket=bucket)
    # the refused delete left the upload alone
    assert uid in open_upload_ids(s3, bucket)
    s3.upload_part(Bucket=bucket, Key="open", UploadId=uid, PartNumber=1, Body=b"still open")


# --------------------------------------------------------------------------- hygiene


@pytest.fixture
def own_server(tmp_path: Path) -> Iterator[ServerProcess]:
    # No grace period: garbage goes at the collector's next run, so what is left on
    # disk is exactly what is still needed.
    with ServerProcess(data_dir=tmp_path / "data", extra_args=["--gc-grace", "0"]) as srv:
        yield srv


def test_storage_hygiene(own_server: ServerProcess) -> None:
    srv = own_server
    s3 = _client(srv)
    b = "hygiene"
    s3.create_bucket(Bucket=b)
    needed = 0

    # A: three parts, part 2 re-uploaded twice, part 4 unused; complete with 1,2,3
    uid = s3.create_multipart_upload(Bucket=b, Key="a")["UploadId"]
    resps = put_parts(s3, b, "a", uid, {1: rand(PART), 2: rand(PART), 3: rand(10), 4: rand(10)})
    for _ in range(2):
        resps[2] = s3.upload_part(Bucket=b, Key="a", UploadId=uid, PartNumber=2, Body=rand(PART))
    s3.complete_multipart_upload(
        Bucket=b, Key="a", UploadId=uid, MultipartUpload=completed(resps, [1, 2, 3])
    )
    needed += 3

    # B: aborted
    uid = s3.create_multipart_upload(Bucket=b, Key="b")["UploadId"]
    put_parts(s3, b, "b", uid, {1: rand(PART), 2: rand(100)})
    s3.abort_multipart_upload(Bucket=b, Key="b", UploadId=uid)

    # C: left open: two parts (part 1 replaced twice) and a copied part
    uid_c = s3.create_multipart_upload(Bucket=b, Key="c")["UploadId"]
    put_parts(s3, b, "c", uid_c, {1: rand(100), 2: rand(200)})
    for _ in range(2):
        s3.upload_part(Bucket=b, Key="c", UploadId=uid_c, PartNumber=1, Body=rand(300))
    s3.upload_part_copy(
        Bucket=b,
        Key="c",
        UploadId=uid_c,
        PartNumber=3,
        CopySource={"Bucket": b, "Key": "a"},
        CopySourceRange="bytes=0-99",
    )
    needed += 3

    # P: a plain object (a file: over the inline limit), overwritten
    s3.put_object(Bucket=b, Key="p", Body=rand(INLINE_MAX + 1000))
    s3.put_object(Bucket=b, Key="p", Body=rand(INLINE_MAX + 2000))
    needed += 1

    # I: small objects (inline): overwritten by a small one, by a file, and deleted
    s3.put_object(Bucket=b, Key="i1", Body=rand(1000))
    s3.put_object(Bucket=b, Key="i1", Body=rand(2000))
    s3.put_object(Bucket=b, Key="i2", Body=rand(1000))
    s3.put_object(Bucket=b, Key="i2", Body=rand(INLINE_MAX + 1))
    s3.put_object(Bucket=b, Key="i3", Body=rand(1000))
    s3.delete_object(Bucket=b, Key="i3")
    needed += 2

    # Q: a plain object replaced by a two-part multipart object
    s3.put_object(Bucket=b, Key="q", Body=rand(1000))
    multipart_object(s3, b, "q", [rand(PART), rand(5)])
    needed += 2

    # E: a multipart object, deleted
    multipart_object(s3, b, "e", [rand(PART), rand(5)])
    s3.delete_object(Bucket=b, Key="e")

    # F: a multipart object overwritten by a plain PUT
    multipart_object(s3, b, "f", [rand(PART), rand(5)])
    s3.put_object(Bucket=b, Key="f", Body=b"plain")
    needed += 1

    # G: failed completes do not leak either
    uid = s3.create_multipart_upload(Bucket=b, Key="g")["UploadId"]
    resps_g = put_parts(s3, b, "g", uid, {1: rand(10), 2: rand(10)})
    with s3_error("EntityTooSmall", 400):
        s3.complete_multipart_upload(
            Bucket=b, Key="g", UploadId=uid, MultipartUpload=completed(resps_g, [1, 2])
        )
    needed += 2  # still open with two parts

    deadline = time.monotonic() + 10
    while True:
        blobs = stored_blob_count(srv)
        tmp = all_files(srv.data_dir / "tmp")
        if blobs == needed and not tmp:
            break
        if time.monotonic() > deadline:
            raise AssertionError(f"{blobs} blobs, {needed} needed; tmp files: {tmp[:5]}")
        time.sleep(0.25)
    # i1 and f ("plain") are the inline ones left
    assert inline_blob_count(srv) == 2

    # everything still reads back
    assert len(read(s3, b, "a")) == 2 * PART + 10
    assert len(read(s3, b, "q")) == PART + 5
    assert read(s3, b, "f") == b"plain"
    parts = s3.list_parts(Bucket=b, Key="c", UploadId=uid_c)["Parts"]
    assert [(p["PartNumber"], p["Size"]) for p in parts] == [(1, 300), (2, 200), (3, 100)]


def test_a_download_under_way_outlives_an_overwrite_and_the_collector(
    s3: Any, bucket: str, server: ServerProcess
) -> None:
    """A GET of a multipart object opens its later parts only as it reaches them. The
    object is overwritten meanwhile and the collector runs (every gc_interval): its old
    parts are kept for the grace period, so the download still ends with every byte it
    started with, as on S3."""
    parts = [rand(PART), rand(PART), rand(PART)]
    upload = s3.create_multipart_upload(Bucket=bucket, Key="long")["UploadId"]
    done = [
        {"PartNumber": n, "ETag": s3.upload_part(Bucket=bucket, Key="long", UploadId=upload,
                                                 PartNumber=n, Body=body)["ETag"]}
        for n, body in enumerate(parts, 1)
    ]  # fmt: skip
    s3.complete_multipart_upload(
        Bucket=bucket, Key="long", UploadId=upload, MultipartUpload={"Parts": done}
    )
    body = s3.get_object(Bucket=bucket, Key="long")["Body"]
    first = body.read(MiB)  # the rest waits in socket buffers, part 3 not yet opened
    s3.put_object(Bucket=bucket, Key="long", Body=b"replaced")
    time.sleep(2 * Settings().gc_interval + 1)  # the collector has run since
    assert first + body.read() == b"".join(parts)
    assert s3.get_object(Bucket=bucket, Key="long")["Body"].read() == b"replaced"
