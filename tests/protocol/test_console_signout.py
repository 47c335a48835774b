"""Server-side revocation of console sessions, on a server of two workers, with a plain
HTTP client: a cookie copied before sign-out, before its key is disabled or deleted, or
before its user is removed is refused at once by whichever worker answers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from ._console import ConsoleClient
from ._server import ServerProcess


@pytest.fixture(scope="module")
def two_workers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    data = tmp_path_factory.mktemp("console-signout") / "data"
    with ServerProcess(data_dir=data, workers=2) as srv:
        yield srv


def _answers(server: ServerProcess, token: str, path: str = "") -> set[int]:
    """The statuses of ten requests with this cookie, each on a new connection (so both
    workers answer some), without following redirects."""
    statuses = set()
    for _ in range(10):
        answer = requests.get(
            f"{server.endpoint}/_console/{path}",
            cookies={"oortgate_console": token},
            verify=server.cert,
            allow_redirects=False,
            timeout=30,
            headers={"Connection": "close"},
        )
        statuses.add(answer.status_code)
    return statuses


def _signed_in(
    server: ServerProcess, access_key: str, secret_key: str
) -> tuple[ConsoleClient, str]:
    client = ConsoleClient(server)
    assert client.sign_in(access_key, secret_key).status_code == 303
    token = client.http.cookies.get("oortgate_console")
    assert token
    return client, token


def test_a_cookie_copied_before_sign_out_is_refused_after_it(two_workers: ServerProcess) -> None:
    srv = two_workers
    client, copied = _signed_in(srv, srv.root_access_key, srv.root_secret_key)
    assert _answers(srv, copied) == {200}
    assert _answers(srv, copied, "api/traffic") == {200}
    assert client.post_form("signout", {"csrf": client.csrf}).status_code == 303
    assert _answers(srv, copied) == {303}  # back to sign-in, on either worker
    assert _answers(srv, copied, "api/traffic") == {401}
    # Its CSRF token is no use either: no action is taken for the copy.
    refused = requests.post(
        f"{srv.endpoint}/_console/api/keys", json={}, cookies={"oortgate_console": copied},
        headers={"Origin": srv.endpoint, "X-CSRF-Token": client.csrf}, verify=srv.cert,
        timeout=30,
    )  # fmt: skip
    assert refused.status_code == 401
    # Another session of the same key is not signed out with it.
    _, other = _signed_in(srv, srv.root_access_key, srv.root_secret_key)
    assert _answers(srv, other) == {200}


def test_a_disabled_or_deleted_key_and_a_removed_user_end_their_sessions(
    two_workers: ServerProcess,
) -> None:
    srv = two_workers
    root, _ = _signed_in(srv, srv.root_access_key, srv.root_secret_key)
    made = root.action("api/users", {"name": "leaving"}).json()
    access_key, secret_key = made["access_key"], made["secret_key"]
    _, copied = _signed_in(srv, access_key, secret_key)
    assert _answers(srv, copied) == {200}
    assert root.action("api/keys/enable", {"access_key": access_key, "enabled": False}).ok
    assert _answers(srv, copied) == {303}
    assert root.action("api/keys/enable", {"access_key": access_key, "enabled": True}).ok
    assert _answers(srv, copied) == {200}  # the same secret: the session holds again
    _, again = _signed_in(srv, access_key, secret_key)
    assert root.action("api/keys/delete", {"access_key": access_key}).ok
    assert _answers(srv, again) == {303}
    # A user's other key, then the user removed (its keys go with it).
    key = srv.create_key("leaving")
    _, third = _signed_in(srv, str(key["access_key"]), str(key["secret_key"]))
    assert _answers(srv, third) == {200}
    assert root.action("api/users/delete", {"name": "leaving"}).json() == {"ok": True}
    assert _answers(srv, third) == {303}
