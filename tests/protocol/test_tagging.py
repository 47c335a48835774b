"""Object and bucket tagging: the ?tagging operations, x-amz-tagging on uploads and
copies, x-amz-tagging-count, AWS's limits and errors, and who may do what."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import requests

from ._s3raw import error_code, error_field
from ._util import s3_error

SET_AB = [{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}]


def tag_set(pairs: dict[str, str]) -> dict[str, Any]:
    return {"TagSet": [{"Key": k, "Value": v} for k, v in pairs.items()]}


def tags_of(s3: Any, bucket: str, key: str) -> list[dict[str, str]]:
    return list(s3.get_object_tagging(Bucket=bucket, Key=key)["TagSet"])


def test_put_get_delete_object_tagging(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="o", Body=b"x")
    assert tags_of(s3, bucket, "o") == []  # no tags: 200 with an empty TagSet
    pairs = {"b": "2", "a": "", "é 文": "x+y=z.:/@_-"}
    resp = s3.put_object_tagging(Bucket=bucket, Key="o", Tagging=tag_set(pairs))
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 200
    got = tags_of(s3, bucket, "o")
    assert got == tag_set(dict(sorted(pairs.items())))["TagSet"]
    resp = s3.delete_object_tagging(Bucket=bucket, Key="o")
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert tags_of(s3, bucket, "o") == []
    assert s3.get_object(Bucket=bucket, Key="o")["Body"].read() == b"x"


def test_object_tagging_of_a_missing_key(s3: Any, bucket: str) -> None:
    call: Callable[[], object]
    for call in (
        lambda: s3.get_object_tagging(Bucket=bucket, Key="missing"),
        lambda: s3.put_object_tagging(Bucket=bucket, Key="missing", Tagging={"TagSet": SET_AB}),
        lambda: s3.delete_object_tagging(Bucket=bucket, Key="missing"),
    ):
        with s3_error("NoSuchKey", 404):
            call()


def test_bucket_tagging(s3: Any, bucket: str) -> None:
    with s3_error("NoSuchTagSet", 404):
        s3.get_bucket_tagging(Bucket=bucket)
    s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": SET_AB})
    assert s3.get_bucket_tagging(Bucket=bucket)["TagSet"] == SET_AB
    s3.put_bucket_tagging(Bucket=bucket, Tagging=tag_set({"team": "storage"}))
    assert s3.get_bucket_tagging(Bucket=bucket)["TagSet"] == tag_set({"team": "storage"})["TagSet"]
    resp = s3.delete_bucket_tagging(Bucket=bucket)
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 204
    with s3_error("NoSuchTagSet", 404):
        s3.get_bucket_tagging(Bucket=bucket)


def test_x_amz_tagging_on_put_object_and_tag_count(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="o", Body=b"x", Tagging="b=2&a=1")
    assert tags_of(s3, bucket, "o") == SET_AB
    assert s3.get_object(Bucket=bucket, Key="o")["TagCount"] == 2
    assert s3.head_object(Bucket=bucket, Key="o")["TagCount"] == 2
    s3.put_object(Bucket=bucket, Key="o", Body=b"y")  # an overwrite without tags clears them
    assert tags_of(s3, bucket, "o") == []
    assert "TagCount" not in s3.get_object(Bucket=bucket, Key="o")
    assert "TagCount" not in s3.head_object(Bucket=bucket, Key="o")


def test_x_amz_tagging_url_encoded(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="o", Body=b"x", Tagging="a%20b=c%2Bd&%C3%BC=%E6%96%87&e")
    assert tags_of(s3, bucket, "o") == tag_set({"a b": "c+d", "e": "", "ü": "文"})["TagSet"]


def test_multipart_upload_tags_land_on_the_object(s3: Any, bucket: str) -> None:
    upload = s3.create_multipart_upload(Bucket=bucket, Key="mp", Tagging="a=1&b=2")
    part = s3.upload_part(
        Bucket=bucket, Key="mp", UploadId=upload["UploadId"], PartNumber=1, Body=b"part"
    )
    s3.complete_multipart_upload(
        Bucket=bucket, Key="mp", UploadId=upload["UploadId"],
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]},
    )  # fmt: skip
    assert tags_of(s3, bucket, "mp") == SET_AB
    assert s3.head_object(Bucket=bucket, Key="mp")["TagCount"] == 2


def test_copy_object_copies_or_replaces_tags(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="src", Body=b"x", Tagging="a=1&b=2")
    source = {"Bucket": bucket, "Key": "src"}
    s3.copy_object(Bucket=bucket, Key="copy", CopySource=source)
    assert tags_of(s3, bucket, "copy") == SET_AB
    s3.copy_object(Bucket=bucket, Key="copy2", CopySource=source, TaggingDirective="COPY")
    assert tags_of(s3, bucket, "copy2") == SET_AB
    s3.copy_object(
        Bucket=bucket, Key="new", CopySource=source, TaggingDirective="REPLACE", Tagging="n=3"
    )
    assert tags_of(s3, bucket, "new") == [{"Key": "n", "Value": "3"}]
    s3.copy_object(Bucket=bucket, Key="none", CopySource=source, TaggingDirective="REPLACE")
    assert tags_of(s3, bucket, "none") == []
    assert tags_of(s3, bucket, "src") == SET_AB


def test_copy_object_unknown_tagging_directive(raw: Any, s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="src", Body=b"x")
    headers = {"x-amz-copy-source": f"/{bucket}/src", "x-amz-tagging-directive": "MERGE"}
    resp = raw.request("PUT", bucket, "dst", headers=headers)
    assert resp.status_code == 400, resp.text
    assert error_code(resp.content) == "InvalidArgument"
    assert error_field(resp.content, "ArgumentName") == "x-amz-tagging-directive"


def test_too_many_object_tags(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="o", Body=b"x")
    eleven = {f"k{i}": "v" for i in range(11)}
    with s3_error("BadRequest", 400) as info:
        s3.put_object_tagging(Bucket=bucket, Key="o", Tagging=tag_set(eleven))
    assert info.value.response["Error"]["Message"] == "Object tags cannot be greater than 10"
    with s3_error("BadRequest", 400):
        s3.put_object(
            Bucket=bucket, Key="new", Body=b"x", Tagging="&".join(f"{k}=v" for k in eleven)
        )
    with s3_error("404", 404):
        s3.head_object(Bucket=bucket, Key="new")
    ten = dict(list(eleven.items())[:10])
    s3.put_object_tagging(Bucket=bucket, Key="o", Tagging=tag_set(ten))
    assert len(tags_of(s3, bucket, "o")) == 10


def test_too_many_bucket_tags(s3: Any, bucket: str) -> None:
    many = {f"k{i}": "v" for i in range(51)}
    with s3_error("BadRequest", 400) as info:
        s3.put_bucket_tagging(Bucket=bucket, Tagging=tag_set(many))
    assert info.value.response["Error"]["Message"] == "Bucket tag count cannot be greater than 50"
    s3.put_bucket_tagging(Bucket=bucket, Tagging=tag_set(dict(list(many.items())[:50])))
    assert len(s3.get_bucket_tagging(Bucket=bucket)["TagSet"]) == 50


def test_invalid_tags(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="o", Body=b"x")
    cases = [
        ([{"Key": "k" * 129, "Value": "v"}], "The TagKey you have provided is invalid"),
        ([{"Key": "k", "Value": "v" * 257}], "The TagValue you have provided is invalid"),
        ([{"Key": "a", "Value": "1"}, {"Key": "a", "Value": "2"}],
         "Cannot provide multiple Tags with the same key"),
        ([{"Key": "aws:cost", "Value": "v"}], "Your TagKey cannot be prefixed with aws:"),
        ([{"Key": "a,b", "Value": "v"}], "The TagKey you have provided is invalid"),
        ([{"Key": "k", "Value": "a!b"}], "The TagValue you have provided is invalid"),
    ]  # fmt: skip
    for tags, message in cases:
        with s3_error("InvalidTag", 400) as info:
            s3.put_object_tagging(Bucket=bucket, Key="o", Tagging={"TagSet": tags})
        assert info.value.response["Error"]["Message"] == message
        with s3_error("InvalidTag", 400) as info:
            s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": tags})
        assert info.value.response["Error"]["Message"] == message
    s3.put_object_tagging(Bucket=bucket, Key="o", Tagging=tag_set({"k" * 128: "v" * 256}))
    assert tags_of(s3, bucket, "o") == tag_set({"k" * 128: "v" * 256})["TagSet"]


def test_invalid_x_amz_tagging_header(s3: Any, bucket: str) -> None:
    with s3_error("InvalidArgument", 400):
        s3.put_object(Bucket=bucket, Key="new", Body=b"x", Tagging="a=1&a=2")
    with s3_error("InvalidTag", 400):
        s3.put_object(Bucket=bucket, Key="new", Body=b"x", Tagging="k=" + "v" * 257)
    with s3_error("InvalidTag", 400):
        s3.create_multipart_upload(Bucket=bucket, Key="new", Tagging="aws:x=1")
    with s3_error("404", 404):
        s3.head_object(Bucket=bucket, Key="new")


def test_malformed_tagging_documents(raw: Any, s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="o", Body=b"x")
    for body in (b"<Tagging><TagSet>", b"<Tagging></Tagging>", b"<Tags><TagSet/></Tags>"):
        resp = raw.request("PUT", bucket, "o", query={"tagging": ""}, body=body)
        assert resp.status_code == 400, resp.text
        assert error_code(resp.content) == "MalformedXML", resp.text


def test_content_md5_is_checked(raw: Any, s3: Any, bucket: str) -> None:
    import base64
    import hashlib

    s3.put_object(Bucket=bucket, Key="o", Body=b"x")
    body = b"<Tagging><TagSet><Tag><Key>a</Key><Value>1</Value></Tag></TagSet></Tagging>"
    wrong = base64.b64encode(hashlib.md5(b"other").digest()).decode()
    resp = raw.request(
        "PUT", bucket, "o", query={"tagging": ""}, body=body, headers={"Content-MD5": wrong}
    )
    assert resp.status_code == 400 and error_code(resp.content) == "BadDigest", resp.text
    right = base64.b64encode(hashlib.md5(body).digest()).decode()
    resp = raw.request(
        "PUT", bucket, "o", query={"tagging": ""}, body=body, headers={"Content-MD5": right}
    )
    assert resp.status_code == 200, resp.text
    assert tags_of(s3, bucket, "o") == [{"Key": "a", "Value": "1"}]


def test_other_users_are_denied(s3: Any, bucket: str, make_user: Any, client_for: Any) -> None:
    s3.put_object(Bucket=bucket, Key="o", Body=b"x", Tagging="a=1")
    s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": SET_AB})
    other = client_for(*make_user())
    call: Callable[[], object]
    for call in (
        lambda: other.get_object_tagging(Bucket=bucket, Key="o"),
        lambda: other.put_object_tagging(Bucket=bucket, Key="o", Tagging={"TagSet": SET_AB}),
        lambda: other.delete_object_tagging(Bucket=bucket, Key="o"),
        lambda: other.get_object_tagging(Bucket=bucket, Key="missing"),
        lambda: other.get_bucket_tagging(Bucket=bucket),
        lambda: other.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": SET_AB}),
        lambda: other.delete_bucket_tagging(Bucket=bucket),
    ):
        with s3_error("AccessDenied", 403):
            call()
    assert tags_of(s3, bucket, "o") == [{"Key": "a", "Value": "1"}]
    assert s3.get_bucket_tagging(Bucket=bucket)["TagSet"] == SET_AB


def test_readers_read_tags_and_only_owners_write_them(
    s3: Any, bucket: str, make_user: Any, client_for: Any
) -> None:
    s3.put_object(Bucket=bucket, Key="pub", Body=b"x", Tagging="a=1", ACL="public-read")
    other = client_for(*make_user())
    assert tags_of(other, bucket, "pub") == [{"Key": "a", "Value": "1"}]
    with s3_error("AccessDenied", 403):
        other.put_object_tagging(Bucket=bucket, Key="pub", Tagging={"TagSet": SET_AB})


def test_bucket_owner_tags_objects_other_users_wrote(
    s3: Any, bucket: str, make_user: Any, client_for: Any
) -> None:
    s3.put_bucket_acl(Bucket=bucket, ACL="public-read-write")
    writer = client_for(*make_user())
    writer.put_object(Bucket=bucket, Key="w", Body=b"x", Tagging="a=1")
    assert tags_of(writer, bucket, "w") == [{"Key": "a", "Value": "1"}]
    assert tags_of(s3, bucket, "w") == [{"Key": "a", "Value": "1"}]
    s3.put_object_tagging(Bucket=bucket, Key="w", Tagging={"TagSet": SET_AB})
    assert tags_of(writer, bucket, "w") == SET_AB


def test_post_object_tagging_field(s3: Any, bucket: str, server: Any) -> None:
    document = "<Tagging><TagSet><Tag><Key>a</Key><Value>1</Value></Tag></TagSet></Tagging>"
    form = s3.generate_presigned_post(
        bucket, "posted", Fields={"tagging": document}, Conditions=[{"tagging": document}]
    )
    parts: list[tuple[str, tuple[Any, ...]]] = [(k, (None, v)) for k, v in form["fields"].items()]
    parts.append(("file", ("f.txt", b"hello", "text/plain")))
    resp = requests.post(form["url"], files=parts, verify=server.cert, timeout=60)
    assert resp.status_code == 204, resp.text
    assert tags_of(s3, bucket, "posted") == [{"Key": "a", "Value": "1"}]


def test_aws_cli_put_object_tagging(aws: Any, s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="cli", Body=b"x")
    tagging = json.dumps(tag_set({"env": "test", "team": "storage"}))
    aws("s3api", "put-object-tagging", "--bucket", bucket, "--key", "cli", "--tagging", tagging)
    out = aws("s3api", "get-object-tagging", "--bucket", bucket, "--key", "cli").stdout
    assert json.loads(out)["TagSet"] == tag_set({"env": "test", "team": "storage"})["TagSet"]


def test_presigned_put_with_signed_tagging_header(
    s3: Any, bucket: str, client_for: Any, server: Any
) -> None:
    presigner = client_for(server.root_access_key, server.root_secret_key, signature_version="s3v4")
    params = {"Bucket": bucket, "Key": "p", "Tagging": "a=1&b=2"}
    url = presigner.generate_presigned_url("put_object", Params=params, ExpiresIn=60)
    headers = {"x-amz-tagging": "a=1&b=2"}
    resp = requests.put(url, data=b"x", headers=headers, verify=server.cert, timeout=60)
    assert resp.status_code == 200, resp.text
    assert tags_of(s3, bucket, "p") == SET_AB


def test_ignore_public_acls_hides_tags_as_it_hides_the_object(
    s3: Any, bucket: str, make_user: Any, client_for: Any
) -> None:
    """Tags are read with the object's READ, decided like every object permission: a
    public-read grant voided by IgnorePublicAcls grants neither the bytes nor the tags."""
    s3.put_object(Bucket=bucket, Key="pub", Body=b"x", Tagging="a=1", ACL="public-read")
    other = client_for(*make_user())
    assert tags_of(other, bucket, "pub") == [{"Key": "a", "Value": "1"}]
    s3.put_public_access_block(
        Bucket=bucket, PublicAccessBlockConfiguration={"IgnorePublicAcls": True}
    )
    call: Callable[[], object]
    for call in (
        lambda: other.get_object(Bucket=bucket, Key="pub"),
        lambda: other.get_object_tagging(Bucket=bucket, Key="pub"),
    ):
        with s3_error("AccessDenied", 403):
            call()
    assert tags_of(s3, bucket, "pub") == [{"Key": "a", "Value": "1"}]
