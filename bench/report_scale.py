"""The scale-out tables of results.md: the PostgreSQL and RADOS rows against the embedded
default, 1 vs 3 gateways, and PostgreSQL's own ceiling (pgbench)."""

from __future__ import annotations

from typing import Any

from .report import Results, Row, X, _fmt, _primary, _ratio

BACKENDS = (("oortgate-pg", "postgresql"), ("oortgate-rados", "rados"))
FLEET = ("oortgate-1gw", "oortgate-3gw")
SCALE_SERVERS = (*(s for s, _ in BACKENDS), *FLEET, "postgresql")


def _value(r: Row | None) -> float | None:
    return None if r is None or r["errors"] else _primary(r)[0]


def _per_op(r: Row | None, field: str) -> str:
    if r is None or not r.get("ops"):
        return "-"
    if field == "gateway_cpu_ms_per_op" and field not in r:  # one gateway: its own tree
        return _fmt(float(r["server_cpu_s"]) * 1000 / float(r["ops"]))
    return _fmt(r.get(field))


def _cell(r: Row | None) -> str:
    if r is None:
        return "-"
    return _fmt(_primary(r)[0]) + (f" ({r['errors']} err)" if r["errors"] else "")


def _times(q: float | None) -> str:
    return "-" if q is None else f"{q:.2f}{X}"


def scale_tables(res: Results) -> list[str]:
    lines: list[str] = []
    lines += _backend_table(res)
    lines += _fleet_table(res)
    lines += _pgbench_table(res)
    return lines


def _workloads(res: Results, servers: tuple[str, ...]) -> list[str]:
    seen: list[str] = []
    for r in res.rows:
        if r["server"] in servers and r["workload"] not in seen and "fill" not in r["workload"]:
            seen.append(str(r["workload"]))
    return seen


def _backend_table(res: Results) -> list[str]:
    servers = tuple(s for s, _ in BACKENDS)
    workloads = _workloads(res, servers)
    if not workloads:
        return []
    lines = ["", "| workload | unit | embedded | postgresql | ÷ embedded | PG statements / req "
             "| gateway CPU ms / req | postgres CPU ms / req | rados | ÷ embedded "
             "| ceph CPU ms / req |",
             "| --- | --- |" + " ---: |" * 9]  # fmt: skip
    for w in workloads:
        base, pg, rados = res.get("oortgate", w), res.get("oortgate-pg", w), res.get(
            "oortgate-rados", w
        )
        unit = _primary(pg or rados or {"workload": w, "ops_per_s": 0})[1]
        cells = [_cell(base), _cell(pg), _times(_ratio(_value(pg), _value(base))),
                 _per_op(pg, "pg_statements_per_op"), _per_op(pg, "gateway_cpu_ms_per_op"),
                 _per_op(pg, "postgres_cpu_ms_per_op"), _cell(rados),
                 _times(_ratio(_value(rados), _value(base))),
                 _per_op(rados, "ceph_cpu_ms_per_op")]  # fmt: skip
        lines.append(f"| {w} | {unit} | " + " | ".join(cells) + " |")
    return [*lines, "", "The same workloads as the embedded rows above, in the same run, "
            "on `metadata_url=postgresql` and on `blob_url=rados://` (requests per second, "
            "or MB/s for the large objects)."]  # fmt: skip


def _fleet_table(res: Results) -> list[str]:
    workloads = _workloads(res, FLEET)
    if not workloads:
        return []
    lines = ["", "| workload | unit | 1 gateway | 3 gateways | 3 ÷ 1 | PG statements / req "
             "| gateway CPU ms / req (1 / 3) | postgres CPU ms / req (1 / 3) "
             "| redis CPU ms / req (1 / 3) | quota throttled s (1 / 3) |",
             "| --- | --- |" + " ---: |" * 8]  # fmt: skip
    for w in workloads:
        one, three = res.get(FLEET[0], w), res.get(FLEET[1], w)
        unit = _primary(one or three or {"workload": w, "ops_per_s": 0})[1]

        def pair(field: str, a: Row | None = one, b: Row | None = three) -> str:
            return f"{_per_op(a, field)} / {_per_op(b, field)}"

        cells = [_cell(one), _cell(three), _times(_ratio(_value(three), _value(one))),
                 pair("pg_statements_per_op"), pair("gateway_cpu_ms_per_op"),
                 pair("postgres_cpu_ms_per_op"), pair("redis_cpu_ms_per_op"),
                 f"{_fmt(_get(one, 'throttled_s'))} / "
                 f"{_fmt(_get(three, 'throttled_s'))}"]  # fmt: skip
        lines.append(f"| {w} | {unit} | " + " | ".join(cells) + " |")
    quota = _get(res.get(FLEET[0], workloads[0]), "gateway_cpus")
    return [*lines, "", f"Each gateway one worker capped at {_fmt(quota)} CPU by its cgroup "
            "(see the notes); one PostgreSQL, one shared directory, one Redis; requests "
            "round-robin over the gateways."]  # fmt: skip


def _get(r: Row | None, field: str) -> Any:
    return None if r is None else r.get(field)


def _pgbench_table(res: Results) -> list[str]:
    rows = [r for r in res.rows if r["server"] == "postgresql"]
    if not rows:
        return []
    lines = ["", "| pgbench (PostgreSQL's ceiling) | clients | tx/s | latency avg ms "
             "| postgres CPU ms / tx | gateways' best req/s | gateways ÷ pgbench |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]  # fmt: skip
    for r in rows:
        op = "put_4k" if "_put_" in r["workload"] else "get_4k"
        best = [v for s in ("oortgate-pg", *FLEET) if (v := _value(res.get(s, op)))]
        top = max(best) if best else None
        tps = None if r["errors"] else float(r["ops_per_s"])
        lines.append(f"| {r.get('statement', r['workload'])} | {r.get('clients', '-')} | "
                     f"{_cell(r)} | {_fmt(r.get('latency_avg_ms'))} | "
                     f"{_per_op(r, 'postgres_cpu_ms_per_op')} | {_fmt(top)} | "
                     f"{_times(_ratio(top, tps))} |")  # fmt: skip
    return lines
