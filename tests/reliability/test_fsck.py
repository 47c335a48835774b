"""``oortgate fsck`` against a real server's data directory: objects made with boto3, then
damaged behind the server's back (truncated, deleted, flipped, orphaned files; rows
changed; a corrupted database), and fsck run as a subprocess with --json."""

from __future__ import annotations

import hashlib
import json
import os
import pty
import signal
import sqlite3
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

from tests.protocol._server import PYTHON, REGION, REPO_ROOT, ServerProcess, free_port

MiB = 1024 * 1024
BUCKET = "fsck-bucket"
HANG = 120.0  # seconds: a deadline that only catches a hang


def fsck(data_dir: Path, *args: str) -> tuple[int, dict[str, Any]]:
    res = subprocess.run(
        [PYTHON, "-m", "oortgate", "fsck", "--data-dir", str(data_dir), "--json", *args],
        cwd=str(REPO_ROOT), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert "Traceback" not in res.stderr, res.stderr
    return res.returncode, json.loads(res.stdout)


def client(srv: ServerProcess, port: int | None = None) -> Any:
    return boto3.client(
        "s3", endpoint_url=f"https://127.0.0.1:{port or srv.port}", region_name=REGION,
        verify=srv.cert, aws_access_key_id=srv.root_access_key,
        aws_secret_access_key=srv.root_secret_key,
        config=Config(retries={"max_attempts": 0}, s3={"addressing_style": "path"}),
    )  # fmt: skip


@pytest.fixture
def srv(tmp_path: Path) -> Iterator[ServerProcess]:
    """Every object in a file of its own (no inline objects)."""
    with ServerProcess(tmp_path / "data", extra_args=["--inline-max-size", "0"]) as server:
        yield server


@pytest.fixture
def s3(srv: ServerProcess) -> Any:
    c = client(srv)
    c.create_bucket(Bucket=BUCKET)
    return c


def blob_paths(data_dir: Path, key: str) -> list[Path]:
    db = sqlite3.connect(f"file:{data_dir / 'meta.sqlite3'}?mode=ro", uri=True)
    try:
        (blob_id,) = db.execute("SELECT blob_id FROM objects WHERE key = ?", (key,)).fetchone()
        sql = "SELECT blob_id FROM object_parts WHERE key = ? ORDER BY idx"
        ids = [blob_id] if blob_id else [row[0] for row in db.execute(sql, (key,))]
    finally:
        db.close()
    return [data_dir / "blobs" / b[:2] / b[2:4] / b for b in ids]


def put_multipart(s3: Any, key: str, sizes: list[int]) -> None:
    upload = s3.create_multipart_upload(Bucket=BUCKET, Key=key, ChecksumAlgorithm="CRC32")
    parts = []
    for number, size in enumerate(sizes, 1):
        r = s3.upload_part(Bucket=BUCKET, Key=key, UploadId=upload["UploadId"], PartNumber=number,
                           Body=os.urandom(size), ChecksumAlgorithm="CRC32")  # fmt: skip
        parts.append({"PartNumber": number, "ETag": r["ETag"], "ChecksumCRC32": r["ChecksumCRC32"]})
    s3.complete_multipart_upload(Bucket=BUCKET, Key=key, UploadId=upload["UploadId"],
                                 MultipartUpload={"Parts": parts})  # fmt: skip


def flip_byte(path: Path, offset: int) -> None:
    with open(path, "r+b") as f:
        f.seek(offset)
        byte = f.read(1)
        f.seek(offset)
        f.write(bytes([byte[0] ^ 0xFF]))


def test_a_clean_store(tmp_path: Path) -> None:
    """Plain, empty, multipart, compressed (archive tier) objects and an open upload's
    part: all counted, nothing wrong, with and without --deep."""
    archive_port = free_port()
    args = ["--inline-max-size", "0", "--archive-https-port", str(archive_port)]
    with ServerProcess(tmp_path / "data", extra_args=args) as srv:
        s3 = client(srv)
        s3.create_bucket(Bucket=BUCKET)
        s3.put_object(Bucket=BUCKET, Key="plain", Body=os.urandom(100_000))
        s3.put_object(Bucket=BUCKET, Key="empty", Body=b"")
        put_multipart(s3, "multi", [5 * MiB, 1000])
        open_upload = s3.create_multipart_upload(Bucket=BUCKET, Key="open")
        s3.upload_part(Bucket=BUCKET, Key="open", UploadId=open_upload["UploadId"],
                       PartNumber=1, Body=b"p" * 1000)  # fmt: skip
        archive = client(srv, archive_port)
        archive.create_bucket(Bucket="fsck-archive")
        archive.put_object(Bucket="fsck-archive", Key="cold", Body=b"compressible " * 200_000)
        assert blob_paths(srv.data_dir, "cold")[0].name.endswith("z")

        rc, report = fsck(srv.data_dir)
        assert rc == 0, report
        assert report["clean"] and report["problems"] == []
        assert (report["objects"], report["upload_parts"], report["blobs_checked"]) == (4, 1, 6)
        for count in ("missing", "size_mismatch", "checksum_mismatch", "orphans", "repaired"):
            assert report[count] == 0
        assert report["bytes_verified"] == 0

        rc, report = fsck(srv.data_dir, "--deep")
        assert rc == 0, report
        assert report["bytes_verified"] == 100_000 + 5 * MiB + 1000 + 1000 + 13 * 200_000


def test_a_truncated_blob(srv: ServerProcess, s3: Any) -> None:
    s3.put_object(Bucket=BUCKET, Key="fine", Body=os.urandom(1000))
    s3.put_object(Bucket=BUCKET, Key="cut", Body=os.urandom(100_000))
    (path,) = blob_paths(srv.data_dir, "cut")
    os.truncate(path, 40_000)
    rc, report = fsck(srv.data_dir)
    assert rc == 1
    assert (report["size_mismatch"], report["missing"], report["objects"]) == (1, 0, 2)
    (problem,) = report["problems"]
    assert (problem["kind"], problem["bucket"], problem["key"]) == ("size_mismatch", BUCKET, "cut")
    assert problem["blob_id"] == path.name and "40000" in problem["detail"]
    # Without --json: one line per problem as found, then the summary line.
    cmd = [PYTHON, "-m", "oortgate", "fsck", "--data-dir", str(srv.data_dir)]
    res = subprocess.run(cmd, cwd=str(REPO_ROOT), capture_output=True, text=True, timeout=120)
    assert res.returncode == 1 and res.stderr == ""
    assert res.stdout.splitlines() == [
        f"size_mismatch: {BUCKET}/cut blob {path.name}: the blob holds 40000 bytes, "
        "the metadata says 100000",
        "oortgate fsck: 2 objects, 0 noncurrent versions, 0 upload parts, 2 blobs checked: "
        "1 size_mismatch; 0 repaired",
    ]


def test_a_deleted_blob(srv: ServerProcess, s3: Any) -> None:
    put_multipart(s3, "multi", [5 * MiB, 5 * MiB, 10])
    second = blob_paths(srv.data_dir, "multi")[1]
    second.unlink()
    rc, report = fsck(srv.data_dir, "--deep")
    assert rc == 1
    assert (report["missing"], report["size_mismatch"], report["checksum_mismatch"]) == (1, 0, 0)
    (problem,) = report["problems"]
    assert (problem["kind"], problem["key"]) == ("missing", "multi")
    assert problem["blob_id"] == second.name


def test_a_flipped_byte_is_found_only_by_deep(srv: ServerProcess, s3: Any) -> None:
    s3.put_object(Bucket=BUCKET, Key="single", Body=os.urandom(300_000))
    put_multipart(s3, "multi", [5 * MiB, 2000])
    flip_byte(blob_paths(srv.data_dir, "single")[0], 123_456)
    flip_byte(blob_paths(srv.data_dir, "multi")[1], 1999)
    rc, report = fsck(srv.data_dir)
    assert (rc, report["clean"]) == (0, True), report
    rc, report = fsck(srv.data_dir, "--deep")
    assert rc == 1
    assert report["checksum_mismatch"] == 2 and report["size_mismatch"] == 0
    by_key = {p["key"]: p["detail"] for p in report["problems"]}
    assert set(by_key) == {"single", "multi"}
    assert "ETag" in by_key["single"] and "CRC32" in by_key["single"]
    assert "ETag" in by_key["multi"] and "part 2" in by_key["multi"]


def test_damaged_rows_are_found(srv: ServerProcess, s3: Any) -> None:
    """A row whose size changed: the size check; whose ETag changed: only --deep."""
    s3.put_object(Bucket=BUCKET, Key="resized", Body=b"r" * 5000)
    s3.put_object(Bucket=BUCKET, Key="retagged", Body=b"t" * 5000)
    with sqlite3.connect(srv.data_dir / "meta.sqlite3") as db:
        db.execute("UPDATE objects SET size = 4999 WHERE key = 'resized'")
        db.execute("UPDATE objects SET etag = ? WHERE key = 'retagged'", ("0" * 32,))
    rc, report = fsck(srv.data_dir)
    assert rc == 1
    assert [(p["kind"], p["key"]) for p in report["problems"]] == [("size_mismatch", "resized")]
    rc, report = fsck(srv.data_dir, "--deep")
    kinds = sorted((p["kind"], p["key"]) for p in report["problems"])
    assert kinds == [("checksum_mismatch", "retagged"), ("size_mismatch", "resized")]


def test_inline_objects_are_checked(tmp_path: Path) -> None:
    with ServerProcess(tmp_path / "data") as srv:  # small objects inline (the default)
        s3 = client(srv)
        s3.create_bucket(Bucket=BUCKET)
        s3.put_object(Bucket=BUCKET, Key="small", Body=b"s" * 100)
        s3.put_object(Bucket=BUCKET, Key="other", Body=b"o" * 100)
        rc, report = fsck(srv.data_dir, "--deep")
        assert (rc, report["objects"], report["bytes_verified"]) == (0, 2, 200), report
        with sqlite3.connect(srv.data_dir / "meta.sqlite3") as db:
            (blob_id,) = db.execute("SELECT blob_id FROM objects WHERE key = 'small'").fetchone()
            assert blob_id.startswith("i")
            db.execute("UPDATE inline_blobs SET data = ? WHERE blob_id = ?", (b"S" * 100, blob_id))
        assert fsck(srv.data_dir)[0] == 0
        rc, report = fsck(srv.data_dir, "--deep")
        assert rc == 1
        found = [(p["kind"], p["key"]) for p in report["problems"]]
        assert found == [("checksum_mismatch", "small")]


def _make_orphan(data_dir: Path, name: str, age: float) -> Path:
    path = data_dir / "blobs" / name[:2] / name[2:4] / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"nobody knows me")
    os.utime(path, (time.time() - age, time.time() - age))
    return path


