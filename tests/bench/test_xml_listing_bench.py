"""bench.xml_listing renders the page it claims: 1,000 keys that botocore reads back."""

from __future__ import annotations

import sys

import pytest

from bench import xml_listing
from tests.unit._shapes import parsed


def test_the_page_is_a_thousand_keys() -> None:
    out = parsed(xml_listing.render(xml_listing.page(), None), "ListObjectsV2")
    assert out["KeyCount"] == len(out["Contents"]) == 1000
    assert out["Contents"][1]["Key"] == "photos/2024/000001 é+ key.jpg"


def test_main_prints_the_cpu_time(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "argv", ["xml_listing", "--rounds", "1", "--pages", "1"])
    xml_listing.main()
    assert "ListObjectsV2, 1000 keys" in capsys.readouterr().out
