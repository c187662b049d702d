"""梯度培育 (tier) pages: an enterprise's tiers under both versions of the MIIT tier rules — each
clause 符合 / 不符合 / 待补充 with its score and bounds where the rules score, the group subtotals,
the Chinese trace and the missing facts — and the form in which the enterprise's own users supply
the missing enterprise-supplied facts (saved through ``enterprise.supply_facts``, then evaluated
again). Public facts the data lacks are explained, never offered in the form.

``/me/tiers`` is the signed-in enterprise's own page; ``/enterprises/{uscc}/tiers`` is any
enterprise's for those who may read its facts (the operator, departments, the regulator: read only).
Money is entered in 万元 (stored as integer yuan), percentages as 5.0 for 5%."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from pubdata.api.deps import DB, Home
from pubdata.api.v1.enterprise import EnterpriseTiers, MissingFact, enterprise_tiers
from pubdata.authz import Permission
from pubdata.enterprise import service
from pubdata.enterprise.errors import EnterpriseNotFound, FactsNotBuilt
from pubdata.enterprise.facts import FACTS
from pubdata.errors import NotFound, PubdataError
from pubdata.web.access_forms import NO_STORE, attempt, check_csrf, login_redirect
from pubdata.web.deps import ViewerDep
from pubdata.web.templating import Viewer, render

router = APIRouter(include_in_schema=False)
WAN = Decimal(10_000)
STATUS_CLASSES = {"met": "badge-unconditional", "not_met": "badge-grade-core", "undecided": "badge-conditional"}


def input_kind(m: MissingFact) -> str:
    """How the form asks for a fact: yes/no, a choice of values, or a number."""
    if m.type == "boolean":
        return "yesno"
    if m.values:
        return "select"
    if m.type in ("money", "integer", "number"):
        return "number"
    return "text"


def unit_label(m: MissingFact) -> str:
    if m.type == "money":
        return "万元"
    return m.unit


def form_text(m: MissingFact, value: Any) -> str:
    """A current value as the form shows it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if m.type == "money":
        return format((Decimal(value) / WAN).normalize(), "f")
    return str(value)


def shown(name: str, value: Any) -> str:
    """A supplied value in words (是/否, amounts in 元 and 万元, units)."""
    f = FACTS.get(name)
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "是" if value else "否"
    if f is not None and f.type == "money":
        return f"{int(value):,} 元（{Decimal(value) / WAN:,.2f} 万元）"
    unit = f.unit if f is not None else ""
    return f"{value}{' ' + unit if unit and unit != '%' else unit}"


def points(value: Any) -> str:
    """A score as the rules write it: 85, 87.5."""
    if value is None:
        return "—"
    d = Decimal(str(value))
    return str(int(d)) if d == d.to_integral_value() else format(d.normalize(), "f")


def parse_form(missing: dict[str, MissingFact], fields: dict[str, str]) -> tuple[dict[str, Any], list[str]]:
    """The filled fields (``fact.<name>``) as typed values, and every field that does not parse
    (named by its title). Blank fields are left out: they supply nothing."""
    values: dict[str, Any] = {}
    problems: list[str] = []
    for name, m in missing.items():
        raw = fields.get(f"fact.{name}", "").strip().replace(",", "").replace("，", "")
        if not raw:
            continue
        kind = input_kind(m)
        if kind == "yesno":
            if raw not in ("true", "false"):
                problems.append(f"{m.title}：请选择“是”或“否”")
                continue
            values[name] = raw == "true"
        elif kind == "number":
            try:
                number = Decimal(raw)
            except InvalidOperation:
                problems.append(f"{m.title}：应为数字（{unit_label(m) or '数值'}）：{raw[:20]}")
                continue
            if not number.is_finite():
                problems.append(f"{m.title}：应为数字：{raw[:20]}")
            elif m.type == "money":
                yuan = number * WAN
                if yuan != yuan.to_integral_value():
                    problems.append(f"{m.title}：最多精确到元（万元的小数点后四位）：{raw[:20]}")
                else:
                    values[name] = int(yuan)
            elif m.type == "integer":
                if number != number.to_integral_value():
                    problems.append(f"{m.title}：应为整数：{raw[:20]}")
                else:
                    values[name] = int(number)
            else:
                values[name] = number
        else:
            values[name] = raw
    return values, problems


def _form_facts(tiers: EnterpriseTiers, supplied_now: dict[str, Any]) -> tuple[list[MissingFact], list[MissingFact]]:
    """(the missing enterprise-supplied facts, the tier facts already supplied — offered for
    correction), each once."""
    missing = [m for m in tiers.missing if m.supplied]
    names = {m.name for m in missing}
    given: list[MissingFact] = []
    for name in tiers.facts:
        f = FACTS.get(name)
        if f is None or not f.supplied or name in names or name not in supplied_now:
            continue
        given.append(
            MissingFact(
                name=name, title=f.title, type=f.type, unit=f.unit, meaning=f.meaning,
                values=list(f.values) if f.values else None, supplied=True, source=f.source_title, why=f.missing,
            )
        )  # fmt: skip
    return missing, given


