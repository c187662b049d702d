"""The bank–enterprise channel as tests set it up: a bank admitted to the finance zone, its product,
three enterprises with facts (eligible, not eligible, undecided), and consents to the bank."""

from __future__ import annotations

from datetime import timedelta

from pubdata.access.service import beijing_today
from pubdata.finance.consent import service as consents
from pubdata.finance.consent.schemas import ConsentCreate
from pubdata.finance.loans import service as loans
from pubdata.finance.loans.schemas import ProductIn
from tests import builders
from tests.finance.builders import publish_facts
from tests.finance.test_consent import admitted_bank

RULE = "tax_credit_grade in ['A', 'B'] and insured_headcount >= 10 and not is_dishonest_debtor"


def product(**overrides):
    data = {
        "code": "kechuang-dai", "name": "科创信用贷", "category": "tech", "amount_min": 100_000,
        "amount_max": 5_000_000, "term_min_months": 6, "term_max_months": 36, "rate_min_bp": 300,
        "rate_max_bp": 450, "guarantee": "credit", "eligibility": RULE, "sections": ["basic", "tax"],
    }  # fmt: skip
    data.update(overrides)
    return ProductIn(**data)


def make_channel(session, as_actor, home):
    """A bank admitted to the finance zone with one published product (tax grade A/B, 10+ insured,
    not a dishonest debtor), and enterprises that match it (good), fail it (weak, tax grade C) and
    lack a fact (unknown: no headcount), each with its facts published under ``home``."""
    bank_org, bank = admitted_bank(session, as_actor)
    good, weak, unknown = (builders.make_org(session, "enterprise") for _ in range(3))
    publish_facts(
        session, home,
        [
            {"uscc": good.uscc, "name": good.name, "registered_district": "崂山区", "industry_code": "I6511",
             "tax_credit_grade": "A", "insured_headcount": 35, "is_dishonest_debtor": False},
            {"uscc": weak.uscc, "name": weak.name, "registered_district": "市南区", "industry_code": "F5292",
             "tax_credit_grade": "C", "insured_headcount": 50, "is_dishonest_debtor": False},
            {"uscc": unknown.uscc, "name": unknown.name, "registered_district": "黄岛区", "industry_code": "C3499",
             "tax_credit_grade": "B", "insured_headcount": None, "is_dishonest_debtor": False},
        ],
    )  # fmt: skip
    made = loans.create_product(session, bank, product())
    loans.set_product_state(session, bank, made.id, "published")
    return {
        "bank_org": bank_org, "bank": bank, "product": made,
        "good": (good, as_actor("enterprise", good)), "weak": (weak, as_actor("enterprise", weak)),
        "unknown": (unknown, as_actor("enterprise", unknown)),
    }  # fmt: skip


def consent_to(session, enterprise, bank_org, sections=("basic", "tax")):
    data = ConsentCreate(bank=bank_org.code, sections=list(sections), purpose="loan_application",
                         expires_on=beijing_today() + timedelta(days=60))  # fmt: skip
    return consents.grant_consent(session, enterprise, data)
