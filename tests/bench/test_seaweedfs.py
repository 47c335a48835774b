"""SeaweedFS as a bench peer: the command line, the S3 identity JSON, the report rows.

weed itself is not started here (it is installed by `make bench`, not by `make test`).
"""

from __future__ import annotations

import json
from pathlib import Path

from bench.report import Results, X, markdown
from bench.run import ALL_SERVERS, parse
from bench.seaweedfs import PORT_FLAGS, WeedLayout, has_free_volumes, s3_identities, weed_command


def _layout(tmp_path: Path) -> WeedLayout:
    ports = {flag: 20000 + i for i, flag in enumerate(PORT_FLAGS)}
    return WeedLayout(tmp_path, 19999, ports, "/c/cert.pem", "/c/key.pem")


def _flags(cmd: list[str]) -> dict[str, str]:
    return dict(a[1:].split("=", 1) for a in cmd if a.startswith("-") and "=" in a)


def test_weed_command_serves_https_s3_on_loopback_only(tmp_path: Path) -> None:
    cmd = weed_command("/venv/bin/weed", _layout(tmp_path))
    assert cmd[:2] == ["/venv/bin/weed", "server"] and "-s3" in cmd
    flags = _flags(cmd)
    assert flags["s3.port"] == "19999"
    assert (flags["s3.cert.file"], flags["s3.key.file"]) == ("/c/cert.pem", "/c/key.pem")
    assert flags["s3.config"] == str(tmp_path / "s3.json")
    assert flags["ip"] == flags["ip.bind"] == "127.0.0.1"
    assert flags["dir"] == str(tmp_path / "data")
    assert flags["s3.port.iceberg"] == flags["s3.port.lance"] == "0"  # no side servers
    assert int(flags["volume.max"]) >= 50  # ~7 volumes per bucket


def test_weed_command_gives_every_port_so_nothing_uses_a_default(tmp_path: Path) -> None:
    flags = _flags(weed_command("weed", _layout(tmp_path)))
    given = [int(flags[f]) for f in PORT_FLAGS]
    assert given == [20000 + i for i in range(len(PORT_FLAGS))]
    for must in ("master.port.grpc", "volume.port.grpc", "filer.port.grpc", "s3.port.grpc"):
        assert must in PORT_FLAGS
    assert flags["s3.localSocket"].startswith(str(tmp_path))


def test_s3_identity_json_has_the_keys_and_admin_rights() -> None:
    doc = json.loads(json.dumps(s3_identities("AK", "SK")))
    (ident,) = doc["identities"]
    assert ident["credentials"] == [{"accessKey": "AK", "secretKey": "SK"}]
    assert {"Admin", "Read", "Write", "List"} <= set(ident["actions"])


def test_ready_only_once_a_volume_server_has_room() -> None:
    assert not has_free_volumes({"Topology": {"Max": 0, "Free": 0, "DataCenters": None}})
    assert not has_free_volumes({})
    assert has_free_volumes({"Topology": {"Max": 60, "Free": 60, "DataCenters": [{"Id": "dc"}]}})


def test_seaweedfs_is_a_default_server() -> None:
    assert "seaweedfs" in ALL_SERVERS
    assert parse(["--servers", "oortgate,seaweedfs"]).servers == "oortgate,seaweedfs"


def _row(server: str, workload: str, ops: float, errors: int = 0) -> dict[str, object]:
    return {"server": server, "workload": workload, "mode": "quick", "ops": 10,
            "ops_per_s": ops, "mb_per_s": 0.0, "p50_ms": 1.0, "p99_ms": 2.0,
            "errors": errors, "server_cpu_s": 1.0, "server_peak_rss_mb": 50.0,
            "object_bytes": 4096}  # fmt: skip


def test_report_has_oortgate_over_seaweedfs_rows_with_the_fsync_note(tmp_path: Path) -> None:
    res = Results(tmp_path)
    for server, put, head in (("oortgate", 1200.0, 900.0), ("seaweedfs", 1000.0, 1000.0)):
        res.add(_row(server, "put_4k", put))
        res.add(_row(server, "head_4k", head))
        res.add(_row(server, "delete_4k", 5.0, errors=1 if server == "seaweedfs" else 0))
    md = markdown(res, "quick", [])
    assert "| workload | unit | oortgate | seaweedfs | oortgate ÷ seaweedfs | note |" in md
    lines = {ln.split(" | ")[0]: ln for ln in md.splitlines() if "÷ seaweedfs" not in ln
             and "does not fsync" in ln}  # fmt: skip
    assert f"| 1,200 | 1,000 | 1.20{X}" in lines["| put_4k"]
    assert f"| 900 | 1,000 | 0.90{X}" in lines["| head_4k"]
    assert "(1 err) | -" in lines["| delete_4k"]  # no ratio from a run with errors
    assert "seaweedfs (no fsync)" in md


def test_report_has_no_seaweedfs_table_without_its_rows(tmp_path: Path) -> None:
    res = Results(tmp_path)
    res.add(_row("oortgate", "put_4k", 1200.0))
    assert "seaweedfs" not in markdown(res, "quick", [])
