"""An error answered before the request body was read must not leave the connection out
of step. A client awaiting "100 Continue" that gets a refusal never sends its body; were
the connection kept while the server still counted on that body, the server would take
the next request's first bytes for it (a CI run once answered "MethodNotAllowed" with
method "ET" to the GET after a refused boto3 PUT). The server now says
"Connection: close" on such an answer. granian mostly closed these connections by
itself already, so these tests guard the behaviour rather than reproduce the rare case."""

from __future__ import annotations

from typing import Any

from ._s3raw import build_head, error_code, read_response, tls_connect
from ._util import s3_error


def test_a_refusal_before_the_body_closes_the_connection(server: Any) -> None:
    head = build_head("PUT", "/no-such-bucket-here/k", {
        "Host": f"127.0.0.1:{server.port}", "Content-Length": "1",
        "Expect": "100-continue", "Authorization": "AWS nobody:c2lnbmF0dXJl",
        "Date": "Tue, 01 Dec 2026 00:00:00 GMT",
    })  # fmt: skip
    with tls_connect(server.port, server.cert) as sock:
        sock.sendall(head)  # and not the body: the client waits for "100 Continue"
        status, headers, body = read_response(sock, "PUT")
        assert status == 403, body
        assert error_code(body) == "InvalidAccessKeyId"
        assert headers.get("connection", "").lower() == "close"
        sock.settimeout(10)
        assert sock.recv(1) == b""  # closed by the server: nothing can get out of step


def test_refused_puts_and_requests_after_them_on_one_client(
    server: Any, client_for: Any, bucket: str
) -> None:
    """boto3 sends PutObject with Expect: 100-continue; a refused one is followed by
    other requests on the same pooled connection."""
    wrong = client_for(server.root_access_key, server.root_secret_key + "x",
                       signature_version="s3", retries={"total_max_attempts": 1})  # fmt: skip
    for _ in range(20):
        with s3_error("SignatureDoesNotMatch", 403):
            wrong.put_object(Bucket=bucket, Key="nope", Body=b"x")
        with s3_error("SignatureDoesNotMatch", 403):
            wrong.list_objects(Bucket=bucket)
