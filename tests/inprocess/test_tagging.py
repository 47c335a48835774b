"""ops/tagging.py: object and bucket tag sets."""

from __future__ import annotations

from ._client import Client


def _tagging(*pairs: tuple[str, str]) -> bytes:
    tags = "".join(f"<Tag><Key>{k}</Key><Value>{v}</Value></Tag>" for k, v in pairs)
    return f"<Tagging><TagSet>{tags}</TagSet></Tagging>".encode()


def _tags(client: Client, path: str) -> list[tuple[str, str]]:
    reply = client.request("GET", path, "tagging")
    assert reply.status == 200, reply.body
    keys, values = reply.texts("TagSet/Tag/Key"), reply.texts("TagSet/Tag/Value")
    return list(zip(keys, values, strict=True))


def test_object_tags_round_trip(owner: Client, bucket: str) -> None:
    owner.put(bucket, "k", x_amz_tagging="a=1")
    path = f"/{bucket}/k"
    assert _tags(owner, path) == [("a", "1")]
    assert owner.request("PUT", path, "tagging", _tagging(("b", "2"), ("c", ""))).status == 200
    assert sorted(_tags(owner, path)) == [("b", "2"), ("c", "")]
    assert owner.get(bucket, "k").headers["x-amz-tagging-count"] == "2"
    assert owner.request("DELETE", path, "tagging").status == 204
    assert _tags(owner, path) == []


def test_object_tag_errors(owner: Client, bucket: str) -> None:
    owner.put(bucket, "k")
    path = f"/{bucket}/k"
    too_many = _tagging(*((f"k{i}", "v") for i in range(11)))
    assert owner.request("PUT", path, "tagging", too_many).error == (400, "BadRequest")
    reserved = _tagging(("aws:thing", "v"))
    assert owner.request("PUT", path, "tagging", reserved).error == (400, "InvalidTag")
    twice = _tagging(("a", "1"), ("a", "2"))
    assert owner.request("PUT", path, "tagging", twice).error == (400, "InvalidTag")
    assert owner.request("PUT", path, "tagging", b"<Tagging>").error == (400, "MalformedXML")
    assert _tags(owner, path) == []  # nothing stored by a refused request
    missing = owner.request("PUT", f"/{bucket}/absent", "tagging", _tagging(("a", "1")))
    assert missing.error == (404, "NoSuchKey")
    assert owner.put(bucket, "k2", x_amz_tagging="a=1&a=2").error == (400, "InvalidArgument")


def test_object_tags_need_permission(owner: Client, other: Client, bucket: str) -> None:
    owner.put(bucket, "k")
    path = f"/{bucket}/k"
    assert other.request("GET", path, "tagging").error == (403, "AccessDenied")
    assert other.request("PUT", path, "tagging", _tagging(("a", "1"))).error == (
        403, "AccessDenied",
    )  # fmt: skip


def test_bucket_tags_round_trip(owner: Client, other: Client, bucket: str) -> None:
    path = f"/{bucket}"
    assert owner.request("GET", path, "tagging").error == (404, "NoSuchTagSet")
    assert owner.request("PUT", path, "tagging", _tagging(("team", "x"))).status == 204
    assert _tags(owner, path) == [("team", "x")]
    too_many = _tagging(*((f"k{i}", "v") for i in range(51)))
    assert owner.request("PUT", path, "tagging", too_many).error == (400, "BadRequest")
    assert other.request("GET", path, "tagging").error == (403, "AccessDenied")
    assert owner.request("DELETE", path, "tagging").status == 204
    assert owner.request("GET", path, "tagging").error == (404, "NoSuchTagSet")
