"""What the market tests build on: a department's table of enterprise tax grades (with a personal
field) and a product's input over it."""

from __future__ import annotations

from pubdata.market.schemas import ContractIn, ProductIn
from pubdata.store import service as store
from pubdata.store.schemas import TableCreate
from tests.builders import make_entry

TAX_SCHEMA = {
    "fields": [
        {"name": "uscc", "type": "string", "title": "统一社会信用代码"},
        {"name": "name", "type": "string", "title": "企业名称"},
        {"name": "district", "type": "string"},
        {"name": "tax_credit_grade", "type": "string", "title": "纳税信用等级"},
        {"name": "revenue", "type": "number"},
        {"name": "legal_phone", "type": "string", "semanticType": "mobile", "personalKind": "phone"},
    ]
}


def tax_table(session, department, open_type="unconditional", **entry) -> str:
    """A department's entry with a table of the tax schema; the resource id."""
    made = make_entry(session, department, title="企业纳税信用等级", open_type=open_type, **entry)
    table = store.create_table(session, department, made.code, TableCreate(name="纳税信用", schema=TAX_SCHEMA))
    return table.resource_id


def product_in(resource_id: str, code: str = "tax-grade-api", kind: str = "api", **overrides) -> ProductIn:
    data = {
        "code": code, "kind": kind, "title": "企业纳税信用等级接口", "description": "按统一社会信用代码查询",
        "scenario": "shipping_trade_finance", "resource_id": resource_id, "sample": "uscc=9137…, grade=A",
        "update_frequency": "每月", "coverage": "青岛市全市企业", "licence": "CC BY 4.0", "terms": "不得转售",
        "requires_approval": True,
        "contract": ContractIn(fields=["uscc", "district", "tax_credit_grade"], daily_call_quota=10_000),
    }  # fmt: skip
    data.update(overrides)
    return ProductIn(**data)
