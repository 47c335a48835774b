"""POST Object, continued: checksum and Content-MD5 fields, ``${filename}`` under the
policy, the answer's Location and redirect, policies AWS refuses as malformed (400) vs
conditions that fail (403), refused features, and refusals of large uploads answered
(the body drained) rather than reset.

Hand-made policies are signed with SigV2 (base64 HMAC-SHA1 of the base64 policy), the
simplest form AWS accepts, so a test can put anything in the document.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import pytest
import requests
from awscrt import checksums as crt

from ._s3raw import error_field, findtext, xml_root
from ._util import etag, rand
from .test_post_object import assert_error, keys_in, post


@pytest.fixture
def s3v4(client_for: Any, server: Any) -> Any:
    return client_for(server.root_access_key, server.root_secret_key, signature_version="s3v4")


def signed_form(server: Any, bucket: str, doc: dict[str, Any], **fields: str) -> dict[str, Any]:
    policy = base64.b64encode(json.dumps(doc).encode()).decode()
    mac = hmac.new(server.root_secret_key.encode(), policy.encode(), hashlib.sha1).digest()
    signed = {"AWSAccessKeyId": server.root_access_key, "policy": policy,
              "signature": base64.b64encode(mac).decode()}  # fmt: skip
    return {"url": f"{server.endpoint}/{bucket}", "fields": {**fields, **signed}}


def in_an_hour() -> str:
    return (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")


def b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode()


DATA = b"checked on arrival"
CHECKSUMS = {
    "CRC32": b64(crt.crc32(DATA).to_bytes(4, "big")),
    "CRC32C": b64(crt.crc32c(DATA).to_bytes(4, "big")),
    "CRC64NVME": b64(crt.crc64nvme(DATA).to_bytes(8, "big")),
    "SHA1": b64(hashlib.sha1(DATA).digest()),
    "SHA256": b64(hashlib.sha256(DATA).digest()),
}


# -- checksums ---------------------------------------------------------------------


@pytest.mark.parametrize("algorithm", sorted(CHECKSUMS))
def test_checksum_field_is_verified_and_stored(
    s3: Any, s3v4: Any, bucket: str, server: Any, algorithm: str
) -> None:
    field = f"x-amz-checksum-{algorithm.lower()}"
    value = CHECKSUMS[algorithm]
    form = s3v4.generate_presigned_post(
        bucket, "sum", Fields={field: value}, Conditions=[{field: value}]
    )
    resp = post(server, form, DATA)
    assert resp.status_code == 204, resp.text
    assert resp.headers[field] == value
    got = s3.get_object(Bucket=bucket, Key="sum", ChecksumMode="ENABLED")
    assert got["Body"].read() == DATA
    assert got[f"Checksum{algorithm}"] == value


def test_wrong_checksum_is_bad_digest(s3: Any, s3v4: Any, bucket: str, server: Any) -> None:
    wrong = b64(hashlib.sha256(b"something else").digest())
    form = s3v4.generate_presigned_post(
        bucket,
        "sum",
        Fields={"x-amz-checksum-sha256": wrong},
        Conditions=[["starts-with", "$x-amz-checksum-sha256", ""]],
    )
    assert_error(post(server, form, DATA), 400, "BadDigest", "SHA256")
    assert keys_in(s3, bucket) == []


def test_checksum_algorithm_field_computes_the_checksum(
    s3: Any, s3v4: Any, bucket: str, server: Any
) -> None:
    form = s3v4.generate_presigned_post(
        bucket,
        "computed",
        Fields={"x-amz-checksum-algorithm": "CRC32C"},
        Conditions=[{"x-amz-checksum-algorithm": "CRC32C"}],
    )
    resp = post(server, form, DATA)
    assert resp.status_code == 204, resp.text
    got = s3.head_object(Bucket=bucket, Key="computed", ChecksumMode="ENABLED")
    assert got["ChecksumCRC32C"] == CHECKSUMS["CRC32C"]


def test_content_md5_field_is_verified(s3: Any, s3v4: Any, bucket: str, server: Any) -> None:
    good = b64(hashlib.md5(DATA).digest())
    form = s3v4.generate_presigned_post(
        bucket, "md5", Conditions=[["starts-with", "$Content-MD5", ""]]
    )
    assert_error(
        post(server, form, DATA, extra={"Content-MD5": b64(hashlib.md5(b"x").digest())}),
        400,
        "BadDigest",
    )
    assert keys_in(s3, bucket) == []
    assert post(server, form, DATA, extra={"Content-MD5": good}).status_code == 204


# -- ${filename} ---------------------------------------------------------------------


def test_key_conditions_see_the_substituted_filename(s3: Any, bucket: str, server: Any) -> None:
    # AWS (ceph s3-tests' test_post_object_set_key_from_filename): the key "${filename}"
    # passes ["starts-with", "$key", "foo"] for the file foo.txt: conditions are checked
    # against the key the object gets.
    doc = {"expiration": in_an_hour(),
           "conditions": [{"bucket": bucket}, ["starts-with", "$key", "foo"]]}  # fmt: skip
    form = signed_form(server, bucket, doc, key="${filename}")
    resp = post(server, form, b"bar", "foo.txt")
    assert resp.status_code == 204, resp.text
    assert keys_in(s3, bucket) == ["foo.txt"]
    resp = post(server, form, b"bar", "other.txt")
    assert_error(
        resp, 403, "AccessDenied", 'Policy Condition failed: ["starts-with", "$key", "foo"]'
    )
    assert keys_in(s3, bucket) == ["foo.txt"]


# -- the answer -----------------------------------------------------------------------


def test_post_response_location_is_the_object_url(s3v4: Any, bucket: str, server: Any) -> None:
    data = rand(500)
    form = s3v4.generate_presigned_post(
        bucket,
        "dir/${filename}",
        Fields={"success_action_status": "201"},
        Conditions=[{"success_action_status": "201"}],
    )
    resp = post(server, form, data, "made it+1.bin")
    assert resp.status_code == 201, resp.text
    expected = f"{server.endpoint}/{bucket}/{quote('dir/made it+1.bin', safe='')}"
    root = xml_root(resp.content)
    assert findtext(root, "Location") == expected
    assert findtext(root, "Key") == "dir/made it+1.bin"
    assert findtext(root, "ETag") == etag(data)
    assert resp.headers["Location"] == expected
    fetched = requests.get(
        s3v4.generate_presigned_url(
            "get_object", Params={"Bucket": bucket, "Key": "dir/made it+1.bin"}
        ),
        verify=server.cert,
    )
    assert fetched.content == data


def test_default_answer_carries_the_object_url(s3v4: Any, bucket: str, server: Any) -> None:
    form = s3v4.generate_presigned_post(bucket, "plain")
    resp = post(server, form)
    assert resp.status_code == 204, resp.text
    assert resp.headers["Location"] == f"{server.endpoint}/{bucket}/plain"


def test_location_on_a_virtual_host(s3v4: Any, bucket: str, server: Any) -> None:
    # The bucket is in the host the client used, so not in the path (as AWS).
    form = s3v4.generate_presigned_post(bucket, "v/k")
    host = f"{bucket}.s3-standard.localhost:{server.port}"
    parts: list[tuple[str, Any]] = [(k, (None, v)) for k, v in form["fields"].items()]
    parts.append(("file", ("f.txt", b"virtual", "text/plain")))
    resp = requests.post(
        f"{server.endpoint}/", files=parts, headers={"Host": host}, verify=server.cert, timeout=60
    )
    assert resp.status_code == 204, resp.text
    assert resp.headers["Location"] == f"https://{host}/v%2Fk"


def test_uninterpretable_redirect_acts_as_if_absent(
    s3: Any, s3v4: Any, bucket: str, server: Any
) -> None:
    # AWS: "If Amazon S3 cannot interpret the URL, it acts as if the field is not present."
    form = s3v4.generate_presigned_post(
        bucket,
        "r",
        Fields={"success_action_redirect": "not a url", "success_action_status": "201"},
        Conditions=[
            ["starts-with", "$success_action_redirect", ""],
            {"success_action_status": "201"},
        ],
    )
    resp = post(server, form)
    assert resp.status_code == 201, resp.text
    assert findtext(xml_root(resp.content), "Key") == "r"
    assert keys_in(s3, bucket) == ["r"]


# -- malformed policies (400) and failed conditions (403) ------------------------------


@pytest.mark.parametrize(
    "doc",
    [
        {"expiration": "2030-12-01 12:00:00+00:00", "conditions": [["starts-with", "$key", ""]]},
        {"expiration": "2030-12-01", "conditions": [["starts-with", "$key", ""]]},
        {"expiration": in_an_hour()},
        {"expiration": in_an_hour(), "conditions": [["content-length-range", -1, 0]]},
        {"expiration": in_an_hour(), "conditions": [["ends-with", "$key", "k"]]},
    ],
    ids=[
        "date-no-T",
        "date-only",
        "no-conditions",
        "negative-range",
        "unknown-operator",
    ],
)
def test_malformed_policy_is_invalid_policy_document(
    s3: Any, bucket: str, server: Any, doc: dict[str, Any]
) -> None:
    resp = post(server, signed_form(server, bucket, doc, key="k"))
    assert_error(resp, 400, "InvalidPolicyDocument", "Invalid Policy: ")
    assert keys_in(s3, bucket) == []


def test_non_iso_expiration_message(bucket: str, server: Any) -> None:
    doc = {"expiration": "2030-12-01 12:00:00", "conditions": [["starts-with", "$key", ""]]}
    resp = post(server, signed_form(server, bucket, doc, key="k"))
    assert error_field(resp.content, "Message") == (
        "Invalid Policy: Invalid 'expiration' value: '2030-12-01 12:00:00'"
    )


def test_failed_condition_is_access_denied_with_the_condition(
    s3: Any, bucket: str, server: Any
) -> None:
    # The condition is quoted as the policy spells it (field names match in any case).
    doc = {"expiration": in_an_hour(), "conditions": [{"bucket": bucket}, ["eq", "$Key", "a"]]}
    resp = post(server, signed_form(server, bucket, doc, key="b"))
    assert_error(resp, 403, "AccessDenied")
    assert error_field(resp.content, "Message") == (
        'Invalid according to Policy: Policy Condition failed: ["eq", "$Key", "a"]'
    )
    assert keys_in(s3, bucket) == []


# -- fields AWS would act on and this gateway cannot -----------------------------------


def test_header_style_tagging_field_is_refused_not_ignored(
    s3: Any, s3v4: Any, bucket: str, server: Any
) -> None:
    """POST takes tags in the ``tagging`` field (an XML document, see test_tagging.py);
    the header form is no POST field and is not silently dropped."""
    fields = {"x-amz-tagging": "a=1"}
    form = s3v4.generate_presigned_post(bucket, "tagged", Fields=fields, Conditions=[fields])
    assert_error(post(server, form), 501, "NotImplemented", "x-amz-tagging")
    assert keys_in(s3, bucket) == []
    # an x-amz-* field S3 does not act on, covered by the policy, is accepted
    form = s3v4.generate_presigned_post(
        bucket, "other", Fields={"x-amz-foo": "1"}, Conditions=[{"x-amz-foo": "1"}]
    )
    assert post(server, form).status_code == 204
    assert keys_in(s3, bucket) == ["other"]


def test_storage_class_field_is_validated(s3: Any, s3v4: Any, bucket: str, server: Any) -> None:
    form = s3v4.generate_presigned_post(
        bucket, "sc", Conditions=[["starts-with", "$x-amz-storage-class", ""]]
    )
    resp = post(server, form, extra={"x-amz-storage-class": "NOT-A-CLASS"})
    assert_error(resp, 400, "InvalidStorageClass")
    assert keys_in(s3, bucket) == []


# -- refusals of large uploads are read by the client ----------------------------------


def test_refused_large_upload_is_answered_every_time(s3: Any, bucket: str, server: Any) -> None:
    # The policy fails before the file, which the client is still sending: unless the
    # server reads it, the client sees a reset (requests: SSLError EOF), not the 403.
    form = s3.generate_presigned_post(bucket, "user/alice/${filename}")
    data = rand(8 * 1024 * 1024, seed=11)
    for _ in range(4):
        resp = post(server, form, data, extra={"key": "user/bob/x"})
        assert_error(resp, 403, "AccessDenied", "Policy Condition failed")
    assert keys_in(s3, bucket) == []


def test_too_large_upload_is_answered_every_time(
    s3: Any, s3v4: Any, bucket: str, server: Any
) -> None:
    form = s3v4.generate_presigned_post(
        bucket, "big", Conditions=[["content-length-range", 1, 1024 * 1024]]
    )
    data = rand(6 * 1024 * 1024, seed=12)
    for _ in range(3):
        assert_error(post(server, form, data), 400, "EntityTooLarge")
    assert keys_in(s3, bucket) == []


def test_refused_chunked_upload_is_answered(s3: Any, bucket: str, server: Any) -> None:
    # No Content-Length (Transfer-Encoding: chunked): drained all the same, up to the bound.
    form = s3.generate_presigned_post(bucket, "user/alice/${filename}")
    fields = {**form["fields"], "key": "user/bob/x"}
    head = b"".join(
        f'--B0UND\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
        for k, v in fields.items()
    )
    head += b'--B0UND\r\nContent-Disposition: form-data; name="file"; filename="f"\r\n\r\n'

    def body() -> Any:
        yield head
        for _ in range(8):
            yield rand(1024 * 1024)
        yield b"\r\n--B0UND--\r\n"

    resp = requests.post(
        form["url"],
        data=body(),
        headers={"Content-Type": "multipart/form-data; boundary=B0UND"},
        verify=server.cert,
        timeout=60,
    )
    assert_error(resp, 403, "AccessDenied", "Policy Condition failed")
    assert keys_in(s3, bucket) == []
