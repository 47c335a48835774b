"""The README's table of supported operations names exactly the operations the server
dispatches: a new handler without a row, or a row without a handler, fails here."""

from __future__ import annotations

import re
from pathlib import Path

from oortgate.ops import HANDLERS

README = Path(__file__).resolve().parents[2] / "README.md"


def _table_operations() -> set[str]:
    text = README.read_text(encoding="utf-8")
    section = text.split("### Supported S3 operations", 1)[1].split("\n#", 1)[0]
    names: set[str] = set()
    for line in section.splitlines():
        match = re.match(r"\| ([A-Za-z0-9 /]+?) \|", line)
        if match and match.group(1) not in ("operation",):
            names.update(name.strip() for name in match.group(1).split("/"))
    return names


def test_readme_lists_every_operation_and_no_other() -> None:
    dispatched = set(HANDLERS) - {"Preflight"}  # listed with the CORS operations
    assert _table_operations() == dispatched
