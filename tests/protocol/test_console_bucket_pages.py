"""The console's server-rendered bucket settings (versioning, object lock, policy,
lifecycle) and object versions pages, over TLS with a real HTTP client: each form is an
S3 request of the signed-in key, checked here with boto3, and S3's refusals come back
as the page's flash message."""

from __future__ import annotations

import datetime
import html
import json
import re
from typing import Any

import boto3
import pytest
import requests
from botocore.config import Config

from oortgate.console.object_versions import PAGE

from ._console import ConsoleClient
from ._server import REGION, ServerProcess
from ._util import s3_error

FAR = datetime.datetime(2100, 1, 1, tzinfo=datetime.UTC)  # retained for the whole run
FLASH_RE = re.compile(r'<p id="status" class="status( error)?" role="status">([^<]*)</p>')


class Pages:
    """A signed-in console, submitting forms as a browser does and reading the flash."""

    def __init__(self, server: ServerProcess, keys: Any) -> None:
        self.server = server
        self.client = ConsoleClient(server)
        assert self.client.sign_in(*keys).status_code == 303

    def get(self, path: str) -> requests.Response:
        return self.client.get(path)

    def submit(self, path: str, **fields: str) -> tuple[bool, str, str]:
        """(error?, the flash message, the page) after the form and its redirect."""
        answer = self.client.post_form(path, {"csrf": self.client.csrf, **fields})
        assert answer.status_code == 303, answer.text
        page = self.client.http.get(self.server.endpoint + answer.headers["location"],
                                    allow_redirects=False, timeout=30)  # fmt: skip
        found = FLASH_RE.search(page.text)
        assert found, page.text[:800]
        return bool(found.group(1)), html.unescape(found.group(2)), page.text


def _anonymous(server: ServerProcess, bucket: str, key: str) -> requests.Response:
    return requests.get(f"{server.endpoint}/{bucket}/{key}", verify=server.cert, timeout=30)


def _rows(page: str) -> list[str]:
    """The version ids a versions page lists, in its order."""
    return re.findall(r'<tr class="version" data-version="([^"]+)">', page)


@pytest.fixture(scope="module")
def owner(make_user: Any) -> Any:
    """One user for the module's buckets (a user is two admin commands: seconds)."""
    return make_user()


def test_versioning_toggle_persists(server: ServerProcess, owner: Any, client_for: Any,
                                    make_bucket: Any) -> None:  # fmt: skip
    s3 = client_for(*owner)
    bucket = make_bucket(s3)
    pages = Pages(server, owner)
    page = pages.get(f"b/{bucket}/settings")
    assert page.status_code == 200 and "not enabled (never was)" in page.text
    assert FLASH_RE.search(page.text) is None  # no message until a form was sent
    error, message, text = pages.submit(f"b/{bucket}/settings/versioning", status="Enabled")
    assert (error, message) == (False, "Versioning is now Enabled.")
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    assert 'id="versioning-state">Enabled<' in text and "Suspend versioning" in text
    assert FLASH_RE.search(pages.get(f"b/{bucket}/settings").text) is None  # shown once
    error, message, _ = pages.submit(f"b/{bucket}/settings/versioning", status="Suspended")
    assert (error, message) == (False, "Versioning is now Suspended.")
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Suspended"
    # Never back to unversioned: the form offers no such state and refuses it.
    error, message, _ = pages.submit(f"b/{bucket}/settings/versioning", status="")
    assert error and "never unversioned" in message
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Suspended"


def test_forms_need_the_csrf_token_and_the_owner(server: ServerProcess, owner: Any,
                                                 make_user: Any, client_for: Any,
                                                 make_bucket: Any) -> None:  # fmt: skip
    s3 = client_for(*owner)
    bucket = make_bucket(s3)
    pages = Pages(server, owner)
    refused = pages.client.post_form(f"b/{bucket}/settings/versioning", {"status": "Enabled"})
    assert refused.status_code == 403
    assert "Status" not in s3.get_bucket_versioning(Bucket=bucket)
    # Another user: S3 refuses to show them the bucket, or to change it.
    other = Pages(server, make_user())
    page = other.get(f"b/{bucket}/settings")
    assert page.status_code == 403
    assert "S3 refused to show this: AccessDenied: Access Denied" in page.text
    error, message, _ = other.submit(f"b/{bucket}/settings/versioning", status="Enabled")
    assert error and message.startswith("AccessDenied")
    assert "Status" not in s3.get_bucket_versioning(Bucket=bucket)
    # A name S3 cannot be asked about is a plain refusal, not a failure of the console.
    too_long = pages.get(f"b/{bucket}/download?key={'k' * 1025}")
    assert too_long.status_code == 400 and "1024 bytes" in too_long.text
    assert pages.get(f"b/{bucket}/nothing").status_code == 404


