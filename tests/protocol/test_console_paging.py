"""The object browser on a bucket of 1,000,000 objects, in headless Chromium: a page deep
in the listing (its URL names the key it starts after), the next one, and a prefix
filter answer with the right keys. Their timing is in bench/console_paging.py."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from typing import Any

import pytest

from bench.console_paging import KEY_FORMAT, fill_bucket, seed

from ._server import ServerProcess
from .test_console_browser import _shot

OBJECTS = 1_000_000
BUCKET = "big"


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    data = tmp_path_factory.mktemp("console-paging") / "data"
    with ServerProcess(data_dir=data) as srv:
        seed(srv.endpoint, srv.cert, srv.root_access_key, srv.root_secret_key, BUCKET)
        fill_bucket(srv.data_dir, BUCKET, OBJECTS)  # (its time: bench/console_paging.py)
        yield srv
    shutil.rmtree(data, ignore_errors=True)  # ~500 MB with its WAL: not kept for later runs


@pytest.fixture
def signed_in(tab: Any, big: ServerProcess) -> Any:
    tab.goto(big.endpoint + "/_console/signin")
    tab.fill("#access_key", big.root_access_key)
    tab.fill("#secret_key", big.root_secret_key)
    tab.click("#signin")
    tab.wait_for_url(big.endpoint + "/_console/")
    return tab


def _keys(page: Any, url: str) -> list[str]:
    page.goto(url)
    page.wait_for_selector("#browser[data-listed=yes]")
    return [
        str(k)
        for k in page.eval_on_selector_all("tr.object", "rows => rows.map(r => r.dataset.key)")
    ]


def _names(first: int, count: int) -> list[str]:
    return [KEY_FORMAT.format(i) for i in range(first, first + count)]


def test_a_page_deep_in_a_million_objects_and_the_next_one(
    signed_in: Any, big: ServerProcess
) -> None:
    tab = signed_in
    base = f"{big.endpoint}/_console/b/{BUCKET}/"
    assert _keys(tab, base) == _names(0, 200)
    middle = KEY_FORMAT.format(OBJECTS // 2 - 1)
    assert _keys(tab, f"{base}?after={middle}") == _names(OBJECTS // 2, 200)
    assert tab.is_visible("#first") and middle in tab.inner_text(".pages")
    tab.locator(".pages").scroll_into_view_if_needed()
    _shot(tab, "objects-paging", full_page=False)  # the window's worth: the page's foot
    tab.click("#next")
    tab.wait_for_url(f"**after={KEY_FORMAT.format(OBJECTS // 2 + 199)}")
    tab.wait_for_selector(f"tr.object[data-key='{KEY_FORMAT.format(OBJECTS // 2 + 200)}']")
    assert _keys(tab, tab.url) == _names(OBJECTS // 2 + 200, 200)
    last = _keys(tab, f"{base}?after={KEY_FORMAT.format(OBJECTS - 51)}")
    assert last == _names(OBJECTS - 50, 50) and tab.is_hidden("#next")


def test_a_prefix_filter_on_a_million_objects(signed_in: Any, big: ServerProcess) -> None:
    tab = signed_in
    base = f"{big.endpoint}/_console/b/{BUCKET}/"
    wanted = KEY_FORMAT.format(765_400)[:-2]  # obj-07654: 100 keys
    tab.goto(base)
    tab.wait_for_selector("#browser[data-listed=yes]")
    tab.fill("#filter-text", wanted)
    tab.click("#filter button")
    tab.wait_for_url(f"**filter={wanted}")
    tab.wait_for_selector("tr.object[data-key='obj-0765499']")
    assert _keys(tab, tab.url) == _names(765_400, 100)
    assert tab.input_value("#filter-text") == wanted and tab.is_hidden("#next")
    # Filter and place together: after a key within the filter.
    assert _keys(tab, f"{base}?filter={wanted}&after=obj-0765449") == _names(765_450, 50)
