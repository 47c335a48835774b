"""The console's second slice in a real browser (Playwright, the distribution's headless
Chromium): the dashboard's request chart, a bucket made public and private again and its
CORS rules edited, a share link's QR code, a key's rate limit, the restore of an archived
object, a multipart upload whose failed part is sent again, and the server-rendered bucket
settings and versions pages.

Set CONSOLE_SCREENSHOTS=DIR to save screenshots of these pages there (docs/console/).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from ._console import ConsoleClient
from ._server import ServerProcess
from ._util import rand
from .test_console_browser import _shot, _sign_in


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A tab that confirms every question and answers a prompt with ``tab.answer``."""
    context = browser.new_context(ignore_https_errors=True, accept_downloads=True)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    tab.on("console", lambda m: errors.append(m.text) if "Content Security" in m.text else None)
    tab.on("dialog", lambda d: d.accept(getattr(tab, "answer", "")) if d.type == "prompt"
           else d.accept())  # fmt: skip
    yield tab
    context.close()
    assert not errors, errors  # no script error, no CSP refusal on any page


def test_chart_bucket_settings_qr_and_rate_limit_in_chromium(
    page: Any, server: ServerProcess, s3: Any, make_bucket: Any, make_user: Any
) -> None:
    bucket = make_bucket(s3)
    s3.put_object(Bucket=bucket, Key="shared/photo ü.txt", Body=b"look at this")
    _sign_in(page, server, server.root_access_key, server.root_secret_key)

    page.goto(server.endpoint + "/_console/")
    page.wait_for_selector("#traffic[data-drawn]")
    assert int(page.get_attribute("#traffic", "data-drawn")) > 0  # this session's requests
    assert page.locator("#traffic rect.requests").count() == 60
    assert "requests" in page.inner_text("#traffic-total")
    _shot(page, "dashboard-chart")

    page.goto(server.endpoint + "/_console/buckets")
    page.click(f"button.bucket-settings[data-bucket='{bucket}']")
    page.wait_for_selector("#access-state >> text=private")
    anonymous = f"{server.endpoint}/{bucket}/shared/photo%20%C3%BC.txt"
    assert requests.get(anonymous, verify=server.cert, timeout=30).status_code == 403
    page.click("#make-public")
    page.wait_for_selector("#access-state >> text=public")
    listing = requests.get(f"{server.endpoint}/{bucket}", verify=server.cert, timeout=30)
    assert listing.status_code == 200 and "photo ü.txt" in listing.text
    assert requests.get(anonymous, verify=server.cert, timeout=30).status_code == 403
    page.click("#cors-example")
    page.click("#cors-save")
    page.wait_for_selector("#status >> text=Saved the CORS rules")
    rules = s3.get_bucket_cors(Bucket=bucket)["CORSRules"]
    assert rules[0]["AllowedOrigins"] == ["https://example.com"]
    assert "https://example.com" in page.input_value("#cors-xml")  # read back from S3
    _shot(page, "bucket-settings")
    page.click("#make-private")
    page.wait_for_selector("#access-state >> text=private")
    listing = requests.get(f"{server.endpoint}/{bucket}", verify=server.cert, timeout=30)
    assert listing.status_code == 403
    page.click("#cors-delete")
    page.wait_for_selector("#settings[data-cors=none]")
    with pytest.raises(Exception, match="NoSuchCORSConfiguration"):
        s3.get_bucket_cors(Bucket=bucket)

    page.goto(f"{server.endpoint}/_console/b/{bucket}/?prefix=shared/")
    page.click("tr.object button.details")
    page.click("#share")
    page.wait_for_selector("#object-access >> text=private")
    page.click("#object-public")
    page.wait_for_selector("#object-access >> text=public")
    assert requests.get(anonymous, verify=server.cert, timeout=30).content == b"look at this"
    page.click("#object-private")
    page.wait_for_selector("#object-access >> text=private")
    assert requests.get(anonymous, verify=server.cert, timeout=30).status_code == 403
    page.wait_for_selector("#share-qr:not([hidden])")
    assert page.locator("#share-qr-image").evaluate("img => img.complete && img.naturalWidth > 0")
    assert page.locator("#restore").is_hidden()  # this server needs no restores
    _shot(page, "share-qr")

    user = make_user()
    page.goto(server.endpoint + "/_console/keys")
    page.answer = "2.5"
    page.click(f"button.rate-key[data-key='{user.access_key}']")
    page.wait_for_selector(f"tr[data-key='{user.access_key}'] .key-rate >> text=2.5/s")
    _shot(page, "keys-rate")
    listed = server.admin_json("key", "list")
    assert isinstance(listed, list), listed
    assert any(k["access_key"] == user.access_key and k["rate_limit"] == 2.5 for k in listed)


