"""Fuzzing the live stack: hypothesis mutates real Okta and Entra ID requests (types, nesting, sizes,
Unicode, encodings, duplicate keys, media types, ETags) on every SCIM route, and schemathesis
generates requests from the admin API's OpenAPI document.

Whatever is sent, the gateway answers within its timeout, with no 5xx but 503, and every SCIM error is
a SCIM Error body. ``FUZZ_EXAMPLES`` sets the examples per test (``make test``: a bounded run of a
minute and a half, always the same examples; ``make fuzz``: a long run with fresh ones).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests import entra, okta
from tests.stack import Stack, Tenant

pytestmark = pytest.mark.slow

LONG_RUN = "FUZZ_EXAMPLES" in os.environ
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "250"))
GATEWAY_TIMEOUT = 15.0  # GATEWAY_REQUEST_TIMEOUT_SECONDS of the session's gateway
ERROR_URN = "urn:ietf:params:scim:api:messages:2.0:Error"
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=not LONG_RUN,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)


@dataclass
class Target:
    tenant: Tenant
    scim: httpx.Client
    user_id: str
    group_id: str
    sent: Counter[str] = field(default_factory=Counter)


@pytest.fixture(scope="module")
def target(stack: Stack, request: pytest.FixtureRequest) -> Iterator[Target]:
    tenant = stack.new_tenant("fuzz")
    # A little beyond the gateway timeout: an answer that late fails the run instead of holding it up.
    with httpx.Client(base_url=stack.base_url, headers=tenant.auth, timeout=GATEWAY_TIMEOUT + 2) as scim:
        user = scim.post("/Users", json=okta.user_body("fuzz.seed@example.com")).json()
        group = scim.post("/Groups", json=okta.group_body("Fuzz seed", [user["id"]])).json()
        fuzzed = Target(tenant, scim, user["id"], group["id"])
        yield fuzzed
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    assert capture is not None
    with capture.global_and_fixture_disabled():  # the counts BENCHMARKS.md records, past output capture
        statuses = dict(sorted(fuzzed.sent.items()))
        print(f"\nfuzzing: {sum(fuzzed.sent.values())} requests, statuses {statuses}")


def _seeds(user_id: str, group_id: str) -> list[tuple[str, str, Any]]:
    """(method, path, body) as the identity providers send them."""
    return [
        ("POST", "/Users", okta.user_body("okta.fuzz@example.com")),
        ("POST", "/Users", entra.user_body("entra.fuzz@example.com")),
        ("PUT", f"/Users/{user_id}", okta.user_body("fuzz.seed@example.com")),
        ("PATCH", f"/Users/{user_id}", okta.user_patch()),
        ("PATCH", f"/Users/{user_id}", entra.user_patch(user_id)),
        ("POST", "/Groups", okta.group_body("Okta fuzz", [user_id])),
        ("POST", "/Groups", entra.group_body("Entra fuzz")),
        ("PUT", f"/Groups/{group_id}", okta.group_body("Fuzz seed", [user_id])),
        ("PATCH", f"/Groups/{group_id}", okta.group_patch(group_id, user_id)),
        ("PATCH", f"/Groups/{group_id}", entra.group_patch(user_id)),
        ("POST", "/Users/.search", {"filter": 'userName eq "fuzz.seed@example.com"', "count": 10}),
        ("POST", "/Groups/.search", {"filter": 'displayName eq "Fuzz seed"', "startIndex": 1}),
        ("POST", "/.search", {"sortBy": "userName", "sortOrder": "descending", "attributes": ["id"]}),
    ]


SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=10**18, max_value=10**400)
    | st.floats()
    | st.text(max_size=40)
    | st.sampled_from(["", "\x00", "\u202e", "²", "٣", "ß", "İ", "e\u0301", "True", "False", "1e400"])
)
JSON_VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=12), inner, max_size=3),
)
SCIM_NAMES = st.sampled_from(
    ["userName", "USERNAME", "active", "emails", "members", "Operations", "op", "path", "value",
     "displayName", "schemas", "count", "startIndex", "filter", "sortOrder", okta.ENTERPRISE]
)  # fmt: skip


def _places(value: Any, at: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield at
    children = (
        value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    )
    for key, child in children:
        yield from _places(child, (*at, key))


@st.composite
def mutated(draw: st.DrawFn, body: Any) -> Any:
    """The body with one to three of its values replaced, removed, re-keyed, wrapped or nested."""
    body = json.loads(json.dumps(body))
    for _ in range(draw(st.integers(1, 3))):
        place = draw(st.sampled_from(list(_places(body))))
        if not place:
            body = draw(st.sampled_from([JSON_VALUES, st.just({}), st.just([body])]).flatmap(lambda s: s))
            continue
        parent: Any = body
        for key in place[:-1]:
            parent = parent[key]
        key, kind = place[-1], draw(st.sampled_from(["replace", "remove", "add", "wrap", "nest"]))
        if kind == "replace":
            parent[key] = draw(JSON_VALUES)
        elif kind == "remove":
            del parent[key]
        elif kind == "add" and isinstance(parent, dict):
            parent[draw(SCIM_NAMES | st.text(max_size=12))] = draw(JSON_VALUES)
        elif kind == "wrap":
            parent[key] = draw(st.sampled_from([[parent[key]], {"value": parent[key]}]))
        else:
            parent[key] = json.loads("[" * 40 + "1" + "]" * 40)
    return body


@st.composite
def encoded(draw: st.DrawFn, body: Any) -> tuple[bytes, str | None]:
    """The body as bytes on the wire, and its Content-Type."""
    text = json.dumps(body, ensure_ascii=draw(st.booleans()))
    how = draw(st.sampled_from(["plain"] * 6 + ["duplicate", "utf-16", "bom", "latin-1", "truncate", "deep"]))
    if how == "duplicate" and text.startswith("{") and len(text) > 2:
        text = '{"userName": 5, "Operations": "x", ' + text[1:]
    elif how == "truncate":
        text = text[: draw(st.integers(0, max(0, len(text) - 1)))]
    elif how == "deep":
        text = '{"a":' * 2000 + text + "}" * 2000
    raw = {"utf-16": lambda: text.encode("utf-16"), "bom": lambda: b"\xef\xbb\xbf" + text.encode()}.get(
        how, lambda: text.encode("utf-8", "surrogatepass")
    )()
    if how == "latin-1":
        raw = text.encode("latin-1", "replace")
    content_type = draw(
        st.sampled_from(
            ["application/scim+json"] * 4
            + ["application/json", "application/json; charset=utf-8", "APPLICATION/SCIM+JSON;charset=UTF-8"]
            + [
                "text/plain",
                "application/json; charset=utf-16",
                "multipart/form-data; boundary=x",
                "*/*",
                ";",
            ]
        )
        | st.none()
    )
    return raw, content_type


HEADER_TEXT = st.text(st.characters(codec="latin-1", exclude_categories=["Cc"]), max_size=30).map(str.strip)
ETAGS = (
    st.sampled_from(['W/"1"', 'W/"2"', "*", 'W/"²"', '"٣"', 'W/"' + "9" * 5000 + '"', 'W/"-1"', "W/"])
    | HEADER_TEXT
)


def _check(target: Target, response: httpx.Response, elapsed: float) -> None:
    target.sent[str(response.status_code)] += 1
    asked = (response.request.method, str(response.request.url)[:200], response.text[:300])
    assert response.status_code < 500 or response.status_code == 503, asked
    assert elapsed < GATEWAY_TIMEOUT, asked
    if response.status_code >= 400:
        assert response.headers["content-type"].startswith("application/scim+json"), asked
        assert response.json()["schemas"] == [ERROR_URN], asked


def _send(target: Target, method: str, path: str, **kwargs: Any) -> None:
    started = time.monotonic()
    response = target.scim.request(method, path, **kwargs)
    _check(target, response, time.monotonic() - started)


@FUZZ
@given(data=st.data())
def test_mutated_identity_provider_bodies(target: Target, data: st.DataObject) -> None:
    method, path, body = data.draw(st.sampled_from(_seeds(target.user_id, target.group_id)))
    raw, content_type = data.draw(encoded(data.draw(mutated(body))))
    headers = {} if content_type is None else {b"Content-Type": content_type.encode()}
    if data.draw(st.booleans()) and method in ("PUT", "PATCH"):
        headers[b"If-Match"] = data.draw(ETAGS).encode()  # httpx encodes str headers as ASCII
    _send(target, method, path, content=raw, headers=headers)


QUERY_NAMES = st.sampled_from(
    ["filter", "startIndex", "count", "sortBy", "sortOrder", "attributes", "excludedAttributes", "COUNT"]
)
QUERY_VALUES = (
    st.sampled_from(['userName eq "a"', "1", "0", "-1", "9" * 5000, "1e3", "²", "descending", "members", ""])
    | st.text(max_size=60)
    | st.integers().map(str)
)


@FUZZ
@given(data=st.data())
def test_mutated_reads_and_deletes(target: Target, data: st.DataObject) -> None:
    """List parameters, resource ids and conditional headers on the routes without a body."""
    params = data.draw(st.dictionaries(QUERY_NAMES, QUERY_VALUES, max_size=4))
    resource = data.draw(st.sampled_from(["Users", "Groups"]))
    some_id = data.draw(st.sampled_from([target.user_id, target.group_id]) | st.text(min_size=1, max_size=50))
    kind = data.draw(st.sampled_from(["list", "get", "delete"]))
    etag = data.draw(ETAGS).encode()
    if kind == "list":
        _send(target, "GET", f"/{resource}", params=params)
    elif kind == "get":
        _send(
            target,
            "GET",
            f"/{resource}/{quote(some_id, safe='')}",
            params=params,
            headers={"If-None-Match": etag},
        )
    else:  # a DELETE that can match nothing: an If-Match no version has, or an id no resource has
        guarded = (
            {"If-Match": 'W/"0"'} if some_id in (target.user_id, target.group_id) else {"If-Match": etag}
        )
        _send(target, "DELETE", f"/{resource}/{quote(some_id, safe='')}", headers=guarded)


SCHEMATHESIS_SECONDS = 600  # ~40 s on a quiet machine; several minutes when the cores are shared

ADMIN_CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
)


@pytest.mark.timeout(SCHEMATHESIS_SECONDS + 60)
def test_the_admin_api_against_its_openapi_document(stack: Stack) -> None:
    """schemathesis: every admin operation with generated and negative inputs; no 5xx, every response
    as documented (status, content type, schema), none slower than the gateway timeout."""
    base = f"http://127.0.0.1:{stack.gateway_ports[0]}"
    command = [
        sys.executable, "-m", "schemathesis.cli", "run", f"{base}/openapi.json",
        "--url", base,
        "--include-path-regex", "^/admin/",
        "--header", f"Authorization: Bearer {stack.admin_token}",
        "--max-examples", str(max(5, EXAMPLES // 50)),
        "--request-timeout", str(GATEWAY_TIMEOUT + 2),
        "--checks", ",".join(ADMIN_CHECKS),
        "--max-response-time", str(GATEWAY_TIMEOUT),
        "--phases", "examples,fuzzing",
        "--workers", "2",
        "--no-color",
    ]  # fmt: skip
    if not LONG_RUN:
        command += ["--generation-deterministic", "--seed", "1"]
    run = subprocess.run(command, capture_output=True, text=True, timeout=SCHEMATHESIS_SECONDS, check=False)
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
