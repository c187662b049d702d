"""The market method over the platform's own settled transactions: two annual subscriptions of a
data product ordered, paid and settled in the month's settlement become comparables by their bill
codes; their amounts are Qᵢ and their facts Qᵢ's evidence (hand-computed Pᵢ = Qᵢ × X1…X5 and their
mean); an unknown reference, one settled after the valuation date, a reference twice, a factor ≤ 0
and an absurd result are refused, storing nothing; the API and the portal take comparables too."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine

from pubdata.access.service import beijing_today
from pubdata.assets.appraisal import InvalidAppraisal
from pubdata.assets.valuation import service as appraisals
from pubdata.assets.valuation.errors import InvalidReport, UnknownTransaction
from pubdata.assets.valuation.schemas import MarketIn
from pubdata.market import orders, settlement, transactions
from pubdata.market.order_schemas import OrderIn
from tests.assets.registry.test_registry import refusals, world  # noqa: F401
from tests.assets.valuation.helpers import fig, header, valuation_world
from tests.assets.valuation.test_valuation_pages import post_form, sign_in, text_of
from tests.market.test_orders import api_product, pay, w  # noqa: F401 (the fixture)
from tests.market.test_settlement import month_of, next_month

FACTORS = ("quality", "supply_demand", "date", "capacity", "other")


@pytest.fixture(autouse=True)
def quick_passwords(monkeypatch: pytest.MonkeyPatch) -> None:
    from argon2 import PasswordHasher

    from pubdata.identity import service as identity

    monkeypatch.setattr(identity, "_hasher", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))


@pytest.fixture
def settled(session, world, w, as_actor):  # noqa: F811
    """Two annual subscriptions (1,200.00 元 each) of the operator's product, paid this month; the
    month settled on the second of the next month (the tests run then)."""
    vw = valuation_world(session, world, as_actor)
    api_product(session, w)
    refs = []
    for buyer, voucher in ((w["buyer"], "BK-A-1"), (w["other_buyer"], "BK-A-2")):
        order = orders.place_order(session, buyer, OrderIn(product="tax-api", plan="annual"))
        pay(session, w, buyer, order.bills[0], voucher)
        refs.append(order.bills[0].code)
    month = month_of(beijing_today())
    with time_machine.travel(next_month(beijing_today()), tick=False):
        settlement.settle_month(session, w["finance"], month)
        vw["refs"] = refs
        yield vw


def comparable(ref, *xs, evidence="可比交易调整表"):
    return {"transaction_ref": ref, **{k: fig(x, evidence) for k, x in zip(FACTORS, xs, strict=True)}}


def test_settled_transactions_are_the_comparables_and_their_facts_the_evidence(session, settled):
    v = settled
    a, b = v["refs"]
    got = {t.reference: t for t in transactions.settled_transactions(session)}
    assert set(got) >= {a, b} and got[a].amount_fen == 120_000 and got[a].settled_on == beijing_today()
    report = appraisals.create_appraisal(session, v["appraiser"], header(v, valuation_date=beijing_today()))
    data = MarketIn.model_validate(
        {"comparables": [comparable(a, "1.05", "1", "1.02", "0.9", "1"), comparable(b, "1", "1", "1", "1", "0.8")]}
    )
    done = appraisals.record_market(
        session, v["appraiser"], report.code, data, transactions=transactions.get_transaction
    )
    (m,) = done.methods
    # P1 = 120,000 × 1.05 × 1 × 1.02 × 0.9 × 1 = 115,668 fen; P2 = 120,000 × 0.8 = 96,000; mean 105,834
    assert m.value_fen == 105_834 and m.facts["adjusted_prices_fen"] == ["115668", "96000"]
    assert m.warnings and "可比案例只有 2 个" in m.warnings[0]
    q = next(i for i in m.inputs if i.key == "market.comparables[0].price")
    assert q.display == "1,200.00 元" and f"本平台已结算交易 {a}" in q.evidence and "tax-api" in q.evidence
    stored = done.market_input["comparables"][0]
    assert stored["transaction"]["amount_fen"] == 120_000 and stored["transaction"]["product_code"] == "tax-api"
    assert stored["transaction"]["settled_on"] == beijing_today().isoformat()
    assert any(f"（交易 {a}）" in line for line in m.trace)


BAD = [
    ("unknown", lambda a, b: [comparable("BILL-NOPE", "1", "1", "1", "1", "1")], UnknownTransaction,
     "不是本平台已结算的交易"),
    ("twice", lambda a, b: [comparable(a, "1", "1", "1", "1", "1")] * 2, UnknownTransaction, "可比交易重复"),
    ("X2 = 0", lambda a, b: [comparable(a, "1", "0", "1", "1", "1")], InvalidAppraisal, "供求调整系数 X2 必须大于零"),
    ("X5 < 0", lambda a, b: [comparable(b, "1", "1", "1", "1", "-0.5")], InvalidAppraisal, "X5 必须大于零"),
    ("absurd", lambda a, b: [comparable(a, *["999999999"] * 5)], InvalidReport, "超出合理范围"),
]  # fmt: skip


@pytest.mark.parametrize(("what", "comps", "error", "words"), BAD, ids=[b[0] for b in BAD])
def test_bad_comparables_are_refused_and_nothing_is_stored(session, settled, what, comps, error, words):
    v = settled
    report = appraisals.create_appraisal(session, v["appraiser"], header(v, valuation_date=beijing_today()))
    data = MarketIn.model_validate({"comparables": comps(*v["refs"])})
    with pytest.raises(error) as e:
        appraisals.record_market(session, v["appraiser"], report.code, data, transactions=transactions.get_transaction)
    assert words in e.value.message
    after = appraisals.get_appraisal(session, v["appraiser"], report.code)
    assert (after.market_input, after.methods, after.version) == (None, [], 1)
    assert len(refusals(session, "appraisal.market")) == 1


def test_a_transaction_settled_after_the_valuation_date_is_no_comparable(session, settled):
    v = settled
    a, _ = v["refs"]
    report = appraisals.create_appraisal(
        session, v["appraiser"], header(v, valuation_date=beijing_today() - timedelta(days=1))
    )
    data = MarketIn.model_validate({"comparables": [comparable(a, "1", "1", "1", "1", "1")]})
    with pytest.raises(UnknownTransaction, match="晚于评估基准日"):
        appraisals.record_market(session, v["appraiser"], report.code, data, transactions=transactions.get_transaction)
    # moving the valuation date before a stored comparable's settlement is refused as well
    later = appraisals.create_appraisal(session, v["appraiser"], header(v, valuation_date=beijing_today()))
    appraisals.record_market(session, v["appraiser"], later.code, data, transactions=transactions.get_transaction)
    with pytest.raises(UnknownTransaction):
        appraisals.update_appraisal(
            session, v["appraiser"], later.code, header(v, valuation_date=beijing_today() - timedelta(days=1))
        )


def test_the_api_and_the_portal_take_comparables(client, session, settled, token_for):
    v = settled
    a, b = v["refs"]
    report = appraisals.create_appraisal(session, v["appraiser"], header(v, valuation_date=beijing_today()))
    h = {"Authorization": f"Bearer {token_for(v['appraiser'], ['read', 'assets'])}"}
    body = {"comparables": [comparable(a, "1", "1", "1", "1", "1")]}
    r = client.put(f"/api/v1/appraisals/{report.code}/market", json=body, headers=h)
    assert r.status_code == 200 and r.json()["methods"][0]["value_fen"] == 120_000
    body = {"comparables": [comparable("BILL-NOPE", "1", "1", "1", "1", "1")]}
    r = client.put(f"/api/v1/appraisals/{report.code}/market", json=body, headers=h)
    assert r.status_code == 422 and r.json()["error"]["code"] == "appraisal.unknown_transaction"

    sign_in(client, v["appraiser"])
    url = f"/appraisals/{report.code}"
    page = client.get(url).text
    assert a in text_of(page, "transaction-choices") and "1,200.00 元" in text_of(page, "transaction-choices")
    lines = f"{a} | 1.05 | 1 | 1.02 | 0.9 | 1 | 质量略优、规模较小\n{b} | 1 | 1 | 1 | 1 | 0.8 | 权利受限"
    r = post_form(client, url, f"{url}/market", {"comparable_lines": lines})
    assert r.status_code == 303, r.text
    html = client.get(url).text
    assert "1,058.34 元" in text_of(html, "value-market")
    table = text_of(html, "comparables-table")
    assert a in table and b in table and "1,156.68 元" in table and "960.00 元" in table
    r = post_form(client, url, f"{url}/market", {"comparable_lines": f"{a} | 1 | 0 | 1 | 1 | 1 | x"})
    assert r.status_code == 422 and "X2 必须大于零" in text_of(r.text, "error-market")


def test_the_demo_report_takes_the_market_method_when_there_are_settled_transactions(session, settled):
    from pubdata.demo import appraisal as demo_appraisal

    v = settled
    made = demo_appraisal.apply(session, {"appraiser": v["appraiser"]}, v["asset"])
    report = appraisals.get_appraisal(session, v["holder"], made)
    assert [m.method for m in report.methods] == ["cost", "income", "market"] and report.state == "signed"
    assert report.reconciliation.weights == {"cost": "3/10", "income": "1/2", "market": "1/5"}
    refs = {c["transaction_ref"] for c in report.market_input["comparables"]}
    assert refs == set(v["refs"])