def test_a_failed_part_is_sent_again_and_the_upload_completes(
    page: Any, server: ServerProcess, make_user: Any, client_for: Any, make_bucket: Any,
    tmp_path: Path,
) -> None:  # fmt: skip
    user = make_user()
    s3 = client_for(*user)
    bucket = make_bucket(s3)
    big = tmp_path / "retry.bin"
    big.write_bytes(rand(17 * 1024 * 1024))  # multipart: parts of 8, 8 and 1 MiB
    tries: list[str] = []

    def part_two(route: Any) -> None:
        tries.append(route.request.url)
        if len(tries) == 1:
            route.abort("connectionreset")  # the first try of part 2 fails on the way
        else:
            route.continue_()

    page.route("**/*partNumber=2&*", part_two)
    _sign_in(page, server, *user)
    page.goto(f"{server.endpoint}/_console/b/{bucket}/")
    page.wait_for_selector("#browser[data-listed=yes]")
    page.set_input_files("#file-input", str(big))
    page.wait_for_selector("tr.object[data-key='retry.bin']", timeout=60000)
    assert page.locator("#uploads li.done").count() == 1
    assert len(tries) == 2  # part 2 failed once and was sent again
    got = s3.get_object(Bucket=bucket, Key="retry.bin")
    assert got["ETag"].endswith('-3"')
    digest = hashlib.sha256(got["Body"].read()).hexdigest()
    assert digest == hashlib.sha256(big.read_bytes()).hexdigest()
    s3.delete_object(Bucket=bucket, Key="retry.bin")


def test_restore_an_archived_object_in_chromium(
    page: Any, tmp_path_factory: pytest.TempPathFactory
) -> None:
    data = tmp_path_factory.mktemp("console-restore") / "data"
    args = ["--archive-restore-required", "true", "--archive-restore-seconds", "1"]
    with ServerProcess(data_dir=data, extra_args=args) as srv:
        root = ConsoleClient(srv)
        root.sign_in(srv.root_access_key, srv.root_secret_key)
        assert root.action("api/buckets", {"name": "cold", "tier": "archive"}).ok
        put = requests.put(root.url("PutObject", "cold", "old scan.pdf"), data=b"%PDF",
                           verify=srv.cert, timeout=30)  # fmt: skip
        assert put.status_code == 200
        _sign_in(page, srv, srv.root_access_key, srv.root_secret_key)
        page.goto(srv.endpoint + "/_console/b/cold/")
        page.click("tr.object button.details")
        page.wait_for_selector("#restore-state >> text=not restored")
        page.fill("#restore-days", "3")
        page.click("#restore-start")
        page.wait_for_selector("#restore-state >> text=restore in progress")
        _shot(page, "restore")
        time.sleep(1.2)
        page.click("tr.object button.details")
        page.wait_for_selector("#restore-state >> text=restored until")
        with page.expect_download() as download:
            page.click("tr.object button.download")
        assert Path(download.value.path()).read_bytes() == b"%PDF"


def test_versioning_versions_and_public_prefix_in_chromium(
    page: Any, server: ServerProcess, s3: Any, make_bucket: Any
) -> None:
    """The server-rendered forms from a real browser: their POSTs pass the origin and
    CSRF checks, data-confirm asks first, and the outcome shows once as a message."""
    bucket = make_bucket(s3)
    _sign_in(page, server, server.root_access_key, server.root_secret_key)
    page.click(f"tr[data-bucket='{bucket}'] a[href$='/settings']")
    page.wait_for_selector("#versioning-state >> text=not enabled")
    page.click("#versioning button[type=submit]")
    page.wait_for_selector("#versioning-state >> text=Enabled")
    assert page.inner_text("#status") == "Versioning is now Enabled."
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    page.fill("#policy input[name=prefix]", "public/")
    page.click("#policy form:has(input[name=prefix]) button")
    page.wait_for_selector("#status >> text=are now public")
    assert f"arn:aws:s3:::{bucket}/public/*" in page.input_value("#policy textarea")
    _shot(page, "bucket-versioning-policy")
    first = s3.put_object(Bucket=bucket, Key="public/a.txt", Body=b"one")["VersionId"]
    s3.put_object(Bucket=bucket, Key="public/a.txt", Body=b"two")
    page.goto(f"{server.endpoint}/_console/b/{bucket}/?prefix=public/")
    page.click("tr.object button.details")
    page.click("#versions-link")
    page.wait_for_selector("tr.version")
    assert page.locator("tr.version").count() == 2
    with page.expect_download() as download:
        page.click(f"tr.version[data-version='{first}'] a.button")
    assert Path(download.value.path()).read_bytes() == b"one"
    _shot(page, "versions")
    page.click(f"tr.version[data-version='{first}'] button.danger")  # confirmed (fixture)
    page.wait_for_selector("#status >> text=Deleted version")
    assert page.locator("tr.version").count() == 1
    versions = s3.list_object_versions(Bucket=bucket)["Versions"]
    assert len(versions) == 1 and versions[0]["VersionId"] != first
