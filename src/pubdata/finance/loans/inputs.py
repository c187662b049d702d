"""What a loan product's eligibility may name: every fact of the enterprise facts table (except
dates), the enterprise's credit score and grade, and its tiers (梯度培育) under the rules in force."""

from __future__ import annotations

from dataclasses import dataclass

from pubdata.enterprise.facts import FACTS
from pubdata.rules.expr import Type

_RULE_TYPES: dict[str, Type] = {
    "money": "number", "integer": "number", "number": "number", "boolean": "boolean", "string": "string",
    "district": "string",
}  # fmt: skip
GRADES = ("AAA", "AA", "A", "BBB", "BB", "B", "CCC", "CC", "C")


@dataclass(frozen=True)
class Input:
    """A name the eligibility may use, with what an explanation shows (as a pack input does)."""

    name: str
    title: str
    type: str  # a fact type (money, integer, number, boolean, string, district)
    unit: str = ""

    @property
    def rule_type(self) -> Type:
        return _RULE_TYPES[self.type]


DERIVED: dict[str, Input] = {
    i.name: i
    for i in (
        Input("credit_score", "信用评分", "integer", "分"),
        Input("credit_grade", "信用等级", "string"),
        Input("tier_innovative_sme", "创新型（科技和创新型）中小企业", "boolean"),
        Input("tier_specialised_sme", "专精特新中小企业", "boolean"),
        Input("tier_little_giant", "专精特新“小巨人”企业", "boolean"),
    )
}


def inputs() -> dict[str, Input]:
    """Every name an eligibility rule may use."""
    facts = {
        f.name: Input(f.name, f.title, f.type, f.unit) for f in FACTS.values() if f.type in _RULE_TYPES
    }  # fmt: skip
    return facts | DERIVED


def rule_types() -> dict[str, Type]:
    return {name: i.rule_type for name, i in inputs().items()}
