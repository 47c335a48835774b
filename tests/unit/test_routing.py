import pytest

from oortgate.errors import S3Error
from oortgate.http.routing import route, split_path
from oortgate.ops.operations import Route


def r(method: str, path: str, query: str = "", headers: dict[str, str] | None = None) -> Route:
    params = dict(p.partition("=")[::2] for p in query.split("&") if p)
    return route(method, path, params, headers or {})


@pytest.mark.parametrize(
    ("method", "path", "query", "op"),
    [
        ("GET", "/", "", "ListBuckets"),
        ("PUT", "/b", "", "CreateBucket"),
        ("HEAD", "/b", "", "HeadBucket"),
        ("DELETE", "/b", "", "DeleteBucket"),
        ("GET", "/b", "", "ListObjects"),
        ("GET", "/b/", "", "ListObjects"),
        ("GET", "/b", "list-type=2", "ListObjectsV2"),
        ("GET", "/b", "location", "GetBucketLocation"),
        ("GET", "/b", "versioning", "GetBucketVersioning"),
        ("GET", "/b", "versions", "ListObjectVersions"),
        ("GET", "/b", "uploads", "ListMultipartUploads"),
        ("POST", "/b", "delete", "DeleteObjects"),
        ("GET", "/b", "policy", "GetBucketPolicy"),
        ("PUT", "/b", "policy", "PutBucketPolicy"),
        ("DELETE", "/b", "policy", "DeleteBucketPolicy"),
        ("GET", "/b", "policyStatus", "GetBucketPolicyStatus"),
        ("GET", "/b", "logging", "NotImplemented"),
        ("PUT", "/b", "tagging", "PutBucketTagging"),
        ("GET", "/b", "tagging", "GetBucketTagging"),
        ("DELETE", "/b", "tagging", "DeleteBucketTagging"),
        ("DELETE", "/b", "cors", "DeleteBucketCors"),
        ("DELETE", "/b", "lifecycle", "DeleteBucketLifecycle"),
        ("GET", "/b", "lifecycle", "GetBucketLifecycleConfiguration"),
        ("PUT", "/b", "lifecycle", "PutBucketLifecycleConfiguration"),
        ("GET", "/b", "cors", "GetBucketCors"),
        ("PUT", "/b", "cors", "PutBucketCors"),
        ("GET", "/b", "ownershipControls", "GetBucketOwnershipControls"),
        ("PUT", "/b", "ownershipControls", "PutBucketOwnershipControls"),
        ("DELETE", "/b", "ownershipControls", "DeleteBucketOwnershipControls"),
        ("GET", "/b", "publicAccessBlock", "GetPublicAccessBlock"),
        ("PUT", "/b", "publicAccessBlock", "PutPublicAccessBlock"),
        ("DELETE", "/b", "publicAccessBlock", "DeletePublicAccessBlock"),
        ("GET", "/b", "acl", "GetBucketAcl"),
        ("PUT", "/b", "acl", "PutBucketAcl"),
        ("GET", "/b/k", "acl", "GetObjectAcl"),
        ("PUT", "/b/k", "acl", "PutObjectAcl"),
        ("POST", "/b", "", "PostObject"),
        ("OPTIONS", "/b/k", "", "Preflight"),
        ("OPTIONS", "/b", "", "Preflight"),
        ("GET", "/b/k", "", "GetObject"),
        ("HEAD", "/b/k", "", "HeadObject"),
        ("PUT", "/b/k", "", "PutObject"),
        ("DELETE", "/b/k", "", "DeleteObject"),
        ("GET", "/b/k", "tagging", "GetObjectTagging"),
        ("PUT", "/b/k", "tagging", "PutObjectTagging"),
        ("DELETE", "/b/k", "tagging", "DeleteObjectTagging"),
        ("GET", "/b/k", "retention", "GetObjectRetention"),
        ("PUT", "/b/k", "retention", "PutObjectRetention"),
        ("GET", "/b/k", "legal-hold", "GetObjectLegalHold"),
        ("PUT", "/b/k", "legal-hold", "PutObjectLegalHold"),
        ("DELETE", "/b/k", "retention", "NotImplemented"),
        ("GET", "/b", "object-lock", "GetObjectLockConfiguration"),
        ("PUT", "/b", "object-lock", "PutObjectLockConfiguration"),
        ("DELETE", "/b", "object-lock", "NotImplemented"),
        ("HEAD", "/b/k", "legal-hold", "NotImplemented"),
        ("POST", "/b/k", "uploads", "CreateMultipartUpload"),
        ("PUT", "/b/k", "partNumber=1&uploadId=x", "UploadPart"),
        ("POST", "/b/k", "uploadId=x", "CompleteMultipartUpload"),
        ("DELETE", "/b/k", "uploadId=x", "AbortMultipartUpload"),
        ("GET", "/b/k", "uploadId=x", "ListParts"),
        ("GET", "/b/k", "versionId=null", "GetObject"),
        ("GET", "/b/k", "attributes", "GetObjectAttributes"),
        ("PUT", "/b/k", "attributes", "NotImplemented"),
    ],
)
def test_operations(method: str, path: str, query: str, op: str) -> None:
    assert r(method, path, query).op == op


def test_copy_source_header_selects_copy() -> None:
    headers = {"x-amz-copy-source": "/src/key"}
    assert r("PUT", "/b/k", "", headers).op == "CopyObject"
    assert r("PUT", "/b/k", "partNumber=2&uploadId=u", headers).op == "UploadPartCopy"


def test_keys_are_percent_decoded_utf8() -> None:
    assert split_path("/bucket/a%20b%2Bc/%C3%A9/..%2F..%2Fetc") == ("bucket", "a b+c/é/../../etc")
    assert split_path("/bucket/dir/") == ("bucket", "dir/")
    assert split_path("/") == (None, None)


def test_invalid_utf8_is_invalid_uri() -> None:
    with pytest.raises(S3Error) as info:
        split_path("/bucket/%FF")
    assert info.value.code == "InvalidURI"


def test_stray_service_posts_are_4xx() -> None:
    with pytest.raises(S3Error) as info:
        r("POST", "/", "Action=GetCallerIdentity")
    assert info.value.status == 405


def test_unknown_method() -> None:
    with pytest.raises(S3Error) as info:
        r("PATCH", "/b/k")
    assert info.value.code == "MethodNotAllowed"


def test_parse_query_agrees_with_parse_qsl() -> None:
    import random
    from urllib.parse import parse_qsl

    from oortgate.http.routing import parse_query

    fixed = ["", "a", "a=", "=b", "a=b&c", "&&a=1&&", "a=1=2", "x=%2F%20+y", "%E2%98%83=%ff",
             "uploads", "list-type=2&prefix=a%2Bb+c", "k=%", "k=%zz", "a+b=c+d"]  # fmt: skip
    alphabet = "ab=&%+2F0é☃ "
    rng = random.Random(3)
    fixed += ["".join(rng.choice(alphabet) for _ in range(rng.randrange(12))) for _ in range(3000)]
    for text in fixed:
        assert parse_query(text) == parse_qsl(text, keep_blank_values=True), text
