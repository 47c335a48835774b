"""Bucket CORS configuration: PutBucketCors XML, storage round trip, and the rule
evaluation S3 documents for preflight and actual requests ("first matching rule wins",
one '*' wildcard in origins and header names, header names case-insensitive)."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from oortgate import cors
from oortgate.errors import S3Error
from oortgate.xml.cors import cors_document, parse_cors

NS = 'xmlns="http://s3.amazonaws.com/doc/2006-03-01/"'


def config(*rules: str, ns: bool = True) -> bytes:
    attrs = f" {NS}" if ns else ""
    return f"<CORSConfiguration{attrs}>{''.join(rules)}</CORSConfiguration>".encode()


def rule(
    origins: list[str],
    methods: list[str],
    headers: Sequence[str] = (),
    expose: Sequence[str] = (),
    max_age: str | None = None,
    rule_id: str | None = None,
) -> str:
    parts = []
    if rule_id is not None:
        parts.append(f"<ID>{rule_id}</ID>")
    parts += [f"<AllowedOrigin>{o}</AllowedOrigin>" for o in origins]
    parts += [f"<AllowedMethod>{m}</AllowedMethod>" for m in methods]
    parts += [f"<AllowedHeader>{h}</AllowedHeader>" for h in headers]
    parts += [f"<ExposeHeader>{h}</ExposeHeader>" for h in expose]
    if max_age is not None:
        parts.append(f"<MaxAgeSeconds>{max_age}</MaxAgeSeconds>")
    return f"<CORSRule>{''.join(parts)}</CORSRule>"


def expect(code: str, body: bytes) -> S3Error:
    with pytest.raises(S3Error) as ei:
        parse_cors(body)
    assert ei.value.code == code, f"expected {code}, got {ei.value.code}: {ei.value.message}"
    assert ei.value.status == 400
    return ei.value


def header_map(pairs: list[tuple[str, str]]) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in pairs:
        name = name.lower()
        out[name] = f"{out[name]}, {value}" if name in out else value
    return out


def split(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


# -- parsing ------------------------------------------------------------------------


def test_parse_full_rule() -> None:
    rules = parse_cors(
        config(
            rule(
                ["https://app.example.com", "https://*.example.org"],
                ["GET", "PUT"],
                headers=["Content-Type", "x-amz-*"],
                expose=["ETag", "x-amz-request-id"],
                max_age="3000",
                rule_id="web",
            )
        )
    )
    assert len(rules) == 1
    r = rules[0]
    assert r.id == "web"
    assert r.allowed_origins == ["https://app.example.com", "https://*.example.org"]
    assert r.allowed_methods == ["GET", "PUT"]
    assert r.allowed_headers == ["Content-Type", "x-amz-*"]
    assert r.expose_headers == ["ETag", "x-amz-request-id"]
    assert r.max_age == 3000


def test_parse_without_namespace_and_minimal_rule() -> None:
    rules = parse_cors(config(rule(["*"], ["GET"]), ns=False))
    assert rules[0].allowed_origins == ["*"]
    assert rules[0].allowed_headers == []
    assert rules[0].expose_headers == []
    assert rules[0].max_age is None
    assert rules[0].id is None


def test_parse_keeps_rule_order() -> None:
    rules = parse_cors(
        config(rule(["https://a"], ["GET"], rule_id="1"), rule(["https://b"], ["PUT"], rule_id="2"))
    )
    assert [r.id for r in rules] == ["1", "2"]


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"<CORSConfiguration",
        config(),
        b"<NotCORS><CORSRule><AllowedOrigin>*</AllowedOrigin>"
        b"<AllowedMethod>GET</AllowedMethod></CORSRule></NotCORS>",
        config("<CORSRule><AllowedMethod>GET</AllowedMethod></CORSRule>"),
        config("<CORSRule><AllowedOrigin>*</AllowedOrigin></CORSRule>"),
    ],
    ids=["empty", "not-xml", "no-rules", "wrong-root", "no-origin", "no-method"],
)
def test_malformed_configuration(body: bytes) -> None:
    expect("MalformedXML", body)


@pytest.mark.parametrize("max_age", ["abc", "-5", "1.5", ""])
def test_bad_max_age_is_malformed(max_age: str) -> None:
    expect("MalformedXML", config(rule(["*"], ["GET"], max_age=max_age)))


def test_too_many_rules_is_refused() -> None:
    # S3 allows at most 100 rules in a configuration.
    parse_cors(config(*[rule([f"https://h{i}"], ["GET"]) for i in range(100)]))
    with pytest.raises(S3Error) as ei:
        parse_cors(config(*[rule([f"https://h{i}"], ["GET"]) for i in range(101)]))
    assert ei.value.status == 400


@pytest.mark.parametrize("method", ["PATCH", "OPTIONS", "get", "TRACE"])
def test_unsupported_method(method: str) -> None:
    err = expect("InvalidRequest", config(rule(["*"], [method])))
    assert "Found unsupported HTTP method in CORS config" in err.message
    assert method in err.message


def test_two_wildcards_in_origin() -> None:
    err = expect("InvalidRequest", config(rule(["https://*.example.*"], ["GET"])))
    assert "can not have more than one wildcard" in err.message
    assert "https://*.example.*" in err.message


def test_two_wildcards_in_allowed_header() -> None:
    err = expect("InvalidRequest", config(rule(["*"], ["GET"], headers=["x-*-meta-*"])))
    assert "can not have more than one wildcard" in err.message


# -- round trips --------------------------------------------------------------------


RICH = config(
    rule(
        ["https://a.example.com"],
        ["PUT", "POST", "DELETE"],
        headers=["*"],
        expose=["ETag"],
        max_age="600",
        rule_id="writers",
    ),
    rule(["*"], ["GET", "HEAD"]),
)


def test_dumps_loads_round_trip() -> None:
    rules = parse_cors(RICH)
    assert cors.loads(cors.dumps(rules)) == rules


def test_document_round_trip() -> None:
    rules = parse_cors(RICH)
    body = cors_document(rules)
    assert body.startswith(b"<?xml")
    assert b"<CORSConfiguration" in body and b"http://s3.amazonaws.com/doc/2006-03-01/" in body
    assert parse_cors(body) == rules


def test_document_has_no_empty_optional_elements() -> None:
    body = cors_document(parse_cors(config(rule(["*"], ["GET"]))))
    assert b"<ID" not in body
    assert b"MaxAgeSeconds" not in body
    assert b"ExposeHeader" not in body
    assert b"AllowedHeader" not in body


# -- matching -----------------------------------------------------------------------


def rules_of(*rs: str) -> list[cors.Rule]:
    return parse_cors(config(*rs))


def test_exact_origin_and_method() -> None:
    rules = rules_of(rule(["https://app.example.com"], ["PUT"]))
    assert cors.find(rules, "https://app.example.com", "PUT", []) is rules[0]
    assert cors.find(rules, "https://app.example.com", "GET", []) is None
    assert cors.find(rules, "https://evil.example.com", "PUT", []) is None
    assert cors.find(rules, "http://app.example.com", "PUT", []) is None  # scheme matters


def test_any_origin() -> None:
    rules = rules_of(rule(["*"], ["GET"]))
    assert cors.find(rules, "https://whatever.test", "GET", []) is rules[0]
    assert cors.find(rules, "null", "GET", []) is rules[0]


@pytest.mark.parametrize(
    ("origin", "ok"),
    [
        ("https://a.example.com", True),
        ("https://deep.sub.example.com", True),
        ("https://example.com", False),
        ("http://a.example.com", False),
        ("https://a.example.com.evil.test", False),
    ],
)
def test_wildcard_origin(origin: str, ok: bool) -> None:
    rules = rules_of(rule(["https://*.example.com"], ["GET"]))
    assert (cors.find(rules, origin, "GET", []) is not None) is ok


def test_wildcard_origin_port() -> None:
    rules = rules_of(rule(["http://127.0.0.1:*"], ["GET"]))
    assert cors.find(rules, "http://127.0.0.1:8080", "GET", []) is not None
    assert cors.find(rules, "http://127.0.0.2:8080", "GET", []) is None


def test_origin_pattern_has_no_other_special_characters() -> None:
    rules = rules_of(rule(["https://a?.example.com"], ["GET"]))
    assert cors.find(rules, "https://ab.example.com", "GET", []) is None
    assert cors.find(rules, "https://a?.example.com", "GET", []) is not None


def test_requested_headers_must_all_be_allowed() -> None:
    rules = rules_of(rule(["*"], ["PUT"], headers=["Content-Type", "x-amz-meta-color"]))
    assert cors.find(rules, "https://o", "PUT", ["content-type"]) is not None
    assert cors.find(rules, "https://o", "PUT", ["content-type", "x-amz-meta-color"]) is not None
    assert cors.find(rules, "https://o", "PUT", ["content-type", "x-amz-date"]) is None


def test_no_allowed_headers_means_none_may_be_requested() -> None:
    rules = rules_of(rule(["*"], ["PUT"]))
    assert cors.find(rules, "https://o", "PUT", []) is not None
    assert cors.find(rules, "https://o", "PUT", ["content-type"]) is None


def test_wildcard_headers() -> None:
    rules = rules_of(rule(["*"], ["PUT"], headers=["x-amz-*"]))
    assert cors.find(rules, "https://o", "PUT", ["x-amz-date", "x-amz-meta-a"]) is not None
    assert cors.find(rules, "https://o", "PUT", ["authorization"]) is None
    rules = rules_of(rule(["*"], ["PUT"], headers=["*"]))
    assert cors.find(rules, "https://o", "PUT", ["authorization", "x-anything"]) is not None


def test_header_names_are_case_insensitive() -> None:
    rules = rules_of(rule(["*"], ["PUT"], headers=["Content-Type", "X-Amz-*"]))
    requested = cors.requested_headers(
        {"access-control-request-headers": "CONTENT-TYPE,X-Amz-Date , x-amz-meta-Color"}
    )
    assert requested == ["content-type", "x-amz-date", "x-amz-meta-color"]
    assert cors.find(rules, "https://o", "PUT", requested) is not None


def test_requested_headers_absent_or_empty() -> None:
    assert cors.requested_headers({}) == []
    assert cors.requested_headers({"access-control-request-headers": " , "}) == []


def test_first_matching_rule_wins() -> None:
    rules = rules_of(
        rule(["https://app.example.com"], ["GET"], rule_id="get-only"),
        rule(["https://app.example.com"], ["GET", "PUT"], headers=["*"], rule_id="writers"),
        rule(["*"], ["GET", "PUT"], headers=["*"], rule_id="anyone"),
    )

    def rule_id(origin: str, method: str, headers: list[str]) -> str | None:
        found = cors.find(rules, origin, method, headers)
        return None if found is None else found.id

    assert rule_id("https://app.example.com", "GET", []) == "get-only"
    # the first rule does not allow the header, so evaluation moves on
    assert rule_id("https://app.example.com", "GET", ["x-a"]) == "writers"
    assert rule_id("https://app.example.com", "PUT", []) == "writers"
    assert rule_id("https://other.test", "GET", []) == "anyone"


def test_no_rule_matches() -> None:
    rules = rules_of(rule(["https://a"], ["GET"]), rule(["https://b"], ["PUT"]))
    assert cors.find(rules, "https://a", "PUT", []) is None
    assert cors.find(rules, "https://c", "GET", []) is None


# -- response headers ---------------------------------------------------------------


def test_specific_origin_is_echoed_with_credentials() -> None:
    (r,) = rules_of(
        rule(
            ["https://app.example.com"],
            ["GET", "PUT"],
            headers=["*"],
            expose=["ETag", "x-amz-request-id"],
            max_age="3000",
        )
    )
    h = header_map(
        cors.response_headers(
            r, "https://app.example.com", preflight=True, request_headers=["content-type"]
        )
    )
    assert h["access-control-allow-origin"] == "https://app.example.com"
    assert h["access-control-allow-credentials"] == "true"
    assert split(h["access-control-allow-methods"]) == ["GET", "PUT"]
    assert [x.lower() for x in split(h["access-control-allow-headers"])] == ["content-type"]
    assert split(h["access-control-expose-headers"]) == ["ETag", "x-amz-request-id"]
    assert h["access-control-max-age"] == "3000"
    assert "origin" in h["vary"].lower()


def test_wildcard_origin_answers_star_without_credentials() -> None:
    (r,) = rules_of(rule(["*"], ["GET"]))
    h = header_map(cors.response_headers(r, "https://anyone.test", preflight=True))
    assert h["access-control-allow-origin"] == "*"
    assert "access-control-allow-credentials" not in h
    assert "access-control-max-age" not in h
    assert "access-control-expose-headers" not in h
    assert "access-control-allow-headers" not in h  # nothing was requested


def test_wildcard_pattern_origin_is_echoed() -> None:
    (r,) = rules_of(rule(["https://*.example.com"], ["GET"]))
    h = header_map(cors.response_headers(r, "https://a.example.com", preflight=False))
    assert h["access-control-allow-origin"] == "https://a.example.com"


def test_actual_request_headers_expose_but_no_allow_headers() -> None:
    (r,) = rules_of(rule(["https://a"], ["GET"], headers=["*"], expose=["ETag"]))
    h = header_map(cors.response_headers(r, "https://a", preflight=False))
    assert h["access-control-allow-origin"] == "https://a"
    assert h["access-control-expose-headers"] == "ETag"
    assert "access-control-allow-headers" not in h
