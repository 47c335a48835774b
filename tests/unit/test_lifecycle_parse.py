"""oortgate.xml.lifecycle: AWS's LifecycleConfiguration document, checked as AWS does,
and shown back as put."""

from __future__ import annotations

import dataclasses
import json

import pytest

from oortgate.errors import S3Error
from oortgate.lifecycle.rules import VARIES, Filter, loads
from oortgate.xml.core import parse
from oortgate.xml.lifecycle import lifecycle_document, parse_lifecycle

ARCHIVE = frozenset({"GLACIER_IR"})


def doc(*rules: str) -> bytes:
    return f"<LifecycleConfiguration>{''.join(rules)}</LifecycleConfiguration>".encode()


def rule(body: str, filt: str = "<Filter><Prefix>logs/</Prefix></Filter>") -> str:
    return f"<Rule><ID>r</ID>{filt}<Status>Enabled</Status>{body}</Rule>"


EXPIRE = "<Expiration><Days>3</Days></Expiration>"


def refused(body: bytes) -> S3Error:
    with pytest.raises(S3Error) as info:
        parse_lifecycle(body, ARCHIVE)
    return info.value


def test_every_action_and_filter_round_trips_through_json() -> None:
    body = doc(
        rule(EXPIRE),
        "<Rule><ID>t</ID><Filter><And><Prefix>a/</Prefix><Tag><Key>k</Key><Value>v</Value></Tag>"
        "<ObjectSizeGreaterThan>10</ObjectSizeGreaterThan><ObjectSizeLessThan>99</ObjectSizeLessThan>"
        "</And></Filter><Status>Disabled</Status><Transition><Days>0</Days>"
        "<StorageClass>GLACIER_IR</StorageClass></Transition></Rule>",
        "<Rule><ID>old</ID><Prefix>p</Prefix><Status>Enabled</Status>"
        "<Expiration><Date>2030-01-02T00:00:00.000Z</Date></Expiration>"
        "<AbortIncompleteMultipartUpload><DaysAfterInitiation>2</DaysAfterInitiation>"
        "</AbortIncompleteMultipartUpload></Rule>",
        rule("<NoncurrentVersionExpiration><NoncurrentDays>4</NoncurrentDays>"
             "<NewerNoncurrentVersions>2</NewerNoncurrentVersions>"
             "</NoncurrentVersionExpiration><NoncurrentVersionTransition><NoncurrentDays>1"
             "</NoncurrentDays><StorageClass>GLACIER_IR</StorageClass><NewerNoncurrentVersions>"
             "1</NewerNoncurrentVersions></NoncurrentVersionTransition>"
             ).replace("<ID>r</ID>", "<ID>nc</ID>"),
        rule("<Expiration><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker>"
             "</Expiration>").replace("<ID>r</ID>", "<ID>dm</ID>"),
    )
    lifecycle = parse_lifecycle(body, ARCHIVE)
    assert loads(lifecycle.dumps()) == lifecycle
    varies = dataclasses.replace(lifecycle, default_minimum=VARIES)
    assert loads(varies.dumps()) == varies
    # Stored before the default minimum object size: every transition kept its sizes.
    assert loads(json.dumps(json.loads(lifecycle.dumps())["rules"])) == varies
    first, second, third, fourth, fifth = lifecycle.rules
    assert (fourth.noncurrent_days, fourth.newer_noncurrent) == (4, 2)
    assert (fourth.nc_transition_days, fourth.nc_transition_class,
            fourth.nc_transition_newer) == (1, "GLACIER_IR", 1)  # fmt: skip
    assert fifth.expired_marker and fifth.expiration_days is None
    assert (first.expiration_days, first.filter.prefix, first.enabled) == (3, "logs/", True)
    assert second.filter == Filter("a/", (("k", "v"),), 10, 99, "and")
    assert (second.transition_days, second.transition_class, second.enabled) == (
        0, "GLACIER_IR", False)  # fmt: skip
    assert third.filter.form == "prefix" and third.abort_days == 2
    assert third.expiration_date == 1893542400.0
    shown = parse(lifecycle_document(lifecycle))
    assert parse_lifecycle(lifecycle_document(lifecycle), ARCHIVE) == lifecycle
    assert shown.find("Rule/Expiration/Days") is not None
    assert shown.findall("Rule/Expiration/ExpiredObjectDeleteMarker")[0].text == "true"


def test_a_rule_without_id_is_named() -> None:
    body = doc("<Rule><Filter/><Status>Enabled</Status>" + EXPIRE + "</Rule>")
    (only,) = parse_lifecycle(body, ARCHIVE).rules
    assert len(only.id) == 48 and only.filter == Filter()


