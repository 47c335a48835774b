"""Races between gateways that must have exactly one winner, decided in the database:
DeleteBucket against a PUT into that bucket, two Completes of one multipart upload with
different parts, and three owners creating one bucket name."""

from __future__ import annotations

import hashlib
import os
import uuid
from functools import partial
from typing import Any

from botocore.exceptions import ClientError

from tests.protocol._util import at_once

from ._cluster import Cluster, MiB

LARGE = 100_000


def _code(answer: object) -> str | None:
    """The S3 error code of a failed call; None for a success."""
    if isinstance(answer, ClientError):
        return str(answer.response["Error"]["Code"])
    assert not isinstance(answer, Exception), answer
    return None


def _exists(client: Any, bucket: str) -> bool:
    try:
        client.head_bucket(Bucket=bucket)
        return True
    except ClientError as err:
        assert err.response["ResponseMetadata"]["HTTPStatusCode"] == 404
        return False


def test_delete_bucket_racing_a_put_has_one_winner(cluster: Cluster) -> None:
    a, b, c = cluster.clients(retries={"total_max_attempts": 1})
    outcomes = set()
    for n in range(10):
        name, body = f"mg-dvp-{n}", os.urandom(LARGE)
        c.create_bucket(Bucket=name)
        deleted, put = at_once(
            partial(a.delete_bucket, Bucket=name),
            partial(b.put_object, Bucket=name, Key="k", Body=body),
        )
        outcome = (_code(deleted), _code(put))
        outcomes.add(outcome)
        if outcome == (None, "NoSuchBucket"):  # the delete won: nothing is left
            assert not _exists(c, name)
        else:  # the PUT won: the bucket and the object are whole
            assert outcome == ("BucketNotEmpty", None), outcome
            assert c.get_object(Bucket=name, Key="k")["Body"].read() == body
            c.delete_object(Bucket=name, Key="k")
            c.delete_bucket(Bucket=name)
    print("outcomes:", outcomes)
    cluster.wait_collected()  # a PUT that lost left no blob behind


def _parts(client: Any, bucket: str, upload: str, bodies: list[bytes]) -> list[str]:
    return [client.upload_part(Bucket=bucket, Key="mp", UploadId=upload, PartNumber=n + 1,
                               Body=body)["ETag"] for n, body in enumerate(bodies)]  # fmt: skip


def _multipart_etag(bodies: list[bytes]) -> str:
    digest = hashlib.md5(b"".join(hashlib.md5(b).digest() for b in bodies)).hexdigest()
    return f'"{digest}-{len(bodies)}"'


def test_complete_racing_complete_has_one_winner(cluster: Cluster) -> None:
    """Two Completes of one upload at once, on two gateways, naming different parts: one
    makes the object, the other finds the upload gone (NoSuchUpload); the object is the
    winner's parts, whole; the parts the winner left out are collected."""
    a, b, c = cluster.clients(retries={"total_max_attempts": 1})
    c.create_bucket(Bucket="mg-cvc")
    winners = []
    for _ in range(6):
        upload = c.create_multipart_upload(Bucket="mg-cvc", Key="mp")["UploadId"]
        bodies = [os.urandom(5 * MiB), os.urandom(LARGE)]
        etags = _parts(c, "mg-cvc", upload, bodies)
        lists = [[{"PartNumber": 1, "ETag": etags[0]}, {"PartNumber": 2, "ETag": etags[1]}],
                 [{"PartNumber": 2, "ETag": etags[1]}]]  # fmt: skip
        answers = at_once(*[partial(client.complete_multipart_upload, Bucket="mg-cvc", Key="mp",
                                    UploadId=upload, MultipartUpload={"Parts": parts})
                            for client, parts in zip((a, b), lists, strict=True)])  # fmt: skip
        codes = [_code(x) for x in answers]
        assert sorted(codes, key=str) in ([None, "NoSuchUpload"], ["NoSuchUpload", None]), codes
        won = codes.index(None)
        expected = bodies if won == 0 else bodies[1:]
        assert answers[won]["ETag"] == _multipart_etag(expected)
        got = c.get_object(Bucket="mg-cvc", Key="mp")
        assert got["ETag"] == answers[won]["ETag"]
        assert got["Body"].read() == b"".join(expected)
        winners.append(won)
    print("winners (0: all parts, 1: the last part only):", winners)
    c.delete_object(Bucket="mg-cvc", Key="mp")
    assert not c.list_multipart_uploads(Bucket="mg-cvc").get("Uploads")
    c.delete_bucket(Bucket="mg-cvc")
    cluster.wait_collected()


def test_one_bucket_name_created_by_three_owners_at_once_has_one_owner(
    cluster: Cluster,
) -> None:
    tag = uuid.uuid4().hex[:8]
    users = [cluster.take_user() for _ in range(3)]
    clients = [cluster.client(i, ak, sk, retries={"total_max_attempts": 1})
               for i, (ak, sk) in enumerate(users)]  # fmt: skip
    for n in range(5):
        name = f"mg-name-{tag}-{n}"
        answers = at_once(*[partial(c.create_bucket, Bucket=name) for c in clients])
        codes = [_code(x) for x in answers]
        assert sorted(codes, key=str) == ["BucketAlreadyExists", "BucketAlreadyExists", None], codes
        owner = clients[codes.index(None)]
        for client in clients:  # everyone sees the one owner's bucket
            mine = {b["Name"] for b in client.list_buckets()["Buckets"]}
            assert (name in mine) == (client is owner)
        owner.delete_bucket(Bucket=name)


def test_bucket_quota_raced_from_three_gateways_is_never_passed(cluster: Cluster) -> None:
    """One user at 99 of its 100 buckets (``max_buckets_per_user``) asks each gateway for a
    bucket of its own at once: exactly one is made, the others are TooManyBuckets."""
    tag = uuid.uuid4().hex[:8]
    ak, sk = cluster.take_user()
    clients = [cluster.client(i, ak, sk) for i in range(3)]
    limit = 100  # the default every gateway of the cluster runs with
    for n in range(limit - 1):
        clients[n % 3].create_bucket(Bucket=f"mg-quota-{tag}-{n}")
    once = [cluster.client(i, ak, sk, retries={"total_max_attempts": 1}) for i in range(3)]
    for round_ in range(3):
        names = [f"mg-quota-{tag}-r{round_}-{i}" for i in range(3)]
        calls = [partial(c.create_bucket, Bucket=n) for c, n in zip(once, names, strict=True)]
        answers = at_once(*calls)
        codes = [_code(x) for x in answers]
        assert sorted(codes, key=str) == [None, "TooManyBuckets", "TooManyBuckets"], codes
        owned = {b["Name"] for b in clients[0].list_buckets()["Buckets"]}
        assert len(owned) == limit and names[codes.index(None)] in owned
        clients[1].delete_bucket(Bucket=names[codes.index(None)])
    for n in range(limit - 1):
        clients[n % 3].delete_bucket(Bucket=f"mg-quota-{tag}-{n}")
