"""Masking rules of a contract, applied by DuckDB inside the read path's relation — before any
caller's filter, function, join or grouping sees the column, so none of them can reach the raw value.

Rules (a field's ``mask``): ``all`` (***), ``first:N`` / ``last:N`` (show the first or last N
characters), ``hash`` (SHA-256 with a per-grant salt: joinable within the grant, not across grants or
by a dictionary), ``null``, ``year`` (dates to their year), ``name`` (张*), ``id_number``
(370202********1234), ``phone`` (138****5678), ``address`` (to the district: 山东省青岛市崂山区).
"""

from __future__ import annotations

import re

from pubdata.errors import Invalid

RULES: dict[str, str] = {
    "all": "全部遮盖", "first": "保留前 N 位", "last": "保留后 N 位", "hash": "哈希（加盐）", "null": "置空",
    "year": "仅保留年份", "name": "姓名（张*）", "id_number": "身份证号（370202********1234）",
    "phone": "电话（138****5678）", "address": "地址到区（县）",
}  # fmt: skip
# The default rule for a column by its personal-information kind (catalogue vocabulary).
# Personal kinds that identify a person (as opposed to sensitive attributes: health, other).
IDENTIFIER_KINDS = ("name", "id_number", "phone", "address", "bank_card")
DEFAULT_BY_PERSONAL_KIND = {
    "name": "name", "id_number": "id_number", "phone": "phone", "address": "address", "bank_card": "last:4",
    "health": "all", "other": "all",
}  # fmt: skip
# Rules that keep the column's type; every other rule makes it text.
TYPE_KEEPING = ("null",)
_RULE = re.compile(r"^(all|hash|null|year|name|id_number|phone|address|(first|last):(\d{1,2}))$")
_DISTRICT = r"^(?:[^省]{1,8}省)?(?:[^市]{1,8}市)?[^区县市]{1,8}(?:区|县|市)"


class InvalidMask(Invalid):
    code = "access.invalid_mask"


def check_rule(field: str, rule: str, field_type: str) -> str:
    """The rule, if it is one and fits the field's type; else ``InvalidMask`` naming both."""
    match = _RULE.match(rule or "")
    if not match:
        names = "、".join(k + ":N" if k in ("first", "last") else k for k in RULES)
        raise InvalidMask(f"字段 {field} 的遮盖规则无效：{rule}（可用：{names}）", field=f"masks.{field}")
    if rule == "year" and field_type not in ("date", "datetime", "year"):
        raise InvalidMask(f"字段 {field} 不是日期，不能使用 year 规则", field=f"masks.{field}")
    return rule


def output_type(rule: str | None, field_type: str) -> str:
    """The Table Schema type of a column once masked."""
    if not rule or rule in TYPE_KEEPING:
        return field_type
    return "integer" if rule == "year" else "string"


def strictness(rule: str | None) -> int:
    """How much a rule hides, to tell a narrowing (stricter) change from a loosening one."""
    if not rule:
        return 0
    if rule.startswith(("first:", "last:")):
        return 2 if int(rule.split(":")[1]) <= 4 else 1
    return {"year": 2, "name": 2, "phone": 2, "id_number": 2, "address": 2, "hash": 3, "all": 4, "null": 5}[rule]


def mask_sql(column: str, rule: str | None, *, salt: str, duckdb_type: str) -> str:
    """DuckDB SQL of ``column`` (a quoted identifier) under ``rule``."""
    if not rule:
        return column
    text = f"CAST({column} AS VARCHAR)"
    stars = f"repeat('*', greatest(length({text}) - {{n}}, 0))"
    if rule == "all":
        sql = "'***'"
    elif rule == "null":
        return f"CAST(NULL AS {duckdb_type})"
    elif rule == "hash":
        sql = f"sha256({_literal(salt)} || {text})"
    elif rule == "year":
        sql = f"CAST(year({column}) AS BIGINT)"
    elif rule == "name":
        sql = f"left({text}, 1) || {stars.format(n=1)}"
    elif rule == "id_number":
        sql = _middle(text, 6, 4)
    elif rule == "phone":
        sql = _middle(text, 3, 4)
    elif rule == "address":
        sql = f"coalesce(nullif(regexp_extract({text}, '{_DISTRICT}', 0), ''), '***')"
    else:
        side, n = rule.split(":")
        keep = f"{side}({text}, {int(n)})"
        sql = f"{keep} || {stars.format(n=int(n))}" if side == "first" else f"{stars.format(n=int(n))} || {keep}"
    return f"CASE WHEN {column} IS NULL THEN NULL ELSE {sql} END"


def _middle(text: str, head: int, tail: int) -> str:
    """Keep ``head`` leading and ``tail`` trailing characters, stars between (all stars if short)."""
    hidden = f"length({text}) - {head + tail}"
    return (
        f"CASE WHEN {hidden} > 0 THEN left({text}, {head}) || repeat('*', {hidden}) || right({text}, {tail}) "
        "ELSE '***' END"
    )


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
