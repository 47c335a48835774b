"""A seeded fuzz loop against the test server: valid signed requests of every family,
each mutated once or twice. It fails on a 5xx (501 NotImplemented aside), an error
without an S3 XML body, or a request the server does not answer within a timeout, and
prints how to reproduce it.

Bounded for ``make test``: FUZZ_REQUESTS (2,000) or FUZZ_SECONDS (45), whichever comes
first; ``make fuzz`` runs longer. FUZZ_SEED replays a run. Traffic goes to the local
test server only.
"""

from __future__ import annotations

import os
import random
import ssl
import time
import xml.etree.ElementTree as ET

import pytest

from ._fuzz import FuzzRequest, Target, fuzz_request
from ._s3raw import read_response, tls_connect
from ._server import ServerProcess
from ._types import S3Client

TIMEOUT = 20.0  # per request, on a loaded machine
MAX_REPORTED = 5


def _problem(req: FuzzRequest, status: int, body: bytes) -> str | None:
    # 501 is NotImplemented (a HEAD answer carries no body to say so: HTTP forbids one).
    not_implemented = status == 501 and (
        req.method == "HEAD" or b"<Code>NotImplemented</Code>" in body
    )
    if status >= 500 and not not_implemented:
        return f"status {status}"
    if status >= 400 and req.method != "HEAD":
        try:
            root = ET.fromstring(body)
        except ET.ParseError:
            return f"status {status} with a body that is not XML"
        if root.tag != "Error" or not root.findtext("Code"):
            return f"status {status} with XML that is not an S3 error"
    return None


def _exchange(port: int, cert: str, req: FuzzRequest) -> tuple[int, bytes]:
    with tls_connect(port, cert, TIMEOUT) as sock:
        sock.sendall(req.wire())
        status, _, body = read_response(sock, req.method)
    return status, body


def test_fuzz(
    server: ServerProcess, s3: S3Client, bucket: str, capsys: pytest.CaptureFixture[str]
) -> None:
    seed = int(os.environ.get("FUZZ_SEED") or random.randrange(2**32))
    count = int(os.environ.get("FUZZ_REQUESTS", "2000"))
    seconds = float(os.environ.get("FUZZ_SECONDS", "45"))
    with capsys.disabled():
        print(f"\nfuzz: seed {seed} (replay with FUZZ_SEED={seed}), "
              f"up to {count} requests or {seconds:.0f} s")
    rng = random.Random(seed)
    s3.put_object(Bucket=bucket, Key="k", Body=b"0123456789" * 10)
    upload = s3.create_multipart_upload(Bucket=bucket, Key="mp")["UploadId"]
    allowed = ("x-amz-meta-a", "Content-Type", "acl", "success_action_status",
               "success_action_redirect", "Cache-Control")

    def post_fields(extra: str) -> dict[str, str]:
        names = (*allowed, extra) if extra else allowed
        fields: dict[str, str] = s3.generate_presigned_post(bucket, "fz-${filename}", Conditions=[
            ["starts-with", "$key", "fz-"], *(["starts-with", f"${n}", ""] for n in names)
        ])["fields"]
        return fields

    target = Target(server.endpoint, server.host, server.root_access_key,
                    server.root_secret_key, bucket, "k", upload,
                    lambda b, k: s3.generate_presigned_url("get_object",
                                                           Params={"Bucket": b, "Key": k}),
                    post_fields)
    problems: list[str] = []
    sent, deadline = 0, time.monotonic() + seconds
    while sent < count and time.monotonic() < deadline and len(problems) < MAX_REPORTED:
        req = fuzz_request(target, rng)
        sent += 1
        problem: str | None
        try:
            status, body = _exchange(server.port, server.cert, req)
        except TimeoutError:
            problem = f"no answer within {TIMEOUT:.0f} s"
        except (ConnectionError, ssl.SSLError, OSError) as exc:
            problem = f"connection failed: {exc!r}"
        else:
            problem = _problem(req, status, body)
            if problem:
                problem += f": {body[:300]!r}"
        if problem:
            problems.append(f"request {sent} ({req.note}): {problem}\n  {req.wire()[:1500]!r}")
    with capsys.disabled():
        print(f"fuzz: {sent} requests, seed {seed}")
    s3.list_buckets()  # the server still serves
    assert not problems, f"seed {seed}:\n" + "\n".join(problems) + "\n" + server.log_text()[-3000:]
