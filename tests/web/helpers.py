"""Small helpers for portal page tests: reading hidden form fields and signing in through the form."""

from __future__ import annotations

import json
import re

from fastapi.testclient import TestClient
from httpx import Response

from tests.builders import PASSWORD


def hidden_field(html: str, name: str) -> str:
    match = re.search(rf'<input type="hidden" name="{re.escape(name)}" value="([^"]*)"', html)
    assert match, f"no hidden field {name!r} in page"
    return match.group(1)


def embedded_json(html: str, element_id: str) -> dict:
    match = re.search(rf'<script type="application/json" id="{element_id}">(.*?)</script>', html, re.S)
    assert match, f"no JSON script #{element_id}"
    return json.loads(match.group(1))


def login(client: TestClient, username: str, password: str = PASSWORD, next_url: str | None = None) -> Response:
    form_page = client.get("/user/login")
    assert form_page.status_code == 200
    data = {"username": username, "password": password, "csrf_token": hidden_field(form_page.text, "csrf_token")}
    if next_url is not None:
        data["next"] = next_url
    return client.post("/user/login", data=data, follow_redirects=False)