@pytest.mark.parametrize(
    ("body", "code", "message"),
    [
        (doc(rule(EXPIRE), rule(EXPIRE)), "InvalidArgument", "Rule ID must be unique"),
        (doc(rule("")), "InvalidArgument", "At least one action"),
        (doc(rule("<Expiration><Days>0</Days></Expiration>")), "InvalidArgument", "positive"),
        (doc(rule("<Expiration><Date>2030-01-02T10:00:00Z</Date></Expiration>")),
         "InvalidArgument", "midnight GMT"),
        (doc(rule("<Transition><Days>1</Days><StorageClass>STANDARD_IA</StorageClass>"
                  "</Transition>")), "InvalidArgument", "GLACIER_IR"),
        (doc(rule("<Expiration><Days>2</Days></Expiration><Transition><Days>2</Days>"
                  "<StorageClass>GLACIER_IR</StorageClass></Transition>")),
         "InvalidArgument", "must be greater than 'Days' in the Transition"),
        (doc(rule("<AbortIncompleteMultipartUpload><DaysAfterInitiation>1</DaysAfterInitiation>"
                  "</AbortIncompleteMultipartUpload>",
                  "<Filter><Tag><Key>k</Key><Value>v</Value></Tag></Filter>")),
         "InvalidRequest", "cannot be specified with Tags"),
        (doc(rule(EXPIRE, "<Filter><And><ObjectSizeGreaterThan>9</ObjectSizeGreaterThan>"
                  "<ObjectSizeLessThan>9</ObjectSizeLessThan></And></Filter>")),
         "InvalidArgument", "ObjectSizeGreaterThan must be less than ObjectSizeLessThan"),
        (doc(rule(EXPIRE, "<Filter><And><Tag><Key>k</Key><Value>1</Value></Tag><Tag><Key>k</Key>"
                  "<Value>2</Value></Tag></And></Filter>")), "InvalidRequest", "Duplicate Tag"),
        (doc(f"<Rule><ID>{'x' * 256}</ID><Filter/><Status>Enabled</Status>{EXPIRE}</Rule>"),
         "InvalidArgument", "255"),
        (doc(rule("<NoncurrentVersionTransition><NoncurrentDays>1</NoncurrentDays>"
                  "<StorageClass>STANDARD_IA</StorageClass></NoncurrentVersionTransition>")),
         "InvalidArgument", "GLACIER_IR"),
        (doc(rule("<NoncurrentVersionTransition><NoncurrentDays>-1</NoncurrentDays>"
                  "<StorageClass>GLACIER_IR</StorageClass></NoncurrentVersionTransition>")),
         "InvalidArgument", "nonnegative"),
        (doc(rule("<NoncurrentVersionTransition><NoncurrentDays>1</NoncurrentDays>"
                  "<StorageClass>GLACIER_IR</StorageClass><NewerNoncurrentVersions>0"
                  "</NewerNoncurrentVersions></NoncurrentVersionTransition>")),
         "InvalidArgument", "up to 100"),
        (doc(rule("<NoncurrentVersionExpiration><NoncurrentDays>3</NoncurrentDays>"
                  "</NoncurrentVersionExpiration><NoncurrentVersionTransition><NoncurrentDays>3"
                  "</NoncurrentDays><StorageClass>GLACIER_IR</StorageClass>"
                  "</NoncurrentVersionTransition>")),
         "InvalidArgument", "must be greater than 'NoncurrentDays'"),
        (doc(rule("<Expiration><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker>"
                  "</Expiration>", "<Filter><Tag><Key>k</Key><Value>v</Value></Tag></Filter>")),
         "InvalidRequest", "cannot be specified with Tags"),
        (doc(rule("<Expiration><ExpiredObjectDeleteMarker>false</ExpiredObjectDeleteMarker>"
                  "</Expiration>")), "InvalidArgument", "At least one action"),
        (doc(rule("<NoncurrentVersionExpiration><NoncurrentDays>0</NoncurrentDays>"
                  "</NoncurrentVersionExpiration>")), "InvalidArgument", "positive integer"),
        (doc(rule("<NoncurrentVersionExpiration><NoncurrentDays>1</NoncurrentDays>"
                  "<NewerNoncurrentVersions>101</NewerNoncurrentVersions>"
                  "</NoncurrentVersionExpiration>")), "InvalidArgument", "up to 100"),
    ],
)  # fmt: skip
def test_refused_as_aws(body: bytes, code: str, message: str) -> None:
    err = refused(body)
    assert err.code == code and message in err.message


@pytest.mark.parametrize(
    "body",
    [
        b"<Other/>",
        doc(),
        doc(rule(EXPIRE, "")),  # neither Filter nor Prefix
        doc(rule(EXPIRE, "<Prefix>a</Prefix><Filter/>")),  # both
        doc(rule(EXPIRE, "<Filter><Prefix>a</Prefix><Tag><Key>k</Key><Value>v</Value></Tag>"
                 "</Filter>")),  # two conditions without And
        doc(rule(EXPIRE).replace("Enabled", "On")),
        doc(rule("<Expiration><Days>1</Days><Date>2030-01-01T00:00:00Z</Date></Expiration>")),
        doc(rule("<Expiration><Days>x</Days></Expiration>")),
        doc(rule("<Transition><Days>1</Days></Transition>")),
        doc(rule(EXPIRE + "<Surprise/>")),
        doc(rule("<Expiration><Days>1</Days><ExpiredObjectDeleteMarker>true"
                 "</ExpiredObjectDeleteMarker></Expiration>")),  # as AWS: not beside Days
        doc(rule("<Expiration><ExpiredObjectDeleteMarker>yes</ExpiredObjectDeleteMarker>"
                 "</Expiration>")),
        doc(rule("<NoncurrentVersionTransition><NoncurrentDays>1</NoncurrentDays>"
                 "</NoncurrentVersionTransition>")),
    ],
)  # fmt: skip
def test_malformed(body: bytes) -> None:
    assert refused(body).code == "MalformedXML"