def test_orphans_and_repair(srv: ServerProcess, s3: Any) -> None:
    """--repair deletes the old orphan, and nothing else: not a young unknown file (a
    writer's, maybe), not a temp file, not a damaged object's row or blob."""
    bodies = {f"k{i}": os.urandom(1000 + i) for i in range(5)}
    for key, body in bodies.items():
        s3.put_object(Bucket=BUCKET, Key=key, Body=body)
    s3.put_object(Bucket=BUCKET, Key="cut", Body=os.urandom(5000))
    (cut,) = blob_paths(srv.data_dir, "cut")
    os.truncate(cut, 10)
    orphan = _make_orphan(srv.data_dir, "ab" * 16, age=3600)
    young = _make_orphan(srv.data_dir, "cd" * 16, age=10)
    temp = srv.data_dir / "tmp" / ("ef" * 16 + ".0123456789abcdef")
    temp.write_bytes(b"a writer's")
    os.utime(temp, (time.time() - 3600, time.time() - 3600))

    rc, report = fsck(srv.data_dir)
    assert rc == 1
    assert (report["orphans"], report["size_mismatch"], report["repaired"]) == (1, 1, 0)
    (found,) = [p for p in report["problems"] if p["kind"] == "orphan"]
    assert found["blob_id"] == orphan.name and not found["repaired"]
    assert orphan.exists()  # without --repair nothing is touched

    rc, report = fsck(srv.data_dir, "--repair")
    assert (rc, report["orphans"], report["repaired"]) == (1, 1, 1)
    assert not orphan.exists()
    assert young.exists() and temp.exists() and cut.stat().st_size == 10
    for key, body in bodies.items():
        assert s3.get_object(Bucket=BUCKET, Key=key)["Body"].read() == body
    assert s3.head_object(Bucket=BUCKET, Key="cut")["ContentLength"] == 5000

    rc, report = fsck(srv.data_dir, "--repair")
    assert (rc, report["orphans"], report["repaired"], report["size_mismatch"]) == (1, 0, 0, 1)


