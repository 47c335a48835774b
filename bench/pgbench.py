"""PostgreSQL's own ceiling for what a gateway asks of it: pgbench running the statements
the PostgreSQL store sends for a 4 KiB PUT (one og_put_object call with the body inline)
and for a GET or HEAD (the one SELECT of PgObjects.get_object), on the same database and
bucket, in the same run as the gateways.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from oortgate.meta.pg_objects import _GET
from oortgate.meta.pg_sql_objects import CONDITION_ARGS, RECORD_ARGS

SMALL = 4096
# A random key of those the gateways wrote (KEY_FORMAT with i below :nkeys).
GET_SCRIPT = "\\set i random(0, :nkeys - 1)\n" + _GET.replace("%s", ":bucket", 1).replace(
    "%s", "(:prefix::text || lpad(:i::text, 7, '0'))", 1
) + ";\n"
# og_put_object's arguments as the store passes them for a new 4 KiB inline object:
# (RECORD_ARGS, the inline bytes, CONDITION_ARGS: no precondition).
_PUT_VALUES = (
    ":bucket", "'pgbench/' || :client_id || '/' || :i", "'i' || md5(random()::text)",
    str(SMALL), "md5(random()::text)", "'application/octet-stream'", "'{}'", "'{}'", "'{}'",
    "'STANDARD'", "0", "'private'", ":owner", "NULL", "NULL", "NULL", "NULL",
    "'{}'", "'{}'", "'{}'", "'{}'", "'{}'", f"decode(repeat('61', {SMALL}), 'hex')",
    "NULL", "false", "NULL", "NULL",
)  # fmt: skip


def _put_script() -> str:
    template = f"SELECT og_put_object({RECORD_ARGS}, %s, {CONDITION_ARGS})"
    pieces = template.split("%s")
    assert len(pieces) == len(_PUT_VALUES) + 1, "og_put_object's arguments changed"
    sql = pieces[0] + "".join(v + rest for v, rest in zip(_PUT_VALUES, pieces[1:], strict=True))
    return "\\set i random(1, 2000000000)\n" + sql + ";\n"


PUT_SCRIPT = _put_script()


def binary(bindir: Path | None = None) -> str | None:
    """pgbench of the server's version if there, else the one on PATH."""
    if bindir is not None and (bindir / "pgbench").exists():
        return str(bindir / "pgbench")
    return shutil.which("pgbench")


@dataclass(frozen=True)
class PgbenchResult:
    transactions: int
    tps: float
    latency_ms: float
    failed: int
    seconds: float


def run(exe: str, url: str, script: str, workdir: Path, clients: int, seconds: float,
        variables: dict[str, str]) -> PgbenchResult:  # fmt: skip
    """One timed pgbench run (-n: no vacuum of its own tables, which do not exist;
    -M prepared: as psycopg prepares statements it repeats)."""
    path = workdir / f"pgbench-{abs(hash(script))}.sql"
    path.write_text(script)
    cmd = [exe, "-n", "-M", "prepared", "-c", str(clients), "-j", str(min(clients, 2)),
           "-T", str(max(1, round(seconds))), "-f", str(path)]  # fmt: skip
    for name, value in variables.items():
        cmd += ["-D", f"{name}={value}"]
    proc = subprocess.run([*cmd, url], capture_output=True, text=True, timeout=seconds + 120)
    if proc.returncode != 0:
        raise RuntimeError(f"pgbench failed ({proc.returncode}): {proc.stderr[-1000:]}")
    return parse(proc.stdout)


def parse(out: str) -> PgbenchResult:
    def number(pattern: str, default: float | None = None) -> float:
        found = re.search(pattern, out)
        if found is None:
            if default is None:
                raise RuntimeError(f"pgbench output without {pattern!r}: {out[-500:]}")
            return default
        return float(found.group(1))

    return PgbenchResult(
        transactions=int(number(r"number of transactions actually processed: (\d+)")),
        tps=number(r"tps = ([\d.]+) \(without initial connection time\)"),
        latency_ms=number(r"latency average = ([\d.]+) ms"),
        failed=int(number(r"number of failed transactions: (\d+)", 0.0)),
        seconds=number(r"duration: ([\d.]+) s"),
    )