def test_policy_save_and_delete(server: ServerProcess, owner: Any, client_for: Any,
                                make_bucket: Any) -> None:  # fmt: skip
    s3 = client_for(*owner)
    bucket = make_bucket(s3)
    pages = Pages(server, owner)
    assert "no policy" in pages.get(f"b/{bucket}/settings").text
    policy = {"Version": "2012-10-17", "Statement": [{
        "Sid": "Deny", "Effect": "Deny", "Principal": "*", "Action": "s3:DeleteObject",
        "Resource": f"arn:aws:s3:::{bucket}/keep/*"}]}  # fmt: skip
    error, message, text = pages.submit(f"b/{bucket}/settings/policy", policy=json.dumps(policy))
    assert (error, message) == (False, "Saved the bucket policy.")
    assert json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"]) == policy
    assert "keep/*" in text and "Delete policy" in text
    error, message, _ = pages.submit(f"b/{bucket}/settings/policy", policy='{"Statement": [')
    assert error and message.startswith("MalformedPolicy: ")
    assert json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"]) == policy  # unchanged
    error, message, text = pages.submit(f"b/{bucket}/settings/policy-delete")
    assert (error, message) == (False, "Deleted the bucket policy.")
    with s3_error("NoSuchBucketPolicy", 404):
        s3.get_bucket_policy(Bucket=bucket)
    assert "no policy" in text


def test_public_prefix_template(server: ServerProcess, owner: Any, client_for: Any,
                                make_bucket: Any) -> None:  # fmt: skip
    s3 = client_for(*owner)
    bucket = make_bucket(s3)
    s3.put_object(Bucket=bucket, Key="public/a.txt", Body=b"for all")
    s3.put_object(Bucket=bucket, Key="private/b.txt", Body=b"mine")
    pages = Pages(server, owner)
    assert _anonymous(server, bucket, "public/a.txt").status_code == 403
    error, message, _ = pages.submit(f"b/{bucket}/settings/public-prefix", prefix="public/")
    assert (error, message) == (False, "Objects under 'public/' are now public.")
    assert _anonymous(server, bucket, "public/a.txt").content == b"for all"
    assert _anonymous(server, bucket, "private/b.txt").status_code == 403
    statements = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])["Statement"]
    assert [s["Resource"] for s in statements] == [f"arn:aws:s3:::{bucket}/public/*"]
    # Again for the same prefix: the statement is replaced, not repeated.
    pages.submit(f"b/{bucket}/settings/public-prefix", prefix="public/")
    assert len(json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])["Statement"]) == 1
    # Under a PublicAccessBlock S3 refuses a public policy, and the page says why.
    s3.delete_bucket_policy(Bucket=bucket)
    s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration={
        "BlockPublicPolicy": True})  # fmt: skip
    error, message, _ = pages.submit(f"b/{bucket}/settings/public-prefix", prefix="public/")
    assert error and message.startswith("AccessDenied")
    assert _anonymous(server, bucket, "public/a.txt").status_code == 403


