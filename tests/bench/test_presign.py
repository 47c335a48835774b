"""The harness's bulk presigner signs exactly as boto3 does (same path, query, signature)."""

from __future__ import annotations

import datetime as dt
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
from botocore.config import Config

from bench.presign import Presigner

ENDPOINT = "https://127.0.0.1:9443"


@pytest.mark.parametrize("key", ["h/00000001", "a b/ü~!*'()", "x+y=z&q", "dir//end/"])
def test_urls_match_boto3(key: str) -> None:
    s3 = boto3.session.Session().client(
        "s3", endpoint_url=ENDPOINT, region_name="eu-west-1", aws_access_key_id="AKIAEXAMPLE",
        aws_secret_access_key="se/cret+key", config=Config(signature_version="s3v4",
                                                          s3={"addressing_style": "path"}),
    )  # fmt: skip
    params = {"Bucket": "bkt", "Key": key}
    theirs = urlsplit(s3.generate_presigned_url("put_object", Params=params, ExpiresIn=3600))
    moment = parse_qs(theirs.query)["X-Amz-Date"][0]
    now = dt.datetime.strptime(moment, "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.UTC)
    signer = Presigner(ENDPOINT, "AKIAEXAMPLE", "se/cret+key", "eu-west-1", 3600, now)
    ours = urlsplit(signer.url("PUT", "bkt", key))
    assert (ours.scheme, ours.netloc, ours.path) == (theirs.scheme, theirs.netloc, theirs.path)
    assert parse_qs(ours.query) == parse_qs(theirs.query)
