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
