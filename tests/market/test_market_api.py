"""The data market's products over the REST API (/api/v1/market): a merchant builds a product on open
data, prices it and submits it; the operator approves it into public notice and lists it once the
notice is over; the public then finds it and its fee ceilings in the price list. Bad input is 422
naming the field; another organisation's merchant neither sees a draft nor edits a product; a token
without the ``market`` scope is refused and anonymous writes need a login."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, get_args

import pytest

from pubdata.access.service import beijing_today
from pubdata.api.v1.market import ProductState
from pubdata.market.models import MarketProduct
from pubdata.market.schemas import STATES
from tests.market.builders import tax_table

API = "/api/v1/market"
PER_CALL = {
    "code": "per-call", "title": "按次计费", "kind": "per_call", "unit_price_fen": 50, "free_quota": 100,
    "monthly_cap_fen": 200_000,
}  # fmt: skip


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def product_body(resource_id: str, code: str = "tax-grade-api", **overrides: Any) -> dict[str, Any]:
    body = {
        "code": code, "kind": "api", "title": "企业纳税信用等级接口", "description": "按统一社会信用代码查询",
        "scenario": "shipping_trade_finance", "resource_id": resource_id, "sample": "uscc=9137…, grade=A",
        "update_frequency": "每月", "coverage": "青岛市全市企业", "licence": "CC BY 4.0", "terms": "不得转售",
        "requires_approval": True,
        "contract": {"fields": ["uscc", "district", "tax_credit_grade"], "daily_call_quota": 10_000},
    }  # fmt: skip
    return body | overrides


@pytest.fixture
def market(session, as_actor, token_for):
    """Open tax data of a department; a merchant, a rival merchant and the operator, each with a token
    holding ``read`` and ``market``."""
    merchant, rival, operator = as_actor("data_merchant"), as_actor("data_merchant"), as_actor("operator")
    return {
        "open": tax_table(session, as_actor("department")),
        "merchant": bearer(token_for(merchant, ["read", "market"])),
        "rival": bearer(token_for(rival, ["read", "market"])),
        "operator": bearer(token_for(operator, ["read", "market"])),
        "merchant_read_only": bearer(token_for(merchant, ["read"])),
        "operator_read_only": bearer(token_for(operator, ["read"])),
    }


def end_notice(session, product_id: int) -> None:
    """The public notice ended yesterday (what the calendar does)."""
    session.get(MarketProduct, product_id).notice_until = beijing_today() - timedelta(days=1)
    session.flush()


def draft(client, m, code: str = "tax-grade-api") -> int:
    r = client.post(f"{API}/products", json=product_body(m["open"], code=code), headers=m["merchant"])
    assert r.status_code == 201, r.text
    return r.json()["id"]


def listed(client, session, m, code: str = "tax-grade-api") -> int:
    product_id = draft(client, m, code)
    assert client.post(f"{API}/products/{product_id}/plans", json=PER_CALL, headers=m["merchant"]).status_code == 201
    assert client.post(f"{API}/products/{product_id}/submit", headers=m["merchant"]).status_code == 200
    r = client.post(f"{API}/products/{product_id}/review", json={"action": "approve"}, headers=m["operator"])
    assert r.status_code == 200, r.text
    end_notice(session, product_id)
    assert client.post(f"{API}/products/{product_id}/list", headers=m["operator"]).status_code == 200
    return product_id


def error(r) -> tuple[int, str]:  # type: ignore[no-untyped-def]
    return r.status_code, r.json()["error"]["code"]


def test_a_product_is_built_priced_reviewed_noticed_and_listed_over_http(client, session, market):
    m = market
    r = client.post(f"{API}/products", json=product_body(m["open"]), headers=m["merchant"])
    assert r.status_code == 201, r.text
    product = r.json()
    assert (product["state"], product["version"], product["kind_label"]) == ("draft", 1, "数据接口")
    assert product["contract"]["fields"] == ["uscc", "district", "tax_credit_grade"]
    product_id = product["id"]
    # a draft is the provider's own: not in the public list, not found by the public
    assert error(client.get(f"{API}/products/{product_id}")) == (404, "market.product_not_found")
    assert client.get(f"{API}/products").json() == []
    mine = client.get(f"{API}/products", params={"mine": "true"}, headers=m["merchant"]).json()
    assert [(p["id"], p["state"]) for p in mine] == [(product_id, "draft")]

    r = client.post(f"{API}/products/{product_id}/plans", json=PER_CALL, headers=m["merchant"])
    assert r.status_code == 201, r.text
    plan = r.json()
    assert (plan["ceiling_fen"], plan["ceiling_per"], plan["ceiling_per_label"]) == (200_000, "month", "每月")
    r = client.put(f"{API}/plans/{plan['id']}", json=PER_CALL | {"monthly_cap_fen": 300_000}, headers=m["merchant"])
    assert r.status_code == 200 and r.json()["ceiling_fen"] == 300_000

    r = client.post(f"{API}/products/{product_id}/submit", headers=m["merchant"])
    assert r.status_code == 200 and r.json()["state"] == "under_review"
    r = client.put(f"{API}/products/{product_id}", json=product_body(m["open"]), headers=m["merchant"])
    assert error(r) == (409, "market.wrong_state")  # only drafts are edited
    r = client.post(
        f"{API}/products/{product_id}/review", json={"action": "approve", "notice_days": 10}, headers=m["operator"]
    )
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "public_notice"
    assert r.json()["notice_until"] == (beijing_today() + timedelta(days=10)).isoformat()

    r = client.post(f"{API}/products/{product_id}/list", headers=m["operator"])
    assert error(r) == (409, "market.notice_not_over") and "公示期至" in r.json()["error"]["message"]
    end_notice(session, product_id)
    r = client.post(f"{API}/products/{product_id}/list", headers=m["operator"])
    assert r.status_code == 200 and r.json()["state"] == "listed"

    # the public: the product with its active plans, no listing history; the filters
    public = client.get(f"{API}/products").json()
    assert [(p["id"], p["state"], p["events"]) for p in public] == [(product_id, "listed", [])]
    assert [p["code"] for p in public[0]["plans"]] == ["per-call"]
    assert len(client.get(f"{API}/products", params={"scenario": "shipping_trade_finance", "kind": "api"}).json()) == 1
    assert client.get(f"{API}/products", params={"kind": "dataset"}).json() == []
    assert client.get(f"{API}/products", params={"scenario": "medical"}).json() == []
    assert client.get(f"{API}/products/{product_id}").json()["title"] == "企业纳税信用等级接口"
    history = client.get(f"{API}/products/{product_id}", headers=m["merchant"]).json()["events"]
    assert [e["to_state"] for e in history] == ["draft", "under_review", "public_notice", "listed"]

    # the price list: every listed product's active plans with their ceilings in fen
    prices = client.get(f"{API}/price-list").json()
    assert [(p["product_id"], p["code"], p["kind_label"]) for p in prices["products"]] == [
        (product_id, "tax-grade-api", "数据接口")
    ]
    [offer] = prices["products"][0]["plans"]
    assert (offer["unit_price_fen"], offer["free_quota"]) == (50, 100)
    assert (offer["ceiling_fen"], offer["ceiling_per"]) == (300_000, "month")

    # suspended: gone from the public; back when resumed; delisted for good
    r = client.post(f"{API}/products/{product_id}/suspend", json={}, headers=m["operator"])
    assert error(r) == (422, "market.invalid_product") and r.json()["error"]["details"][0]["field"] == "reason"
    r = client.post(f"{API}/products/{product_id}/suspend", json={"reason": "数据源暂停更新"}, headers=m["operator"])
    assert r.status_code == 200 and r.json()["state"] == "suspended"
    assert error(client.get(f"{API}/products/{product_id}")) == (404, "market.product_not_found")
    assert client.get(f"{API}/price-list").json()["products"] == []
    r = client.post(f"{API}/products/{product_id}/resume", headers=m["operator"])
    assert r.status_code == 200 and r.json()["state"] == "listed"
    r = client.post(f"{API}/products/{product_id}/delist", json={"reason": "停止供应"}, headers=m["operator"])
    assert r.status_code == 200 and r.json()["state"] == "delisted"
    r = client.post(f"{API}/products/{product_id}/resume", headers=m["operator"])
    assert error(r) == (409, "market.wrong_state")
    assert client.get(f"{API}/products").json() == []
    everything = client.get(f"{API}/products", params={"state": "delisted"}, headers=m["operator"]).json()
    assert [p["id"] for p in everything] == [product_id]


def test_a_listed_product_keeps_its_last_active_plan(client, session, market):
    m = market
    product_id = listed(client, session, m)
    only = client.get(f"{API}/products/{product_id}", headers=m["merchant"]).json()["plans"][0]["id"]
    r = client.post(f"{API}/plans/{only}/deactivate", headers=m["merchant"])
    assert error(r) == (409, "market.wrong_state")  # a listed product keeps one active plan


def test_bad_input_is_422_naming_the_field_and_writes_nothing(client, market):
    m = market
    product_id = draft(client, m)
    plans = f"{API}/products/{product_id}/plans"

    r = client.post(plans, json=PER_CALL | {"unit_price_fen": 50.0}, headers=m["merchant"])  # a float, never rounded
    assert error(r) == (422, "market.invalid_plan")
    assert "unit_price_fen" in [d["field"] for d in r.json()["error"]["details"]]
    r = client.post(plans, json=PER_CALL | {"unit_price_fen": "50"}, headers=m["merchant"])
    assert error(r) == (422, "market.invalid_plan")
    one_off = {"code": "once", "title": "买断", "kind": "one_off", "price_fen": 100}
    r = client.post(plans, json=one_off, headers=m["merchant"])
    assert error(r) == (422, "market.plan_not_allowed")  # an api is not sold once
    assert r.json()["error"]["details"][0]["field"] == "kind"
    r = client.post(plans, json=PER_CALL | {"kind": "auction"}, headers=m["merchant"])
    assert error(r) == (422, "request.invalid") and r.json()["error"]["details"][0]["field"] == "kind"
    r = client.post(plans, json=PER_CALL | {"discount": 5}, headers=m["merchant"])
    assert error(r) == (422, "request.invalid") and r.json()["error"]["details"][0]["field"] == "discount"
    assert client.get(f"{API}/products/{product_id}", headers=m["merchant"]).json()["plans"] == []

    unknown_scenario = product_body(m["open"], code="x-2", scenario="space")
    r = client.post(f"{API}/products", json=unknown_scenario, headers=m["merchant"])
    assert error(r) == (422, "request.invalid") and r.json()["error"]["details"][0]["field"] == "scenario"
    bad_contract = product_body(m["open"], code="x-3", contract={"fields": ["uscc", "no_such_column"]})
    r = client.post(f"{API}/products", json=bad_contract, headers=m["merchant"])
    assert error(r) == (422, "market.invalid_contract")
    assert any(d["field"].startswith("contract.fields") for d in r.json()["error"]["details"])
    r = client.post(f"{API}/products", json=product_body(m["open"]), headers=m["merchant"])
    assert error(r) == (409, "market.code_taken")
    r = client.get(f"{API}/products", params={"kind": "bond"})
    assert error(r) == (422, "request.invalid") and r.json()["error"]["details"][0]["field"] == "kind"

    assert client.post(plans, json=PER_CALL, headers=m["merchant"]).status_code == 201
    assert client.post(f"{API}/products/{product_id}/submit", headers=m["merchant"]).status_code == 200
    review = f"{API}/products/{product_id}/review"
    r = client.post(review, json={"action": "approve", "notice_days": 0}, headers=m["operator"])
    assert error(r) == (422, "market.invalid_product") and r.json()["error"]["details"][0]["field"] == "notice_days"
    r = client.post(review, json={"action": "reject"}, headers=m["operator"])
    assert error(r) == (422, "market.invalid_product") and r.json()["error"]["details"][0]["field"] == "reason"
    r = client.post(review, json={"action": "reject", "reason": "样例与数据不符"}, headers=m["operator"])
    assert r.status_code == 200 and r.json()["state"] == "draft"


def test_another_organisations_merchant_neither_sees_a_draft_nor_edits_a_product(client, session, market):
    m, rival = market, market["rival"]
    product_id = draft(client, m)
    plan_id = client.post(f"{API}/products/{product_id}/plans", json=PER_CALL, headers=m["merchant"]).json()["id"]

    assert error(client.get(f"{API}/products/{product_id}", headers=rival)) == (404, "market.product_not_found")
    assert client.get(f"{API}/products", headers=rival).json() == []
    for method, url, body in (
        ("PUT", f"{API}/products/{product_id}", product_body(m["open"])),
        ("POST", f"{API}/products/{product_id}/plans", PER_CALL | {"code": "mine"}),
        ("POST", f"{API}/products/{product_id}/submit", None),
    ):
        assert error(client.request(method, url, json=body, headers=rival)) == (404, "market.product_not_found"), url
    assert error(client.put(f"{API}/plans/{plan_id}", json=PER_CALL, headers=rival)) == (404, "market.plan_not_found")
    r = client.post(f"{API}/plans/{plan_id}/deactivate", headers=rival)
    assert error(r) == (404, "market.plan_not_found")

    # listed, it is public: still not the rival's to change
    client.post(f"{API}/products/{product_id}/submit", headers=m["merchant"])
    client.post(f"{API}/products/{product_id}/review", json={"action": "approve"}, headers=m["operator"])
    end_notice(session, product_id)
    client.post(f"{API}/products/{product_id}/list", headers=m["operator"])
    assert client.get(f"{API}/products/{product_id}", headers=rival).json()["events"] == []
    r = client.put(f"{API}/products/{product_id}", json=product_body(m["open"]), headers=rival)
    assert error(r) == (403, "market.not_provider")
    assert error(client.post(f"{API}/plans/{plan_id}/deactivate", headers=rival)) == (403, "market.not_provider")
    # a merchant reviews nothing, not even its own product
    r = client.post(f"{API}/products/{product_id}/suspend", json={"reason": "x"}, headers=m["merchant"])
    assert error(r) == (403, "auth.permission_denied")


def test_writes_need_the_market_scope_and_a_login(client, market):
    m = market
    body = product_body(m["open"])
    r = client.post(f"{API}/products", json=body, headers=m["merchant_read_only"])
    assert error(r) == (403, "auth.permission_denied") and "market:product:manage" in r.json()["error"]["message"]
    product_id = draft(client, m)
    client.post(f"{API}/products/{product_id}/plans", json=PER_CALL, headers=m["merchant"])
    assert client.get(f"{API}/products/{product_id}", headers=m["merchant_read_only"]).status_code == 200
    r = client.post(f"{API}/products/{product_id}/submit", headers=m["merchant_read_only"])
    assert error(r) == (403, "auth.permission_denied")
    client.post(f"{API}/products/{product_id}/submit", headers=m["merchant"])
    r = client.post(f"{API}/products/{product_id}/review", json={"action": "approve"}, headers=m["operator_read_only"])
    assert error(r) == (403, "auth.permission_denied") and "market:listing:review" in r.json()["error"]["message"]

    r = client.post(f"{API}/products", json=product_body(m["open"], code="anon"))
    assert error(r) == (401, "auth.login_required") and r.headers["www-authenticate"] == "Bearer"
    assert error(client.post(f"{API}/products/{product_id}/review", json={"action": "approve"}))[0] == 401
    assert error(client.post(f"{API}/products/{product_id}/delist", json={"reason": "x"}))[0] == 401
    assert client.get(f"{API}/price-list").status_code == 200


def test_the_state_filter_declares_every_listing_state(client):
    assert set(get_args(ProductState)) == set(STATES)
    doc = client.get("/api/v1/openapi.json").json()
    params = {p["name"]: p for p in doc["paths"][f"{API}/products"]["get"]["parameters"]}
    for name in ("scenario", "zone", "kind", "state"):
        assert "enum" in str(params[name]["schema"]), name
