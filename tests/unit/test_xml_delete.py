"""oortgate.xml.delete: the Delete request against what botocore sends and against bad
documents, and DeleteResult as botocore reads it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from oortgate.errors import S3Error
from oortgate.xml import delete
from oortgate.xml.delete import DeleteEntry, DeleteOutcome, DeleteRequest
from tests.unit._shapes import parsed, request_body, unknown_elements


def test_parse_delete_reads_what_botocore_sends() -> None:
    objects = [
        {"Key": "a&b <c>"},
        {"Key": "d", "VersionId": "null", "ETag": '"e"', "Size": 3,
         "LastModifiedTime": datetime(2024, 1, 2, tzinfo=UTC)},
    ]  # fmt: skip
    body = request_body("DeleteObjects", {"Bucket": "b", "Delete": {"Objects": objects,
                                                                     "Quiet": True}})  # fmt: skip
    assert delete.parse_delete(body) == DeleteRequest(
        True,
        [DeleteEntry("a&b <c>"),
         DeleteEntry("d", "null", '"e"', "3", "Tue, 02 Jan 2024 00:00:00 GMT")],
    )  # fmt: skip


@pytest.mark.parametrize(("text", "quiet"), [(None, False), ("false", False), (" TRUE ", True)])
def test_quiet(text: str | None, quiet: bool) -> None:
    flag = "" if text is None else f"<Quiet>{text}</Quiet>"
    body = f"<Delete>{flag}<Object><Key>k</Key></Object></Delete>".encode()
    assert delete.parse_delete(body).quiet is quiet


def _objects(count: int, key: str = "k") -> bytes:
    return ("<Delete>" + f"<Object><Key>{key}</Key></Object>" * count + "</Delete>").encode()


def test_a_thousand_keys_is_the_most() -> None:
    assert len(delete.parse_delete(_objects(1000)).objects) == 1000


@pytest.mark.parametrize(
    "body",
    [b"", b"<Delete", _objects(0), _objects(1001), _objects(1, key=""),
     b"<Delete><Object><VersionId>v</VersionId></Object></Delete>",
     b"<NotDelete><Object><Key>k</Key></Object></NotDelete>"],
)  # fmt: skip
def test_parse_delete_refuses_bad_documents(body: bytes) -> None:
    with pytest.raises(S3Error) as caught:
        delete.parse_delete(body)
    assert caught.value.code == "MalformedXML"


OUTCOMES = [
    DeleteOutcome("gone", None, None),
    DeleteOutcome("v", "null", None),
    DeleteOutcome("kept", None, S3Error("PreconditionFailed")),
    DeleteOutcome("old", "v2", S3Error("NoSuchVersion")),
]


def test_delete_result() -> None:
    body = delete.delete_result(OUTCOMES, quiet=False)
    assert unknown_elements(body, "DeleteObjects") == []
    out = parsed(body, "DeleteObjects")
    assert out["Deleted"] == [{"Key": "gone"}, {"Key": "v", "VersionId": "null"}]
    assert [e["Key"] for e in out["Errors"]] == ["kept", "old"]
    assert out["Errors"][0]["Code"] == "PreconditionFailed"
    assert out["Errors"][0]["Message"] == S3Error("PreconditionFailed").message
    assert out["Errors"][1] == {"Key": "old", "VersionId": "v2", "Code": "NoSuchVersion",
                                "Message": S3Error("NoSuchVersion").message}  # fmt: skip


def test_quiet_result_lists_only_errors() -> None:
    out = parsed(delete.delete_result(OUTCOMES, quiet=True), "DeleteObjects")
    assert "Deleted" not in out and len(out["Errors"]) == 2
    assert b"<DeleteResult" in delete.delete_result([], quiet=True)
