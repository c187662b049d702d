"""Shared pieces of the access and audit pages: Chinese labels of states, steps, actions and masks;
CSRF and sign-in checks; running a service call in a savepoint; reading form values with errors that
name the field in Chinese; organisation and user names by id for one page."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date
from typing import Any, TypeVar
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import RedirectResponse
from pydantic import ValidationError
from sqlalchemy.orm import Session

from pubdata.access import masks
from pubdata.errors import Invalid, NotFound, PubdataError
from pubdata.identity import service as identity
from pubdata.store import service as store
from pubdata.store import table_schema
from pubdata.web import csrf
from pubdata.web.templating import Viewer

NO_STORE = {"Cache-Control": "no-store"}
T = TypeVar("T")

STATE_LABELS = {
    "requested": "待部门审核",
    "department_approved": "待运营方审核",
    "granted": "已授权",
    "rejected": "已驳回",
    "withdrawn": "已撤回",
}
GRANT_STATUS_LABELS = {"active": "生效中", "pending": "未到生效日期", "expired": "已过期", "revoked": "已撤销"}
STEP_LABELS = {"consumer": "申请方", "department": "部门审核", "operator": "运营方审核"}
ACTION_LABELS = {
    "submit": "提交申请",
    "approve": "同意",
    "narrow": "同意（收窄范围）",
    "reject": "驳回",
    "withdraw": "撤回",
    "revoke": "撤销授权",
}
CHANGE_LABELS = {
    "fields": "字段",
    "masks": "遮盖规则",
    "row_filter": "行过滤条件",
    "period_end": "结束日期",
    "mode": "使用方式",
}
MODE_LABELS = {"rows": "明细数据（遮盖、过滤后）", "sandbox": "隐私计算沙箱（仅聚合结果）"}
FIELD_LABELS = {
    "scenario": "应用场景",
    "purpose": "用途说明",
    "fields": "申请字段",
    "period_start": "开始日期",
    "period_end": "结束日期",
    "expected_rows": "预计每月使用行数",
    "reason": "理由",
    "row_filter": "行过滤条件",
    "masks": "遮盖规则",
    "daily_call_quota": "每日调用次数上限",
    "daily_row_quota": "每日数据行数上限",
    "rate_per_minute": "每分钟调用次数上限",
    "resource_id": "数据资源",
    "mode": "使用方式",
    "privacy_budget": "隐私预算 ε",
    # the audit viewer's filters
    "since": "开始日期",
    "until": "结束日期",
    "page": "页码",
    "result": "结果",
    "action": "操作",
}


def login_redirect(request: Request, target: str | None = None) -> RedirectResponse:
    return RedirectResponse("/user/login?next=" + quote(target or request.url.path), status_code=303)


def check_csrf(viewer: Viewer, token: str | None) -> None:
    # an API token used on a page has no session token: it cannot post forms
    csrf.check_session_token(viewer.csrf_token or None, token)


def attempt(session: Session, action: Callable[[], T]) -> T:
    """Run a service call in a savepoint: if it raises, whatever it changed is undone (the page then
    shows the error while the request's transaction still commits what came before)."""
    with session.begin_nested():
        return action()


def mask_label(rule: str | None) -> str:
    if not rule:
        return "不遮盖"
    if rule.startswith(("first:", "last:")):
        side, n = rule.split(":")
        return f"保留{'前' if side == 'first' else '后'} {n} 位"
    return masks.RULES.get(rule, rule)


def default_mask(field: dict[str, Any]) -> str | None:
    """The mask a request gets by default for a column (as the access service assigns it)."""
    kind = field.get("personal_kind")
    if not kind:
        return None
    rule = masks.DEFAULT_BY_PERSONAL_KIND.get(kind, "all")
    if rule == "year" and field["type"] not in ("date", "datetime"):
        rule = "all"
    return rule


def table_fields(session: Session, viewer: Viewer, resource_id: str) -> list[dict[str, Any]]:
    table = store.get_table(session, viewer.actor, resource_id)
    return table_schema.describe(table_schema.parse_schema(table.table_schema))


class Names:
    """Organisation and user names by id for one page, each looked up once."""

    def __init__(self, session: Session, viewer: Viewer) -> None:
        self.session, self.viewer = session, viewer
        self._orgs: dict[int, Any] = {}
        self._users: dict[int, str] = {}

    def _org(self, org_id: int) -> Any:
        if org_id not in self._orgs:
            try:
                self._orgs[org_id] = identity.get_organisation(self.session, self.viewer.actor, str(org_id))
            except NotFound:
                self._orgs[org_id] = None
        return self._orgs[org_id]

    def org(self, org_id: int | None) -> str:
        if org_id is None:
            return "—"
        org = self._org(org_id)
        return org.name if org is not None else f"机构 {org_id}"

    def know_users_of(self, org_ids: Iterable[int | None]) -> None:
        for org_id in org_ids:
            org = self._org(org_id) if org_id is not None else None
            for user in org.users if org is not None else ():
                self._users[user.id] = user.display_name or user.username

    def user(self, user_id: int | None) -> str:
        if user_id is None:
            return "—"
        return self._users.get(user_id, f"用户 {user_id}")


def form_error(exc: PubdataError) -> dict[str, Any]:
    field = getattr(exc, "field", None) or ""
    top = field.split(".", 1)[0]
    return {"message": exc.message, "field": field, "field_label": FIELD_LABELS.get(top, "")}


def validation_message(exc: ValidationError) -> dict[str, Any]:
    """The first problem pydantic found, in Chinese, naming the form field."""
    err = exc.errors()[0]
    field = str(err["loc"][0]) if err.get("loc") else ""
    name = FIELD_LABELS.get(field, field)
    ctx = err.get("ctx") or {}
    kind = err.get("type", "")
    if kind == "string_too_short":
        why = f"至少 {ctx.get('min_length')} 个字"
    elif kind == "string_too_long":
        why = f"最多 {ctx.get('max_length')} 个字"
    elif kind == "too_short":
        why = "至少选择一项"
    elif kind == "too_long":
        why = "选择的项目过多"
    elif kind.startswith("date"):
        why = "日期格式应为 YYYY-MM-DD"
    elif kind.startswith("int"):
        why = "应为整数"
    elif kind == "greater_than_equal":
        why = f"不能小于 {ctx.get('ge')}"
    elif kind == "less_than_equal":
        why = f"不能大于 {ctx.get('le')}"
    elif kind == "missing":
        why = "必须填写"
    else:
        why = "无效"
    return {"message": f"{name}：{why}", "field": field, "field_label": name}


def optional_int(value: str | None, field: str) -> int | None:
    text = (value or "").strip().replace(",", "")
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        raise Invalid(f"{FIELD_LABELS[field]}应为整数：{text}", field=field) from None


def optional_float(value: str | None, field: str) -> float | None:
    text = (value or "").strip()
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        raise Invalid(f"{FIELD_LABELS[field]}应为数字：{text}", field=field) from None


def optional_date(value: str | None, field: str) -> date | None:
    text = (value or "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise Invalid(f"{FIELD_LABELS[field]}的格式应为 YYYY-MM-DD：{text}", field=field) from None


def mask_choices(current: str | None, field_type: str, personal_kind: str | None) -> list[tuple[str, str]]:
    """Rules a reviewer may switch a column to: only as strict as its current rule, or stricter."""
    candidates = ["last:4", "first:1"]
    default = masks.DEFAULT_BY_PERSONAL_KIND.get(personal_kind or "")
    if default:
        candidates.insert(0, default)
    if field_type in ("date", "datetime"):
        candidates.append("year")
    candidates += ["hash", "all", "null"]
    floor = masks.strictness(current)
    out: list[tuple[str, str]] = []
    for rule in dict.fromkeys(candidates):
        if rule != current and masks.strictness(rule) >= floor:
            out.append((rule, mask_label(rule)))
    return out


def change_lines(changes: dict[str, Any] | None, titles: dict[str, str]) -> list[dict[str, str]]:
    """A decision's changes as ``{name, old, new}`` lines in words."""
    lines = []

    def field_list(names: list[str]) -> str:
        return "、".join(titles.get(n, n) for n in names) or "（无）"

    def mask_map(rules: dict[str, str]) -> str:
        return "；".join(f"{titles.get(k, k)}：{mask_label(v)}" for k, v in sorted(rules.items())) or "（无）"

    for key, pair in (changes or {}).items():
        if not isinstance(pair, list | tuple) or len(pair) != 2:
            continue
        old, new = pair
        if key == "fields":
            old, new = field_list(old or []), field_list(new or [])
        elif key == "masks":
            old, new = mask_map(old or {}), mask_map(new or {})
        elif key == "mode":
            old, new = MODE_LABELS.get(old, old), MODE_LABELS.get(new, new)
        lines.append({"name": CHANGE_LABELS.get(key, key), "old": str(old or "（无）"), "new": str(new or "（无）")})
    return lines
