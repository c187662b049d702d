"""Orders, payments, verification, settlement and statements over the REST API: a buyer orders and
pays by voucher, the finance staff confirm, the buyer reads rows under the contract and asks a
verification product; bad money is 422 naming the field; a token without ``market`` may not order
but may still ask what it bought (a read); others see neither the order nor the statement."""

from __future__ import annotations

import pytest

from pubdata.access.service import beijing_today
from tests.market.test_orders import ROWS, api_product, verify_product, w  # noqa: F401

API = "/api/v1"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def h(w, token_for):  # noqa: F811
    return {
        "buyer": bearer(token_for(w["buyer"], ["read", "market"])),
        "buyer_read": bearer(token_for(w["buyer"], ["read"])),
        "other": bearer(token_for(w["other_buyer"], ["read", "market"])),
        "finance": bearer(token_for(w["finance"], ["read", "market"])),
        "provider": bearer(token_for(w["provider_staff"], ["read", "market"])),
    }


def test_order_pay_confirm_read_and_statement(client, session, w, h):  # noqa: F811
    api_product(session, w)
    assert client.post(f"{API}/market/orders", json={"product": "tax-api", "plan": "annual"}).status_code == 401
    r = client.post(f"{API}/market/orders", json={"product": "tax-api", "plan": "annual"}, headers=h["buyer_read"])
    assert r.status_code == 403
    r = client.post(f"{API}/market/orders", json={"product": "tax-api", "plan": "annual"}, headers=h["buyer"])
    assert r.status_code == 201, r.text
    order = r.json()
    assert order["state"] == "awaiting_payment" and order["bills"][0]["amount_fen"] == 120_000
    bill_id = order["bills"][0]["id"]
    voucher = {"reference": "BK-API-0001", "amount_fen": 120_000, "payer_name": "海川科技",
               "paid_on": beijing_today().isoformat()}  # fmt: skip
    for bad, field in (({**voucher, "amount_fen": 1200.0}, "amount_fen"), ({**voucher, "amount_fen": 1}, "amount_fen")):
        r = client.post(f"{API}/market/bills/{bill_id}/payments", json=bad, headers=h["buyer"])
        assert r.status_code == 422 and r.json()["error"]["code"] == "market.invalid_payment", r.text
        assert r.json()["error"]["details"][0]["field"] == field
    r = client.post(f"{API}/market/bills/{bill_id}/payments", json=voucher, headers=h["buyer"])
    assert r.status_code == 201, r.text
    payment_id = r.json()["id"]
    assert client.get(f"{API}/market/payments", headers=h["buyer"]).status_code == 403
    assert [p["id"] for p in client.get(f"{API}/market/payments", headers=h["finance"]).json()] == [payment_id]
    r = client.post(f"{API}/market/payments/{payment_id}/decision", json={"confirm": True}, headers=h["buyer"])
    assert r.status_code == 403
    for _ in range(2):  # confirming twice changes nothing
        r = client.post(f"{API}/market/payments/{payment_id}/decision", json={"confirm": True}, headers=h["finance"])
        assert r.status_code == 200 and r.json()["state"] == "confirmed"
    order = client.get(f"{API}/market/orders/{order['id']}", headers=h["buyer"]).json()
    assert order["state"] == "active" and order["bills"][0]["invoice_no"]
    assert order["entitlement"]["daily_call_quota"] and order["entitlement"]["calls_today"] == 0
    assert client.get(f"{API}/market/orders/{order['id']}", headers=h["other"]).status_code == 404
    rows = client.get(f"{API}/resources/{w['rid']}/rows", headers=h["buyer_read"])
    assert rows.status_code == 200 and len(rows.json()["records"]) == 3
    assert set(rows.json()["records"][0]) == {"_id", "uscc", "tax_credit_grade", "legal_phone"}
    order = client.get(f"{API}/market/orders/{order['id']}", headers=h["buyer"]).json()
    assert order["entitlement"]["calls_today"] == 1  # usage against the quota
    assert client.get(f"{API}/resources/{w['rid']}/rows", headers=h["other"]).status_code == 403
    # the buyer's own statement; nobody else's
    org = w["buyer"].organisation_id
    statement = client.get(f"{API}/ledger/statements/{org}", headers=h["buyer"])
    assert statement.status_code == 200, statement.text
    assert client.get(f"{API}/ledger/statements/{org}", headers=h["other"]).status_code == 404
    assert client.get(f"{API}/ledger/trial-balance", headers=h["buyer"]).status_code == 403
    assert client.get(f"{API}/ledger/trial-balance", headers=h["finance"]).json()["total_fen"] == 0


def test_a_verification_answer_is_a_read_under_the_entitlement(client, session, w, h):  # noqa: F811
    verify_product(session, w)
    body = {"product": "tax-a-verify", "plan": "per-call", "declared_use": "贷前核验借款企业"}
    order = client.post(f"{API}/market/orders", json=body, headers=h["buyer"]).json()
    assert order["state"] == "pending_approval"
    assert client.get(f"{API}/market/orders?box=review", headers=h["provider"]).json()[0]["id"] == order["id"]
    r = client.post(f"{API}/market/orders/{order['id']}/review", json={"approve": True}, headers=h["provider"])
    assert r.status_code == 200 and r.json()["state"] == "active"
    ask = f"{API}/market/products/tax-a-verify/verify"
    r = client.post(ask, json={"value": ROWS[0][0]}, headers=h["buyer_read"])  # a read: the read scope will do
    assert r.status_code == 200 and r.json()["match"] is True and r.json()["answer"] == "匹配"
    assert client.post(ask, json={"value": ROWS[1][0]}, headers=h["buyer"]).json()["match"] is False
    r = client.post(ask, json={"value": ROWS[0][0]}, headers=h["other"])
    assert r.status_code == 403 and r.json()["error"]["code"] == "market.not_entitled"
    assert client.post(ask, json={"value": ROWS[0][0]}).status_code in (401, 403)
    assert client.get(f"{API}/resources/{w['rid']}/rows", headers=h["buyer_read"]).status_code == 403
