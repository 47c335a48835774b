"""What one gateway writes, every other one reads at once (no gateway caches objects),
and writers racing on one key from three gateways converge: the body matches its ETag
everywhere, and the blob files left are exactly the ones the database names."""

from __future__ import annotations

import hashlib
import os
import random
from functools import partial
from typing import Any

from botocore.exceptions import ClientError

from tests.protocol._util import at_once, wait_for

from ._cluster import Cluster

SMALL, LARGE = 2_000, 100_000  # stored inline (in the database), and as a blob file


def _code(err: ClientError) -> str:
    return str(err.response["Error"]["Code"])


def test_read_list_delete_after_write_across_gateways(cluster: Cluster) -> None:
    a, b, c = cluster.clients()
    a.create_bucket(Bucket="mg-rw")
    bodies = {f"k{n}/{size}": os.urandom(size) for n, size in enumerate((SMALL, LARGE) * 3)}
    for n, (key, body) in enumerate(bodies.items()):
        writer, reader = (a, b, c)[n % 3], (b, c, a)[n % 3]
        writer.put_object(Bucket="mg-rw", Key=key, Body=body)
        assert reader.get_object(Bucket="mg-rw", Key=key)["Body"].read() == body
    for client in (a, b, c):
        listed = client.list_objects_v2(Bucket="mg-rw")
        assert [o["Key"] for o in listed["Contents"]] == sorted(bodies)
    b.put_object(Bucket="mg-rw", Key="k0/2000", Body=b"overwritten")  # a read sees the new one
    assert c.get_object(Bucket="mg-rw", Key="k0/2000")["Body"].read() == b"overwritten"
    for n, key in enumerate(sorted(bodies)):
        (c, a, b)[n % 3].delete_object(Bucket="mg-rw", Key=key)
        for client in (a, b, c):
            try:
                client.head_object(Bucket="mg-rw", Key=key)
                raise AssertionError(f"{key} still there after its delete")
            except ClientError as err:
                assert err.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert all(x.list_objects_v2(Bucket="mg-rw")["KeyCount"] == 0 for x in (a, b, c))
    c.delete_bucket(Bucket="mg-rw")
    for client in (a, b):  # a write is decided in the database: refused at once
        try:
            client.put_object(Bucket="mg-rw", Key="late", Body=b"x")
            raise AssertionError("a PUT into a deleted bucket succeeded")
        except ClientError as err:
            assert _code(err) == "NoSuchBucket", err.response
    # Buckets may be cached per worker (forgotten on the database's notification):
    # gone everywhere within a second.
    wait_for("bucket gone", lambda: not any(_bucket_exists(x, "mg-rw") for x in (a, b)), 1.0)
    cluster.wait_collected()


def _bucket_exists(client: Any, name: str) -> bool:
    try:
        client.head_bucket(Bucket=name)
        return True
    except ClientError as err:
        assert err.response["ResponseMetadata"]["HTTPStatusCode"] == 404
        return False


def test_racing_overwrites_converge_with_no_leaked_blob(cluster: Cluster) -> None:
    clients = cluster.clients()
    clients[0].create_bucket(Bucket="mg-race")
    rng = random.Random(19)
    rounds = [[os.urandom(rng.choice((SMALL, LARGE, LARGE))) for _ in clients] for _ in range(8)]
    written: dict[str, bytes] = {}
    for bodies in rounds:
        calls = [
            partial(c.put_object, Bucket="mg-race", Key="hot", Body=body)
            for c, body in zip(clients, bodies, strict=True)
        ]
        for body, answer in zip(bodies, at_once(*calls), strict=True):
            assert not isinstance(answer, Exception), answer
            written[answer["ETag"]] = body
        seen = set()
        for client in clients:
            got = client.get_object(Bucket="mg-race", Key="hot")
            data = got["Body"].read()
            assert got["ETag"] == f'"{hashlib.md5(data).hexdigest()}"'
            assert written[got["ETag"]] == data  # one of this round's bodies, whole
            seen.add(got["ETag"])
        assert len(seen) == 1, seen  # every gateway reads the same winner
        (head,) = clients[0].list_objects_v2(Bucket="mg-race")["Contents"]
        assert (head["ETag"], head["Size"]) == (seen.pop(), len(data))
    cluster.wait_collected()  # the losers' and the overwritten blobs are all gone
    clients[1].delete_object(Bucket="mg-race", Key="hot")
    clients[2].delete_bucket(Bucket="mg-race")
    cluster.wait_collected()


def test_copy_racing_a_delete_of_its_source_loses_nothing(cluster: Cluster) -> None:
    """A copy shares its source's blob: a delete of the source on another gateway, at
    the same moment, must leave the copy's bytes in place after the collectors ran."""
    a, b, c = cluster.clients()
    a.create_bucket(Bucket="mg-copy")
    copies: dict[str, bytes] = {}
    for n in range(10):
        body = os.urandom(LARGE if n % 2 else SMALL)
        c.put_object(Bucket="mg-copy", Key="src", Body=body)
        copied, deleted = at_once(
            partial(a.copy_object, Bucket="mg-copy", Key=f"dst{n}",
                    CopySource={"Bucket": "mg-copy", "Key": "src"}),
            partial(b.delete_object, Bucket="mg-copy", Key="src"),
        )  # fmt: skip
        assert not isinstance(deleted, Exception), deleted
        if isinstance(copied, ClientError):
            assert _code(copied) == "NoSuchKey", copied.response  # the delete came first
        else:
            assert not isinstance(copied, Exception), copied
            copies[f"dst{n}"] = body
    cluster.wait_collected()
    assert copies, "no copy won a race: the test proved nothing"
    for key, body in copies.items():
        assert b.get_object(Bucket="mg-copy", Key=key)["Body"].read() == body
    listed = {o["Key"] for o in c.list_objects_v2(Bucket="mg-copy").get("Contents", [])}
    assert listed == set(copies)
    c.delete_objects(Bucket="mg-copy", Delete={"Objects": [{"Key": k} for k in copies]})
    a.delete_bucket(Bucket="mg-copy")
    cluster.wait_collected()
