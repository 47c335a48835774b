"""The console in a real browser: Playwright drives the distribution's headless Chromium
(``make browser-deps``; no browser download). Sign in, create a bucket, upload a small and
a multipart file through the page, browse, download byte-exact, share, delete, sign out.

Set CONSOLE_SCREENSHOTS=DIR to save a screenshot of each page there (docs/console/).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from ._server import ServerProcess
from ._util import rand

EVIL_KEY = "<img src=x onerror=alert(1)> & ünï code+%.txt"
SCRIPT_KEY = "<script>alert(1)</script>"


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(ignore_https_errors=True, accept_downloads=True)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    tab.on("dialog", lambda dialog: dialog.accept())  # the delete confirmations
    yield tab
    context.close()
    assert not errors, errors  # no script error on any page (a CSP refusal would be one)


def _shot(page: Any, name: str, full_page: bool = True) -> None:
    where = os.environ.get("CONSOLE_SCREENSHOTS")
    if where:
        Path(where).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(where) / f"{name}.png"), full_page=full_page)


def _sign_in(page: Any, server: ServerProcess, access_key: str, secret_key: str) -> None:
    page.goto(server.endpoint + "/_console/buckets")
    assert "/_console/signin" in page.url
    _shot(page, "signin")
    page.fill("#access_key", access_key)
    page.fill("#secret_key", secret_key)
    page.click("#signin")
    page.wait_for_url(server.endpoint + "/_console/buckets")  # back where it was going


def test_upload_browse_download_share_delete_in_chromium(
    page: Any, server: ServerProcess, make_user: Any, client_for: Any, tmp_path: Path,
    unique_name: Any,
) -> None:  # fmt: skip
    user = make_user()
    s3 = client_for(*user)
    _sign_in(page, server, *user)
    bucket = unique_name("web")
    page.fill("#bucket-name", bucket)
    page.click("#create-bucket button[type=submit]")
    page.wait_for_selector(f"tr[data-bucket='{bucket}']")
    s3.head_bucket(Bucket=bucket)
    _shot(page, "buckets")

    small, large = tmp_path / "notes ünï.txt", tmp_path / "big.bin"
    small.write_bytes(b"hello from the console\n")
    large.write_bytes(rand(20 * 1024 * 1024 + 3))  # three 8 MiB parts, in parallel
    s3.put_object(Bucket=bucket, Key="docs/" + EVIL_KEY, Body=b"evil name")
    s3.put_object(Bucket=bucket, Key="docs/" + SCRIPT_KEY, Body=b"")
    page.goto(f"{server.endpoint}/_console/b/{bucket}/?prefix=docs/")
    page.wait_for_selector("#browser[data-listed=yes]")
    page.set_input_files("#file-input", [str(small), str(large)])
    page.wait_for_selector("tr.object[data-key='docs/big.bin']", timeout=60000)
    page.wait_for_selector("tr.object[data-key='docs/notes ünï.txt']")
    assert page.locator("#uploads li.done").count() == 2
    overall = page.locator("#overall")
    assert overall.evaluate("bar => bar.value === bar.max && !bar.hidden")
    assert overall.evaluate("bar => bar.max") == small.stat().st_size + large.stat().st_size
    assert page.locator("#uploads progress").evaluate_all(
        "bars => bars.every(b => b.value === b.max)")  # fmt: skip
    head = s3.head_object(Bucket=bucket, Key="docs/big.bin")
    assert head["ContentLength"] == large.stat().st_size
    assert head["ETag"].endswith('-3"')  # a multipart upload
    # The key with markup in it is a row whose text is the key: no element was made of it.
    evil = page.locator("tr.object button.details", has_text="<img src=x")
    assert evil.inner_text() == EVIL_KEY
    # Its "/" makes a folder of "<script>alert(1)</": a link whose text is just that.
    script = page.locator("tr.folder a", has_text="<script>")
    assert script.inner_text() == "<script>alert(1)</"
    assert page.locator("#rows img, #rows script").count() == 0
    crumbs = page.locator("#crumbs a").all_inner_texts()
    assert crumbs == ["Buckets", bucket, "docs"]
    _shot(page, "objects")

    with page.expect_download() as download:
        page.click("tr.object[data-key='docs/big.bin'] button.download")
    assert Path(download.value.path()).read_bytes() == large.read_bytes()
    assert download.value.suggested_filename == "big.bin"

    tags = {"TagSet": [{"Key": "kind", "Value": "notes ünï"}]}
    s3.put_object_tagging(Bucket=bucket, Key="docs/notes ünï.txt", Tagging=tags)
    page.click("tr.object[data-key='docs/notes ünï.txt'] button.details")
    page.wait_for_selector("#details-list dt")
    details = page.inner_text("#details-list")
    assert "text/plain" in details
    assert "tag kind\nnotes ünï" in details
    page.select_option("#share-lifetime", "86400")
    page.click("#share")
    page.wait_for_selector("#share-url:not([hidden])")
    link = page.input_value("#share-url")
    assert "X-Amz-Expires=86400" in link
    assert requests.get(link, verify=server.cert, timeout=30).content == small.read_bytes()
    _shot(page, "details")

    page.goto(server.endpoint + "/_console/")
    total = len(b"evil name") + small.stat().st_size + large.stat().st_size
    rows = page.locator("table.totals tbody tr").all_inner_texts()
    assert [r.split("\t")[:3] for r in rows] == [["Standard", "1", "4"], ["Archive", "0", "0"]]
    assert page.locator("table.totals td[title]").first.get_attribute("title") == f"{total} bytes"
    _shot(page, "dashboard")
    page.goto(f"{server.endpoint}/_console/b/{bucket}/?prefix=docs/")
    page.wait_for_selector("#browser[data-listed=yes]")

    page.check("tr.object[data-key='docs/big.bin'] input.pick")
    page.check("tr.object[data-key='docs/notes ünï.txt'] input.pick")
    page.click("#delete-selected")
    page.wait_for_selector("tr.object[data-key='docs/big.bin']", state="detached")
    left = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]
    assert left == ["docs/" + EVIL_KEY, "docs/" + SCRIPT_KEY]
    for key in left:
        s3.delete_object(Bucket=bucket, Key=key)

    page.goto(server.endpoint + "/_console/buckets")
    page.click(f"button.delete-bucket[data-bucket='{bucket}']")
    page.wait_for_selector(f"tr[data-bucket='{bucket}']", state="detached")
    assert bucket not in [b["Name"] for b in s3.list_buckets()["Buckets"]]

    page.click("form.signout button")
    page.wait_for_url(server.endpoint + "/_console/signin")
    page.goto(server.endpoint + "/_console/")
    assert "/_console/signin" in page.url


def test_a_refused_bucket_delete_shows_s3s_reason(
    page: Any, server: ServerProcess, make_user: Any, client_for: Any, make_bucket: Any
) -> None:
    user = make_user()
    s3 = client_for(*user)
    bucket = make_bucket(s3)
    s3.put_object(Bucket=bucket, Key="keep", Body=b"x")
    _sign_in(page, server, *user)
    page.click(f"button.delete-bucket[data-bucket='{bucket}']")
    page.wait_for_selector("#status.error")
    assert "BucketNotEmpty" in page.inner_text("#status")
    s3.head_bucket(Bucket=bucket)


def test_access_keys_page_creates_rotates_and_enables_keys(
    page: Any, server: ServerProcess, make_user: Any, client_for: Any
) -> None:
    user = make_user()
    _sign_in(page, server, *user)
    page.goto(server.endpoint + "/_console/keys")
    page.click("#create-key")
    page.wait_for_selector("#new-key:not([hidden])")
    access_key = page.inner_text("#new-access-key")
    secret_key = page.inner_text("#new-secret-key")
    client_for(access_key, secret_key).list_buckets()
    _shot(page, "keys")
    page.reload()
    assert secret_key not in page.content()
    page.click(f"button.rotate-key[data-key='{access_key}']")
    page.wait_for_selector(f"tr[data-key='{access_key}'] .key-state >> text=Disabled")
    rotated = page.inner_text("#new-access-key")
    assert rotated != access_key
    client_for(rotated, page.inner_text("#new-secret-key")).list_buckets()
    with pytest.raises(Exception, match="InvalidAccessKeyId"):
        client_for(access_key, secret_key).list_buckets()
    page.reload()
    page.click(f"button.toggle-key[data-key='{access_key}']")  # enable it again
    page.wait_for_selector(f"tr[data-key='{access_key}'] .key-state >> text=Enabled")
    client_for(access_key, secret_key).list_buckets()


def test_root_creates_and_removes_a_user_in_the_page(
    page: Any, server: ServerProcess, client_for: Any, unique_name: Any
) -> None:
    _sign_in(page, server, server.root_access_key, server.root_secret_key)
    page.goto(server.endpoint + "/_console/users")
    name = unique_name("person")
    page.fill("#user-name", name)
    page.click("#create-user button[type=submit]")
    page.wait_for_selector("#new-user:not([hidden])")
    made = client_for(page.inner_text("#new-user-key"), page.inner_text("#new-user-secret"))
    made.list_buckets()
    _shot(page, "users")
    page.reload()
    page.click(f"button.delete-user[data-user='{name}']")
    page.wait_for_selector(f"button.delete-user[data-user='{name}']", state="detached")
    with pytest.raises(Exception, match="InvalidAccessKeyId"):
        made.list_buckets()


def test_upload_a_folder_and_browse_into_it(
    page: Any, server: ServerProcess, make_user: Any, client_for: Any, make_bucket: Any,
    tmp_path: Path,
) -> None:  # fmt: skip
    user = make_user()
    s3 = client_for(*user)
    bucket = make_bucket(s3)
    folder = tmp_path / "photos"
    (folder / "2026 trip").mkdir(parents=True)
    (folder / "a.txt").write_bytes(b"a")
    (folder / "2026 trip" / "b+c.txt").write_bytes(b"bc")
    _sign_in(page, server, *user)
    page.goto(f"{server.endpoint}/_console/b/{bucket}/")
    page.wait_for_selector("#browser[data-listed=yes]")
    page.set_input_files("#folder-input", str(folder))
    page.wait_for_selector("#status >> text=Uploaded 2 file(s).")
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"])
    assert keys == ["photos/2026 trip/b+c.txt", "photos/a.txt"]
    page.click("tr.folder a >> text=photos/")
    page.wait_for_selector("tr.object[data-key='photos/a.txt']")
    page.click("tr.folder a >> text=2026 trip/")
    page.wait_for_selector("tr.object[data-key='photos/2026 trip/b+c.txt']")
    assert page.locator("#crumbs a").all_inner_texts() == ["Buckets", bucket, "photos", "2026 trip"]
    page.fill("#filter-text", "nothing")
    page.click("#filter button")
    page.wait_for_selector("td.empty")
    for key in keys:
        s3.delete_object(Bucket=bucket, Key=key)


def test_paging_through_a_long_folder(
    page: Any, server: ServerProcess, make_user: Any, client_for: Any, make_bucket: Any
) -> None:
    user = make_user()
    s3 = client_for(*user)
    bucket = make_bucket(s3)
    for i in range(230):  # a page is 200 keys
        s3.put_object(Bucket=bucket, Key=f"k{i:03d}", Body=b"")
    _sign_in(page, server, *user)
    page.goto(f"{server.endpoint}/_console/b/{bucket}/")
    page.wait_for_selector("#browser[data-listed=yes]")
    assert page.locator("tr.object").count() == 200
    assert page.locator("#first").is_hidden()
    page.click("#next")
    page.wait_for_url("**after=k199")
    page.wait_for_selector("tr.object[data-key='k229']")
    assert page.locator("tr.object").count() == 30  # k200 to k229: the page after k199
    assert page.locator("tr.object").first.get_attribute("data-key") == "k200"
    assert page.locator("#next").is_hidden()
    page.go_back()  # the previous page is the browser's: each page is a URL
    page.wait_for_selector("tr.object[data-key='k000']")


def test_files_dropped_on_the_page_are_uploaded(
    page: Any, server: ServerProcess, make_user: Any, client_for: Any, make_bucket: Any
) -> None:
    user = make_user()
    s3 = client_for(*user)
    bucket = make_bucket(s3)
    _sign_in(page, server, *user)
    page.goto(f"{server.endpoint}/_console/b/{bucket}/?prefix=in/")
    page.wait_for_selector("#browser[data-listed=yes]")
    transfer = page.evaluate_handle(
        """() => {
            const t = new DataTransfer();
            t.items.add(new File(["dropped one"], "one.txt", { type: "text/plain" }));
            t.items.add(new File(["dropped two"], "two %+.txt"));
            return t;
        }"""
    )
    page.dispatch_event("#drop", "drop", {"dataTransfer": transfer})
    page.wait_for_selector("#status >> text=Uploaded 2 file(s).")
    got = {
        k: s3.get_object(Bucket=bucket, Key=k)["Body"].read()
        for k in ("in/one.txt", "in/two %+.txt")
    }
    assert got == {"in/one.txt": b"dropped one", "in/two %+.txt": b"dropped two"}
    for key in got:
        s3.delete_object(Bucket=bucket, Key=key)
