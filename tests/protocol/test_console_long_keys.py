"""A key of 1,024 bytes of UTF-8 (the S3 maximum) with spaces, "+", "%", "#", "?" and
letters outside ASCII, in a folder whose name has them too, through every page and
link of the object browser in headless Chromium: browse into the folder, details,
download, share link, delete; and back from sign-in to the same folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

import requests

from ._server import ServerProcess
from ._types import MakeBucket

UNIT = "a b+c%2F#?ü€😀 "  # 20 bytes of UTF-8: what browsers and URLs get wrong
FOLDER = (UNIT * 10).strip() + "/"
NAME = UNIT * 40 + "x" * (1024 - len((FOLDER + UNIT * 40 + ".txt").encode())) + ".txt"
KEY = FOLDER + NAME
BODY = b"the bytes behind a very long key\n"


def test_the_key_is_as_long_as_s3_allows() -> None:
    assert len(KEY.encode("utf-8")) == 1024 and KEY.count("/") == 1


def _browser_url(server: ServerProcess, bucket: str, prefix: str) -> str:
    return f"{server.endpoint}/_console/b/{bucket}/?prefix={quote(prefix, safe='')}"


def test_a_1024_byte_key_in_every_page_and_link(
    tab: Any, server: ServerProcess, make_user: Any, client_for: Any, make_bucket: MakeBucket,
    tmp_path: Path,
) -> None:  # fmt: skip
    user = make_user()
    s3 = client_for(*user)
    bucket = make_bucket(s3)
    s3.put_object(Bucket=bucket, Key=KEY, Body=BODY)
    # Signed out, the folder's page goes to sign-in and comes back to it.
    tab.goto(_browser_url(server, bucket, FOLDER))
    assert "/_console/signin" in tab.url
    tab.fill("#access_key", user.access_key)
    tab.fill("#secret_key", user.secret_key)
    tab.click("#signin")
    tab.wait_for_selector("#browser[data-listed=yes]")
    assert tab.get_attribute("#browser", "data-prefix") == FOLDER
    # The bucket's root: the folder is a link, and following it lists the key.
    tab.goto(f"{server.endpoint}/_console/b/{bucket}/")
    tab.wait_for_selector("#browser[data-listed=yes]")
    folder = tab.locator("tr.folder a")
    assert folder.inner_text() == FOLDER
    folder.click()
    tab.wait_for_selector("tr.object")
    assert tab.get_attribute("#browser", "data-prefix") == FOLDER
    row = tab.locator("tr.object")
    assert row.get_attribute("data-key") == KEY
    assert row.locator("button.details").inner_text() == NAME
    assert tab.locator("#crumbs a").all_inner_texts()[-1] == FOLDER[:-1]
    # Details, then a share link fetched by a plain HTTP client.
    row.locator("button.details").click()
    tab.wait_for_selector("#details-list dt")
    assert tab.inner_text("#details-name") == KEY
    assert f"{len(BODY)} B" in tab.inner_text("#details-list")
    tab.click("#share")
    tab.wait_for_selector("#share-url:not([hidden])")
    shared = requests.get(tab.input_value("#share-url"), verify=server.cert, timeout=30)
    assert shared.status_code == 200 and shared.content == BODY
    # Download: the bytes, and the file named after the key's last part.
    with tab.expect_download() as download:
        row.locator("button.download").click()
    assert Path(download.value.path()).read_bytes() == BODY
    # The whole name came in the Content-Disposition (Chromium makes "?" a "_").
    assert download.value.suggested_filename == NAME.replace("?", "_")
    # Delete: gone from the page and from the bucket.
    row.locator("button.delete").click()
    tab.wait_for_selector("tr.object", state="detached")
    assert s3.list_objects_v2(Bucket=bucket).get("KeyCount") == 0
