"""What the trust API, page and browser tests build on: a data merchant holding a registered asset
(registered through the registry service, the builders of tests/assets/registry/test_registry.py),
a licensed trust company with a user, two other beneficiary organisations, and a trust's input over
the asset (the settlor 1/2 taking the remainder, an enterprise 1/3, a department 1/6)."""

from __future__ import annotations

import itertools
from datetime import timedelta
from typing import Any

from pubdata.access.service import beijing_today
from pubdata.assets.registry.schemas import SourceIn
from pubdata.assets.trusts import service as trusts
from pubdata.assets.trusts.schemas import BeneficiaryIn, TrustIn
from pubdata.ledger import service as ledger
from pubdata.ledger.schemas import Posting
from pubdata.standards import uscc_with_check
from tests.assets.registry.test_registry import apply, registered
from tests.builders import make_org

_n = itertools.count(1)


def parties(session, as_actor, world: dict[str, Any]) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """``world`` (tests/assets/registry/test_registry.py) with the merchant's registered asset, a
    trust company and its user, the beneficiaries and the operator."""
    w = dict(world)
    reg = registered(session, w, apply(session, w, "merchant", sources=[SourceIn(entry=w["entry"], basis="open")]).id)
    n = next(_n)
    w["asset"] = reg.code
    w["settlor_org"], w["settlor"] = w["merchant_org"], w["merchant"]
    w["trustee_org"] = make_org(session, "trust_company", name=f"海晟信托有限责任公司（测试{n}）",
                                uscc=uscc_with_check(f"91370200MB{n + 5000:07d}"))  # fmt: skip
    w["trustee"] = as_actor("trustee", w["trustee_org"])
    w["ent_org"] = make_org(session, "enterprise", name=f"青岛海岸线跨境电子商务有限公司（测试{n}）")
    w["ent"] = as_actor("enterprise", w["ent_org"])
    w["operator"] = w["registrar"]
    w["stranger"] = as_actor("enterprise")
    return w


def trust_body(w: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    """A trust's input as JSON (the API's body)."""
    today = beijing_today()
    body = {
        "code": "qd-credit-trust", "title": "企业信用数据资产服务信托", "description": "测试用数据信托",
        "settlor_org_id": w["settlor_org"].id, "trustee_org_id": w["trustee_org"].id, "purpose": "asset_service",
        "fee_rate_bp": 150, "fee_fixed_fen": None, "term_start": (today - timedelta(days=30)).isoformat(),
        "term_end": (today + timedelta(days=700)).isoformat(),
        "beneficiaries": [
            {"organisation_id": w["settlor_org"].id, "numerator": 1, "denominator": 2, "remainder": True},
            {"organisation_id": w["ent_org"].id, "numerator": 1, "denominator": 3, "remainder": False},
            {"organisation_id": w["dept_org"].id, "numerator": 1, "denominator": 6, "remainder": False},
        ],
        "assets": [w["asset"]],
    }  # fmt: skip
    body.update(overrides)
    return body


def trust_in(w: dict[str, Any], **overrides: Any) -> TrustIn:
    body = trust_body(w, **overrides)
    body["beneficiaries"] = [BeneficiaryIn(**b) for b in body["beneficiaries"]]
    return TrustIn(**body)


def fund_and_distribute(session, w: dict[str, Any], trust_id: int, gross_fen: int, reference: str):  # type: ignore[no-untyped-def]
    """What the month's settlement does for a product built on the trust's assets: credit the trust's
    clearing account, then distribute the gross."""
    clearing = ledger.account_for(session, w["operator"], None, "clearing").code
    lines = [(clearing, gross_fen), (trusts.clearing_code(trust_id), -gross_fen)]
    ledger.post(session, w["operator"], Posting(f"settlement:{reference}", "settlement", lines))
    return trusts.distribute(session, w["operator"], trust_id, gross_fen, reference)
