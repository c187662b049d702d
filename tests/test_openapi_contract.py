"""The native API keeps the promises of its OpenAPI document: integers out of the database's range
(ids: 32-bit on PostgreSQL) are refused (never a 500), every integer parameter declares its bounds,
405 names the allowed methods, the error responses and security schemes are declared, and the
document is served at /openapi.json too."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.routing import APIRoute

MAX_DB_INT = 2**63 - 1
HUGE = (2**31, 2**63, 2**64, -(2**63) - 1)  # 2^31: past PostgreSQL INTEGER ids
ERROR_STATUSES = {"400", "401", "403", "404", "409", "413", "422", "429", "503"}


def auth(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def _int_params(route: APIRoute, kind: str) -> list[str]:
    params = route.dependant.path_params if kind == "path" else route.dependant.query_params
    return [p.name for p in params if p.field_info.annotation in (int, int | None)]


def _flat_routes(routes: list[Any], prefix: str = "") -> list[tuple[str, APIRoute]]:
    """Every APIRoute with its full path (included routers are kept as branches by FastAPI)."""
    out: list[tuple[str, APIRoute]] = []
    for r in routes:
        if isinstance(r, APIRoute):
            out.append((prefix + r.path, r))
        elif hasattr(r, "original_router"):  # fastapi.routing._IncludedRouter
            out += _flat_routes(r.original_router.routes, prefix + r.include_context.prefix)
    return out


def _api_routes(app: Any) -> list[tuple[str, APIRoute]]:
    return [(path, r) for path, r in _flat_routes(app.routes) if path.startswith("/api/v1/")]


def _fill(path: str, ints: list[str], value: int) -> str:
    return re.sub(r"\{(\w+)(?::\w+)?\}", lambda m: str(value) if m.group(1) in ints else "x", path)


@pytest.fixture
def headers(as_actor, token_for) -> dict[str, str]:
    # an administrator reaches the lookups that a refusal would otherwise cut short
    return auth(token_for(as_actor("admin"), scopes=["read", "catalog:write", "admin"]))


def test_integer_path_parameters_out_of_range_are_refused_never_500(app, client, headers):
    called = 0
    for path, route in _api_routes(app):
        ints = _int_params(route, "path")
        if not ints:
            continue
        for value in HUGE:
            url = _fill(path, ints, value)
            for method in sorted(route.methods - {"HEAD"}):
                for h in (headers, {}):
                    r = client.request(method, url, headers=h, json={} if method != "GET" else None)
                    called += 1
                    assert r.status_code < 500, (method, url, r.text)
                    assert r.status_code in (401, 403, 404, 422), (method, url, r.status_code)
                    assert re.search(r"[\u4e00-\u9fff]", r.json()["error"]["message"]), r.text
    assert called >= 40  # applications, notices, access requests, versions, tokens, grants, members…


def test_integer_query_parameters_out_of_range_are_refused_never_500(app, client, headers):
    called = 0
    for path, route in _api_routes(app):
        if "GET" not in route.methods:
            continue
        for name in _int_params(route, "query"):
            for value in HUGE:
                r = client.get(_fill(path, [], 1), params={name: value}, headers=headers)
                called += 1
                assert r.status_code < 500, (path, name, r.text)
    assert called >= 10


def test_every_integer_parameter_declares_the_database_range(client):
    doc = client.get("/api/v1/openapi.json").json()
    checked = 0
    for path, item in doc["paths"].items():
        for method, op in item.items():
            for p in op.get("parameters", []):
                schemas = p["schema"].get("anyOf", [p["schema"]])
                for s in schemas:
                    if s.get("type") == "integer":
                        checked += 1
                        assert s.get("maximum", s.get("exclusiveMaximum", 2**64)) <= MAX_DB_INT, (
                            method,
                            path,
                            p["name"],
                        )
                        assert "minimum" in s or "exclusiveMinimum" in s, (method, path, p["name"])
    assert checked >= 20


def test_405_names_the_allowed_methods_in_chinese(client):
    r = client.delete("/api/v1/entries")
    assert r.status_code == 405
    assert set(r.headers["allow"].replace(" ", "").split(",")) >= {"GET", "POST"}
    assert r.json()["error"]["code"] == "method_not_allowed"
    assert "不支持该请求方法" in r.json()["error"]["message"]
    r = client.put("/api/3/action/package_search")  # CKAN answers 400 "Bad request - …", as CKAN does
    assert r.status_code == 400 and "GET" in r.headers["allow"] and "请使用" in r.json()
    r = client.delete("/")  # a portal page
    assert r.status_code == 405 and "GET" in r.headers["allow"]


def test_document_served_at_root_and_declares_security_and_errors(client):
    doc = client.get("/openapi.json").json()
    assert doc == client.get("/api/v1/openapi.json").json()
    schemes = doc["components"]["securitySchemes"]
    assert schemes["bearerAuth"]["type"] == "http" and schemes["bearerAuth"]["scheme"] == "bearer"
    assert schemes["ckanApiKey"] == {**schemes["ckanApiKey"], "in": "header", "name": "X-CKAN-API-Key"}
    assert doc["components"]["schemas"]["ErrorResponse"]["properties"]["error"]
    v1_ops = [(path, op) for path, item in doc["paths"].items() if path.startswith("/api/v1/") for op in item.values()]
    assert v1_ops
    for path, op in v1_ops:
        assert set(op["responses"]) >= ERROR_STATUSES, path
        ref = op["responses"]["404"]["content"]["application/json"]["schema"]["$ref"]
        assert ref.endswith("/ErrorResponse"), path
        assert {"bearerAuth": []} in op["security"], path
    # query parameters checked against fixed lists are enums
    search = doc["paths"]["/api/v1/entries"]["get"]["parameters"]
    sort = next(p for p in search if p["name"] == "sort")
    assert "enum" in str(sort["schema"]), sort
