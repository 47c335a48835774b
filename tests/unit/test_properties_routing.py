"""Router properties: any method, path, query and headers give a Route or an S3Error."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from oortgate.errors import S3Error
from oortgate.http.routing import parse_query, route, split_path
from oortgate.ops.operations import Op, Route
from tests.unit._strategies import headers, latin1, query_text, tokens

METHODS = st.one_of(st.sampled_from(["GET", "PUT", "POST", "DELETE", "HEAD", "OPTIONS", "PATCH"]),
                    st.text(max_size=8))
SUBRESOURCES = st.sampled_from(
    "acl cors delete uploads uploadId partNumber versioning versions location list-type "
    "restore tagging select x-id response-content-type versionId Action".split()
)
PATHS = st.one_of(latin1, tokens, st.builds(lambda a, b: f"/{a}/{b}", tokens, latin1))


@settings(max_examples=400, deadline=None)
@given(method=METHODS, path=PATHS,
       query=st.dictionaries(st.one_of(SUBRESOURCES, query_text), query_text, max_size=4),
       hdrs=headers, vhost=st.one_of(st.none(), query_text))
def test_route_gives_a_route_or_an_s3_error(
    method: str, path: str, query: dict[str, str], hdrs: dict[str, str], vhost: str | None
) -> None:
    try:
        found = route(method, path, query, hdrs, vhost)
    except S3Error:
        return
    assert isinstance(found, Route) and isinstance(found.op, Op)


@settings(max_examples=300, deadline=None)
@given(text=st.one_of(latin1, tokens))
def test_parse_query_and_split_path_never_fail_otherwise(text: str) -> None:
    pairs = parse_query(text)
    assert all(isinstance(n, str) and isinstance(v, str) for n, v in pairs)
    try:
        bucket, _ = split_path(text)
    except S3Error:
        return
    assert bucket is None or isinstance(bucket, str)
