"""What a market product is built on, checked: the resource and the provider's right to build on it
(its own organisation's data, open data, the operator's curation, or an active grant — and then
within that grant), the contract template against the table's real columns (fields, masks, row
filter, quotas; a verification service's key field and predicate), and the zone's rules."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from pubdata.access import masks as mask_rules
from pubdata.access import service as access
from pubdata.access import zones
from pubdata.access.row_filter import InvalidRowFilter, compile_filter
from pubdata.access.schemas import TableField
from pubdata.authz import Actor, Permission
from pubdata.catalog import service as catalog
from pubdata.errors import NotFound
from pubdata.ledger.service import is_fen
from pubdata.market.errors import (
    InvalidContract,
    InvalidProduct,
    NotHolder,
)
from pubdata.market.schemas import (
    KINDS,
    ContractIn,
    ProductIn,
)
from pubdata.store import contracts as store_contracts

MAX_QUOTA = 10**12
ROW_KINDS = ("api", "dataset")  # products that hand rows to the buyer
QUOTAS = ("daily_call_quota", "daily_row_quota", "rate_per_minute")


@dataclass(frozen=True)
class Checked:
    """A product's input, checked: the resource's entry, the basis and the normalised contract."""

    entry_id: int
    entry_code: str
    basis: str
    grant_id: int | None
    contract: dict[str, Any]


def _basis(session: Session, actor: Actor, resource_id: str) -> tuple[Any, str, Any]:
    """The resource, how the actor's organisation may build on it, and the grant it builds under."""
    try:
        resource = catalog.get_resource(session, actor, resource_id)
    except NotFound:
        raise InvalidProduct(f"目录资源不存在：{resource_id}", field="resource_id") from None
    entry = resource.entry
    if actor.can(Permission.MARKET_LISTING_REVIEW):
        return resource, "operator", None
    if entry.organisation_id == actor.organisation_id:
        return resource, "own", None
    if entry.open_type == "unconditional":
        return resource, "open", None
    if entry.open_type == "closed":
        raise NotHolder(f"“{entry.title}”为不予开放数据，数据商不能以其建立数据产品")
    # a reviewed rows or sandbox grant: a bought product's grant confers no right to resell
    grant = access.active_grant(session, actor, resource.id, "aggregate", reviewed_only=True)
    if grant is None:
        raise NotHolder(
            f"“{entry.title}”为有条件开放数据：本机构须持有其经审核的有效使用授权，才能以其建立数据产品"
            "（购买数据产品取得的授权不能用于再加工销售）"
        )
    return resource, "grant", grant


def _columns(session: Session, resource_id: str) -> list[TableField]:
    try:
        return store_contracts.table_columns(session, resource_id)
    except NotFound:
        raise InvalidProduct(
            f"该目录资源尚未建立数据表，不能建立数据产品：{resource_id}", field="resource_id"
        ) from None


def _check_filter(text: str, names: list[str], key: str, problems: list[dict[str, str]]) -> None:
    try:
        compile_filter(text, names)
    except InvalidRowFilter as exc:
        problems.append({"field": f"contract.{key}", "message": exc.message})


