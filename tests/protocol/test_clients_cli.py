"""Real clients: the AWS CLI (s3 and s3api), s3cmd and minio-py."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from ._types import MakeUser, MinioClient, RunCli, S3Client, UniqueName
from ._util import etag, rand


# ------------------------------------------------------------------------- AWS CLI
def test_aws_s3_mb_cp_ls_rm_rb(
    aws: RunCli, s3: S3Client, unique_name: UniqueName, tmp_path: Path
) -> None:
    name = unique_name("cli")
    aws("s3", "mb", f"s3://{name}")
    try:
        src = tmp_path / "file one.bin"
        data = rand(200_000)
        src.write_bytes(data)
        aws("s3", "cp", str(src), f"s3://{name}/dir/file one.bin")
        out = aws("s3", "ls", f"s3://{name}/dir/").stdout
        assert "file one.bin" in out
        assert "200000" in out
        dst = tmp_path / "back.bin"
        aws("s3", "cp", f"s3://{name}/dir/file one.bin", str(dst))
        assert dst.read_bytes() == data
        head = s3.head_object(Bucket=name, Key="dir/file one.bin")
        assert head["ETag"] == etag(data)
        assert "aws-chunked" not in head.get("ContentEncoding", "")
        out = aws("s3", "ls").stdout
        assert name in out
        aws("s3", "rm", f"s3://{name}/dir/file one.bin")
        assert s3.list_objects_v2(Bucket=name)["KeyCount"] == 0
    finally:
        aws("s3", "rb", f"s3://{name}", "--force", check=False)
    assert name not in [b["Name"] for b in s3.list_buckets()["Buckets"]]


def test_aws_s3_sync_roundtrip(aws: RunCli, s3: S3Client, bucket: str, tmp_path: Path) -> None:
    src = tmp_path / "src"
    files = {
        "a.txt": b"alpha",
        "sub/b c.txt": b"bravo charlie",
        "sub/deeper/plus+eq=.bin": rand(70_000),
        "unicodé.txt": "ünïcødé".encode(),
        "empty": b"",
    }
    for rel, content in files.items():
        p = src / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(content)
    aws("s3", "sync", str(src), f"s3://{bucket}/pfx/")
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"])
    assert keys == sorted(f"pfx/{k}" for k in files)
    # a second sync uploads nothing
    out = aws("s3", "sync", str(src), f"s3://{bucket}/pfx/").stdout
    assert "upload:" not in out
    dst = tmp_path / "dst"
    aws("s3", "sync", f"s3://{bucket}/pfx/", str(dst))
    for rel, content in files.items():
        assert (dst / rel).read_bytes() == content
    # delete propagation
    (src / "a.txt").unlink()
    aws("s3", "sync", str(src), f"s3://{bucket}/pfx/", "--delete")
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"])
    assert "pfx/a.txt" not in keys
    aws("s3", "rm", f"s3://{bucket}/pfx/", "--recursive")
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0


def test_aws_s3_cp_stdin_and_recursive_ls(
    aws: RunCli, s3: S3Client, bucket: str, tmp_path: Path
) -> None:
    s3.put_object(Bucket=bucket, Key="x/1", Body=b"1")
    s3.put_object(Bucket=bucket, Key="x/y/2", Body=b"22")
    out = aws("s3", "ls", f"s3://{bucket}/", "--recursive").stdout
    assert "x/1" in out and "x/y/2" in out
    out = aws("s3", "ls", f"s3://{bucket}/x/").stdout
    assert "PRE y/" in out
    out = aws("s3", "cp", f"s3://{bucket}/x/y/2", "-").stdout
    assert out == "22"


def test_aws_s3api(aws: RunCli, s3: S3Client, bucket: str, tmp_path: Path) -> None:
    body = tmp_path / "body.txt"
    body.write_bytes(b"s3api body")
    out = aws(
        "s3api",
        "put-object",
        "--bucket",
        bucket,
        "--key",
        "k s/1",
        "--body",
        str(body),
        "--content-type",
        "text/plain",
        "--metadata",
        "owner=me",
        "--output",
        "json",
    ).stdout
    assert json.loads(out)["ETag"] == etag(b"s3api body")
    out = aws(
        "s3api", "head-object", "--bucket", bucket, "--key", "k s/1", "--output", "json"
    ).stdout
    head = json.loads(out)
    assert head["ContentLength"] == 10
    assert head["Metadata"] == {"owner": "me"}
    assert head["ContentType"] == "text/plain"
    dst = tmp_path / "out.txt"
    aws("s3api", "get-object", "--bucket", bucket, "--key", "k s/1", str(dst), "--output", "json")
    assert dst.read_bytes() == b"s3api body"
    out = aws("s3api", "list-objects-v2", "--bucket", bucket, "--output", "json").stdout
    assert [o["Key"] for o in json.loads(out)["Contents"]] == ["k s/1"]
    out = aws("s3api", "list-objects", "--bucket", bucket, "--output", "json").stdout
    assert [o["Key"] for o in json.loads(out)["Contents"]] == ["k s/1"]
    aws(
        "s3api",
        "copy-object",
        "--bucket",
        bucket,
        "--key",
        "copy",
        "--copy-source",
        f"{bucket}/k s/1",
    )
    assert s3.get_object(Bucket=bucket, Key="copy")["Body"].read() == b"s3api body"
    out = aws("s3api", "get-bucket-location", "--bucket", bucket, "--output", "json").stdout
    assert json.loads(out).get("LocationConstraint") in (None, "")
    aws("s3api", "delete-object", "--bucket", bucket, "--key", "k s/1")
    aws(
        "s3api",
        "delete-objects",
        "--bucket",
        bucket,
        "--delete",
        json.dumps({"Objects": [{"Key": "copy"}]}),
    )
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0
    res = aws("s3api", "get-object", "--bucket", bucket, "--key", "gone", str(dst), check=False)
    assert res.returncode != 0
    assert "NoSuchKey" in res.stderr


def test_aws_s3api_object_lock(
    aws: RunCli, s3: S3Client, unique_name: UniqueName, tmp_path: Path
) -> None:
    """One object lock round trip with the AWS CLI: a locked bucket, its default
    retention, a legal hold, and a version delete it refuses."""
    name = unique_name("clilock")
    aws("s3api", "create-bucket", "--bucket", name, "--object-lock-enabled-for-bucket")
    config = {"ObjectLockEnabled": "Enabled",
              "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 1}}}  # fmt: skip
    aws("s3api", "put-object-lock-configuration", "--bucket", name,
        "--object-lock-configuration", json.dumps(config))  # fmt: skip
    out = aws("s3api", "get-object-lock-configuration", "--bucket", name, "--output", "json")
    assert json.loads(out.stdout)["ObjectLockConfiguration"] == config
    body = tmp_path / "b.txt"
    body.write_bytes(b"locked")
    out = aws("s3api", "put-object", "--bucket", name, "--key", "k", "--body", str(body),
              "--output", "json")  # fmt: skip
    version = json.loads(out.stdout)["VersionId"]
    aws("s3api", "put-object-legal-hold", "--bucket", name, "--key", "k",
        "--legal-hold", "Status=ON")  # fmt: skip
    out = aws("s3api", "get-object-retention", "--bucket", name, "--key", "k", "--output", "json")
    assert json.loads(out.stdout)["Retention"]["Mode"] == "GOVERNANCE"
    out = aws("s3api", "get-object-legal-hold", "--bucket", name, "--key", "k", "--output", "json")
    assert json.loads(out.stdout)["LegalHold"] == {"Status": "ON"}
    res = aws("s3api", "delete-object", "--bucket", name, "--key", "k", "--version-id", version,
              "--bypass-governance-retention", check=False)  # fmt: skip
    assert res.returncode != 0 and "AccessDenied" in res.stderr  # the hold outlasts a bypass
    head = s3.head_object(Bucket=name, Key="k", VersionId=version)
    assert head["ObjectLockLegalHoldStatus"] == "ON"


def test_aws_cli_other_user(aws: RunCli, make_user: MakeUser, s3: S3Client, bucket: str) -> None:
    user = make_user()
    res = aws("s3", "ls", f"s3://{bucket}/", ak=user[0], sk=user[1], check=False)
    assert res.returncode != 0
    assert "AccessDenied" in res.stderr


# ------------------------------------------------------------------------- s3cmd
def test_s3cmd_lifecycle(
    s3cmd: RunCli, s3: S3Client, unique_name: UniqueName, tmp_path: Path
) -> None:
    name = unique_name("s3cmd")
    s3cmd("mb", f"s3://{name}")
    try:
        assert name in [b["Name"] for b in s3.list_buckets()["Buckets"]]
        src = tmp_path / "s3cmd file.txt"
        data = rand(123_456)
        src.write_bytes(data)
        s3cmd("put", str(src), f"s3://{name}/a/s3cmd file.txt")
        assert s3.get_object(Bucket=name, Key="a/s3cmd file.txt")["Body"].read() == data
        out = s3cmd("ls", f"s3://{name}/a/").stdout
        assert "s3cmd file.txt" in out
        out = s3cmd("ls").stdout
        assert name in out
        out = s3cmd("ls", "--recursive", f"s3://{name}").stdout
        assert "a/s3cmd file.txt" in out
        dst = tmp_path / "got.txt"
        s3cmd("get", f"s3://{name}/a/s3cmd file.txt", str(dst))
        assert dst.read_bytes() == data
        s3cmd("info", f"s3://{name}/a/s3cmd file.txt", check=False)
        s3cmd("del", f"s3://{name}/a/s3cmd file.txt")
        assert s3.list_objects_v2(Bucket=name)["KeyCount"] == 0
        s3cmd("rb", f"s3://{name}")
        assert name not in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    finally:
        s3cmd("rb", "--recursive", "--force", f"s3://{name}", check=False)


def test_s3cmd_put_special_names_and_sync(
    s3cmd: RunCli, s3: S3Client, bucket: str, tmp_path: Path
) -> None:
    d = tmp_path / "tree"
    (d / "x y").mkdir(parents=True)
    (d / "x y" / "a+b=c.txt").write_bytes(b"special")
    (d / "ü.txt").write_bytes(b"unicode")
    s3cmd("sync", str(d) + "/", f"s3://{bucket}/t/")
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"])
    assert keys == ["t/x y/a+b=c.txt", "t/ü.txt"]
    out = s3cmd("get", f"s3://{bucket}/t/x y/a+b=c.txt", "-").stdout
    assert out == "special"
    s3cmd("del", "--recursive", "--force", f"s3://{bucket}/t/")
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0


# ------------------------------------------------------------------------- minio-py
def test_minio_lifecycle(
    minio_client: MinioClient, s3: S3Client, unique_name: UniqueName, tmp_path: Path
) -> None:
    from minio.commonconfig import CopySource
    from minio.deleteobjects import DeleteObject

    m = minio_client
    name = unique_name("minio")
    m.make_bucket(name)
    try:
        assert m.bucket_exists(name)
        assert name in [b.name for b in m.list_buckets()]
        data = rand(150_000)
        res = m.put_object(
            name,
            "dir/obj 1",
            io.BytesIO(data),
            len(data),
            content_type="application/x-minio",
            metadata={"Color": "blue"},
        )
        assert res.etag == etag(data).strip('"')
        st = m.stat_object(name, "dir/obj 1")
        assert st.size == len(data)
        assert st.content_type == "application/x-minio"
        assert st.metadata.get("x-amz-meta-color") == "blue"
        resp = m.get_object(name, "dir/obj 1")
        try:
            assert resp.read() == data
        finally:
            resp.close()
            resp.release_conn()
        resp = m.get_object(name, "dir/obj 1", offset=10, length=5)
        try:
            assert resp.read() == data[10:15]
        finally:
            resp.close()
            resp.release_conn()
        m.copy_object(name, "copy+of=obj", CopySource(name, "dir/obj 1"))
        assert s3.get_object(Bucket=name, Key="copy+of=obj")["Body"].read() == data
        objs = sorted(o.object_name for o in m.list_objects(name, recursive=True))
        assert objs == ["copy+of=obj", "dir/obj 1"]
        top = sorted(o.object_name for o in m.list_objects(name))
        assert top == ["copy+of=obj", "dir/"]
        v1 = sorted(o.object_name for o in m.list_objects(name, recursive=True, use_api_v1=True))
        assert v1 == objs
        f = tmp_path / "f.bin"
        f.write_bytes(b"fput")
        m.fput_object(name, "fput", str(f))
        m.fget_object(name, "fput", str(tmp_path / "g.bin"))
        assert (tmp_path / "g.bin").read_bytes() == b"fput"
        m.remove_object(name, "dir/obj 1")
        errors = list(m.remove_objects(name, [DeleteObject("copy+of=obj"), DeleteObject("fput")]))
        assert errors == []
        assert list(m.list_objects(name, recursive=True)) == []
        m.remove_bucket(name)
        assert not m.bucket_exists(name)
    finally:
        try:
            for o in m.list_objects(name, recursive=True):
                m.remove_object(name, o.object_name)
            m.remove_bucket(name)
        except Exception:
            pass


def test_minio_errors(minio_client: MinioClient, bucket: str) -> None:
    from minio.error import S3Error

    with pytest.raises(S3Error) as ei:
        minio_client.stat_object(bucket, "missing")
    assert ei.value.code in ("NoSuchKey", "ResourceNotFound")
    with pytest.raises(S3Error) as ei:
        minio_client.get_object(bucket, "missing")
    assert ei.value.code == "NoSuchKey"