def test_lifecycle_rules_add_list_delete(server: ServerProcess, owner: Any, client_for: Any,
                                         make_bucket: Any) -> None:  # fmt: skip
    s3 = client_for(*owner)
    bucket = make_bucket(s3)
    pages = Pages(server, owner)
    assert "No lifecycle rules." in pages.get(f"b/{bucket}/settings").text
    error, message, text = pages.submit(f"b/{bucket}/settings/lifecycle-add", prefix="logs/",
                                        days="7")  # fmt: skip
    assert (error, message) == (False, "Added the lifecycle rule.")
    rules = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    assert [(r["Filter"]["Prefix"], r["Expiration"]["Days"], r["Status"]) for r in rules] == [
        ("logs/", 7, "Enabled")]  # fmt: skip
    assert "expire after 7 days" in text and "prefix &#39;logs/&#39;" in text
    error, message, _ = pages.submit(f"b/{bucket}/settings/lifecycle-add", days="0")
    assert error and "at least 1" in message
    rule_id = rules[0]["ID"]
    error, message, text = pages.submit(f"b/{bucket}/settings/lifecycle-delete", id=rule_id)
    assert (error, message) == (False, f"Deleted the lifecycle rule {rule_id!r}.")
    with s3_error("NoSuchLifecycleConfiguration", 404):
        s3.get_bucket_lifecycle_configuration(Bucket=bucket)
    assert "No lifecycle rules." in text


def test_versions_page_lists_downloads_and_deletes(server: ServerProcess, owner: Any,
                                                   client_for: Any,
                                                   make_bucket: Any) -> None:  # fmt: skip
    s3 = client_for(*owner)
    bucket = make_bucket(s3)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    ids = [s3.put_object(Bucket=bucket, Key="doc.txt", Body=f"v{n}".encode())["VersionId"]
           for n in range(3)]  # fmt: skip
    s3.put_object(Bucket=bucket, Key="doc.txt.bak", Body=b"another key, same prefix")
    pages = Pages(server, owner)
    page = pages.get(f"b/{bucket}/versions?key=doc.txt")
    assert page.status_code == 200
    assert _rows(page.text) == ids[::-1]  # newest first, only this key's
    assert page.text.count("<strong>latest</strong>") == 1
    assert "Retention" not in page.text  # no object lock on this bucket
    download = pages.get(f"b/{bucket}/download?key=doc.txt&versionId={ids[0]}")
    assert download.status_code == 303
    got = requests.get(server.endpoint + download.headers["location"], verify=server.cert,
                       timeout=30)  # fmt: skip
    assert got.content == b"v0" and "attachment" in got.headers["content-disposition"]
    error, message, text = pages.submit(f"b/{bucket}/versions/delete", key="doc.txt",
                                        versionId=ids[1])  # fmt: skip
    assert (error, message) == (False, f"Deleted version {ids[1]}.")
    listed = s3.list_object_versions(Bucket=bucket, Prefix="doc.txt")["Versions"]
    assert [v["VersionId"] for v in listed if v["Key"] == "doc.txt"] == [ids[2], ids[0]]
    assert _rows(text) == [ids[2], ids[0]]
    s3.delete_object(Bucket=bucket, Key="doc.txt")
    assert "<em>delete marker</em>" in pages.get(f"b/{bucket}/versions?key=doc.txt").text


def test_versions_come_a_page_at_a_time(server: ServerProcess, owner: Any, client_for: Any,
                                        make_bucket: Any) -> None:  # fmt: skip
    s3 = client_for(*owner)
    bucket = make_bucket(s3)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    count = PAGE + 2
    ids = [s3.put_object(Bucket=bucket, Key="log", Body=b"")["VersionId"] for _ in range(count)]
    pages = Pages(server, owner)
    first = pages.get(f"b/{bucket}/versions?key=log").text
    assert _rows(first) == ids[::-1][:PAGE] and 'id="newest"' not in first
    older = re.search(r'id="older" href="/_console/([^"]+)"', first)
    assert older, first
    second = pages.get(html.unescape(older.group(1))).text
    assert _rows(second) == ids[::-1][PAGE:]
    assert 'id="older"' not in second and 'id="newest"' in second


