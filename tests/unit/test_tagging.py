import pytest

from oortgate import tagging, xml
from oortgate.errors import S3Error
from oortgate.xml.tagging import tagging_document


def doc(*pairs: tuple[str, str]) -> bytes:
    tags = "".join(f"<Tag><Key>{k}</Key><Value>{v}</Value></Tag>" for k, v in pairs)
    return f'<Tagging xmlns="{xml.S3_NS}"><TagSet>{tags}</TagSet></Tagging>'.encode()


def error(fn: object, *args: object) -> S3Error:
    with pytest.raises(S3Error) as info:
        fn(*args)  # type: ignore[operator]
    return info.value


def test_document_round_trip_sorted_by_key() -> None:
    tags = tagging.parse_document(doc(("b", "2"), ("a", ""), ("é 文", "x+y=z.:/@_-")), 10)
    assert list(tags.items()) == [("a", ""), ("b", "2"), ("é 文", "x+y=z.:/@_-")]
    again = tagging.parse_document(tagging_document(tags), 10)
    assert again == tags


def test_empty_tag_set() -> None:
    assert tagging.parse_document(b"<Tagging><TagSet/></Tagging>", 10) == {}
    assert b"<TagSet/>" in tagging_document({})


@pytest.mark.parametrize(
    "body",
    [
        b"<Tagging><TagSet>",
        b"<Tagging></Tagging>",
        b"<Tags><TagSet></TagSet></Tags>",
        b"<Tagging><TagSet><Tag><Key>a</Key></Tag></TagSet></Tagging>",
        b"<Tagging><TagSet><Tag><Value>a</Value></Tag></TagSet></Tagging>",
        b"",
    ],
)
def test_malformed_documents(body: bytes) -> None:
    assert error(tagging.parse_document, body, 10).code == "MalformedXML"


def test_limits_on_counts() -> None:
    eleven = [(f"k{i}", "v") for i in range(11)]
    assert len(tagging.validate(eleven[:10], tagging.OBJECT_LIMIT)) == 10
    err = error(tagging.validate, eleven, tagging.OBJECT_LIMIT)
    assert (err.code, err.status, err.message) == (
        "BadRequest", 400, "Object tags cannot be greater than 10"
    )  # fmt: skip
    fifty_one = [(f"k{i}", "v") for i in range(51)]
    assert len(tagging.validate(fifty_one[:50], tagging.BUCKET_LIMIT)) == 50
    err = error(tagging.validate, fifty_one, tagging.BUCKET_LIMIT)
    assert (err.code, err.message) == ("BadRequest", "Bucket tag count cannot be greater than 50")


def test_key_and_value_lengths() -> None:
    assert tagging.validate([("k" * 128, "v" * 256)], 10)
    err = error(tagging.validate, [("k" * 129, "v")], 10)
    assert (err.code, err.message, err.fields["TagKey"]) == (
        "InvalidTag", "The TagKey you have provided is invalid", "k" * 129
    )  # fmt: skip
    err = error(tagging.validate, [("k", "v" * 257)], 10)
    assert (err.code, err.message, err.fields["TagValue"]) == (
        "InvalidTag", "The TagValue you have provided is invalid", "v" * 257
    )  # fmt: skip
    # S3 counts UTF-16 code units: an astral letter takes two.
    assert tagging.validate([("k", "\U0001d400" * 128)], 10)
    assert error(tagging.validate, [("k", "\U0001d400" * 129)], 10).code == "InvalidTag"


@pytest.mark.parametrize(
    "bad", ["a,b", "a;b", "a?b", "a!b", "a*b", "a#b", "a%b", "a(b)", "a\tb", "😀"]
)
def test_characters_outside_the_allowed_set(bad: str) -> None:
    assert error(tagging.validate, [(bad, "v")], 10).message.startswith("The TagKey")
    assert error(tagging.validate, [("k", bad)], 10).message.startswith("The TagValue")


def test_empty_key_duplicates_and_reserved_prefix() -> None:
    assert error(tagging.validate, [("", "v")], 10).code == "InvalidTag"
    err = error(tagging.validate, [("a", "1"), ("a", "2")], 10)
    assert (err.code, err.message, err.fields["TagKey"]) == (
        "InvalidTag", "Cannot provide multiple Tags with the same key", "a"
    )  # fmt: skip
    for key in ("aws:cost", "AWS:cost"):
        err = error(tagging.validate, [(key, "v")], 10)
        assert (err.code, err.message) == ("InvalidTag", "Your TagKey cannot be prefixed with aws:")
    assert tagging.validate([("k", "aws:fine-as-a-value")], 10)


@pytest.mark.parametrize(
    ("header", "tags"),
    [
        ("a=1&b=2", {"a": "1", "b": "2"}),
        ("b=2&a", {"a": "", "b": "2"}),
        ("a%20b=c%2Bd&e+f=g%3Dh", {"a b": "c+d", "e f": "g=h"}),
        ("%C3%BC=%E6%96%87", {"ü": "文"}),
        ("", {}),
        (None, {}),
    ],
)
def test_header(header: str | None, tags: dict[str, str]) -> None:
    assert tagging.parse_header(header) == tags


@pytest.mark.parametrize("header", ["a=1&a=2", "=1", "a=%FF", "TagSet=[{Key=a,Value=b}]"])
def test_header_not_url_encoded_tags(header: str) -> None:
    err = error(tagging.parse_header, header)
    assert (err.code, err.fields) == (
        "InvalidArgument", {"ArgumentName": "x-amz-tagging", "ArgumentValue": header}
    )  # fmt: skip


def test_header_limits() -> None:
    assert error(tagging.parse_header, "&".join(f"k{i}=" for i in range(11))).code == "BadRequest"
    assert error(tagging.parse_header, "a,b=1").fields["TagKey"] == "a,b"
    assert error(tagging.parse_header, "aws:cost=1").code == "InvalidTag"


def test_copy_directive() -> None:
    source = {"s": "1"}
    assert tagging.copied({}, source) == source
    assert tagging.copied({"x-amz-tagging-directive": "COPY", "x-amz-tagging": "n=2"}, source) == {
        "s": "1"
    }
    replace = {"x-amz-tagging-directive": "REPLACE", "x-amz-tagging": "n=2"}
    assert tagging.copied(replace, source) == {"n": "2"}
    assert tagging.copied({"x-amz-tagging-directive": "REPLACE"}, source) == {}
    err = error(tagging.copied, {"x-amz-tagging-directive": "MERGE"}, source)
    assert (err.code, err.fields["ArgumentName"]) == ("InvalidArgument", "x-amz-tagging-directive")


def test_form_field_is_xml() -> None:
    assert tagging.parse_form_field(doc(("a", "1")).decode()) == {"a": "1"}
    assert tagging.parse_form_field(None) == {}
    assert error(tagging.parse_form_field, "a=1").code == "MalformedXML"