# The server's own periodic write (each worker's session heartbeat, every 10 s) changes
# the database's files on its own: the database is compared by its rows, this column
# left out.
SERVER_KEEPS_WRITING = {("sessions", "heartbeat")}


def _snapshot(data_dir: Path) -> dict[str, str]:
    """Every file's digest but SQLite's (its shared-memory index changes with readers,
    its WAL with the server's heartbeats), and the database's rows, table by table."""
    files = {
        str(path.relative_to(data_dir)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(data_dir.rglob("*"))
        if path.is_file() and not path.name.startswith("meta.sqlite3")
    }
    db = sqlite3.connect(f"file:{data_dir / 'meta.sqlite3'}?mode=ro", uri=True)
    try:
        tables = [row[0] for row in db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]  # fmt: skip
        for table in tables:
            columns = [row[1] for row in db.execute(f'PRAGMA table_info("{table}")')
                       if (table, row[1]) not in SERVER_KEEPS_WRITING]  # fmt: skip
            listed = ", ".join(f'"{c}"' for c in columns)
            rows = sorted(map(repr, db.execute(f'SELECT {listed} FROM "{table}"')))
            files[f"table {table}"] = hashlib.sha256("\n".join(rows).encode()).hexdigest()
    finally:
        db.close()
    return files


def _settled(data_dir: Path) -> dict[str, str]:
    """The data directory once the collector has freed what the writers left (it passes
    every 2 s; on a busy machine later): unchanged over a pass and a half."""
    deadline = time.monotonic() + HANG
    previous = _snapshot(data_dir)
    while True:
        time.sleep(3)
        current = _snapshot(data_dir)
        if current == previous:
            return current
        assert time.monotonic() < deadline, "the data directory never settled"
        previous = current


def test_fsck_while_the_server_serves(tmp_path: Path) -> None:
    """Writers overwrite and delete while fsck --deep runs (the collector frees blobs at
    once, and any unknown file counts as an orphan): no problem is reported, fsck
    changes nothing, and every acknowledged write reads back."""
    args = ["--inline-max-size", "0", "--gc-grace", "0", "--workers", "2"]
    with ServerProcess(tmp_path / "data", extra_args=args) as srv:
        s3 = client(srv)
        s3.create_bucket(Bucket=BUCKET)
        for i in range(40):
            s3.put_object(Bucket=BUCKET, Key=f"seed{i}", Body=os.urandom(20_000))
        written: dict[str, bytes] = {}
        stop = threading.Event()

        def churn(worker: int) -> None:
            c = client(srv)
            n = 0
            while not stop.is_set():
                key = f"w{worker}-{n % 10}"
                if n % 7 == 6:
                    c.delete_object(Bucket=BUCKET, Key=key)
                    written.pop(key, None)
                else:
                    body = os.urandom(10_000 + n)
                    c.put_object(Bucket=BUCKET, Key=key, Body=body)
                    written[key] = body
                n += 1

        threads = [threading.Thread(target=churn, args=(w,)) for w in range(2)]
        for thread in threads:
            thread.start()
        try:
            runs = [fsck(srv.data_dir, "--deep", "--grace", "0") for _ in range(3)]
        finally:
            stop.set()
            for thread in threads:
                thread.join(HANG)
                assert not thread.is_alive(), "a writer hung"
        for rc, report in runs:
            assert (rc, report["problems"]) == (0, []), report
            assert report["objects"] >= 40
        for key, body in written.items():
            assert s3.get_object(Bucket=BUCKET, Key=key)["Body"].read() == body

        before = _settled(srv.data_dir)
        assert fsck(srv.data_dir, "--deep")[0] == 0
        assert _snapshot(srv.data_dir) == before


def _serve_until_exit(srv: ServerProcess, timeout: float) -> tuple[int | None, str]:
    """Run serve on srv's data dir; (None, its output) if it was still up after timeout
    (then its process group is killed)."""
    cmd = [PYTHON, "-m", "oortgate", "serve", "--data-dir", str(srv.data_dir),
           "--http-port", "0", "--https-port", str(free_port())]  # fmt: skip
    proc = subprocess.Popen(cmd, cwd=str(REPO_ROOT), env=srv.env(), text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)  # fmt: skip
    try:
        _, stderr = proc.communicate(timeout=timeout)
        return proc.returncode, stderr
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        return None, proc.communicate()[1]


def test_a_corrupted_database(tmp_path: Path) -> None:
    """Garbage in the middle of meta.sqlite3 (among small objects' rows, which nothing
    reads at start): serve refuses to start (one line, exit 2, what to do); fsck reports
    the damage, and looks for no orphans."""
    with ServerProcess(tmp_path / "data") as srv:
        s3 = client(srv)
        s3.create_bucket(Bucket=BUCKET)
        for i in range(300):
            s3.put_object(Bucket=BUCKET, Key=f"key-{i:04d}-" + "x" * 100, Body=b"%d" % i)
    # Stopped: the last connection checkpointed the WAL into the file.
    db_path = srv.data_dir / "meta.sqlite3"
    assert not Path(f"{db_path}-wal").exists() or Path(f"{db_path}-wal").stat().st_size == 0
    size = db_path.stat().st_size
    with open(db_path, "r+b") as f:
        f.seek(size // 2 // 4096 * 4096)
        f.write(os.urandom(3 * 4096))

    returncode, stderr = _serve_until_exit(srv, timeout=30)
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert returncode == 2, stderr
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    assert "damaged" in lines[0] and "meta.sqlite3" in lines[0] and "backup" in lines[0]
    assert "oortgate fsck" in lines[0]

    rc, report = fsck(srv.data_dir)
    assert rc == 1
    assert report["database_errors"] >= 1 and not report["clean"]
    assert report["orphans"] == 0 and any("orphans" in note for note in report["notes"])


def test_usage_errors(tmp_path: Path) -> None:
    res = subprocess.run(
        [PYTHON, "-m", "oortgate", "fsck", "--data-dir", str(tmp_path / "nowhere")],
        cwd=str(REPO_ROOT), capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert res.returncode == 2 and res.stderr.count("\n") == 1, res.stderr
    assert "no such directory" in res.stderr
    (tmp_path / "empty").mkdir()
    res = subprocess.run(
        [PYTHON, "-m", "oortgate", "fsck", "--data-dir", str(tmp_path / "empty")],
        cwd=str(REPO_ROOT), capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert res.returncode == 2 and "meta.sqlite3" in res.stderr, res.stderr


def test_a_progress_bar_on_a_terminal(srv: ServerProcess, s3: Any) -> None:
    """stderr a terminal: rich draws the bar there (with the ETA column); stdout keeps
    the problem lines and the summary, unmixed."""
    s3.put_object(Bucket=BUCKET, Key="a", Body=os.urandom(3000))
    s3.put_object(Bucket=BUCKET, Key="gone", Body=os.urandom(3000))
    blob_paths(srv.data_dir, "gone")[0].unlink()
    main, secondary = pty.openpty()
    try:
        cmd = [PYTHON, "-m", "oortgate", "fsck", "--data-dir", str(srv.data_dir), "--deep"]
        env = {**os.environ, "COLUMNS": "150", "TERM": "xterm"}
        proc = subprocess.Popen(cmd, cwd=str(REPO_ROOT), env=env, stdout=subprocess.PIPE,
                                stderr=secondary, text=True)  # fmt: skip
        os.close(secondary)
        out, _ = proc.communicate(timeout=120)
        drawn = b""
        while True:
            try:
                chunk = os.read(main, 65536)
            except OSError:  # EIO: the terminal's other end is closed
                break
            if not chunk:
                break
            drawn += chunk
    finally:
        os.close(main)
    assert proc.returncode == 1
    assert out.splitlines()[0].startswith(f"missing: {BUCKET}/gone blob ")
    assert out.splitlines()[-1].startswith("oortgate fsck: 2 objects")
    text = drawn.decode(errors="replace")
    assert "verifying bytes" in text and "looking for orphans" in text
    assert "6.0 kB/6.0 kB" in text and "100%" in text
