"""Appraisal reports over the REST API (/api/v1/appraisals): an agency's appraiser opens a draft,
enters the cost and income methods, reconciles, classifies and signs; the holder then reads the
report. Bad input is 422 naming the field; anonymous writes are 401, a token without the ``assets``
scope 403, another agency and a stranger 404."""

from __future__ import annotations

import pytest

from tests.assets.registry.test_registry import world  # noqa: F401
from tests.assets.valuation.helpers import CLASSIFY, COST, INCOME, fig, header, valuation_world

API = "/api/v1/appraisals"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def api(session, world, as_actor, token_for):  # noqa: F811
    w = valuation_world(session, world, as_actor)
    w["h_appraiser"] = bearer(token_for(w["appraiser"], ["read", "assets"]))
    w["h_read_only"] = bearer(token_for(w["appraiser"], ["read"]))
    w["h_other"] = bearer(token_for(w["other_agency"], ["read", "assets"]))
    w["h_holder"] = bearer(token_for(w["holder"], ["read"]))
    w["h_regulator"] = bearer(token_for(w["regulator"], ["read"]))
    w["h_stranger"] = bearer(token_for(w["stranger"], ["read"]))
    return w


def body(w) -> dict:
    return header(w).model_dump(mode="json")


def test_an_appraiser_takes_a_report_to_signature_over_the_api(client, api):
    w = api
    r = client.post(API, json=body(w), headers=w["h_appraiser"])
    assert r.status_code == 201, r.text
    code = r.json()["code"]
    r = client.put(f"{API}/{code}/cost", json=COST, headers=w["h_appraiser"])
    assert r.status_code == 200 and r.json()["methods"][0]["value_fen"] == 800_000
    r = client.put(f"{API}/{code}/income", json=INCOME, headers=w["h_appraiser"])
    assert r.json()["methods"][1]["value_fen"] == 30_277_986
    weights = {"weights": {"cost": fig("0.5", "两法并重"), "income": fig("0.5", "两法并重")}}
    r = client.put(f"{API}/{code}/reconciliation", json=weights, headers=w["h_appraiser"])
    assert r.json()["concluded_value_fen"] == 15_538_993
    r = client.put(f"{API}/{code}/classification", json=CLASSIFY.model_dump(), headers=w["h_appraiser"])
    assert r.json()["classification"]["category"] == "无形资产"
    r = client.post(f"{API}/{code}/sign", headers=w["h_appraiser"])
    assert r.status_code == 200 and r.json()["state"] == "signed" and r.json()["content_intact"] is True

    seen = client.get(f"{API}/{code}", headers=w["h_holder"])
    assert seen.status_code == 200 and seen.json()["concluded_value_fen"] == 15_538_993
    assert [x["code"] for x in client.get(API, headers=w["h_holder"]).json()] == [code]
    assert client.put(f"{API}/{code}/cost", json=COST, headers=w["h_appraiser"]).status_code == 409
    r = client.post(f"{API}/{code}/withdraw", json={"reason": "口径调整"}, headers=w["h_appraiser"])
    assert r.json()["state"] == "withdrawn"


def test_bad_input_is_422_naming_the_field_and_stores_nothing(client, api):
    w = api
    code = client.post(API, json=body(w), headers=w["h_appraiser"]).json()["code"]
    bad = {**INCOME, "discount_rate": fig("0", "WACC")}
    r = client.put(f"{API}/{code}/income", json=bad, headers=w["h_appraiser"])
    assert r.status_code == 422
    err = r.json()["error"]
    assert err["code"] == "assets.invalid_appraisal" and "折现率 i 必须大于零" in err["message"]
    assert [d["field"] for d in err["details"]] == ["income.discount_rate"]
    floats = {**COST, "planning": {"value": 1000.5, "evidence": "x"}}
    assert client.put(f"{API}/{code}/cost", json=floats, headers=w["h_appraiser"]).status_code == 422
    assert client.get(f"{API}/{code}", headers=w["h_appraiser"]).json()["methods"] == []


def test_who_may_call(client, api):
    w = api
    assert client.post(API, json=body(w)).status_code == 401
    assert client.post(API, json=body(w), headers=w["h_read_only"]).status_code == 403
    assert client.post(API, json=body(w), headers=w["h_holder"]).status_code == 403
    code = client.post(API, json=body(w), headers=w["h_appraiser"]).json()["code"]
    assert client.put(f"{API}/{code}/cost", json=COST).status_code == 401
    assert client.put(f"{API}/{code}/cost", json=COST, headers=w["h_read_only"]).status_code == 403
    for h in ("h_other", "h_stranger", "h_holder"):  # a draft: not even its holder sees it
        assert client.get(f"{API}/{code}", headers=w[h]).status_code == 404
    assert client.put(f"{API}/{code}/cost", json=COST, headers=w["h_other"]).status_code == 404
    assert client.put(f"{API}/{code}/sign", headers=w["h_other"]).status_code in (404, 405)
    assert client.post(f"{API}/{code}/sign", headers=w["h_other"]).status_code == 404
    assert client.put(f"{API}/{code}/cost", json=COST, headers=w["h_holder"]).status_code == 403
    assert client.get(f"{API}/{code}").status_code == 404
    assert client.get(API).json() == []
    assert client.get(f"{API}/{code}", headers=w["h_regulator"]).status_code == 200
    assert client.put(f"{API}/{code}/cost", json=COST, headers=w["h_regulator"]).status_code == 403