def _check_contract(
    kind: str, contract: ContractIn, columns: Sequence[TableField], grant: Any, problems: list[dict[str, str]]
) -> dict[str, Any]:
    """The contract template in its normal form, the problems found added to ``problems``."""
    table = {c.name: c for c in columns}
    # under a grant, the product reaches no column beyond the grant's
    allowed = [n for n in table if grant is None or n in grant.fields]
    out: dict[str, Any] = {q: getattr(contract, q) for q in QUOTAS}
    for name in QUOTAS:
        value = out[name]
        if value is not None and (not is_fen(value) or not 1 <= value <= MAX_QUOTA):
            problems.append({"field": f"contract.{name}", "message": f"{name} 须为正整数或留空：{value!r}"})
    fields = list(contract.fields)
    masks = dict(contract.masks)
    if grant is not None and grant.mode == "sandbox" and kind not in ("sandbox", "report"):
        problems.append(
            {"field": "kind", "message": f"本机构的授权只能在沙箱中做聚合统计，不能以其建立{KINDS[kind]}产品"}
        )
    if kind == "verification":
        if fields or masks:
            problems.append(
                {"field": "contract.fields", "message": "核验服务只答复是否匹配，不返回数据：不设 fields、masks"}
            )
        if not contract.key_field:
            problems.append({"field": "contract.key_field", "message": "核验服务须指定买方提交的核验字段（key_field）"})
        elif contract.key_field not in allowed:
            problems.append({"field": "contract.key_field", "message": _unknown([contract.key_field], allowed)})
        if contract.predicate:
            _check_filter(contract.predicate, allowed, "predicate", problems)
    else:
        for key in ("key_field", "predicate"):
            if getattr(contract, key):
                problems.append({"field": f"contract.{key}", "message": f"只有核验服务设 {key}"})
        unknown = [f for f in fields if f not in allowed]
        if unknown:
            problems.append({"field": "contract.fields", "message": _unknown(unknown, allowed)})
        if len(set(fields)) != len(fields):
            problems.append({"field": "contract.fields", "message": "字段有重复"})
        if kind != "report" and not fields:
            problems.append({"field": "contract.fields", "message": f"{KINDS[kind]}产品须至少包含一个字段"})
        health = [f for f in fields if f in table and table[f].personal_kind == "health"]
        if health and kind in ROW_KINDS:
            problems.append({
                "field": "kind",
                "message": f"含个人健康信息（{'、'.join(health)}）的数据只能以沙箱、核验或报告形式提供，"
                f"不能建立{KINDS[kind]}产品",
            })  # fmt: skip
        for name, rule in masks.items():
            if name not in fields:
                problems.append({"field": f"contract.masks.{name}", "message": f"遮盖规则的字段不在产品字段中：{name}"})
                continue
            try:
                mask_rules.check_rule(name, rule, table[name].type)
            except mask_rules.InvalidMask as exc:
                problems.append({"field": f"contract.masks.{name}", "message": exc.message})
        for name in fields:  # personal information is masked unless the provider chose a rule
            kind_of = table[name].personal_kind if name in table else None
            if kind_of and name not in masks and not (kind == "sandbox" and kind_of not in mask_rules.IDENTIFIER_KINDS):
                rule = mask_rules.DEFAULT_BY_PERSONAL_KIND.get(kind_of, "all")
                masks[name] = "all" if rule == "year" and table[name].type not in ("date", "datetime") else rule
        if grant is not None:
            for name, rule in (grant.masks or {}).items():
                if name not in fields:
                    continue
                if name not in masks:
                    masks[name] = rule
                elif mask_rules.strictness(masks[name]) < mask_rules.strictness(rule):
                    problems.append({
                        "field": f"contract.masks.{name}",
                        "message": f"字段 {name} 的遮盖（{masks[name]}）宽于本机构授权的遮盖（{rule}）",
                    })  # fmt: skip
        out.update(fields=fields, masks=masks)
    row_filter = contract.row_filter.strip() if contract.row_filter else None
    if row_filter:
        _check_filter(row_filter, allowed, "row_filter", problems)
    if grant is not None and grant.row_filter:  # the grant's rows bound the product's
        row_filter = f"({grant.row_filter}) AND ({row_filter})" if row_filter else grant.row_filter
    out.setdefault("fields", [])
    out.setdefault("masks", {})
    out.update(
        row_filter=row_filter,
        key_field=contract.key_field if kind == "verification" else None,
        predicate=(contract.predicate or None) if kind == "verification" else None,
    )
    return out


def _unknown(names: list[str], allowed: list[str]) -> str:
    return f"数据表中没有这些字段（或不在本机构的授权范围内）：{'、'.join(names)}（可用：{'、'.join(allowed)}）"


def _check_zone(
    session: Session, data: ProductIn, entry_id: int, contract: dict[str, Any], columns: Sequence[TableField],
    problems: list[dict[str, str]],
) -> None:  # fmt: skip
    held_by = zones.zones_of_entry(session, entry_id)
    codes = [z.code for z in held_by]
    zone = None
    if data.zone is not None:
        try:
            zone = zones.get_zone(session, data.zone)
        except zones.ZoneNotFound:
            problems.append({"field": "zone", "message": f"专区不存在：{data.zone}"})
    if codes and data.zone not in codes:
        names = "、".join(z.name for z in held_by)
        problems.append({"field": "zone", "message": f"该数据属于{names}，产品须归入该专区"})
    personal = {c.name for c in columns if c.personal_kind}
    if (
        zone is not None
        and zone.sandbox_only_personal
        and data.kind in ROW_KINDS
        and personal & set(contract["fields"])
    ):
        problems.append(
            {"field": "kind", "message": f"{zone.name}规定：含个人信息的数据只能以沙箱、核验或报告形式提供"}
        )


def check_product(session: Session, actor: Actor, data: ProductIn) -> Checked:
    resource, basis, grant = _basis(session, actor, data.resource_id)
    columns = _columns(session, resource.id)
    problems: list[dict[str, str]] = []
    contract = _check_contract(data.kind, data.contract, columns, grant, problems)
    if resource.entry.open_type == "closed" and data.kind in ("api", "dataset", "sandbox"):
        # no grant ever opens 不予开放 rows or aggregates: a buyer would pay for nothing
        problems.append(
            {"field": "kind", "message": f"“{resource.entry.title}”为不予开放数据，只能以核验服务或数据报告形式提供"}
        )
    _check_zone(session, data, resource.entry.id, contract, columns, problems)
    if problems:
        error = InvalidContract if any(p["field"].startswith("contract.") for p in problems) else InvalidProduct
        raise error("；".join(p["message"] for p in problems), details=problems)
    return Checked(resource.entry.id, resource.entry.code, basis, grant.id if grant is not None else None, contract)
