"""Crash consistency of multipart uploads: SIGKILL the server group while parts are being
uploaded from several threads, and while uploads are being completed next to plain writes.

After each restart on the same data directory:
- an upload survives with every acknowledged part (ETag and size), and completes;
- each completed key holds either its previous value or exactly the completed object,
  never a mix; an upload whose object did not appear is still open with all its parts;
- once the collector has run, the blob files are exactly those still needed: one per
  plain object, one per used part of a multipart object, one per part of an open upload.
"""

from __future__ import annotations

import hashlib
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from tests.protocol._server import ServerProcess, free_port
from tests.protocol._util import all_files, stored_blob_count

MiB = 1024 * 1024
PART = 5 * MiB


# --------------------------------------------------------------------------- helpers
def md5_hex(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def mp_etag(parts: list[bytes]) -> str:
    return (
        '"'
        + hashlib.md5(b"".join(hashlib.md5(p).digest() for p in parts)).hexdigest()
        + f'-{len(parts)}"'
    )


def part_data(seed: int, size: int) -> bytes:
    return random.Random(seed).randbytes(size)


def code_status(exc: ClientError) -> tuple[str | None, int]:
    r = exc.response
    return r.get("Error", {}).get("Code"), int(r["ResponseMetadata"]["HTTPStatusCode"])


def list_all_parts(client: Any, bucket: str, key: str, upload_id: str) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = []
    marker = 0
    while True:
        resp = client.list_parts(
            Bucket=bucket, Key=key, UploadId=upload_id, PartNumberMarker=marker, MaxParts=1000
        )
        parts += resp.get("Parts", [])
        if not resp["IsTruncated"]:
            return parts
        marker = resp["NextPartNumberMarker"]


def list_all_uploads(client: Any, bucket: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    kw: dict[str, Any] = {"Bucket": bucket}
    while True:
        resp = client.list_multipart_uploads(**kw)
        out += [(u["Key"], u["UploadId"]) for u in resp.get("Uploads", [])]
        if not resp["IsTruncated"]:
            return out
        kw["KeyMarker"] = resp["NextKeyMarker"]
        kw["UploadIdMarker"] = resp["NextUploadIdMarker"]


def list_all_keys(client: Any, bucket: str) -> list[str]:
    keys: list[str] = []
    kw: dict[str, Any] = {"Bucket": bucket}
    while True:
        resp = client.list_objects_v2(**kw)
        keys += [o["Key"] for o in resp.get("Contents", [])]
        if not resp.get("NextContinuationToken"):
            return keys
        kw["ContinuationToken"] = resp["NextContinuationToken"]


def blobs_needed(client: Any, bucket: str) -> int:
    """One blob per plain object, one per used part of a multipart object, one per part
    of an open upload (as the server itself reports them)."""
    needed = 0
    for key in list_all_keys(client, bucket):
        head = client.head_object(Bucket=bucket, Key=key, PartNumber=1)
        needed += int(head.get("PartsCount") or 1)
    for key, uid in list_all_uploads(client, bucket):
        needed += len(list_all_parts(client, bucket, key, uid))
    return needed


def assert_no_orphans(srv: ServerProcess, client: Any, bucket: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        needed = blobs_needed(client, bucket)
        blobs = stored_blob_count(srv.data_dir)
        tmp = all_files(srv.data_dir / "tmp")
        if blobs == needed and not tmp:
            return
        if time.monotonic() > deadline:
            raise AssertionError(
                f"{blobs} blobs for {needed} blobs needed; tmp files: {[str(p) for p in tmp][:10]}"
            )
        time.sleep(0.25)


def restart(srv: ServerProcess, client_of: Callable[..., Any]) -> Any:
    srv.start(port=free_port())  # same data dir
    return client_of(srv)


def crash_client(srv: ServerProcess, client_of: Callable[..., Any], pool: int) -> Any:
    return client_of(
        srv,
        retries={"total_max_attempts": 1},
        max_pool_connections=pool,
        connect_timeout=5,
        read_timeout=30,
    )


# --------------------------------------------------------------------------- part uploads
N_PARTS = 30
UPLOAD_THREADS = 6


def _part_size(n: int) -> int:
    return PART + n * 1000 if n < N_PARTS else 4321


def test_sigkill_during_parallel_part_uploads(
    crash_server: ServerProcess, client_of: Callable[..., Any]
) -> None:
    srv = crash_server
    admin = client_of(srv)
    bucket = "mp-crash-parts"
    key = "big/object.bin"
    admin.create_bucket(Bucket=bucket)
    old = part_data(1, 2000)
    admin.put_object(Bucket=bucket, Key=key, Body=old)
    uid = admin.create_multipart_upload(Bucket=bucket, Key=key, Metadata={"m": "1"})["UploadId"]

    acked: dict[int, str] = {}  # part number -> ETag the server acknowledged
    lock = threading.Lock()
    order = list(range(1, N_PARTS + 1))
    random.Random(5).shuffle(order)
    queue = list(order)
    client = crash_client(srv, client_of, UPLOAD_THREADS * 2)

    def worker() -> None:
        while True:
            with lock:
                if not queue:
                    return
                n = queue.pop()
            data = part_data(100 + n, _part_size(n))
            try:
                resp = client.upload_part(
                    Bucket=bucket, Key=key, UploadId=uid, PartNumber=n, Body=data
                )
            except Exception:
                return  # the server went away: outcome unknown
            assert resp["ETag"] == f'"{md5_hex(data)}"', n
            with lock:
                acked[n] = resp["ETag"]

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(UPLOAD_THREADS)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 20
    while len(acked) < 8 and time.monotonic() < deadline:
        time.sleep(0.02)
    srv.kill()
    for t in threads:
        t.join(30)
        assert not t.is_alive(), "an upload thread hung after the kill"
    assert 8 <= len(acked) < N_PARTS, f"the kill did not land mid-upload: {len(acked)} acked"

    client = restart(srv, client_of)
    # the key still holds its old value; the upload still exists with every acked part
    assert client.get_object(Bucket=bucket, Key=key)["Body"].read() == old
    assert (key, uid) in list_all_uploads(client, bucket)
    listed = {p["PartNumber"]: p for p in list_all_parts(client, bucket, key, uid)}
    for n, etag in acked.items():
        assert n in listed, f"acknowledged part {n} lost in the crash"
        assert listed[n]["ETag"] == etag, n
        assert listed[n]["Size"] == _part_size(n), n
    for n, p in listed.items():  # an unacknowledged part may have landed, whole
        data = part_data(100 + n, _part_size(n))
        assert p["ETag"] == f'"{md5_hex(data)}"' and p["Size"] == len(data), n

    # nothing orphaned by the kill (interrupted parts are swept)
    assert_no_orphans(srv, client, bucket)

    # upload what is missing, complete, read back
    etags = {n: p["ETag"] for n, p in listed.items()}
    for n in range(1, N_PARTS + 1):
        if n not in etags:
            data = part_data(100 + n, _part_size(n))
            etags[n] = client.upload_part(
                Bucket=bucket, Key=key, UploadId=uid, PartNumber=n, Body=data
            )["ETag"]
    done = client.complete_multipart_upload(
        Bucket=bucket,
        Key=key,
        UploadId=uid,
        MultipartUpload={"Parts": [{"PartNumber": n, "ETag": etags[n]} for n in sorted(etags)]},
    )
    parts = [part_data(100 + n, _part_size(n)) for n in range(1, N_PARTS + 1)]
    assert done["ETag"] == mp_etag(parts)
    got = client.get_object(Bucket=bucket, Key=key)
    assert got["ETag"] == done["ETag"]
    assert got["Metadata"] == {"m": "1"}
    h = hashlib.md5()
    for chunk in got["Body"].iter_chunks(MiB):
        h.update(chunk)
    assert h.hexdigest() == md5_hex(b"".join(parts))
    assert list_all_uploads(client, bucket) == []
    assert_no_orphans(srv, client, bucket)


# --------------------------------------------------------------------------- completes
N_UPLOADS = 24
COMPLETE_THREADS = 6
WRITER_THREADS = 3


@dataclass
class MpKey:
    key: str
    upload_id: str
    parts: list[bytes]
    etags: list[str]
    old: str | None  # md5 of the previous value, None if absent
    acked: bool = False  # the complete was acknowledged

    @property
    def new_etag(self) -> str:
        return mp_etag(self.parts)

    @property
    def new_md5(self) -> str:
        return md5_hex(b"".join(self.parts))


@dataclass
class PlainKey:
    acked: str | None = None
    pending: set[str] = field(default_factory=set)


def _prepare_uploads(client: Any, bucket: str, source: bytes) -> list[MpKey]:
    """Uploads of two parts each: 5 MiB copied server-side from ``source`` (a slice that
    differs per upload), then a small uploaded part. Half the keys have an old value."""
    out = []
    for i in range(N_UPLOADS):
        key = f"mp/{i:02d}"
        old = None
        if i % 2 == 0:
            old_data = part_data(5000 + i, 3000)
            client.put_object(Bucket=bucket, Key=key, Body=old_data)
            old = md5_hex(old_data)
        uid = client.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
        lo = i * 1000
        first = source[lo : lo + PART]
        r1 = client.upload_part_copy(
            Bucket=bucket,
            Key=key,
            UploadId=uid,
            PartNumber=1,
            CopySource={"Bucket": bucket, "Key": "source"},
            CopySourceRange=f"bytes={lo}-{lo + PART - 1}",
        )
        second = part_data(6000 + i, 1000 + i)
        r2 = client.upload_part(Bucket=bucket, Key=key, UploadId=uid, PartNumber=2, Body=second)
        etags = [r1["CopyPartResult"]["ETag"], r2["ETag"]]
        assert etags == [f'"{md5_hex(first)}"', f'"{md5_hex(second)}"']
        out.append(MpKey(key, uid, [first, second], etags, old))
    return out


def _complete(client: Any, bucket: str, mp: MpKey) -> Any:
    return client.complete_multipart_upload(
        Bucket=bucket,
        Key=mp.key,
        UploadId=mp.upload_id,
        MultipartUpload={
            "Parts": [{"PartNumber": n + 1, "ETag": e} for n, e in enumerate(mp.etags)]
        },
    )


def _crash_round(
    srv: ServerProcess,
    client_of: Callable[..., Any],
    bucket: str,
    todo: list[MpKey],
    plain: dict[str, PlainKey],
    kill_after: int,
) -> dict[str, int]:
    """Complete ``todo`` from several threads next to plain PUTs; SIGKILL the server once
    ``kill_after`` completes were acknowledged."""
    client = crash_client(srv, client_of, (COMPLETE_THREADS + WRITER_THREADS) * 2)
    stop = threading.Event()
    lock = threading.Lock()
    counts = {"completes": 0, "writes": 0}

    def completer(mine: list[MpKey]) -> None:
        for mp in mine:
            if stop.is_set():
                return
            try:
                resp = _complete(client, bucket, mp)
            except Exception:
                return  # the server went away: outcome unknown
            assert resp["ETag"] == mp.new_etag, mp.key
            mp.acked = True
            with lock:
                counts["completes"] += 1
            time.sleep(random.random() * 0.05)

    def writer(keys: list[str], seed: int) -> None:
        rng = random.Random(seed)
        while not stop.is_set():
            key = rng.choice(keys)
            data = rng.randbytes(rng.randint(1, 256 * 1024))
            st = plain[key]
            st.pending.add(md5_hex(data))
            try:
                client.put_object(Bucket=bucket, Key=key, Body=data)
            except Exception:
                return  # outcome unknown: stays pending
            st.acked = md5_hex(data)
            st.pending.clear()
            with lock:
                counts["writes"] += 1

    plain_keys = sorted(plain)
    threads = [
        threading.Thread(target=writer, args=(plain_keys[i::WRITER_THREADS], i), daemon=True)
        for i in range(WRITER_THREADS)
    ]
    threads += [
        threading.Thread(target=completer, args=(todo[i::COMPLETE_THREADS],), daemon=True)
        for i in range(COMPLETE_THREADS)
    ]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 15
    while counts["completes"] < kill_after and time.monotonic() < deadline:
        time.sleep(0.005)
    srv.kill()
    stop.set()
    for t in threads:
        t.join(30)
        assert not t.is_alive(), "a worker thread hung after the kill"
    return counts


def _verify_round(
    client: Any, bucket: str, todo: list[MpKey], plain: dict[str, PlainKey]
) -> list[MpKey]:
    """Check every key after a restart; returns the uploads still open."""
    open_uploads = set(list_all_uploads(client, bucket))
    problems = []
    still_open = []
    for mp in todo:
        try:
            got = client.get_object(Bucket=bucket, Key=mp.key)
            body = got["Body"].read()
            state: tuple[str, str] | None = (md5_hex(body), got["ETag"])
        except ClientError as exc:
            assert code_status(exc) == ("NoSuchKey", 404), exc.response
            state = None
        is_open = (mp.key, mp.upload_id) in open_uploads
        if state == (mp.new_md5, mp.new_etag):
            if is_open:
                problems.append(f"{mp.key}: completed object present but upload still open")
            continue
        if mp.acked:
            problems.append(f"{mp.key}: acknowledged complete lost: {state}")
            continue
        expected_old = None if mp.old is None else (mp.old, f'"{mp.old}"')
        if state != expected_old:
            problems.append(f"{mp.key}: holds {state}, neither old {expected_old} nor new")
        if not is_open:
            problems.append(f"{mp.key}: not completed, yet the upload is gone")
            continue
        still_open.append(mp)
        parts = list_all_parts(client, bucket, mp.key, mp.upload_id)
        got_parts = [(p["PartNumber"], p["ETag"], p["Size"]) for p in parts]
        want = [(n + 1, e, len(d)) for n, (e, d) in enumerate(zip(mp.etags, mp.parts, strict=True))]
        if got_parts != want:
            problems.append(f"{mp.key}: open upload lost parts: {got_parts}")
    for key, st in plain.items():
        try:
            body = client.get_object(Bucket=bucket, Key=key)["Body"].read()
            value: str | None = md5_hex(body)
        except ClientError:
            value = None
        if value != st.acked and value not in st.pending:
            problems.append(f"{key}: holds {value}, expected {st.acked} or one of {st.pending}")
        st.acked = value
        st.pending.clear()
    assert not problems, "\n".join(problems)
    return still_open


def test_sigkill_during_complete(
    crash_server: ServerProcess, client_of: Callable[..., Any]
) -> None:
    srv = crash_server
    admin = client_of(srv)
    bucket = "mp-crash-complete"
    admin.create_bucket(Bucket=bucket)
    source = part_data(4242, PART + N_UPLOADS * 1000)
    admin.put_object(Bucket=bucket, Key="source", Body=source)
    uploads = _prepare_uploads(admin, bucket, source)
    plain = {f"plain/{i:02d}": PlainKey() for i in range(WRITER_THREADS * 4)}

    todo = uploads
    totals = {"completes": 0, "writes": 0}
    for _ in range(2):
        counts = _crash_round(srv, client_of, bucket, todo, plain, max(1, len(todo) // 3))
        for k, v in counts.items():
            totals[k] += v
        client = restart(srv, client_of)
        todo = _verify_round(client, bucket, todo, plain)
        # no orphans after the start-up sweep and the periodic collector
        assert_no_orphans(srv, client, bucket)
        if not todo:
            break
    assert totals["completes"] >= 2 and totals["writes"] >= 1, totals

    # the uploads the crashes interrupted can still be completed
    for mp in todo:
        assert _complete(client, bucket, mp)["ETag"] == mp.new_etag
    for mp in uploads:
        got = client.get_object(Bucket=bucket, Key=mp.key)
        assert got["ETag"] == mp.new_etag
        assert md5_hex(got["Body"].read()) == mp.new_md5
    assert list_all_uploads(client, bucket) == []
    assert_no_orphans(srv, client, bucket)
