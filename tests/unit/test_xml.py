import pytest

from oortgate import xml
from oortgate.errors import S3Error


def test_render_escapes_and_namespace() -> None:
    root = xml.Node("ListBucketResult")
    root.add("Key", 'a<b>&"c"')
    root.add("IsTruncated", False)
    root.add("Empty", "")
    text = xml.document(root).decode()
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>')
    assert 'xmlns="http://s3.amazonaws.com/doc/2006-03-01/"' in text
    assert "<Key>a&lt;b&gt;&amp;&quot;c&quot;</Key>" in text
    assert "<IsTruncated>false</IsTruncated>" in text
    assert "<Empty></Empty>" in text


def test_render_round_trips_through_a_parser() -> None:
    root = xml.Node("R")
    root.add("K", "é \u4e2d \U0001f600 \r\n")
    parsed = xml.parse(xml.document(root))
    assert xml.child_text(parsed, "K") == "é \u4e2d \U0001f600 \r\n"


def test_error_document() -> None:
    body = xml.error_document("NoSuchKey", "gone", {"Key": "k"}, "RID")
    parsed = xml.parse(body)
    assert parsed.tag == "Error"
    assert xml.child_text(parsed, "Code") == "NoSuchKey"
    assert xml.child_text(parsed, "Key") == "k"


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"<Delete><Object>",
        b"not xml",
        # entity expansion must be refused, never expanded
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;">]><x>&b;</x>',
        b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>',
    ],
)
def test_parse_rejects_bad_and_hostile_xml(body: bytes) -> None:
    with pytest.raises(S3Error) as info:
        xml.parse(body)
    assert info.value.code == "MalformedXML"


def test_parse_strips_namespaces() -> None:
    root = xml.parse(
        b'<Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Quiet>true</Quiet></Delete>'
    )
    assert root.tag == "Delete"
    assert xml.child_text(root, "Quiet") == "true"


def test_timestamp_matches_datetime_to_the_millisecond() -> None:
    import random
    from datetime import UTC, datetime

    def reference(epoch: float) -> str:
        moment = datetime.fromtimestamp(epoch, UTC)
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"

    rng = random.Random(7)
    samples = [0.0, 1.0005, 1764000000.123, 1764000000.9999996, 1909916238.2439995]
    samples += [rng.uniform(0, 4e9) for _ in range(20000)]
    samples += [rng.randrange(0, 4 * 10**9) + rng.randrange(1000) / 1000 for _ in range(5000)]
    for epoch in samples:
        assert xml.timestamp(epoch) == reference(epoch), epoch


@pytest.mark.parametrize(
    ("text", "escaped"),
    [
        ("plain/key-001.txt", "plain/key-001.txt"),
        ('a&b<c>d"e', "a&amp;b&lt;c&gt;d&quot;e"),
        ("cr\rlf\n", "cr&#13;lf\n"),
        ("nul\x00bell\x07tab\t", "nulbelltab\t"),
        ("unicode é ☃ \U0001f600", "unicode é ☃ \U0001f600"),
        ("\ufffe\uffff", ""),
    ],
)
def test_escape(text: str, escaped: str) -> None:
    assert xml.escape(text) == escaped
    assert xml.leaf("K", text) == f"<K>{escaped}</K>"


def test_prerendered_children() -> None:
    root = xml.Node("R")
    root.add("A", "1")
    root.extend([xml.leaf("B", "x&y"), "<C/>"])
    assert xml.document(root, namespace=False).endswith(b"<R><A>1</A><B>x&amp;y</B><C/></R>")


def test_error_code_and_message_reads_back_the_error_document() -> None:
    from oortgate.xml.error import error_code_and_message

    body = xml.error_document(
        "BucketNotEmpty", "The bucket you tried to delete is not empty", {}, "r1"
    )
    assert error_code_and_message(body) == (
        "BucketNotEmpty",
        "The bucket you tried to delete is not empty",
    )
    assert error_code_and_message(b"<html>502 Bad Gateway") == ("Error", "<html>502 Bad Gateway")
