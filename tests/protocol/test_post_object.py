"""POST Object (browser-based uploads): boto3 ``generate_presigned_post`` forms sent as
multipart/form-data with ``requests``, SigV2 (the default us-east-1 client) and SigV4.

Expected outcomes are AWS's documented ones: 204 by default, success_action_status
200/201 (PostResponse XML), success_action_redirect (303), policy violations 403
AccessDenied with the reason, content-length-range EntityTooLarge/EntityTooSmall, and
nothing stored when a POST is refused.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from ._s3raw import error_code, error_field, findtext, xml_root
from ._util import etag, rand


@pytest.fixture(params=["sigv2", "sigv4"])
def signer(request: pytest.FixtureRequest, s3: Any, client_for: Any, server: Any) -> Any:
    """boto3 signs POST policies with SigV2 in us-east-1 by default; s3v4 gives SigV4."""
    if request.param == "sigv4":
        return client_for(server.root_access_key, server.root_secret_key, signature_version="s3v4")
    return s3


@pytest.fixture
def s3v4(client_for: Any, server: Any) -> Any:
    return client_for(server.root_access_key, server.root_secret_key, signature_version="s3v4")


def post(
    server: Any,
    form: dict[str, Any],
    data: bytes = b"hello from a form",
    filename: str = "hello.txt",
    *,
    extra: dict[str, str] | None = None,
    after_file: dict[str, str] | None = None,
    drop: tuple[str, ...] = (),
    url: str | None = None,
) -> requests.Response:
    """Send the form: its fields (plus ``extra``, minus ``drop``), then the file, then
    ``after_file`` fields, in that order."""
    fields = {k: v for k, v in {**form["fields"], **(extra or {})}.items() if k not in drop}
    parts: list[tuple[str, Any]] = [(k, (None, v)) for k, v in fields.items()]
    parts.append(("file", (filename, data, "application/octet-stream")))
    parts += [(k, (None, v)) for k, v in (after_file or {}).items()]
    return requests.post(
        url or form["url"], files=parts, verify=server.cert, timeout=120, allow_redirects=False
    )


def assert_error(resp: requests.Response, status: int, code: str, in_message: str = "") -> None:
    assert resp.status_code == status, (resp.status_code, resp.text)
    assert error_code(resp.content) == code, resp.text
    if in_message:
        message = error_field(resp.content, "Message") or ""
        assert in_message in message, resp.text


def keys_in(s3: Any, bucket: str) -> list[str]:
    return [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]


# -- successful uploads -------------------------------------------------------------


def test_default_answer_is_204(s3: Any, signer: Any, bucket: str, server: Any) -> None:
    data = rand(10_000)
    form = signer.generate_presigned_post(bucket, "uploads/${filename}")
    resp = post(server, form, data, "photo.png")
    assert resp.status_code == 204, resp.text
    assert resp.content == b""
    assert resp.headers["ETag"] == etag(data)
    got = s3.get_object(Bucket=bucket, Key="uploads/photo.png")
    assert got["Body"].read() == data
    assert got["ETag"] == etag(data)


def test_fixed_key(s3: Any, signer: Any, bucket: str, server: Any) -> None:
    form = signer.generate_presigned_post(bucket, "exact/name.bin")
    resp = post(server, form, b"abc", "ignored.txt")
    assert resp.status_code == 204, resp.text
    assert keys_in(s3, bucket) == ["exact/name.bin"]


@pytest.mark.parametrize("filename", ["my holiday photo.jpg", "résumé-日本.txt", "a+b=c.txt"])
def test_filename_variable_in_key(
    s3: Any, s3v4: Any, bucket: str, server: Any, filename: str
) -> None:
    form = s3v4.generate_presigned_post(bucket, "in/${filename}")
    resp = post(server, form, b"x", filename)
    assert resp.status_code == 204, resp.text
    assert keys_in(s3, bucket) == [f"in/{filename}"]


def test_success_action_status_200(s3: Any, signer: Any, bucket: str, server: Any) -> None:
    form = signer.generate_presigned_post(
        bucket,
        "s200",
        Fields={"success_action_status": "200"},
        Conditions=[{"success_action_status": "200"}],
    )
    resp = post(server, form, b"two hundred")
    assert resp.status_code == 200, resp.text
    assert resp.content == b""
    assert s3.get_object(Bucket=bucket, Key="s200")["Body"].read() == b"two hundred"


def test_success_action_status_201(s3: Any, signer: Any, bucket: str, server: Any) -> None:
    data = rand(3000)
    form = signer.generate_presigned_post(
        bucket,
        "dir/${filename}",
        Fields={"success_action_status": "201"},
        Conditions=[{"success_action_status": "201"}],
    )
    resp = post(server, form, data, "made.bin")
    assert resp.status_code == 201, resp.text
    root = xml_root(resp.content)
    assert root.tag.endswith("PostResponse"), resp.text
    assert findtext(root, "Bucket") == bucket
    assert findtext(root, "Key") == "dir/made.bin"
    assert findtext(root, "ETag") == etag(data)
    location = findtext(root, "Location") or ""
    assert bucket in location and location.endswith("made.bin"), location
    assert s3.get_object(Bucket=bucket, Key="dir/made.bin")["Body"].read() == data


def test_unsupported_success_action_status_gives_204(
    s3: Any, s3v4: Any, bucket: str, server: Any
) -> None:
    # AWS: any value other than 200 or 201 answers 204.
    form = s3v4.generate_presigned_post(
        bucket,
        "s404",
        Fields={"success_action_status": "404"},
        Conditions=[{"success_action_status": "404"}],
    )
    resp = post(server, form)
    assert resp.status_code == 204, resp.text
    assert keys_in(s3, bucket) == ["s404"]


def test_success_action_redirect(s3: Any, signer: Any, bucket: str, server: Any) -> None:
    data = b"redirect me"
    target = "https://app.example.test/uploaded?from=form"
    form = signer.generate_presigned_post(
        bucket,
        "r/${filename}",
        Fields={"success_action_redirect": target},
        Conditions=[["starts-with", "$success_action_redirect", "https://app.example.test/"]],
    )
    resp = post(server, form, data, "doc one.txt")
    assert resp.status_code == 303, resp.text
    location = resp.headers["Location"]
    parts = urlsplit(location)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == "https://app.example.test/uploaded"
    query = parse_qs(parts.query)
    assert query["from"] == ["form"]
    assert query["bucket"] == [bucket]
    assert query["key"] == ["r/doc one.txt"]
    assert query["etag"][0].strip('"') == hashlib.md5(data).hexdigest()
    assert s3.get_object(Bucket=bucket, Key="r/doc one.txt")["Body"].read() == data


def test_content_type_and_metadata_are_stored(
    s3: Any, signer: Any, bucket: str, server: Any
) -> None:
    form = signer.generate_presigned_post(
        bucket,
        "meta.csv",
        Fields={
            "Content-Type": "text/csv",
            "x-amz-meta-owner": "alice",
            "x-amz-meta-purpose": "quarterly report",
            "Cache-Control": "max-age=60",
        },
        Conditions=[
            ["starts-with", "$Content-Type", "text/"],
            {"x-amz-meta-owner": "alice"},
            ["starts-with", "$x-amz-meta-purpose", ""],
            {"Cache-Control": "max-age=60"},
        ],
    )
    resp = post(server, form, b"a,b\n1,2\n", "data.csv")
    assert resp.status_code == 204, resp.text
    head = s3.head_object(Bucket=bucket, Key="meta.csv")
    assert head["ContentType"] == "text/csv"
    assert head["Metadata"] == {"owner": "alice", "purpose": "quarterly report"}
    assert head["CacheControl"] == "max-age=60"
    got = requests.get(
        s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "meta.csv"}),
        verify=server.cert,
    )
    assert got.status_code == 200
    assert got.headers["Content-Type"] == "text/csv"
    assert got.headers["x-amz-meta-owner"] == "alice"


def test_acl_public_read_allows_anonymous_get(
    s3: Any, signer: Any, bucket: str, server: Any
) -> None:
    form = signer.generate_presigned_post(
        bucket, "public.txt", Fields={"acl": "public-read"}, Conditions=[{"acl": "public-read"}]
    )
    resp = post(server, form, b"for everyone")
    assert resp.status_code == 204, resp.text
    anon = requests.get(f"{server.endpoint}/{bucket}/public.txt", verify=server.cert)
    assert anon.status_code == 200, anon.text
    assert anon.content == b"for everyone"


def test_default_acl_is_private(s3: Any, signer: Any, bucket: str, server: Any) -> None:
    form = signer.generate_presigned_post(bucket, "private.txt")
    assert post(server, form).status_code == 204
    anon = requests.get(f"{server.endpoint}/{bucket}/private.txt", verify=server.cert)
    assert anon.status_code == 403


def test_x_ignore_fields_need_no_condition(s3: Any, s3v4: Any, bucket: str, server: Any) -> None:
    form = s3v4.generate_presigned_post(bucket, "ign")
    resp = post(server, form, extra={"x-ignore-tracking": "abc", "X-Ignore-Other": "1"})
    assert resp.status_code == 204, resp.text
    assert keys_in(s3, bucket) == ["ign"]


def test_fields_after_the_file_are_ignored(s3: Any, signer: Any, bucket: str, server: Any) -> None:
    # AWS: the file must be the last field; anything below it is ignored (so neither an
    # "Extra input fields" refusal nor stored metadata).
    form = signer.generate_presigned_post(bucket, "late")
    resp = post(
        server, form, b"body", after_file={"x-amz-meta-late": "yes", "key": "somewhere-else"}
    )
    assert resp.status_code == 204, resp.text
    assert keys_in(s3, bucket) == ["late"]
    assert s3.head_object(Bucket=bucket, Key="late")["Metadata"] == {}


def test_overwrite_existing_object(s3: Any, s3v4: Any, bucket: str, server: Any) -> None:
    s3.put_object(Bucket=bucket, Key="o", Body=b"old")
    form = s3v4.generate_presigned_post(bucket, "o")
    assert post(server, form, b"new").status_code == 204
    assert s3.get_object(Bucket=bucket, Key="o")["Body"].read() == b"new"


def test_large_upload_streams_byte_exact(s3: Any, s3v4: Any, bucket: str, server: Any) -> None:
    data = rand(20 * 1024 * 1024, seed=5)
    form = s3v4.generate_presigned_post(
        bucket, "big.bin", Conditions=[["content-length-range", 1, 32 * 1024 * 1024]]
    )
    resp = post(server, form, data, "big.bin")
    assert resp.status_code == 204, resp.text
    assert resp.headers["ETag"] == etag(data)
    got = s3.get_object(Bucket=bucket, Key="big.bin")
    assert got["ContentLength"] == len(data)
    assert hashlib.sha256(got["Body"].read()).digest() == hashlib.sha256(data).digest()


def test_user_uploads_to_own_bucket(
    s3: Any, make_user: Any, client_for: Any, make_bucket: Any, server: Any
) -> None:
    user = make_user()
    c = client_for(*user, signature_version="s3v4")
    name = make_bucket(c)
    form = c.generate_presigned_post(name, "mine")
    assert post(server, form).status_code == 204
    assert keys_in(c, name) == ["mine"]


# -- refusals (and nothing stored) --------------------------------------------------


def test_too_large_is_entity_too_large(s3: Any, signer: Any, bucket: str, server: Any) -> None:
    form = signer.generate_presigned_post(
        bucket, "big", Conditions=[["content-length-range", 1, 100_000]]
    )
    resp = post(server, form, rand(200_000))
    assert_error(resp, 400, "EntityTooLarge")
    assert keys_in(s3, bucket) == []


def test_limit_is_inclusive(s3: Any, s3v4: Any, bucket: str, server: Any) -> None:
    form = s3v4.generate_presigned_post(
        bucket, "edge", Conditions=[["content-length-range", 10, 10]]
    )
    assert post(server, form, b"x" * 10).status_code == 204
    assert_error(post(server, form, b"x" * 11), 400, "EntityTooLarge")
    assert_error(post(server, form, b"x" * 9), 400, "EntityTooSmall")
    assert s3.get_object(Bucket=bucket, Key="edge")["Body"].read() == b"x" * 10


def test_too_small_is_entity_too_small(s3: Any, signer: Any, bucket: str, server: Any) -> None:
    form = signer.generate_presigned_post(
        bucket, "small", Conditions=[["content-length-range", 1000, 5000]]
    )
    resp = post(server, form, b"tiny")
    assert_error(resp, 400, "EntityTooSmall")
    assert keys_in(s3, bucket) == []


def test_key_outside_prefix_is_access_denied(
    s3: Any, signer: Any, bucket: str, server: Any
) -> None:
    form = signer.generate_presigned_post(bucket, "user/alice/${filename}")
    resp = post(server, form, extra={"key": "user/bob/evil.txt"})
    assert_error(resp, 403, "AccessDenied", "Invalid according to Policy")
    assert "Policy Condition failed" in resp.text
    assert keys_in(s3, bucket) == []


def test_content_type_condition_violation(s3: Any, signer: Any, bucket: str, server: Any) -> None:
    form = signer.generate_presigned_post(
        bucket,
        "img",
        Fields={"Content-Type": "image/png"},
        Conditions=[["starts-with", "$Content-Type", "image/"]],
    )
    resp = post(server, form, extra={"Content-Type": "text/html"})
    assert_error(resp, 403, "AccessDenied", "Policy Condition failed")
    assert keys_in(s3, bucket) == []


def test_metadata_condition_violation(s3: Any, signer: Any, bucket: str, server: Any) -> None:
    form = signer.generate_presigned_post(
        bucket,
        "m",
        Fields={"x-amz-meta-owner": "alice"},
        Conditions=[{"x-amz-meta-owner": "alice"}],
    )
    resp = post(server, form, extra={"x-amz-meta-owner": "mallory"})
    assert_error(resp, 403, "AccessDenied", "Policy Condition failed")
    assert keys_in(s3, bucket) == []


def test_missing_conditioned_field(s3: Any, signer: Any, bucket: str, server: Any) -> None:
    form = signer.generate_presigned_post(
        bucket, "acl", Fields={"acl": "private"}, Conditions=[{"acl": "private"}]
    )
    resp = post(server, form, drop=("acl",))
    assert_error(resp, 403, "AccessDenied", "Policy Condition failed")
    assert keys_in(s3, bucket) == []


def test_extra_field_is_access_denied(s3: Any, signer: Any, bucket: str, server: Any) -> None:
    form = signer.generate_presigned_post(bucket, "x")
    resp = post(server, form, extra={"x-amz-meta-smuggled": "1"})
    assert_error(resp, 403, "AccessDenied", "Extra input fields")
    assert "x-amz-meta-smuggled" in resp.text
    resp = post(server, form, extra={"acl": "public-read"})
    assert_error(resp, 403, "AccessDenied", "Extra input fields")
    assert keys_in(s3, bucket) == []


def test_form_for_another_bucket(s3: Any, signer: Any, make_bucket: Any, server: Any) -> None:
    a, b = make_bucket(), make_bucket()
    form = signer.generate_presigned_post(a, "k")
    resp = post(server, form, url=f"{server.endpoint}/{b}")
    assert_error(resp, 403, "AccessDenied", "Policy Condition failed")
    assert keys_in(s3, a) == [] and keys_in(s3, b) == []


def test_expired_policy(s3: Any, signer: Any, bucket: str, server: Any) -> None:
    form = signer.generate_presigned_post(bucket, "late", ExpiresIn=-5)
    resp = post(server, form)
    assert_error(resp, 403, "AccessDenied", "Policy expired")
    assert keys_in(s3, bucket) == []


def test_wrong_secret_is_signature_does_not_match(
    s3: Any, client_for: Any, bucket: str, server: Any, signer: Any
) -> None:
    sv = signer.meta.config.signature_version
    bad = client_for(server.root_access_key, "not-the-secret-" + "x" * 25, signature_version=sv)
    form = bad.generate_presigned_post(bucket, "k")
    assert_error(post(server, form), 403, "SignatureDoesNotMatch")
    assert keys_in(s3, bucket) == []


def test_tampered_policy_is_signature_does_not_match(
    s3: Any, signer: Any, bucket: str, server: Any
) -> None:
    form = signer.generate_presigned_post(bucket, "k", Conditions=[["content-length-range", 1, 10]])
    doc = json.loads(base64.b64decode(form["fields"]["policy"]))
    for cond in doc["conditions"]:
        if isinstance(cond, list) and cond[0] == "content-length-range":
            cond[2] = 10**9
    tampered = base64.b64encode(json.dumps(doc).encode()).decode()
    resp = post(server, form, rand(1000), extra={"policy": tampered})
    assert_error(resp, 403, "SignatureDoesNotMatch")
    assert keys_in(s3, bucket) == []


def test_tampered_signature(s3: Any, signer: Any, bucket: str, server: Any) -> None:
    form = signer.generate_presigned_post(bucket, "k")
    name = "x-amz-signature" if "x-amz-signature" in form["fields"] else "signature"
    sig = form["fields"][name]
    resp = post(server, form, extra={name: ("A" if sig[0] != "A" else "B") + sig[1:]})
    assert_error(resp, 403, "SignatureDoesNotMatch")
    assert keys_in(s3, bucket) == []


def test_unknown_access_key(
    s3: Any, client_for: Any, bucket: str, server: Any, signer: Any
) -> None:
    sv = signer.meta.config.signature_version
    ghost = client_for("AKIDOESNOTEXIST00000", "s" * 40, signature_version=sv)
    form = ghost.generate_presigned_post(bucket, "k")
    assert_error(post(server, form), 403, "InvalidAccessKeyId")
    assert keys_in(s3, bucket) == []


def test_disabled_key_stops_working(
    s3: Any, make_user: Any, client_for: Any, make_bucket: Any, server: Any
) -> None:
    user = make_user()
    c = client_for(*user, signature_version="s3v4")
    name = make_bucket(c)
    form = c.generate_presigned_post(name, "k")
    server.admin("key", "disable", user.access_key)
    try:
        resp = post(server, form)
        assert resp.status_code == 403, resp.text
        assert error_code(resp.content) in ("InvalidAccessKeyId", "AccessDenied"), resp.text
    finally:
        server.admin("key", "enable", user.access_key, check=False)
    assert keys_in(c, name) == []


def test_other_users_form_cannot_write_private_bucket(
    s3: Any, make_user: Any, client_for: Any, bucket: str, server: Any
) -> None:
    other = client_for(*make_user(), signature_version="s3v4")
    form = other.generate_presigned_post(bucket, "intruder")
    assert_error(post(server, form), 403, "AccessDenied")
    assert keys_in(s3, bucket) == []


def test_missing_key_field(s3: Any, signer: Any, bucket: str, server: Any) -> None:
    # boto3's policy always has a condition on $key, so the policy check may answer first.
    form = signer.generate_presigned_post(bucket, "k")
    resp = post(server, form, drop=("key",))
    assert (resp.status_code, error_code(resp.content)) in (
        (400, "InvalidArgument"),
        (403, "AccessDenied"),
    ), resp.text
    assert keys_in(s3, bucket) == []


def test_missing_key_field_anonymous(s3: Any, bucket: str, server: Any) -> None:
    s3.put_bucket_acl(Bucket=bucket, ACL="public-read-write")
    resp = post(server, {"url": f"{server.endpoint}/{bucket}", "fields": {"acl": "private"}})
    assert_error(resp, 400, "InvalidArgument")
    assert keys_in(s3, bucket) == []


def test_missing_policy_with_signature(s3: Any, s3v4: Any, bucket: str, server: Any) -> None:
    form = s3v4.generate_presigned_post(bucket, "k")
    resp = post(server, form, drop=("policy",))
    assert resp.status_code in (400, 403), resp.text
    assert keys_in(s3, bucket) == []


def test_missing_file(s3: Any, s3v4: Any, bucket: str, server: Any) -> None:
    form = s3v4.generate_presigned_post(bucket, "k")
    resp = requests.post(
        form["url"], files=[(k, (None, v)) for k, v in form["fields"].items()], verify=server.cert
    )
    assert resp.status_code == 400, resp.text
    assert error_code(resp.content) == "InvalidArgument", resp.text
    assert keys_in(s3, bucket) == []


def test_not_multipart_is_refused(s3: Any, s3v4: Any, bucket: str, server: Any) -> None:
    form = s3v4.generate_presigned_post(bucket, "k")
    # an urlencoded form: AWS answers 412 PreconditionFailed (enclosure-type)
    resp = requests.post(form["url"], data={**form["fields"], "file": "x"}, verify=server.cert)
    assert resp.status_code == 412, resp.text
    assert error_code(resp.content) == "PreconditionFailed", resp.text
    resp = requests.post(
        form["url"],
        data=b"raw bytes",
        verify=server.cert,
        headers={"Content-Type": "application/octet-stream"},
    )
    assert 400 <= resp.status_code < 500, resp.text
    assert keys_in(s3, bucket) == []


def test_malformed_multipart_is_refused(s3: Any, s3v4: Any, bucket: str, server: Any) -> None:
    form = s3v4.generate_presigned_post(bucket, "k")
    body = b'--XYZ\r\nContent-Disposition: form-data; name="key"\r\n\r\nk\r\n--XYZ\r\ngarbage'
    resp = requests.post(
        form["url"],
        data=body,
        verify=server.cert,
        headers={"Content-Type": "multipart/form-data; boundary=XYZ"},
    )
    assert 400 <= resp.status_code < 500, resp.text
    assert keys_in(s3, bucket) == []


# -- anonymous forms -----------------------------------------------------------------


def anonymous_form(server: Any, bucket: str, key: str) -> dict[str, Any]:
    return {"url": f"{server.endpoint}/{bucket}", "fields": {"key": key}}


def test_anonymous_form_to_private_bucket(s3: Any, bucket: str, server: Any) -> None:
    resp = post(server, anonymous_form(server, bucket, "anon"))
    assert_error(resp, 403, "AccessDenied")
    assert keys_in(s3, bucket) == []


def test_anonymous_form_to_public_read_bucket(s3: Any, bucket: str, server: Any) -> None:
    s3.put_bucket_acl(Bucket=bucket, ACL="public-read")
    resp = post(server, anonymous_form(server, bucket, "anon"))
    assert_error(resp, 403, "AccessDenied")
    assert keys_in(s3, bucket) == []


def test_anonymous_form_to_public_read_write_bucket(s3: Any, bucket: str, server: Any) -> None:
    s3.put_bucket_acl(Bucket=bucket, ACL="public-read-write")
    resp = post(server, anonymous_form(server, bucket, "anon/${filename}"), b"drop", "box.txt")
    assert resp.status_code == 204, resp.text
    assert resp.headers["ETag"] == etag(b"drop")
    # the object belongs to its (anonymous) writer, as with AWS's ObjectWriter ownership;
    # the bucket owner sees it in listings.
    listed = s3.list_objects_v2(Bucket=bucket)["Contents"]
    assert [(o["Key"], o["Size"]) for o in listed] == [("anon/box.txt", 4)]


def test_post_to_missing_bucket(s3v4: Any, unique_name: Any, server: Any) -> None:
    name = unique_name("nb")
    form = s3v4.generate_presigned_post(name, "k")
    resp = post(server, form)
    assert_error(resp, 404, "NoSuchBucket")
