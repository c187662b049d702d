"""The demo city's bank–enterprise channel: 青岛银行 (the demo bank, admitted to the finance zone)
publishes three loan products, so the 银企直通车 pages have something to match from the start.
Idempotent: products already there are left as they are."""

from __future__ import annotations

from sqlalchemy.orm import Session

from pubdata.authz import Actor
from pubdata.finance.loans import service as loans
from pubdata.finance.loans.schemas import ProductIn

PRODUCTS: tuple[ProductIn, ...] = (
    ProductIn(
        code="qdb-kechuang", name="青银科创贷", category="tech",
        description="面向科技型中小企业的纯信用贷款：依据公共数据形成的信用评分授信，无需抵押。",
        amount_min=1_000_000, amount_max=10_000_000, term_min_months=12, term_max_months=36,
        rate_min_bp=320, rate_max_bp=420, guarantee="credit",
        eligibility="credit_grade in ['AAA', 'AA', 'A'] and age_years >= 2 and tax_credit_grade in ['A', 'B'] "
        "and (high_tech_enterprise_valid or is_specialised or tier_innovative_sme)",
        sections=["basic", "score", "tax", "innovation"],
    ),
    ProductIn(
        code="qdb-puhui", name="青银普惠快贷", category="inclusive",
        description="面向小微企业的普惠流动资金贷款：纳税、社保、水电缴费正常即可申请，线上审批。",
        amount_min=100_000, amount_max=3_000_000, term_min_months=6, term_max_months=12,
        rate_min_bp=345, rate_max_bp=480, guarantee="credit",
        eligibility="age_years >= 1 and tax_credit_grade in ['A', 'B', 'M'] and insured_headcount >= 3 "
        "and not listed_abnormal_or_seriously_dishonest and enforcement_count == 0",
        sections=["basic", "tax", "employment", "utilities", "compliance"],
    ),
    ProductIn(
        code="qdb-zhuanjing", name="专精特新成长贷", category="tech",
        description="面向专精特新企业的知识产权质押贷款，额度按有效发明专利和信用等级核定。",
        amount_min=2_000_000, amount_max=20_000_000, term_min_months=12, term_max_months=36,
        rate_min_bp=300, rate_max_bp=400, guarantee="pledge",
        eligibility="(tier_specialised_sme or specialised_level in ['国家级', '省级']) and ip_class1_count >= 1 "
        "and credit_grade in ['AAA', 'AA', 'A', 'BBB']",
        sections=["basic", "score", "innovation", "compliance"],
    ),
)  # fmt: skip


def apply(session: Session, bank: Actor) -> int:
    """Publish the demo bank's products that are not there yet; how many it has."""
    have = {p.code for p in loans.list_products(session, bank, mine=True)}
    for spec in PRODUCTS:
        if spec.code not in have:
            made = loans.create_product(session, bank, spec)
            loans.set_product_state(session, bank, made.id, "published")
    return len(loans.list_products(session, bank, mine=True))