def test_locked_version_stays_and_default_retention(server: ServerProcess, s3: Any,
                                                    unique_name: Any) -> None:  # fmt: skip
    bucket = unique_name("lock")  # its settings outlive the test, as object lock's do
    s3.create_bucket(Bucket=bucket, ObjectLockEnabledForBucket=True)
    version = s3.put_object(Bucket=bucket, Key="held", Body=b"x")["VersionId"]
    s3.put_object_legal_hold(Bucket=bucket, Key="held", VersionId=version,
                             LegalHold={"Status": "ON"})  # fmt: skip
    kept = s3.put_object(Bucket=bucket, Key="kept", Body=b"y", ObjectLockMode="GOVERNANCE",
                         ObjectLockRetainUntilDate=FAR)["VersionId"]  # fmt: skip
    pages = Pages(server, (server.root_access_key, server.root_secret_key))
    page = pages.get(f"b/{bucket}/versions?key=held").text
    assert "<td>none</td>\n        <td>on</td>" in page and "Retention" in page
    page = pages.get(f"b/{bucket}/versions?key=kept").text
    assert _rows(page) == [kept]
    assert "<td>GOVERNANCE until 2100-01-01 00:00 UTC</td>\n        <td>off</td>" in page
    error, message, text = pages.submit(f"b/{bucket}/versions/delete", key="held",
                                        versionId=version)  # fmt: skip
    assert error and message.startswith("AccessDenied")
    assert _rows(text) == [version]
    assert s3.get_object(Bucket=bucket, Key="held", VersionId=version)["Body"].read() == b"x"
    # The default retention: shown, set through S3 (which checks its limits), shown again.
    settings = pages.get(f"b/{bucket}/settings").text
    assert 'id="lock-state">enabled<' in settings and 'id="lock-default">none<' in settings
    error, message, text = pages.submit(f"b/{bucket}/settings/retention", mode="GOVERNANCE",
                                        amount="3", unit="days")  # fmt: skip
    assert (error, message) == (False, "Saved the default retention.")
    rule = s3.get_object_lock_configuration(Bucket=bucket)["ObjectLockConfiguration"]["Rule"]
    assert rule["DefaultRetention"] == {"Mode": "GOVERNANCE", "Days": 3}
    assert "GOVERNANCE, 3 days" in text
    error, message, _ = pages.submit(f"b/{bucket}/settings/retention", mode="COMPLIANCE",
                                     amount="101", unit="years")  # fmt: skip
    assert error and message.startswith("InvalidArgument: ")
    # A locked bucket's versioning cannot be suspended: S3's reason is the message.
    error, message, _ = pages.submit(f"b/{bucket}/settings/versioning", status="Suspended")
    assert error and message.startswith("InvalidBucketState: An Object Lock configuration")
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    # Once the hold is lifted the version may go (it predates the default retention).
    s3.put_object_legal_hold(Bucket=bucket, Key="held", VersionId=version,
                             LegalHold={"Status": "OFF"})  # fmt: skip
    error, message, _ = pages.submit(f"b/{bucket}/versions/delete", key="held",
                                     versionId=version)  # fmt: skip
    assert not error, message
    left = s3.list_object_versions(Bucket=bucket, Prefix="held").get("Versions", [])
    assert [v for v in left if v["Key"] == "held"] == []


def test_a_lock_the_rate_limit_hid_is_not_shown_as_none(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """The pages' S3 requests count against the key's rate limit: a version whose
    HeadObject was refused (503 SlowDown) says so instead of showing no lock."""
    data = tmp_path_factory.mktemp("console-rate") / "data"
    with ServerProcess(data_dir=data, rate_limit=1000, extra_args=["--rate-burst", "5"]) as srv:
        s3 = boto3.client("s3", endpoint_url=srv.endpoint, region_name=REGION, verify=srv.cert,
                          aws_access_key_id=srv.root_access_key,
                          aws_secret_access_key=srv.root_secret_key,
                          config=Config(s3={"addressing_style": "path"}))  # fmt: skip
        s3.create_bucket(Bucket="locked", ObjectLockEnabledForBucket=True)
        for _ in range(6):
            s3.put_object(Bucket="locked", Key="k", Body=b"")
        key = srv.create_key("root")  # its own tokens: 5 at once, then one a minute or so
        srv.admin("key", "limit", str(key["access_key"]), "0.01")
        pages = Pages(srv, (str(key["access_key"]), str(key["secret_key"])))
        page = pages.get("b/locked/versions?key=k")
        assert page.status_code == 200 and len(_rows(page.text)) == 6
        # The listing and the lock configuration took 2 tokens, 3 HEADs the rest.
        assert page.text.count("not shown by S3 (HTTP 503): reload") == 3
        assert page.text.count("<td>off</td>") == 3
