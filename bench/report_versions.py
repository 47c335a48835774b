"""The versioning and lifecycle table of results.md (rows of bench.wl_versions and
bench.wl_lifecycle): each server's versioned against unversioned numbers, and the ratio."""

from __future__ import annotations

from .report import Results, Row, X, _fmt, _ratio

# (label, unit, workload, field); a pair of rows is followed by its ratio row.
PAIRS = (
    ("4 KiB PUT over an existing key", "op/s", "ver_put_4k", "ops_per_s"),
    ("4 KiB GET", "op/s", "ver_get_4k", "ops_per_s"),
)
HOT = (
    ("ListObjectsV2 page of the keys", "p50 ms", "ver_list", "p50_ms"),
    ("GET of that key", "p50 ms", "ver_get_key", "p50_ms"),
    ("ListObjectVersions, first page", "p50 ms", "ver_list_versions", "p50_ms"),
)
SERVERS = ("oortgate", "moto", "seaweedfs")


def _clean(r: Row | None, field: str) -> float | None:
    return None if r is None or r["errors"] else float(r[field])


def _cell(r: Row | None, field: str) -> str:
    if r is None:
        return "-"
    return _fmt(float(r[field])) + (f" ({r['errors']} err)" if r["errors"] else "")


def versioning_table(res: Results) -> list[str]:
    present = [
        s for s in SERVERS if res.get(s, "ver_put_4k_versioned") or res.get(s, "ver_list_hot")
    ]
    if not present and res.get("oortgate", "lifecycle_expire") is None:
        return []
    present = ["oortgate", *(s for s in present if s != "oortgate")]
    heads = [f"{s} (no fsync)" if s == "seaweedfs" else s for s in present]
    lines = ["", "| versioning and lifecycle | unit | " + " | ".join(heads) + " |",
             "| --- | --- |" + " ---: |" * len(present)]  # fmt: skip

    def add(label: str, unit: str, cells: list[str]) -> None:
        lines.append(f"| {label} | {unit} | " + " | ".join(cells) + " |")

    def pair(
        label: str,
        unit: str,
        base: str,
        field: str,
        names: tuple[str, str],
        suffixes: tuple[str, str] = ("unversioned", "versioned"),
    ) -> None:
        rows = [[res.get(s, f"{base}_{suffix}") for s in present] for suffix in suffixes]
        for name, side in zip(names, rows, strict=True):
            add(f"{label}, {name}", unit, [_cell(r, field) for r in side])
        off, on = rows
        ratios = [_ratio(_clean(b, field), _clean(a, field)) for a, b in zip(off, on, strict=True)]
        add(f"**{label}: {names[1]} ÷ {names[0]}**", "ratio",
            ["-" if q is None else f"**{q:.2f}{X}**" for q in ratios])  # fmt: skip

    for label, unit, base, field in PAIRS:
        pair(label, unit, base, field, ("unversioned", "versioned"))
    hot = next((r for s in present if (r := res.get(s, "ver_list_hot"))), None)
    if hot is not None:
        versions = f"one key with {int(hot.get('hot_versions', 0)):,} versions"
        for label, unit, base, field in HOT:
            pair(label, unit, base, field, ("never versioned", versions),
                 ("unversioned", "hot"))  # fmt: skip
    expired = res.get("oortgate", "lifecycle_expire")
    if expired is not None:
        n = f"{int(expired.get('n_objects', 0)):,}"
        only = ["-"] * (len(present) - 1)
        add(f"Expiration of {n} objects, `oortgate lifecycle run` wall time", "objects/s",
            [_cell(expired, "ops_per_s"), *only])  # fmt: skip
        add(f"the same, without the CLI's start-up ({_fmt(expired.get('cli_startup_s'))} s)",
            "objects/s", [_fmt(expired.get("expired_per_s_after_startup")), *only])  # fmt: skip
    keys = hot.get("n_objects", 0) if hot else 0
    lines += ["", f"Versioned ÷ unversioned within each server, same client, same run (the "
              f"listing: a page of {keys:,} keys, one of them with many versions, against a "
              "never-versioned bucket of the same keys). Lifecycle: oortgate only, the peers "
              "cannot fast-forward a rule's days (`lifecycle_day_seconds` 1 here)."]  # fmt: skip
    return lines
