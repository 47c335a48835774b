"""ops/post_object.py: browser form uploads, authorised by a signed policy (or by the
bucket's ACL for an anonymous form)."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
from typing import Any

from oortgate.auth.sigv4_keys import signing_key

from ._client import REGION, Client, Harness

BOUNDARY = "----inprocess-form-boundary"


def _form(fields: dict[str, str], data: bytes, filename: str = "f.txt") -> bytes:
    parts = [
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
        for k, v in fields.items()
    ]
    parts.append(f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; '
                 f'filename="{filename}"\r\nContent-Type: text/plain\r\n\r\n'.encode()
                 + data + b"\r\n")  # fmt: skip
    return b"".join(parts) + f"--{BOUNDARY}--\r\n".encode()


def _signed_fields(
    client: Client, bucket: str, conditions: list[Any], expires_in: float = 600, **fields: str
) -> dict[str, str]:
    assert client.credentials is not None
    now = dt.datetime.now(dt.UTC)
    date = now.strftime("%Y%m%d")
    credential = f"{client.credentials.access_key}/{date}/{REGION}/s3/aws4_request"
    signed = {"x-amz-algorithm": "AWS4-HMAC-SHA256", "x-amz-credential": credential,
              "x-amz-date": now.strftime("%Y%m%dT%H%M%SZ")}  # fmt: skip
    expiration = (now + dt.timedelta(seconds=expires_in)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    document = {"expiration": expiration,
                "conditions": [{"bucket": bucket}, *conditions,
                               *({k: v} for k, v in signed.items())]}  # fmt: skip
    policy_b64 = base64.b64encode(json.dumps(document).encode()).decode()
    key = signing_key(client.credentials.secret_key, date, REGION, "s3")
    signature = hmac.new(key, policy_b64.encode(), hashlib.sha256).hexdigest()
    return {**fields, **signed, "policy": policy_b64, "x-amz-signature": signature}


def _post(anon: Client, bucket: str, fields: dict[str, str], data: bytes = b"form bytes") -> Any:
    content_type = f"multipart/form-data; boundary={BOUNDARY}"
    return anon.request("POST", f"/{bucket}", body=_form(fields, data),
                        headers={"content-type": content_type})  # fmt: skip


def test_signed_form_stores_the_file(owner: Client, anon: Client, bucket: str) -> None:
    fields = _signed_fields(owner, bucket, [["starts-with", "$key", "up/"]], key="up/${filename}")
    reply = _post(anon, bucket, fields)
    assert reply.status == 204
    assert reply.headers["etag"] == f'"{hashlib.md5(b"form bytes").hexdigest()}"'
    assert owner.get(bucket, "up/f.txt").body == b"form bytes"


def test_success_action_status_and_redirect(owner: Client, anon: Client, bucket: str) -> None:
    fields = _signed_fields(owner, bucket, [{"key": "k"}, {"success_action_status": "201"}],
                            key="k", success_action_status="201")  # fmt: skip
    created = _post(anon, bucket, fields)
    assert created.status == 201
    assert created.xml().findtext("Key") == "k"
    assert created.xml().findtext("Bucket") == bucket
    target = "https://app.example/done"
    fields = _signed_fields(owner, bucket, [{"key": "k"}, {"success_action_redirect": target}],
                            key="k", success_action_redirect=target)  # fmt: skip
    redirected = _post(anon, bucket, fields)
    assert redirected.status == 303
    assert redirected.headers["location"].startswith(target + "?bucket=bkt&key=k&etag=")


def test_policy_conditions_are_enforced(owner: Client, anon: Client, bucket: str) -> None:
    fields = _signed_fields(owner, bucket, [["starts-with", "$key", "up/"]], key="elsewhere")
    assert _post(anon, bucket, fields).error == (403, "AccessDenied")
    ranged = _signed_fields(owner, bucket, [{"key": "k"}, ["content-length-range", 1, 4]], key="k")
    assert _post(anon, bucket, ranged, b"too long").error == (400, "EntityTooLarge")
    assert _post(anon, bucket, ranged, b"").error == (400, "EntityTooSmall")
    expired = _signed_fields(owner, bucket, [{"key": "k"}], expires_in=-60, key="k")
    assert _post(anon, bucket, expired).error == (403, "AccessDenied")
    assert owner.get(bucket, "k").status == 404


def test_bad_signatures_and_forms(owner: Client, anon: Client, bucket: str) -> None:
    fields = _signed_fields(owner, bucket, [{"key": "k"}], key="k")
    tampered = dict(fields, **{"x-amz-signature": "0" * 64})
    assert _post(anon, bucket, tampered).error == (403, "SignatureDoesNotMatch")
    any_key = _signed_fields(owner, bucket, [["starts-with", "$key", ""]])
    assert _post(anon, bucket, any_key).error == (400, "InvalidArgument")  # no key field
    plain = anon.request("POST", f"/{bucket}", body=b"x=1",
                         headers={"content-type": "application/x-www-form-urlencoded"})  # fmt: skip
    assert plain.error == (412, "PreconditionFailed")
    assert _post(anon, "missing", fields).error == (404, "NoSuchBucket")


def test_anonymous_forms_follow_the_bucket_acl(
    harness: Harness, owner: Client, anon: Client
) -> None:
    harness.bucket(owner, "private-one")
    assert _post(anon, "private-one", {"key": "k"}).error == (403, "AccessDenied")
    harness.bucket(owner, "dropbox", acl="public-read-write")
    assert _post(anon, "dropbox", {"key": "k"}).status == 204
    # The legacy ACL model: an anonymous writer owns what it wrote; the bucket owner
    # reads it only if the form granted bucket-owner-full-control.
    assert anon.get("dropbox", "k").body == b"form bytes"
    assert owner.get("dropbox", "k").error == (403, "AccessDenied")
    granted = {"key": "g", "acl": "bucket-owner-full-control"}
    assert _post(anon, "dropbox", granted).status == 204
    assert owner.get("dropbox", "g").body == b"form bytes"
