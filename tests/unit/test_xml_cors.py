"""oortgate.xml.cors: CORSConfiguration as botocore reads it (GetBucketCors) and as it
sends it (PutBucketCors); bad documents refused as S3 refuses them."""

from __future__ import annotations

import pytest

from oortgate.cors import Rule
from oortgate.errors import S3Error
from oortgate.xml import cors
from tests.unit._shapes import parsed, request_body, unknown_elements

RULES = [
    Rule(["https://a.example"], ["GET", "PUT"], ["x-amz-*"], ["etag"], 300, "first"),
    Rule(["*"], ["HEAD"]),
]


def test_cors_document() -> None:
    body = cors.cors_document(RULES)
    assert unknown_elements(body, "GetBucketCors") == []
    assert parsed(body, "GetBucketCors")["CORSRules"] == [
        {"ID": "first", "AllowedHeaders": ["x-amz-*"], "AllowedMethods": ["GET", "PUT"],
         "AllowedOrigins": ["https://a.example"], "ExposeHeaders": ["etag"], "MaxAgeSeconds": 300},
        {"AllowedMethods": ["HEAD"], "AllowedOrigins": ["*"]},
    ]  # fmt: skip


def test_parse_cors_reads_what_botocore_sends() -> None:
    rules = [
        {"ID": "first", "AllowedHeaders": ["x-amz-*"], "AllowedMethods": ["GET", "PUT"],
         "AllowedOrigins": ["https://a.example"], "ExposeHeaders": ["etag"], "MaxAgeSeconds": 300},
        {"AllowedMethods": ["HEAD"], "AllowedOrigins": ["*"]},
    ]  # fmt: skip
    body = request_body("PutBucketCors", {"Bucket": "b", "CORSConfiguration": {"CORSRules": rules}})
    assert cors.parse_cors(body) == RULES
    assert cors.parse_cors(cors.cors_document(RULES)) == RULES


def _config(rule: str) -> bytes:
    return f"<CORSConfiguration><CORSRule>{rule}</CORSRule></CORSConfiguration>".encode()


GET_ANY = "<AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod>"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"<CORSConfiguration/>", "MalformedXML"),
        (b"<Other><CORSRule/></Other>", "MalformedXML"),
        (_config("<AllowedOrigin>*</AllowedOrigin>"), "MalformedXML"),
        (_config("<AllowedOrigin>*</AllowedOrigin><AllowedMethod>PATCH</AllowedMethod>"),
         "InvalidRequest"),
        (_config("<AllowedOrigin>*.*</AllowedOrigin><AllowedMethod>GET</AllowedMethod>"),
         "InvalidRequest"),
        (_config(GET_ANY + "<MaxAgeSeconds>soon</MaxAgeSeconds>"), "MalformedXML"),
        (_config(GET_ANY + "<ExposeHeader>a\x7fb</ExposeHeader>"), "MalformedXML"),
        (b"<CORSConfiguration>" + f"<CORSRule>{GET_ANY}</CORSRule>".encode() * 101
         + b"</CORSConfiguration>", "MalformedXML"),
    ],
)  # fmt: skip
def test_parse_cors_refuses_bad_rules(body: bytes, code: str) -> None:
    with pytest.raises(S3Error) as caught:
        cors.parse_cors(body)
    assert caught.value.code == code
