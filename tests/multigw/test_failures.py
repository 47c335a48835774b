"""A gateway SIGKILLed in the middle of an upload, and one restarted: what the others
acknowledged stays, their uploads in flight finish, and the dead gateway's session is
ended by the survivors (its pending blob collected, its temp file removed) without a
restart. All the gateways of the tests run on one host, where a session whose process
is gone is dead at the next reaping pass (every 10 s), not after the 90 s timeout."""

from __future__ import annotations

import os
from pathlib import Path

from tests.protocol._util import wait_for

from ._cluster import Cluster, MiB, SlowPut

REAPED_WITHIN = 40.0  # a heartbeat interval (10 s), the reap and a collection, with room


def _new_temp_files(cluster: Cluster, known: set[Path], count: int) -> set[Path]:
    found: set[Path] = set()

    def arrived() -> bool:
        found.update(set(cluster.temp_files()) - known)
        return len(found) >= count

    wait_for(f"{count} temp file(s) of uploads in flight", arrived, 20)
    return found


def _sessions_alive(cluster: Cluster) -> bool:
    """Every session row's process still runs (the dead ones were ended)."""
    pids = [pid for (pid,) in cluster.rows("SELECT pid FROM sessions")]
    return all(os.path.exists(f"/proc/{pid}") for pid in pids)


def test_sigkill_mid_upload_loses_nothing_and_survivors_reap_it(cluster: Cluster) -> None:
    a, b, _ = cluster.clients()
    victim_gw = cluster.gateways[2]
    c = cluster.client(2)
    a.create_bucket(Bucket="mg-kill")
    acked = {f"acked{n}": os.urandom(100_000 if n % 2 else 3_000) for n in range(6)}
    for key, body in acked.items():
        c.put_object(Bucket="mg-kill", Key=key, Body=body)  # acknowledged by the victim
    known = set(cluster.temp_files())
    victim = SlowPut(victim_gw, "mg-kill", "victim")
    victim.send(MiB)
    (victim_temp,) = _new_temp_files(cluster, known, 1)
    survivors = [SlowPut(cluster.gateways[i], "mg-kill", f"survivor{i}") for i in (0, 1)]
    for upload in survivors:
        upload.send(MiB)
    _new_temp_files(cluster, known | {victim_temp}, 2)

    victim_gw.kill()
    victim.close()
    try:
        for upload in survivors:
            assert upload.finish() == 200
        for n, upload in enumerate(survivors):
            got = (a, b)[n].get_object(Bucket="mg-kill", Key=f"survivor{n}")["Body"].read()
            assert got == upload.body
        for key, body in acked.items():
            assert b.get_object(Bucket="mg-kill", Key=key)["Body"].read() == body
        assert "victim" not in {o["Key"] for o in a.list_objects_v2(Bucket="mg-kill")["Contents"]}
        # The survivors end the dead session: its pending mark becomes garbage (collected);
        # the blob directory holds exactly what the database names.
        wait_for("the dead session ended", lambda: _sessions_alive(cluster), REAPED_WITHIN)
        cluster.wait_collected(REAPED_WITHIN)
        # The gateways of one database are one owner of the directory: the survivors
        # reap the dead upload's temp file too, without its gateway's restart.
        assert len(os.listdir(cluster.blob_dir / "owners")) == 1
        wait_for("the dead upload's temp", lambda: not victim_temp.exists(), REAPED_WITHIN)
    finally:
        victim_gw.start()  # the same port: the session's clients work on
    assert c.get_object(Bucket="mg-kill", Key="acked1")["Body"].read() == acked["acked1"]
    wait_for("the dead upload's temp file", lambda: not victim_temp.exists(), REAPED_WITHIN)
    assert not cluster.temp_files()
    a.delete_objects(Bucket="mg-kill", Delete={"Objects": [
        {"Key": k} for k in [*acked, "survivor0", "survivor1"]]})  # fmt: skip
    a.delete_bucket(Bucket="mg-kill")
    cluster.wait_collected()


def test_restarting_a_gateway_breaks_no_upload_elsewhere(cluster: Cluster) -> None:
    a, b, c = cluster.clients()
    b.create_bucket(Bucket="mg-restart")
    known = set(cluster.temp_files())
    uploads = [SlowPut(cluster.gateways[i], "mg-restart", f"up{i}") for i in (0, 1)]
    for upload in uploads:
        upload.send(MiB)
    _new_temp_files(cluster, known, 2)
    restarted = cluster.gateways[2]
    restarted.stop()
    restarted.start()
    for upload in uploads:
        upload.send(MiB)  # still flowing after the other gateway came back
    assert [upload.finish() for upload in uploads] == [200, 200]
    for n, upload in enumerate(uploads):
        assert c.get_object(Bucket="mg-restart", Key=f"up{n}")["Body"].read() == upload.body
    c.put_object(Bucket="mg-restart", Key="after", Body=b"served")
    assert a.get_object(Bucket="mg-restart", Key="after")["Body"].read() == b"served"
    a.delete_objects(Bucket="mg-restart", Delete={"Objects": [
        {"Key": k} for k in ("up0", "up1", "after")]})  # fmt: skip
    a.delete_bucket(Bucket="mg-restart")
    cluster.wait_collected()
