"""A real browser on another origin uploads to the gateway: headless Chromium loads a
small page (tests/protocol/browser/) from a plain-HTTP server on 127.0.0.1, and the page's
script uses fetch() with presigned URLs (PUT, then GET) and a presigned POST form
(FormData). Chromium enforces CORS itself: the preflight, the Access-Control-* answers and
the exposed headers all have to be right for the page to see success.

Needs the Debian package ``chromium`` (``make browser-deps``); this test installs nothing.
"""

from __future__ import annotations

import functools
import hashlib
import html
import json
import re
import shutil
import subprocess
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from ._util import etag

PAGE_DIR = Path(__file__).resolve().parent / "browser"
RESULT_RE = re.compile(r'<pre id="result">(.*?)</pre>', re.S)
TITLE_RE = re.compile(r"<title>(.*?)</title>", re.S)


@pytest.fixture(scope="session")
def chromium() -> str:
    path = shutil.which("chromium")
    if path is None:
        pytest.fail(
            "headless Chromium is required for the browser tests but `chromium` is not on "
            "PATH: run `make browser-deps` (installs the Debian package chromium)",
            pytrace=False,
        )
    return path


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "no-store")
        super().end_headers()


@pytest.fixture(scope="session")
def page_origin() -> Iterator[str]:
    """A static web server for the test page: plain HTTP, another origin than the gateway."""
    handler = functools.partial(_QuietHandler, directory=str(PAGE_DIR))
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture
def browse(chromium: str, page_origin: str, tmp_path: Path) -> Any:
    """Load the upload page with these instructions; returns (title, result dict)."""

    def run(params: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        url = f"{page_origin}/upload.html#{quote(json.dumps(params), safe='')}"
        profile = tmp_path / f"profile-{len(list(tmp_path.iterdir()))}"
        cmd = [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            f"--user-data-dir={profile}",
            "--ignore-certificate-errors",
            "--virtual-time-budget=20000",
            "--dump-dom",
            url,
        ]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        dom = proc.stdout
        found = RESULT_RE.search(dom)
        title = TITLE_RE.search(dom)
        assert found and title, (
            f"no result in the page (chromium exit {proc.returncode})\nDOM:\n{dom[-3000:]}\n"
            f"stderr:\n{proc.stderr[-3000:]}"
        )
        text = html.unescape(found.group(1))
        assert text != "pending", f"the page script did not finish:\n{proc.stderr[-3000:]}"
        return html.unescape(title.group(1)), json.loads(text)

    return run


@pytest.fixture
def s3v4(client_for: Any, server: Any) -> Any:
    return client_for(server.root_access_key, server.root_secret_key, signature_version="s3v4")


def allow_page(s3: Any, bucket: str, origin: str, methods: list[str]) -> None:
    s3.put_bucket_cors(
        Bucket=bucket,
        CORSConfiguration={
            "CORSRules": [
                {
                    "AllowedOrigins": [origin],
                    "AllowedMethods": methods,
                    "AllowedHeaders": ["*"],
                    "ExposeHeaders": ["ETag"],
                    "MaxAgeSeconds": 60,
                }
            ]
        },
    )


def keys_in(s3: Any, bucket: str) -> list[str]:
    return [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]


def presigned_put_get(s3v4: Any, bucket: str, key: str) -> dict[str, Any]:
    put_url = s3v4.generate_presigned_url(
        "put_object",
        Params={"Bucket": bucket, "Key": key, "Metadata": {"from": "browser"}},
        ExpiresIn=600,
    )
    get_url = s3v4.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=600
    )
    return {
        "mode": "put",
        "putUrl": put_url,
        # a signed, non-safelisted header: the preflight must allow it
        "putHeaders": {"x-amz-meta-from": "browser"},
        "getUrl": get_url,
    }


def test_browser_put_and_get_with_presigned_urls(
    s3: Any, s3v4: Any, bucket: str, browse: Any, page_origin: str
) -> None:
    allow_page(s3, bucket, page_origin, ["GET", "PUT"])
    body = "uploaded by Chromium from another origin: héllo ✓"
    params = {**presigned_put_get(s3v4, bucket, "from browser/ünïcode.txt"), "body": body}
    title, result = browse(params)
    assert title == "done", result
    assert result["ok"] is True, result
    expected_etag = etag(body.encode())
    assert result["putStatus"] == 200, result
    assert result["putEtag"] == expected_etag, result  # readable only via ExposeHeaders
    assert result["getStatus"] == 200, result
    assert result["getBody"] == body, result
    assert result["getEtag"] == expected_etag, result
    got = s3.get_object(Bucket=bucket, Key="from browser/ünïcode.txt")
    assert got["Body"].read() == body.encode()
    assert got["Metadata"] == {"from": "browser"}