def _page(
    request: Request,
    session: Session,
    viewer: Viewer,
    uscc: str,
    *,
    own_page: bool,
    values: dict[str, str] | None = None,
    note: str = "",
    error: str = "",
    problems: list[str] | None = None,
    saved: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    home = request.app.state.settings.home
    tiers = enterprise_tiers(session, viewer.actor, uscc, home=home)
    supplied_now = {f.name: f for f in tiers.supplied}
    missing_form, given_form = _form_facts(tiers, supplied_now)
    own = service.own_uscc(session, viewer.actor) == tiers.uscc
    may_supply = own and viewer.actor.can(Permission.ENTERPRISE_FACTS_SUPPLY) and bool(viewer.csrf_token)
    titles = {m.name: m.title for m in tiers.missing}
    if values is None:
        values = {m.name: form_text(m, supplied_now[m.name].value) for m in given_form}
    context = {
        "nav": "enterprise",
        "tiers": tiers,
        "own": own,
        "own_page": own_page,
        "may_supply": may_supply,
        "missing_form": missing_form,
        "given_form": given_form,
        "public_missing": [m for m in tiers.missing if not m.supplied],
        "titles": titles,
        "values": values,
        "note": note,
        "error": error,
        "problems": problems or [],
        "saved": saved,
        "tier_facts": tiers.supplied,
        "shown": shown,
        "points": points,
        "input_kind": input_kind,
        "unit_label": unit_label,
        "status_classes": STATUS_CLASSES,
        "action": f"/enterprises/{quote(tiers.uscc)}/tiers",
    }
    response = render(request, "enterprise/tiers.html", context, status_code=status_code)
    response.headers.update(NO_STORE)
    return response


def _notice(request: Request, notice: str, status_code: int) -> HTMLResponse:
    return render(request, "enterprise/tiers.html", {"nav": "enterprise", "tiers": None, "notice": notice},
                  status_code=status_code)  # fmt: skip


@router.get("/me/tiers", response_class=HTMLResponse)
def my_tiers(request: Request, session: DB, viewer: ViewerDep, home: Home, saved: str = "") -> Response:
    """The signed-in enterprise's own tiers; a notice when it has no facts."""
    if not viewer.signed_in:
        return login_redirect(request)
    uscc = service.own_uscc(session, viewer.actor)
    if uscc is None:
        return _notice(request, "本机构没有登记统一社会信用代码，没有梯度培育评价。", 404)
    try:
        return _page(request, session, viewer, uscc, own_page=True, saved=saved)
    except FactsNotBuilt:
        return _notice(request, "企业档案尚未生成，请稍后再来查看。", 404)
    except EnterpriseNotFound:
        return _notice(request, f"企业档案中暂无本企业（{uscc}）：档案按市场主体登记信息生成。", 404)


@router.get("/enterprises/{uscc}/tiers", response_class=HTMLResponse)
def enterprise_tier_page(
    request: Request, uscc: str, session: DB, viewer: ViewerDep, home: Home, saved: str = ""
) -> Response:
    """One enterprise's tiers: its own users and those who may read any enterprise's facts."""
    if not viewer.signed_in:
        return login_redirect(request)
    try:
        return _page(request, session, viewer, uscc, own_page=False, saved=saved)
    except FactsNotBuilt as exc:
        raise NotFound("企业档案尚未生成", code=exc.code) from None


@router.post("/enterprises/{uscc}/tiers", response_class=HTMLResponse)
async def supply_from_tiers(request: Request, uscc: str, session: DB, viewer: ViewerDep, home: Home) -> Response:
    """Save the form's facts through ``supply_facts`` and show the tiers evaluated again (303 to the
    page); a refusal re-renders the form with every problem and what was entered."""
    if not viewer.signed_in:
        return login_redirect(request)
    raw = await request.form()
    check_csrf(viewer, str(raw.get("csrf_token") or ""))
    fields = {k: str(v) for k, v in raw.items()}
    note = fields.get("note", "").strip()
    tiers = enterprise_tiers(session, viewer.actor, uscc, home=home)  # who may see it (404 otherwise)
    service.check_may_supply(session, viewer.actor, tiers.uscc)  # who may supply (403 page otherwise)
    supplied_now = {f.name: f for f in tiers.supplied}
    missing_form, given_form = _form_facts(tiers, supplied_now)
    offered = {m.name: m for m in [*missing_form, *given_form]}
    entered = {name: fields.get(f"fact.{name}", "") for name in offered}
    values, problems = parse_form(offered, fields)
    # a corrected value equal to the current one supplies nothing
    values = {n: v for n, v in values.items() if n not in supplied_now or v != supplied_now[n].value}
    own_page = fields.get("own_page") == "1"
    if not problems and not values:
        problems = ["请至少填写一项（未填写的项目不会保存）"]
    if problems:
        return _page(request, session, viewer, tiers.uscc, own_page=own_page, values=entered, note=note,
                     error="未保存，请按提示修改后重新提交。", problems=problems, status_code=422)  # fmt: skip
    try:
        result = attempt(session, lambda: service.supply_facts(session, viewer.actor, tiers.uscc, values, note))
    except PubdataError as exc:
        details = exc.details if isinstance(exc.details, list) else []
        listed = [d["message"] for d in details if isinstance(d, dict) and "message" in d]
        return _page(request, session, viewer, tiers.uscc, own_page=own_page, values=entered, note=note,
                     error=exc.message if not listed else "未保存，请按提示修改后重新提交。", problems=listed,
                     status_code=exc.status)  # fmt: skip
    target = "/me/tiers" if own_page else f"/enterprises/{quote(tiers.uscc)}/tiers"
    return RedirectResponse(f"{target}?saved={len(result.stored)}", status_code=303)
