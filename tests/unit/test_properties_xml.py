"""XML properties: arbitrary bodies give a result or an S3Error in every request parser
(Delete, CompleteMultipartUpload, ACL, CORS, Restore, CreateBucket), and any text the
writer is given comes out as well-formed UTF-8 XML."""

from __future__ import annotations

import contextlib
import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from oortgate import tagging, xml
from oortgate.errors import S3Error
from oortgate.ops.delete import _parse_request
from oortgate.xml.acl import parse_policy
from oortgate.xml.bucket import parse_location_constraint
from oortgate.xml.cors import parse_cors
from oortgate.xml.multipart import parse_complete
from oortgate.xml.restore import parse_restore_days
from tests.unit._strategies import anything, header_value

ROOTS = ["Delete", "CompleteMultipartUpload", "AccessControlPolicy", "CORSConfiguration",
         "RestoreRequest", "CreateBucketConfiguration"]
CHILDREN = ["Object", "Key", "VersionId", "Quiet", "Part", "PartNumber", "ETag", "ChecksumCRC32",
            "Grant", "Grantee", "Permission", "ID", "URI", "Tag", "Value", "CORSRule",
            "AllowedOrigin", "AllowedMethod", "AllowedHeader", "MaxAgeSeconds", "Days",
            "LocationConstraint"]
TEXTS = st.one_of(st.sampled_from(["1", "2", "-1", "0", "²", "\u0661", "9" * 30, "9" * 5000, "true",
                                   "READ", "FULL_CONTROL", "GET", "*", "a*b*", '"etag"', ""]),
                  st.text(max_size=20))


def _element(depth: int) -> st.SearchStrategy[str]:
    leaf = st.builds(lambda tag, text: f"<{tag}>{xml.escape(text)}</{tag}>",
                     st.sampled_from(CHILDREN), TEXTS)
    if depth == 0:
        return leaf
    return st.one_of(leaf, st.builds(lambda tag, kids: f"<{tag}>{''.join(kids)}</{tag}>",
                                     st.sampled_from(CHILDREN),
                                     st.lists(_element(depth - 1), max_size=4)))


DOCUMENTS = st.one_of(
    st.builds(lambda root, kids, ns: f'<{root}{ns}>{"".join(kids)}</{root}>',
              st.sampled_from(ROOTS), st.lists(_element(2), max_size=5),
              st.sampled_from(["", ' xmlns="http://s3.amazonaws.com/doc/2006-03-01/"'])
              ).map(str.encode),
    st.binary(max_size=80),
    st.text(max_size=80).map(str.encode),
)

def _leaf(tag: str) -> st.SearchStrategy[str]:
    """<tag>text</tag>, or nothing one time in four."""
    return st.one_of(st.just(""), st.builds(lambda t: f"<{tag}>{xml.escape(t)}</{tag}>", TEXTS),
                     st.builds(lambda t: f"<{tag}>{xml.escape(t)}</{tag}>", TEXTS),
                     st.builds(lambda t: f"<{tag}>{xml.escape(t)}</{tag}>", TEXTS))


def _node(tag: str, *children: st.SearchStrategy[str], most: int = 3) -> st.SearchStrategy[str]:
    inner = st.tuples(*children).map("".join)
    return st.lists(inner, max_size=most).map(lambda kids: "".join(f"<{tag}>{k}</{tag}>"
                                                                   for k in kids))


def _document(root: str, *children: st.SearchStrategy[str]) -> st.SearchStrategy[bytes]:
    shaped = st.tuples(*children).map(lambda kids: f"<{root}>{''.join(kids)}</{root}>".encode())
    return st.one_of(shaped, shaped, shaped, DOCUMENTS)


PARSERS: dict[str, tuple[Callable[[bytes], Any], st.SearchStrategy[bytes]]] = {
    "delete": (_parse_request, _document(
        "Delete", _leaf("Quiet"), _node("Object", _leaf("Key"), _leaf("VersionId")))),
    "complete": (parse_complete, _document("CompleteMultipartUpload", _node(
        "Part", _leaf("PartNumber"), _leaf("ETag"), _leaf("ChecksumCRC32")))),
    "acl": (parse_policy,
            _document("AccessControlPolicy", _node("Owner", _leaf("ID"), most=1),
                      _node("AccessControlList", _node(
                          "Grant", _node("Grantee", _leaf("ID"), _leaf("URI"),
                                         _leaf("EmailAddress"), most=1),
                          _leaf("Permission")), most=1))),
    "tagging": (lambda body: tagging.parse_document(body, 10), _document(
        "Tagging", _node("TagSet", _node("Tag", _leaf("Key"), _leaf("Value")), most=1))),
    "cors": (parse_cors, _document("CORSConfiguration", _node(
        "CORSRule", _leaf("AllowedOrigin"), _leaf("AllowedMethod"), _leaf("AllowedHeader"),
        _leaf("MaxAgeSeconds"), _leaf("ID")))),
    "restore": (parse_restore_days, _document("RestoreRequest", _leaf("Days"))),
    "create-bucket": (parse_location_constraint,
                      _document("CreateBucketConfiguration", _leaf("LocationConstraint"))),
}


@pytest.mark.parametrize("name", sorted(PARSERS))
def test_request_parsers_give_a_result_or_an_s3_error(name: str) -> None:
    parser, documents = PARSERS[name]

    @settings(max_examples=200, deadline=None)
    @given(body=documents)
    def check(body: bytes) -> None:
        with contextlib.suppress(S3Error):
            parser(body)

    check()


@settings(max_examples=300, deadline=None)
@given(code=st.text(max_size=20), message=anything,
       fields=st.dictionaries(st.sampled_from(["Key", "BucketName", "ArgumentValue"]),
                              st.one_of(anything, header_value), max_size=3))
def test_error_document_is_well_formed_utf8(
    code: str, message: str, fields: dict[str, str]
) -> None:
    body = xml.error_document(code, message, fields, "REQ")
    root = ET.fromstring(body.decode("utf-8"))
    assert root.tag == "Error"
