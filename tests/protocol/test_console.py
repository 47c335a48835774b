"""The web console over TLS with a real HTTP client: sign-in, the session cookie, CSRF,
headers, the presign endpoint (whose URLs the S3 API itself checks), access keys, users,
escaping. Browser-driven flows are in test_console_browser.py."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
import requests

from ._console import ConsoleClient
from ._server import ServerProcess
from ._util import s3_error

Make = Callable[[], ConsoleClient]


@pytest.fixture
def console(server: ServerProcess) -> Make:
    return lambda: ConsoleClient(server)


@pytest.fixture
def root(server: ServerProcess, console: Make) -> ConsoleClient:
    client = console()
    assert client.sign_in(server.root_access_key, server.root_secret_key).status_code == 303
    return client


@pytest.fixture(scope="module")
def short_idle(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """Sessions idle out after 3 s; sign-in attempts are rate-limited (as in production)."""
    data = tmp_path_factory.mktemp("console-idle") / "data"
    args = ["--console-idle-timeout", "3"]
    with ServerProcess(data_dir=data, rate_limit=1000, extra_args=args) as srv:
        yield srv


def test_sign_in_sets_a_strict_session_cookie(server: ServerProcess, console: Make) -> None:
    client = console()
    answer = client.sign_in(server.root_access_key, server.root_secret_key, "/_console/keys")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/_console/keys"
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith("oortgate_console=")
    flags = {part.strip() for part in cookie.split(";")[1:]}
    assert {"HttpOnly", "Secure", "SameSite=Strict", "Path=/_console/"} <= flags
    page = client.get("keys")
    assert page.status_code == 200
    assert server.root_access_key in page.text


def test_wrong_secret_unknown_key_and_foreign_next_are_refused(
    server: ServerProcess, console: Make
) -> None:
    client = console()
    wrong = client.sign_in(server.root_access_key, server.root_secret_key[:-1] + "x")
    assert wrong.status_code == 401
    assert "set-cookie" not in wrong.headers
    assert "Wrong access key or secret key." in wrong.text
    assert client.sign_in("OORTNOSUCHKEY0000000", "whatever").status_code == 401
    assert client.get("").status_code == 303  # still signed out
    # A "next" page elsewhere is never followed: only console paths.
    evil = client.sign_in(server.root_access_key, server.root_secret_key, "https://evil.example/")
    assert evil.headers["location"] == "/_console/"


def test_a_page_without_a_session_goes_to_sign_in_and_back(
    server: ServerProcess, console: Make
) -> None:
    client = console()
    answer = client.get("b/some-bucket/", params={"prefix": "a b/"})
    assert answer.status_code == 303
    location = answer.headers["location"]
    assert location.startswith("/_console/signin?next=")
    back = unquote(location.split("next=", 1)[1])
    assert back == "/_console/b/some-bucket/?prefix=a%20b%2F"
    signed = client.sign_in(server.root_access_key, server.root_secret_key, back)
    assert signed.headers["location"] == back
    # A tampered token is no session.
    token = client.http.cookies.get("oortgate_console")
    assert token
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    client.http.cookies.clear()
    client.http.cookies.set("oortgate_console", tampered, path="/_console/")
    assert client.get("").status_code == 303


def test_sign_out_needs_the_csrf_token_and_ends_the_session(root: ConsoleClient) -> None:
    assert root.post_form("signout", {}).status_code == 403
    assert root.get("").status_code == 200
    out = root.post_form("signout", {"csrf": root.csrf})
    assert out.status_code == 303
    assert "Max-Age=0" in out.headers["set-cookie"]
    assert root.get("").status_code == 303


def test_state_changes_without_the_csrf_token_or_from_elsewhere_are_refused(
    root: ConsoleClient, make_user: Any
) -> None:
    before = root.get("keys").text.count("<tr data-key=")
    assert root.action("api/keys", {}, csrf="").status_code == 403
    assert root.action("api/keys", {}, csrf="A" * 43).status_code == 403
    assert root.action("api/keys", {}, origin="https://evil.example").status_code == 403
    assert root.get("keys").text.count("<tr data-key=") == before


def test_csrf_token_of_another_session_is_refused(
    server: ServerProcess, root: ConsoleClient, console: Make
) -> None:
    second = console()
    second.sign_in(server.root_access_key, server.root_secret_key)
    assert second.csrf != root.csrf
    assert root.action("api/presign", {"op": "ListBuckets"}, csrf=second.csrf).status_code == 403
    assert root.action("api/presign", {"op": "ListBuckets"}).status_code == 200


def test_pages_and_files_send_a_strict_csp_and_the_other_headers(root: ConsoleClient) -> None:
    for answer in (root.get(""), root.get("signin"), root.get("buckets")):
        csp = answer.headers["content-security-policy"]
        assert "default-src 'self'" in csp
        assert "frame-ancestors 'none'" in csp
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["referrer-policy"] == "no-referrer"
        assert answer.headers["cache-control"] == "no-store"
        assert "<script>" not in answer.text and " style=" not in answer.text  # no inline
    page = root.get("")
    scripts = re.findall(r'src="(/_console/static/console\.js\?v=[0-9a-f]+)"', page.text)
    assert scripts
    asset = root.http.get(root.origin + scripts[0], timeout=30)
    assert asset.status_code == 200
    assert asset.headers["content-type"].startswith("text/javascript")
    assert "immutable" in asset.headers["cache-control"]
    assert asset.headers["x-content-type-options"] == "nosniff"
    assert root.get("static/../app.py").status_code == 404
    assert root.get("static/nothing.js").status_code == 404


def test_presigned_urls_act_with_the_signed_in_keys_rights(
    server: ServerProcess, console: Make, make_user: Any, client_for: Any, make_bucket: Any
) -> None:
    alice, bob = make_user(), make_user()
    theirs = make_bucket(client_for(*alice))
    client_for(*alice).put_object(Bucket=theirs, Key="secret.txt", Body=b"alice's")
    mine = make_bucket(client_for(*bob))
    as_bob = console()
    assert as_bob.sign_in(*bob).status_code == 303
    for op, key in (("ListObjectsV2", ""), ("GetObject", "secret.txt"),
                    ("PutObject", "planted.txt"), ("DeleteObject", "secret.txt")):  # fmt: skip
        answer = as_bob.presign(op, theirs, key)
        assert answer.status_code == 200, answer.text
        method = {"PutObject": "PUT", "DeleteObject": "DELETE"}.get(op, "GET")
        refused = requests.request(method, answer.json()["absolute"], verify=server.cert,
                                   data=b"x" if method == "PUT" else None, timeout=30)  # fmt: skip
        assert refused.status_code == 403, (op, refused.text)
        assert "<Code>AccessDenied</Code>" in refused.text
    assert client_for(*alice).get_object(Bucket=theirs, Key="secret.txt")["Body"].read() == (
        b"alice's"
    )
    # With their own bucket, the same URLs work.
    put = requests.put(as_bob.url("PutObject", mine, "dir/a b+c.txt"), data=b"hello",
                       verify=server.cert, timeout=30)  # fmt: skip
    assert put.status_code == 200, put.text
    got = requests.get(as_bob.url("GetObject", mine, "dir/a b+c.txt"), verify=server.cert,
                       timeout=30)  # fmt: skip
    assert got.content == b"hello"


def test_presign_refuses_what_it_does_not_sign(root: ConsoleClient) -> None:
    cases: list[dict[str, Any]] = [
        {"op": "PutBucketPolicy", "bucket": "b"},
        {"op": "GetObject", "bucket": "b"},  # no key
        {"op": "ListObjectsV2", "bucket": "b", "params": {"x-id": "1"}},
        {"op": "GetObject", "bucket": "b", "key": "k", "expires": 7 * 86400 + 1},
        {"op": "PutObject", "bucket": "b", "key": "k", "expires": 86400},  # only 15 min
        {"op": "GetObject", "bucket": "b", "key": "k" * 1025},
        {"op": "GetObject", "bucket": "b", "key": "k", "expires": "soon"},
    ]
    for body in cases:
        answer = root.action("api/presign", body)
        assert answer.status_code == 400, (body, answer.text)
        assert answer.json()["error"]
    week = {"op": "GetObject", "bucket": "b", "key": "k", "expires": 7 * 86400}
    share = root.action("api/presign", week)
    assert share.status_code == 200
    assert "X-Amz-Expires=604800" in share.json()["url"]


def test_create_bucket_in_either_tier_and_see_s3s_reason_when_refused(
    root: ConsoleClient, s3: Any, unique_name: Any, make_user: Any, client_for: Any,
    make_bucket: Any,
) -> None:  # fmt: skip
    archive, standard = unique_name("arch"), unique_name("std")
    created = []
    try:
        for name, tier in ((archive, "archive"), (standard, "standard")):
            answer = root.action("api/buckets", {"name": name, "tier": tier})
            assert answer.status_code == 200 and answer.json()["ok"], answer.text
            created.append(name)
        s3.put_object(Bucket=archive, Key="k", Body=b"x")
        assert s3.head_object(Bucket=archive, Key="k")["StorageClass"] == "GLACIER_IR"
        s3.put_object(Bucket=standard, Key="k", Body=b"x")
        assert "StorageClass" not in s3.head_object(Bucket=standard, Key="k")
        page = root.get("buckets").text
        assert archive in page and standard in page
        theirs = make_bucket(client_for(*make_user()))
        taken = root.action("api/buckets", {"name": theirs})
        assert taken.status_code == 409
        assert taken.json() == {"ok": False, "code": "BucketAlreadyExists",
                                "message": taken.json()["message"]}  # fmt: skip
        bad = root.action("api/buckets", {"name": "No_Such..Name"})
        assert bad.json()["code"] == "InvalidBucketName"
    finally:
        for name in created:
            s3.delete_object(Bucket=name, Key="k")
            s3.delete_bucket(Bucket=name)


def test_an_access_keys_secret_is_shown_once_and_never_listed(
    server: ServerProcess, console: Make, make_user: Any, client_for: Any
) -> None:
    user = make_user()
    client = console()
    client.sign_in(*user)
    made = client.action("api/keys", {})
    assert made.status_code == 200
    new_key, new_secret = made.json()["access_key"], made.json()["secret_key"]
    assert len(new_secret) == 40
    page = client.get("keys").text
    assert new_key in page and user.access_key in page
    assert new_secret not in page and user.secret_key not in page
    assert new_secret not in client.get("").text
    s3 = client_for(new_key, new_secret)
    s3.list_buckets()
    assert client.action("api/keys/enable", {"access_key": new_key, "enabled": False}).ok
    with s3_error("InvalidAccessKeyId", 403):
        s3.list_buckets()
    assert client.action("api/keys/enable", {"access_key": new_key, "enabled": True}).ok
    s3.list_buckets()
    # Its own session key cannot be disabled or deleted from the session itself.
    own = client.action("api/keys/delete", {"access_key": user.access_key})
    assert own.status_code == 409
    assert client.action("api/keys/delete", {"access_key": new_key}).ok
    with s3_error("InvalidAccessKeyId", 403):
        s3.list_buckets()
    # Rotate: a new key for the same user, the old one disabled.
    spare = client.action("api/keys", {}).json()
    rotated = client.action("api/keys/rotate", {"access_key": spare["access_key"]})
    assert rotated.status_code == 200 and rotated.json()["replaces"] == spare["access_key"]
    client_for(rotated.json()["access_key"], rotated.json()["secret_key"]).list_buckets()
    with s3_error("InvalidAccessKeyId", 403):
        client_for(spare["access_key"], spare["secret_key"]).list_buckets()
    assert client.action("api/keys/rotate", {"access_key": user.access_key}).status_code == 409
    # Nobody else's keys: another user's key is "no such access key".
    other = make_user()
    refused = client.action("api/keys/enable", {"access_key": other.access_key, "enabled": False})
    assert refused.status_code == 409
    client_for(*other).list_buckets()


def test_at_most_ten_keys_per_user(console: Make, make_user: Any) -> None:
    client = console()
    client.sign_in(*make_user())
    answers = [client.action("api/keys", {}) for _ in range(10)]
    assert [a.status_code for a in answers] == [200] * 9 + [409]
    assert "at most 10" in answers[-1].json()["error"]


def test_a_session_ends_when_its_key_is_disabled_or_its_secret_changes(
    server: ServerProcess, console: Make, make_user: Any
) -> None:
    user = make_user()
    client = console()
    client.sign_in(*user)
    assert client.get("").status_code == 200
    server.admin("key", "disable", user.access_key)
    assert client.get("").status_code == 303
    assert client.sign_in(*user).status_code == 401
    # The same access key made again with another secret: the old session proves nothing.
    server.admin("key", "enable", user.access_key)
    assert client.sign_in(*user).status_code == 303
    server.admin("key", "delete", user.access_key)
    new_secret = user.secret_key[::-1]
    server.admin("key", "create", user.name, "--access-key", user.access_key,
                 "--secret-key", new_secret)  # fmt: skip
    assert client.get("").status_code == 303
    assert client.sign_in(user.access_key, new_secret).status_code == 303


def test_only_root_sees_and_creates_users(
    server: ServerProcess, root: ConsoleClient, console: Make, make_user: Any, client_for: Any
) -> None:
    user = make_user()
    plain = console()
    plain.sign_in(*user)
    assert plain.get("users").status_code == 403
    assert "/_console/users" not in plain.get("").text
    assert plain.action("api/users", {"name": "intruder"}).status_code == 403
    page = root.get("users")
    assert page.status_code == 200 and user.name in page.text
    name = f"made-{user.name}"
    made = root.action("api/users", {"name": name})
    assert made.status_code == 200, made.text
    client_for(made.json()["access_key"], made.json()["secret_key"]).list_buckets()
    assert name in root.get("users").text
    assert made.json()["secret_key"] not in root.get("users").text
    assert root.action("api/users", {"name": name}).status_code == 409  # taken
    assert root.action("api/users", {"name": "<b>"}).status_code == 400
    # Remove: never root, never a user who owns something, and its keys go with it.
    assert root.action("api/users/delete", {"name": "root"}).status_code == 409
    assert plain.action("api/users/delete", {"name": name}).status_code == 403
    owner = make_user()
    client_for(*owner).create_bucket(Bucket=f"owned-{owner.name}")
    assert root.action("api/users/delete", {"name": owner.name}).status_code == 409
    client_for(*owner).delete_bucket(Bucket=f"owned-{owner.name}")
    assert root.action("api/users/delete", {"name": name}).json() == {"ok": True}
    assert name not in root.get("users").text
    with s3_error("InvalidAccessKeyId", 403):
        client_for(made.json()["access_key"], made.json()["secret_key"]).list_buckets()


def test_names_are_rendered_as_text(
    server: ServerProcess, root: ConsoleClient, make_user: Any
) -> None:
    evil = "<script>alert(1)</script>"
    page = root.get("b/some-bucket/", params={"prefix": evil + '"x'})
    assert page.status_code == 200
    assert evil not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&#34;x" in page.text
    server.create_user("<img src=x onerror=alert(1)>")
    users = root.get("users").text
    assert "<img src=x" not in users and "&lt;img src=x onerror=alert(1)&gt;" in users


def test_sign_in_attempts_are_rate_limited(short_idle: ServerProcess) -> None:
    client = ConsoleClient(short_idle)
    codes = [client.sign_in(short_idle.root_access_key, "wrong").status_code for _ in range(10)]
    assert codes == [401] * 10
    throttled = client.sign_in(short_idle.root_access_key, short_idle.root_secret_key)
    assert throttled.status_code == 429  # even the right secret is not tried now
    assert int(throttled.headers["retry-after"]) >= 1
    assert client.get("").status_code == 303


def test_idle_sessions_expire_and_use_keeps_them_alive(short_idle: ServerProcess) -> None:
    client = ConsoleClient(short_idle)
    # (Another client address would have its own sign-in budget; this one is fresh
    # enough: the limiter refills one attempt every 6 s and a test before used 11.)
    deadline = time.monotonic() + 15
    while client.sign_in(short_idle.root_access_key, short_idle.root_secret_key).status_code == 429:
        assert time.monotonic() < deadline
        time.sleep(1)
    for _ in range(3):  # 4.5 s in all, beyond the 3 s idle timeout: used, it slides
        time.sleep(1.5)
        assert client.get("").status_code == 200
    time.sleep(3.5)
    assert client.get("").status_code == 303


def test_console_off_answers_404(tmp_path: Path) -> None:
    with ServerProcess(data_dir=tmp_path / "data", extra_args=["--console", "false"]) as srv:
        for path in ("/_console/", "/_console/signin", "/_console/static/console.js"):
            answer = requests.get(srv.endpoint + path, verify=srv.cert, timeout=30)
            assert answer.status_code == 404, path
        assert "oortgate_console" not in answer.headers.get("set-cookie", "")


def test_first_page_is_fast(server: ServerProcess, root: ConsoleClient) -> None:
    root.get("")  # templates compiled
    for path in ("signin", "", "buckets", "keys"):
        times = []
        for _ in range(3):  # the best of three: the machine is shared with other tests
            started = time.perf_counter()
            assert root.get(path).status_code == 200
            times.append(time.perf_counter() - started)
        assert min(times) < 0.3, f"{path}: {min(times) * 1000:.0f} ms"
