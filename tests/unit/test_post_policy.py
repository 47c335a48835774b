"""POST Object policy documents and form signatures (AWS "browser-based uploads").

Signatures come from botocore's own presigned-POST generator (SigV2 with the default
us-east-1 client, SigV4 with ``signature_version="s3v4"``), so the verifier is checked
against what real clients send, not against a re-implementation.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.config import Config

from oortgate.auth.post_policy import PostPolicy, form_credentials, verify_signature
from oortgate.errors import S3Error

AK, SK = "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
REGION = "us-east-1"
NOW = datetime.now(UTC)


def encode(doc: Any) -> str:
    return base64.b64encode(json.dumps(doc).encode()).decode()


def policy(conditions: list[Any], expires_in: timedelta = timedelta(hours=1)) -> PostPolicy:
    expiration = (NOW + expires_in).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    return PostPolicy.parse(encode({"expiration": expiration, "conditions": conditions}))


def client(sigv4: bool) -> Any:
    cfg = Config(signature_version="s3v4") if sigv4 else Config()
    return boto3.session.Session().client(
        "s3",
        region_name=REGION,
        endpoint_url="https://s3.example.test",
        aws_access_key_id=AK,
        aws_secret_access_key=SK,
        config=cfg,
    )


def presigned_post(sigv4: bool, **kwargs: Any) -> dict[str, str]:
    """The form fields boto3 generates, with lowercase names (how the server keys them)."""
    post = client(sigv4).generate_presigned_post(
        "bkt", kwargs.pop("key", "up/${filename}"), **kwargs
    )
    return {k.lower(): v for k, v in post["fields"].items()}


def expect(code: str, fn: Any, *args: Any, **kwargs: Any) -> S3Error:
    with pytest.raises(S3Error) as ei:
        fn(*args, **kwargs)
    assert ei.value.code == code, f"expected {code}, got {ei.value.code}: {ei.value.message}"
    return ei.value


# -- parsing ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "encoded",
    [
        "not base64 at all!!!",
        base64.b64encode(b"{not json").decode(),
        base64.b64encode(b"[1, 2, 3]").decode(),  # JSON, but not an object
        encode({"conditions": []}),  # no expiration
        encode({"expiration": "tomorrow", "conditions": []}),
        encode({"expiration": "2030-01-01T00:00:00Z", "conditions": {"bucket": "b"}}),
    ],
    ids=["bad-base64", "bad-json", "not-object", "no-expiration", "bad-date", "conds-not-list"],
)
def test_malformed_policy_is_invalid_policy_document(encoded: str) -> None:
    err = expect("InvalidPolicyDocument", PostPolicy.parse, encoded)
    assert err.status == 400


def test_parse_reads_expiration_and_conditions() -> None:
    doc = PostPolicy.parse(
        encode(
            {
                "expiration": "2030-12-01T12:00:00.000Z",
                "conditions": [{"bucket": "b"}, ["starts-with", "$key", "u/"]],
            }
        )
    )
    assert doc.expiration == datetime(2030, 12, 1, 12, 0, tzinfo=UTC)
    assert [(c.op, c.name, c.value) for c in doc.conditions] == [
        ("eq", "bucket", "b"),
        ("starts-with", "key", "u/"),
    ]


# -- expiration ---------------------------------------------------------------------


def test_unexpired_policy_passes() -> None:
    policy([{"bucket": "b"}, {"key": "k"}]).check({"key": "k"}, "b", NOW)


def test_expired_policy_is_access_denied() -> None:
    doc = policy([{"bucket": "b"}, {"key": "k"}], expires_in=timedelta(seconds=-1))
    err = expect("AccessDenied", doc.check, {"key": "k"}, "b", NOW)
    assert err.status == 403
    assert "expired" in err.message.lower()


def test_expiry_is_against_the_given_time() -> None:
    doc = policy([{"key": "k"}], expires_in=timedelta(minutes=5))
    doc.check({"key": "k"}, "b", NOW + timedelta(minutes=4))
    expect("AccessDenied", doc.check, {"key": "k"}, "b", NOW + timedelta(minutes=6))


# -- conditions ---------------------------------------------------------------------


def test_exact_match_dict_condition() -> None:
    doc = policy([{"acl": "public-read"}, {"key": "k"}])
    doc.check({"acl": "public-read", "key": "k"}, "b", NOW)
    err = expect("AccessDenied", doc.check, {"acl": "private", "key": "k"}, "b", NOW)
    assert "Policy Condition failed" in err.message
    assert "acl" in err.message


def test_eq_condition_with_dollar_name() -> None:
    doc = policy([["eq", "$acl", "public-read"], ["eq", "$key", "k"]])
    doc.check({"acl": "public-read", "key": "k"}, "b", NOW)
    err = expect("AccessDenied", doc.check, {"acl": "public-read", "key": "other"}, "b", NOW)
    assert "Policy Condition failed" in err.message


def test_condition_field_names_are_case_insensitive() -> None:
    # AWS: condition names ignore case ("$Content-Type" covers the content-type field).
    doc = policy([["starts-with", "$Content-Type", "image/"], {"Key": "k"}])
    doc.check({"content-type": "image/png", "key": "k"}, "b", NOW)


def test_starts_with_condition() -> None:
    doc = policy([["starts-with", "$key", "user/alice/"]])
    doc.check({"key": "user/alice/photo.png"}, "b", NOW)
    err = expect("AccessDenied", doc.check, {"key": "user/bob/photo.png"}, "b", NOW)
    assert "Policy Condition failed" in err.message
    assert "key" in err.message


def test_starts_with_empty_prefix_allows_any_value() -> None:
    doc = policy([["starts-with", "$key", ""], ["starts-with", "$x-amz-meta-tag", ""]])
    doc.check({"key": "anything/at/all", "x-amz-meta-tag": "whatever"}, "b", NOW)


def test_starts_with_content_type_list_every_value_must_match() -> None:
    # AWS: for Content-Type, a comma-separated list must match the prefix in every entry.
    doc = policy([{"key": "k"}, ["starts-with", "$Content-Type", "image/"]])
    doc.check({"key": "k", "content-type": "image/jpeg, image/png"}, "b", NOW)
    expect(
        "AccessDenied", doc.check, {"key": "k", "content-type": "image/jpeg, text/plain"}, "b", NOW
    )


def test_bucket_condition_is_checked_against_the_target_bucket() -> None:
    doc = policy([{"bucket": "mine"}, {"key": "k"}])
    doc.check({"key": "k"}, "mine", NOW)
    err = expect("AccessDenied", doc.check, {"key": "k"}, "someone-elses", NOW)
    assert "bucket" in err.message


def test_condition_on_missing_field_fails() -> None:
    doc = policy([{"key": "k"}, {"x-amz-meta-owner": "alice"}])
    expect("AccessDenied", doc.check, {"key": "k"}, "b", NOW)


def test_success_action_fields_need_conditions() -> None:
    doc = policy([{"key": "k"}, {"success_action_status": "201"}])
    doc.check({"key": "k", "success_action_status": "201"}, "b", NOW)
    expect("AccessDenied", doc.check, {"key": "k", "success_action_status": "200"}, "b", NOW)
    doc = policy([{"key": "k"}, ["starts-with", "$success_action_redirect", "https://app/"]])
    doc.check({"key": "k", "success_action_redirect": "https://app/done"}, "b", NOW)
    expect(
        "AccessDenied",
        doc.check,
        {"key": "k", "success_action_redirect": "https://evil/"},
        "b",
        NOW,
    )


def test_unknown_condition_operator_is_invalid_policy() -> None:
    # AWS: a malformed policy is 400 InvalidPolicyDocument, not a failed condition.
    err = expect("InvalidPolicyDocument", policy, [["ends-with", "$key", ".png"]])
    assert err.status == 400
    assert "ends-with" in err.message


def test_malformed_condition_is_invalid() -> None:
    expect("InvalidPolicyDocument", policy, [["eq", "$key"]])


# -- content-length-range -----------------------------------------------------------


def test_content_length_range_bounds() -> None:
    assert policy([["content-length-range", 10, 1048576]]).content_length_range() == (10, 1048576)
    assert policy([{"key": "k"}]).content_length_range() is None


def test_content_length_range_as_strings() -> None:
    assert policy([["content-length-range", "1", "100"]]).content_length_range() == (1, 100)


def test_bad_content_length_range_is_invalid() -> None:
    expect("InvalidPolicyDocument", policy, [["content-length-range", "one", "ten"]])


def test_content_length_range_is_not_an_extra_field_check() -> None:
    policy([{"key": "k"}, ["content-length-range", 0, 10]]).check({"key": "k"}, "b", NOW)


# -- extra fields -------------------------------------------------------------------


def test_extra_input_field_is_access_denied() -> None:
    doc = policy([{"key": "k"}])
    err = expect("AccessDenied", doc.check, {"key": "k", "x-amz-meta-sneaky": "1"}, "b", NOW)
    assert err.status == 403
    assert "Extra input fields" in err.message
    assert "x-amz-meta-sneaky" in err.message


def test_exempt_fields_need_no_condition() -> None:
    # AWS: every field except x-amz-signature, file, policy and x-ignore-* must be covered;
    # the SigV2 credential fields (AWSAccessKeyId, signature) likewise.
    doc = policy([{"key": "k"}])
    doc.check(
        {
            "key": "k",
            "policy": "p",
            "x-amz-signature": "s",
            "signature": "s",
            "awsaccesskeyid": AK,
            "x-ignore-anything": "v",
            "x-ignore-": "v",
        },
        "b",
        NOW,
    )


# -- form credentials ---------------------------------------------------------------


def test_anonymous_form_has_no_credentials() -> None:
    assert form_credentials({"key": "k", "acl": "public-read"}) is None


def test_sigv4_credentials_from_boto3_form() -> None:
    fields = presigned_post(True)
    creds = form_credentials(fields)
    assert creds is not None
    assert creds.access_key == AK
    assert creds.sigv4_scope is not None
    assert creds.sigv4_scope[1:] == (REGION, "s3")


def test_sigv2_credentials_from_boto3_form() -> None:
    fields = presigned_post(False)
    assert "awsaccesskeyid" in fields and "signature" in fields
    creds = form_credentials(fields)
    assert creds is not None
    assert creds.access_key == AK
    assert creds.sigv4_scope is None


@pytest.mark.parametrize(
    "drop", ["x-amz-credential", "x-amz-algorithm"], ids=["no-credential", "no-algorithm"]
)
def test_incomplete_sigv4_credentials_are_invalid(drop: str) -> None:
    fields = presigned_post(True)
    del fields[drop]
    with pytest.raises(S3Error) as ei:
        form_credentials(fields)
    assert ei.value.status == 400


def test_sigv2_signature_without_access_key_is_invalid() -> None:
    fields = presigned_post(False)
    del fields["awsaccesskeyid"]
    with pytest.raises(S3Error) as ei:
        form_credentials(fields)
    assert ei.value.status == 400


def test_malformed_sigv4_credential_is_invalid() -> None:
    fields = presigned_post(True)
    fields["x-amz-credential"] = f"{AK}/20300101/us-east-1/s3"
    with pytest.raises(S3Error) as ei:
        form_credentials(fields)
    assert ei.value.status == 400


# -- signatures ---------------------------------------------------------------------


@pytest.mark.parametrize("sigv4", [True, False], ids=["sigv4", "sigv2"])
def test_boto3_signature_verifies(sigv4: bool) -> None:
    fields = presigned_post(sigv4, Conditions=[["content-length-range", 1, 100]])
    creds = form_credentials(fields)
    assert creds is not None
    verify_signature(creds, fields["policy"], SK, REGION)
    doc = PostPolicy.parse(fields["policy"])
    doc.check({**fields, "key": "up/photo.png"}, "bkt", NOW)
    assert doc.content_length_range() == (1, 100)


@pytest.mark.parametrize("sigv4", [True, False], ids=["sigv4", "sigv2"])
def test_boto3_form_fields_pass_their_own_policy(sigv4: bool) -> None:
    fields = presigned_post(
        sigv4,
        key="docs/report.pdf",
        Fields={
            "acl": "public-read",
            "Content-Type": "application/pdf",
            "x-amz-meta-owner": "alice",
            "success_action_status": "201",
        },
        Conditions=[
            {"acl": "public-read"},
            {"Content-Type": "application/pdf"},
            {"x-amz-meta-owner": "alice"},
            {"success_action_status": "201"},
        ],
    )
    PostPolicy.parse(fields["policy"]).check(fields, "bkt", NOW)


@pytest.mark.parametrize("sigv4", [True, False], ids=["sigv4", "sigv2"])
def test_wrong_secret_is_signature_does_not_match(sigv4: bool) -> None:
    fields = presigned_post(sigv4)
    creds = form_credentials(fields)
    assert creds is not None
    err = expect(
        "SignatureDoesNotMatch", verify_signature, creds, fields["policy"], SK[:-1] + "X", REGION
    )
    assert err.status == 403


@pytest.mark.parametrize("sigv4", [True, False], ids=["sigv4", "sigv2"])
def test_tampered_policy_is_signature_does_not_match(sigv4: bool) -> None:
    fields = presigned_post(sigv4, Conditions=[["content-length-range", 1, 100]])
    doc = json.loads(base64.b64decode(fields["policy"]))
    doc["conditions"] = [
        ["content-length-range", 1, 10**12]
        if isinstance(c, list) and c[0] == "content-length-range"
        else c
        for c in doc["conditions"]
    ]
    tampered = encode(doc)
    assert tampered != fields["policy"]
    creds = form_credentials(fields)
    assert creds is not None
    expect("SignatureDoesNotMatch", verify_signature, creds, tampered, SK, REGION)


@pytest.mark.parametrize("sigv4", [True, False], ids=["sigv4", "sigv2"])
def test_tampered_signature_is_signature_does_not_match(sigv4: bool) -> None:
    fields = presigned_post(sigv4)
    name = "x-amz-signature" if sigv4 else "signature"
    sig = fields[name]
    fields[name] = ("0" if sig[0] != "0" else "1") + sig[1:]
    creds = form_credentials(fields)
    assert creds is not None
    expect("SignatureDoesNotMatch", verify_signature, creds, fields["policy"], SK, REGION)


def test_sigv4_tampered_credential_date_is_signature_does_not_match() -> None:
    fields = presigned_post(True)
    ak, date, region, service, term = fields["x-amz-credential"].split("/")
    other_day = (datetime.strptime(date, "%Y%m%d") - timedelta(days=1)).strftime("%Y%m%d")
    fields["x-amz-credential"] = "/".join([ak, other_day, region, service, term])
    creds = form_credentials(fields)
    assert creds is not None
    expect("SignatureDoesNotMatch", verify_signature, creds, fields["policy"], SK, REGION)


def test_sigv4_scope_of_another_region_is_refused() -> None:
    fields = presigned_post(True)
    creds = form_credentials(fields)
    assert creds is not None
    with pytest.raises(S3Error) as ei:
        verify_signature(creds, fields["policy"], SK, "eu-west-1")
    assert ei.value.status in (400, 403)


# -- policy document shape (AWS: malformed is 400 InvalidPolicyDocument) ------------


@pytest.mark.parametrize(
    "expiration",
    [
        "2030-12-01 12:00:00+00:00",  # str(datetime): no "T"
        "2030-12-01",  # a date alone
        "2030-12-01T12:00:00",  # no time zone
        "Sun, 01 Dec 2030 12:00:00 GMT",
        "2030-13-01T12:00:00Z",  # no such month
        1924948800,  # epoch seconds
    ],
)
def test_expiration_must_be_iso8601(expiration: Any) -> None:
    err = expect(
        "InvalidPolicyDocument",
        PostPolicy.parse,
        encode({"expiration": expiration, "conditions": []}),
    )
    assert err.status == 400
    assert err.message == f"Invalid Policy: Invalid 'expiration' value: '{expiration}'"


@pytest.mark.parametrize(
    "expiration",
    ["2030-12-01T12:00:00Z", "2030-12-01T12:00:00.000Z", "2030-12-01T13:00:00+01:00"],
)
def test_iso8601_expirations_are_read(expiration: str) -> None:
    doc = PostPolicy.parse(encode({"expiration": expiration, "conditions": []}))
    assert doc.expiration == datetime(2030, 12, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "doc",
    [
        {"expiration": "2030-12-01T12:00:00Z"},
        {"expiration": "2030-12-01T12:00:00Z", "CONDITIONS": [{"key": "k"}]},
        {"EXPIRATION": "2030-12-01T12:00:00Z", "conditions": [{"key": "k"}]},
    ],
    ids=["no-conditions", "conditions-upper-case", "expiration-upper-case"],
)
def test_policy_without_expiration_or_conditions_is_invalid(doc: dict[str, Any]) -> None:
    # AWS (ceph s3-tests): both names are required and case-sensitive.
    expect("InvalidPolicyDocument", PostPolicy.parse, encode(doc))


@pytest.mark.parametrize(
    "condition",
    [
        {},
        {"acl": "private", "key": "k"},
        {"acl": True},
        ["eq", "key", "k"],  # the field without its "$"
        ["eq", "$key", "k", "extra"],
        ["starts-with", "$key", None],
        "key",
        ["content-length-range", 0],
        ["content-length-range", -1, 0],
        ["content-length-range", 10, 5],
        ["content-length-range", 0, True],
    ],
)
def test_malformed_condition_is_refused_when_parsed(condition: Any) -> None:
    # Refused whatever the form holds: before any field is compared.
    err = expect("InvalidPolicyDocument", policy, [{"key": "k"}, condition])
    assert err.status == 400


def test_failed_condition_message_names_the_field_as_the_policy_spells_it() -> None:
    doc = policy([{"Content-Type": "image/png"}, ["starts-with", "$Key", "user/"]])
    err = expect("AccessDenied", doc.check, {"content-type": "text/html", "key": "user/"}, "b", NOW)
    assert err.message == (
        'Invalid according to Policy: Policy Condition failed: ["eq", "$Content-Type", "image/png"]'
    )
    err = expect("AccessDenied", doc.check, {"content-type": "image/png", "key": "x"}, "b", NOW)
    assert err.message.endswith('Policy Condition failed: ["starts-with", "$Key", "user/"]')


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"expiration": "2030-12-01T12:00:00Z"}, "Policy missing conditions."),
        ({"conditions": []}, "Policy missing expiration."),
        (
            {"expiration": "2030-12-01T12:00:00Z", "conditions": {"key": "k"}},
            "Invalid 'conditions' value: must be a List.",
        ),
        (
            {"expiration": "2030-12-01T12:00:00Z", "conditions": [{}]},
            "Invalid Simple-Condition: Simple-Conditions must have exactly one property specified.",
        ),
        (
            {"expiration": "2030-12-01T12:00:00Z", "conditions": [{"acl": 1}]},
            "Invalid Simple-Condition: value must be a string.",
        ),
        (
            {"expiration": "2030-12-01T12:00:00Z", "conditions": ["key"]},
            "Invalid condition test: must be a List or Object.",
        ),
        (
            {"expiration": "2030-12-01T12:00:00Z", "conditions": [[]]},
            "Invalid Condition: missing operation identifier.",
        ),
        (
            {"expiration": "2030-12-01T12:00:00Z", "conditions": [["in", "$key", "k"]]},
            "Invalid Condition: unknown operation 'in'.",
        ),
        (
            {"expiration": "2030-12-01T12:00:00Z", "conditions": [["eq", "$key"]]},
            "Invalid eq: wrong number of arguments.",
        ),
        (
            {"expiration": "2030-12-01T12:00:00Z", "conditions": [["content-length-range", 1]]},
            "Invalid content-length-range: wrong number of arguments.",
        ),
    ],
)
def test_malformed_policy_messages_are_aws_words(doc: dict[str, Any], message: str) -> None:
    err = expect("InvalidPolicyDocument", PostPolicy.parse, encode(doc))
    assert err.message == f"Invalid Policy: {message}"


def test_bad_base64_message() -> None:
    err = expect("InvalidPolicyDocument", PostPolicy.parse, "%%%")
    assert err.message == "Invalid Policy: invalid Base64 encoding."
