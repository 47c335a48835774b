"""An expired session goes back to sign-in without losing the page's place: the folder,
the filter and the name the page starts after (here with spaces, "+", "#", "?" and
letters outside ASCII) come back after signing in again, whether the page was reloaded
or one of its buttons met the expired session. Headless Chromium, 3 s idle timeout."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import boto3
import pytest
from botocore.config import Config

from ._server import REGION, ServerProcess

IDLE = 3.0
FOLDER = "f ü+#?/"


@pytest.fixture(scope="module")
def short_idle(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    data = tmp_path_factory.mktemp("console-expiry") / "data"
    args = ["--console-idle-timeout", str(IDLE)]
    with ServerProcess(data_dir=data, extra_args=args) as srv:
        s3 = boto3.session.Session().client(
            "s3", endpoint_url=srv.endpoint, region_name=REGION, verify=srv.cert,
            aws_access_key_id=srv.root_access_key, aws_secret_access_key=srv.root_secret_key,
            config=Config(s3={"addressing_style": "path"}),
        )  # fmt: skip
        s3.create_bucket(Bucket="place")
        for i in range(250):
            s3.put_object(Bucket="place", Key=f"{FOLDER}k{i:03d}", Body=b"")
        yield srv


def _sign_in(tab: Any, srv: ServerProcess) -> None:
    tab.fill("#access_key", srv.root_access_key)
    tab.fill("#secret_key", srv.root_secret_key)
    tab.click("#signin")


def _place(srv: ServerProcess) -> str:
    place = {"prefix": FOLDER, "filter": "k1", "after": FOLDER + "k120"}
    query = "&".join(f"{k}={quote(v, safe='')}" for k, v in place.items())
    return f"{srv.endpoint}/_console/b/place/?{query}"


def _first_key(tab: Any) -> str:
    tab.wait_for_selector("#browser[data-listed=yes]")
    return str(tab.locator("tr.object").first.get_attribute("data-key"))


def test_a_button_on_an_expired_page_signs_in_and_comes_back(
    tab: Any, short_idle: ServerProcess
) -> None:
    place = _place(short_idle)
    tab.goto(place)
    _sign_in(tab, short_idle)  # first visit: signed out, so sign-in comes first
    tab.wait_for_url(place)
    assert _first_key(tab) == FOLDER + "k121"
    assert tab.locator("tr.object").count() == 79  # k121 to k199: the filter ends it
    time.sleep(IDLE + 0.5)
    tab.locator("tr.object button.details").first.click()  # asks the console: 401
    tab.wait_for_url("**/_console/signin?next=*")
    _sign_in(tab, short_idle)
    tab.wait_for_url(place)
    assert _first_key(tab) == FOLDER + "k121"
    assert tab.input_value("#filter-text") == "k1"


def test_a_reloaded_expired_page_signs_in_and_comes_back(
    tab: Any, short_idle: ServerProcess
) -> None:
    place = _place(short_idle)
    tab.goto(place)
    _sign_in(tab, short_idle)
    tab.wait_for_url(place)
    time.sleep(IDLE + 0.5)
    tab.reload()
    assert "/_console/signin?next=" in tab.url
    _sign_in(tab, short_idle)
    tab.wait_for_url(place)
    assert _first_key(tab) == FOLDER + "k121"
