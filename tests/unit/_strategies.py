"""Hypothesis strategies for request parts, shaped like what the server hands its parsers."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from oortgate.http.routing import parse_query

# A header value as oortgate.http.server decodes it: UTF-8 with surrogateescape, so any
# byte sequence is possible, including bytes that are not UTF-8.
header_value = st.one_of(
    st.text(max_size=40),
    st.binary(max_size=40).map(lambda b: b.decode("utf-8", "surrogateescape")),
)
# A raw path or query string as the server sees it: the bytes decoded as latin-1.
latin1 = st.binary(max_size=60).map(lambda b: b.decode("latin-1"))
# Text built from characters the parsers look at, so structure appears often.
TOKENS = "/%?&=;:,.-_ *+\"'<>\\ \t\r\nazAZ09fF\x00\xff\u00e9\u2603"
tokens = st.text(alphabet=TOKENS, max_size=60)
anything = st.one_of(st.text(max_size=60), tokens, latin1, header_value)
header_name = st.one_of(
    st.sampled_from(
        "authorization x-amz-date date x-amz-content-sha256 host content-type content-md5 "
        "range if-match if-none-match if-modified-since if-unmodified-since x-amz-copy-source "
        "x-amz-acl x-amz-meta-a content-encoding x-amz-trailer x-amz-decoded-content-length "
        "x-amz-checksum-crc32 x-amz-checksum-sha256 x-amz-sdk-checksum-algorithm "
        "content-length x-amz-checksum-algorithm".split()
    ),
    st.text(alphabet="abcdefxyz-", min_size=1, max_size=12),
)
headers = st.dictionaries(header_name, header_value, max_size=8)
# Query names and values as routing.parse_query decodes them: never a lone surrogate.
query_text = st.one_of(st.text(max_size=60), tokens, latin1)
query_pairs = st.one_of(
    st.lists(st.tuples(query_text, query_text), max_size=6),
    st.one_of(latin1, tokens).map(parse_query),
)


def mostly(valid: object, junk: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """``valid`` four times in five, else ``junk``: input that gets deep into a parser."""
    return st.integers(0, 4).flatmap(lambda n: st.just(valid) if n else junk)
