"""What FastAPI cannot infer for the OpenAPI document: how callers authenticate.

Credentials are read in one place (``api.deps.token_from_request``), not by a FastAPI security
dependency, so the schemes and the operations' requirements are added to the generated document
here. Every operation also accepts anonymous calls (``{}``): what the public may see is answered,
the rest is 401/403/404 as the error responses declare."""

from __future__ import annotations

from typing import Any

SECURITY_SCHEMES: dict[str, dict[str, Any]] = {
    "bearerAuth": {
        "type": "http",
        "scheme": "bearer",
        "description": "An API token (`pubdata token create`, or `POST /api/v1/tokens`): `Authorization: Bearer pd_…`",
    },
    "clientBasic": {
        "type": "http",
        "scheme": "basic",
        "description": "An OAuth client's id and secret, for `POST /oauth/token` only (or as form fields)",
    },
    "ckanApiKey": {
        "type": "apiKey",
        "in": "header",
        "name": "X-CKAN-API-Key",
        "description": "The same API token in CKAN's header, for CKAN clients (CKAN Action API only)",
    },
}

_CKAN_PREFIXES = ("/api/3/action/", "/api/action/")


def declare_security(schema: dict[str, Any]) -> dict[str, Any]:
    """Add the security schemes and each operation's requirements to a generated document (in place)."""
    schema.setdefault("components", {})["securitySchemes"] = SECURITY_SCHEMES
    for path, item in schema.get("paths", {}).items():
        if path.startswith(_CKAN_PREFIXES):
            requirement: list[dict[str, list[str]]] = [{"ckanApiKey": []}, {"bearerAuth": []}, {}]
        else:
            requirement = [{"bearerAuth": []}, {}]
        for operation in item.values():
            if isinstance(operation, dict):
                operation.setdefault("security", requirement)
    return schema
