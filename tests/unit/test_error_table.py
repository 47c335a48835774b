"""Every error code the package raises is in errors.STATUS: a code missing there would be
answered with 400 silently, whatever AWS sends for it."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import oortgate
from oortgate.errors import STATUS

PACKAGE = Path(oortgate.__file__).parent


def _strings(node: ast.AST) -> set[str]:
    """The string literals an expression can evaluate to (``"A" if x else "B"`` gives both)."""
    return {
        n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)
    }


def _assigned_strings(tree: ast.AST) -> dict[str, set[str]]:
    """name -> the string literals assigned to that name anywhere in the module."""
    found: dict[str, set[str]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    found.setdefault(target.id, set()).update(_strings(node.value))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value:
            found.setdefault(node.target.id, set()).update(_strings(node.value))
    return found


# The named codes of oortgate.errors (NO_SUCH_KEY = "NoSuchKey"), for modules that raise
# S3Error(NO_SUCH_KEY) or S3Error(errors.NO_SUCH_KEY).
NAMED_CODES = {
    name: values
    for name, values in _assigned_strings(ast.parse((PACKAGE / "errors.py").read_text())).items()
    if name.isupper() and len(values) == 1  # not the STATUS and DEFAULT_MESSAGE tables
}


def _code_argument(call: ast.Call) -> ast.expr | None:
    if call.args:
        return call.args[0]
    return next((k.value for k in call.keywords if k.arg == "code"), None)


def raised_codes(source: str, where: str) -> tuple[dict[str, list[str]], list[str]]:
    """(code -> places it is passed to S3Error, places whose code could not be resolved)."""
    tree = ast.parse(source)
    assigned = _assigned_strings(tree)
    codes: dict[str, list[str]] = {}
    unresolved: list[str] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = getattr(node.func, "id", getattr(node.func, "attr", None))
        argument = _code_argument(node) if name == "S3Error" else None
        if argument is None:
            continue
        place = f"{where}:{node.lineno}"
        if isinstance(argument, ast.Constant) and isinstance(argument.value, str):
            values = {argument.value}
        elif isinstance(argument, ast.Name) and assigned.get(argument.id):
            values = assigned[argument.id]
        elif isinstance(argument, ast.Name | ast.Attribute):
            values = NAMED_CODES.get(getattr(argument, "id", getattr(argument, "attr", "")), set())
        else:
            values = _strings(argument) if isinstance(argument, ast.IfExp) else set()
        if not values:
            unresolved.append(place)
        for value in values:
            codes.setdefault(value, []).append(place)
    return codes, unresolved


def compared_codes(source: str) -> set[str]:
    """Codes that ``err.code`` (or ``exchange.error_code``) is compared with or set to:
    a typo there would never match."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
            if any(isinstance(side, ast.Attribute) and side.attr in _CODE_ATTRS for side in sides):
                found.update(*(_strings(side) for side in sides))
        elif isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Attribute) and t.attr in _CODE_ATTRS for t in node.targets
        ):
            found.update(_strings(node.value))
    return found


_CODE_ATTRS = ("code", "error_code")


def _package_codes() -> tuple[dict[str, list[str]], list[str]]:
    codes: dict[str, list[str]] = {}
    unresolved: list[str] = []
    for path in sorted(PACKAGE.rglob("*.py")):
        found, unknown = raised_codes(path.read_text(), str(path.relative_to(PACKAGE)))
        for code, places in found.items():
            codes.setdefault(code, []).extend(places)
        unresolved += unknown
    return codes, unresolved


def test_every_raised_code_has_a_status() -> None:
    codes, _ = _package_codes()
    assert len(codes) > 40, "the scan found too few codes: is it still looking at S3Error?"
    missing = {code: places for code, places in codes.items() if code not in STATUS}
    assert not missing, f"codes raised but not in errors.STATUS: {missing}"


def test_every_compared_code_is_in_the_table() -> None:
    compared = set().union(*(compared_codes(p.read_text()) for p in PACKAGE.rglob("*.py")))
    assert "NoSuchUpload" in compared, "the scan found no comparison: is it still working?"
    assert not compared - STATUS.keys(), (
        f"codes compared but not in STATUS: {compared - STATUS.keys()}"
    )


def test_every_code_argument_is_resolved() -> None:
    _, unresolved = _package_codes()
    assert not unresolved, f"S3Error codes the scan cannot check (use a literal): {unresolved}"


def test_the_scan_sees_literals_variables_and_conditionals() -> None:
    source = (
        "def f(mine):\n"
        "    code = 'Mine' if mine else 'Theirs'\n"
        "    raise S3Error(code, BucketName='b')\n"
        "def g():\n"
        "    raise errors.S3Error('Literal', 'message')\n"
        "def h(x):\n"
        "    raise S3Error(code='Keyword' if x else 'Other')\n"
        "def i(name):\n"
        "    raise S3Error(name)\n"
        "def j():\n"
        "    raise S3Error(NO_SUCH_KEY, Key='k')\n"
        "def k():\n"
        "    raise S3Error(errors.ACCESS_DENIED)\n"
    )
    codes, unresolved = raised_codes(source, "m.py")
    assert set(codes) == {"Mine", "Theirs", "Literal", "Keyword", "Other", "NoSuchKey",
                          "AccessDenied"}  # fmt: skip
    assert codes["Literal"] == ["m.py:5"]
    assert unresolved == ["m.py:9"]


def test_every_named_code_is_in_the_table() -> None:
    assert NAMED_CODES["NO_SUCH_KEY"] == {"NoSuchKey"}
    assert not set().union(*NAMED_CODES.values()) - STATUS.keys()


def test_the_scan_sees_compared_and_assigned_codes() -> None:
    source = (
        "if err.code not in ('InvalidPart', 'NoSuchUpload'): pass\n"
        "if error.code != 'NoSuchKey': pass\n"
        "exchange.error_code = 'SlowDown'\n"
        "if name == 'other': pass\n"
    )
    assert compared_codes(source) == {"InvalidPart", "NoSuchUpload", "NoSuchKey", "SlowDown"}


def test_every_code_the_sql_raises_is_in_the_table() -> None:
    """The PostgreSQL functions raise S3 errors by code (og_raise('Code', ...))."""
    sql = "".join(p.read_text() for p in (PACKAGE / "meta").glob("pg_sql_*.py"))
    codes = set(re.findall(r"og_raise\('(\w+)'", sql))
    codes |= set(re.findall(r"WHEN [^']+ THEN '(\w+)'\s+ELSE '(\w+)'", sql)[0])
    assert {"NoSuchKey", "BucketAlreadyOwnedByYou"} <= codes, "the scan found too few"
    assert not codes - STATUS.keys()