def test_browser_anonymous_put_to_public_bucket(
    s3: Any, bucket: str, browse: Any, page_origin: str, server: Any
) -> None:
    # No query-string signature: the preflight and CORS answers alone decide, so this
    # isolates the browser's CORS handling from presigned-URL authentication.
    s3.put_bucket_acl(Bucket=bucket, ACL="public-read-write")
    allow_page(s3, bucket, page_origin, ["GET", "PUT"])
    url = f"{server.endpoint}/{bucket}/public.txt"
    body = "anonymous upload from a page"
    title, result = browse(
        {
            "mode": "put",
            "putUrl": url,
            "putHeaders": {"x-amz-acl": "public-read", "Content-Type": "text/plain"},
            "getUrl": url,
            "body": body,
        }
    )
    assert title == "done", result
    assert result["putStatus"] == 200, result
    assert result["putEtag"] == etag(body.encode()), result
    assert result["getBody"] == body, result
    assert result["getContentType"] == "text/plain", result
    listed = s3.list_objects_v2(Bucket=bucket)["Contents"]
    assert [(o["Key"], o["Size"]) for o in listed] == [("public.txt", len(body))]


def test_browser_anonymous_put_refused_without_cors(
    s3: Any, bucket: str, browse: Any, server: Any
) -> None:
    s3.put_bucket_acl(Bucket=bucket, ACL="public-read-write")
    url = f"{server.endpoint}/{bucket}/public.txt"
    title, result = browse(
        {
            "mode": "put",
            "putUrl": url,
            "putHeaders": {"x-amz-acl": "public-read"},
            "getUrl": url,
            "body": "should not arrive",
        }
    )
    assert title == "failed", result
    assert "putStatus" not in result, result
    assert keys_in(s3, bucket) == []


def test_browser_put_refused_without_cors(s3: Any, s3v4: Any, bucket: str, browse: Any) -> None:
    params = {**presigned_put_get(s3v4, bucket, "nope.txt"), "body": "should not arrive"}
    title, result = browse(params)
    assert title == "failed", result
    assert result["ok"] is False, result
    assert "putStatus" not in result, result  # the preflight failed: no response at all
    assert "Failed to fetch" in result.get("error", ""), result
    assert keys_in(s3, bucket) == []


def test_browser_put_refused_for_other_origin(s3: Any, s3v4: Any, bucket: str, browse: Any) -> None:
    allow_page(s3, bucket, "https://some-other-app.example.test", ["GET", "PUT"])
    params = {**presigned_put_get(s3v4, bucket, "nope.txt"), "body": "should not arrive"}
    title, result = browse(params)
    assert title == "failed", result
    assert "putStatus" not in result, result
    assert keys_in(s3, bucket) == []


def test_browser_put_refused_when_header_not_allowed(
    s3: Any, s3v4: Any, bucket: str, browse: Any, page_origin: str
) -> None:
    s3.put_bucket_cors(
        Bucket=bucket,
        CORSConfiguration={
            "CORSRules": [
                {
                    "AllowedOrigins": [page_origin],
                    "AllowedMethods": ["GET", "PUT"],
                    "AllowedHeaders": ["content-type"],  # not x-amz-meta-from
                }
            ]
        },
    )
    params = {**presigned_put_get(s3v4, bucket, "nope.txt"), "body": "should not arrive"}
    title, result = browse(params)
    assert title == "failed", result
    assert "putStatus" not in result, result
    assert keys_in(s3, bucket) == []


@pytest.mark.parametrize("sigv4", [True, False], ids=["sigv4", "sigv2"])
def test_browser_presigned_post_form(
    s3: Any, s3v4: Any, bucket: str, browse: Any, page_origin: str, sigv4: bool
) -> None:
    allow_page(s3, bucket, page_origin, ["GET", "POST"])
    signer = s3v4 if sigv4 else s3
    form = signer.generate_presigned_post(
        bucket,
        "forms/${filename}",
        Fields={"Content-Type": "text/plain", "success_action_status": "201"},
        Conditions=[
            ["starts-with", "$Content-Type", "text/"],
            {"success_action_status": "201"},
            ["content-length-range", 1, 1024 * 1024],
        ],
        ExpiresIn=600,
    )
    body = "posted from a FormData in Chromium"
    title, result = browse(
        {
            "mode": "post",
            "postUrl": form["url"],
            "fields": form["fields"],
            "filename": "note.txt",
            "body": body,
        }
    )
    assert title == "done", result
    assert result["postStatus"] == 201, result
    assert "<PostResponse" in result["postText"], result
    assert "<Key>forms/note.txt</Key>" in result["postText"], result
    assert result["postEtag"] == etag(body.encode()), result
    got = s3.get_object(Bucket=bucket, Key="forms/note.txt")
    assert got["Body"].read() == body.encode()
    assert got["ContentType"] == "text/plain"
    assert hashlib.md5(body.encode()).hexdigest() in got["ETag"]


def test_browser_presigned_post_policy_violation(
    s3: Any, s3v4: Any, bucket: str, browse: Any, page_origin: str
) -> None:
    allow_page(s3, bucket, page_origin, ["GET", "POST"])
    form = s3v4.generate_presigned_post(
        bucket, "small", Conditions=[["content-length-range", 1, 10]], ExpiresIn=600
    )
    title, result = browse(
        {
            "mode": "post",
            "postUrl": form["url"],
            "fields": form["fields"],
            "filename": "big.txt",
            "body": "x" * 100,
        }
    )
    assert title == "failed", result
    # CORS headers are on the error too, so the page can read why it was refused
    assert result.get("postStatus") == 400, result
    assert "EntityTooLarge" in result.get("postText", ""), result
    assert keys_in(s3, bucket) == []
