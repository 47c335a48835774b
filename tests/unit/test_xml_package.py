"""The XML package's place in the layers: every XML shape lives in oortgate.xml, which
imports nothing from ops/ or http/; outside it, only http/ (the error renderer) touches
the primitives, and nothing parses XML but through it."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import oortgate
from oortgate import xml

PACKAGE = Path(oortgate.__file__).parent
FAMILIES = {path.stem for path in (PACKAGE / "xml").glob("*.py")} - {"__init__", "core"}
PRIMITIVES = {"oortgate.xml", "oortgate.xml.core", "xml", "defusedxml"}


def _imports(path: Path) -> Iterator[tuple[int, str]]:
    """(line, dotted name) of every module or name imported, at any depth."""
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            yield from ((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module is not None:
            yield from ((node.lineno, f"{node.module}.{alias.name}") for alias in node.names)


def _outside(*skipped: str) -> Iterator[Path]:
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.relative_to(PACKAGE).parts[0] not in skipped:
            yield path


def test_the_xml_package_imports_no_handler_or_server_code() -> None:
    offenders = [
        f"{path.relative_to(PACKAGE)}:{line}: {name}"
        for path in sorted((PACKAGE / "xml").glob("*.py"))
        for line, name in _imports(path)
        if name.startswith(("oortgate.ops", "oortgate.http"))
    ]
    assert offenders == []


def _is_primitive(name: str) -> bool:
    """An import of the XML primitives (a family module of oortgate.xml is not one)."""
    if name.startswith("oortgate.xml."):
        return name.split(".")[2] not in FAMILIES
    return name == "oortgate.xml" or name.split(".")[0] in ("xml", "defusedxml")


def test_outside_the_package_no_code_builds_or_parses_xml() -> None:
    offenders = [
        f"{path.relative_to(PACKAGE)}:{line}: {name}"
        for path in _outside("xml", "http")
        for line, name in _imports(path)
        if _is_primitive(name)
    ]
    assert offenders == []


def test_the_primitives_stay_importable_from_the_package() -> None:
    for name in ("Node", "document", "leaf", "escape", "parse", "child_text", "error_document",
                 "timestamp", "S3_NS", "HEADER"):  # fmt: skip
        assert hasattr(xml, name)
    assert {"listing", "multipart", "delete", "acl", "cors", "tagging", "restore"} <= FAMILIES
