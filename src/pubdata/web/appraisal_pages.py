"""评估报告 (data-asset appraisal reports) pages: the list of reports the viewer may read, one report
with all three methods — every input, its evidence and attachment, the formula with the numbers
(P = C × δ; P = Σ Fₜ/(1+i)ᵗ; Pᵢ = Qᵢ × X1…X5), the reconciliation and the 财会〔2023〕11号
classification — a printable view, and the appraisal agency's forms: open a draft, enter each
method's inputs, reconcile, classify, sign, withdraw.

Pages call ``assets.valuation.service`` only (and the market's settled transactions for the
comparables); the service decides who sees and may do what. Every form is a POST carrying the login
session's CSRF token; a refusal is shown on the page in Chinese with what was typed kept, the service
call runs in a savepoint; a successful POST redirects (303).

Amounts are typed in 元 with at most two decimals and turned into integer fen exactly (``Decimal``,
never a float); rates, coefficients and years are passed on as the decimal text typed. Each list
(yearly incomes, comparables) is one line per item: ``金额 | 依据``."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from pubdata.access.service import beijing_today
from pubdata.api.deps import DB
from pubdata.api.errors import pydantic_message
from pubdata.assets.appraisal import COST_COMPONENTS, fen_text
from pubdata.assets.valuation import compute
from pubdata.assets.valuation import service as appraisals
from pubdata.assets.valuation.schemas import (
    ADJUSTMENTS,
    DECIMAL_PATTERN,
    FORMULAS,
    HOLDING_PURPOSES,
    INCOME_BASES,
    METHODS,
    PURPOSES,
    STATES,
    AppraisalIn,
    AppraisalRead,
    ClassifyIn,
    CostIn,
    IncomeIn,
    MarketIn,
    ReconcileIn,
)
from pubdata.authz import Permission
from pubdata.errors import Forbidden, Invalid, PubdataError
from pubdata.market import transactions
from pubdata.web.access_forms import NO_STORE, attempt, check_csrf, login_redirect
from pubdata.web.deps import ViewerDep
from pubdata.web.finance_pages import form_fields
from pubdata.web.templating import Viewer, render

router = APIRouter(include_in_schema=False)

FACTORS = (("quality", "X1", "质量"), ("supply_demand", "X2", "供求"), ("date", "X3", "期日"),
           ("capacity", "X4", "容量"), ("other", "X5", "其他"))  # fmt: skip
LIMITS = (("contract_term_years", "合同期限"), ("update_cycle_years", "更新周期"), ("timeliness_years", "时效性"))
TRANSACTION_CHOICES = 50  # the latest settled transactions offered as comparables on the form


class FormProblem(Invalid):
    """A form value that cannot be read (an amount that is not 元 with at most two decimals, a line
    without its evidence); shown on the page like a refusal."""

    code = "appraisal.invalid_form"


def yuan(fen: int | None) -> str:
    return "—" if fen is None else fen_text(fen)


def exact_yuan(value: str) -> str:
    """An exact amount of fen (``"numerator/denominator"``) as 元: exact, or ≈ to the fen."""
    x = Fraction(value)
    if x.denominator == 1:
        return fen_text(x.numerator)
    return "≈" + fen_text(int(x + Fraction(1, 2)) if x >= 0 else -int(-x + Fraction(1, 2)))


def weight_text(value: str) -> str:
    return compute.decimal_text(Fraction(value))


def _fen(text: str, what: str) -> int:
    """元 as typed (``1,234.5``) → integer fen, exactly."""
    raw = text.strip().replace(",", "").replace("，", "")
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise FormProblem(f"{what}不是有效的金额（元）：{text!r}") from None
    if not value.is_finite() or value != value.quantize(Decimal("0.01")):
        raise FormProblem(f"{what}须是以元为单位、至多两位小数的金额：{text!r}")
    return int(value * 100)


def _decimal(text: str, what: str) -> str:
    """A rate, coefficient or number of years as typed: plain decimal digits (``0.8``, ``3``)."""
    value = text.strip()
    if not re.fullmatch(DECIMAL_PATTERN, value):
        raise FormProblem(f"{what}须填写数字（如 0.8、3）：{text!r}" if value else f"请填写{what}")
    return value


def _figure(value: Any, evidence: str, attachment: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {"value": value, "evidence": evidence.strip()}
    if attachment.strip():
        out["attachment"] = attachment.strip()
    return out


def _split(line: str) -> list[str]:
    return [p.strip() for p in line.replace("｜", "|").split("|")]


def _money_lines(text: str, what: str) -> list[dict[str, Any]]:
    """``金额（元） | 依据`` per line → figures in fen."""
    out = []
    for n, line in enumerate([x for x in text.splitlines() if x.strip()], 1):
        parts = _split(line)
        if len(parts) < 2 or not parts[1]:
            raise FormProblem(f"{what}第 {n} 行须写成“金额 | 依据”：{line.strip()!r}")
        out.append(_figure(_fen(parts[0], f"{what}第 {n} 行"), parts[1], parts[2] if len(parts) > 2 else ""))
    return out


# --- reading the agency's forms into the service's inputs ---------------------------------------


def cost_from_form(f: dict[str, str]) -> CostIn:
    data: dict[str, Any] = {}
    for attr, label in COST_COMPONENTS:
        amount = f.get(f"{attr}_yuan", "").strip()
        if amount:
            data[attr] = _figure(_fen(amount, label), f.get(f"{attr}_evidence", ""), f.get(f"{attr}_attachment", ""))
    kind = f.get("delta_kind", "direct")
    if kind == "quality_report":
        data["adjustment"] = {"kind": "quality_report"}
    elif kind == "economic_life":
        data["adjustment"] = {
            "kind": "economic_life",
            "used_years": _figure(_decimal(f.get("used_years", ""), "已使用年限"), f.get("used_evidence", "")),
            "remaining_years": _figure(
                _decimal(f.get("remaining_years", ""), "剩余经济寿命"), f.get("remaining_evidence", "")
            ),
        }
    else:
        data["adjustment"] = {
            "kind": "direct",
            "coefficient": _figure(_decimal(f.get("delta_value", ""), "价值调整系数 δ"), f.get("delta_evidence", "")),
        }
    return CostIn.model_validate(data)


def income_from_form(f: dict[str, str]) -> IncomeIn:
    kind = f.get("basis_kind", "direct")
    basis: dict[str, Any] = {"kind": kind}
    if kind == "direct":
        basis["net_income"] = _money_lines(f.get("income_lines", ""), "各年收益")
    elif kind == "share":
        basis["total_income"] = _money_lines(f.get("income_lines", ""), "各年企业总收益")
        basis["share"] = _figure(_decimal(f.get("share", ""), "分成率 K"), f.get("share_evidence", ""))
    elif kind == "incremental":
        basis["with_asset"] = _money_lines(f.get("income_lines", ""), "使用该数据资产时的各年收益")
        basis["without_asset"] = _money_lines(f.get("without_lines", ""), "不使用该数据资产时的各年收益")
    else:
        basis["total_income"] = _money_lines(f.get("income_lines", ""), "各年企业总收益")
        contributions = []
        for n, line in enumerate([x for x in f.get("contribution_lines", "").splitlines() if x.strip()], 1):
            parts = _split(line)
            if len(parts) < 3 or not parts[0] or not parts[2]:
                raise FormProblem(f"贡献资产第 {n} 行须写成“名称 | 各年金额（以分号分隔） | 依据”：{line.strip()!r}")
            amounts = [a for a in parts[1].replace("；", ";").split(";") if a.strip()]
            contributions.append(
                {"name": parts[0], "returns": [_figure(_fen(a, f"贡献资产「{parts[0]}」"), parts[2]) for a in amounts]}
            )
        basis["contributions"] = contributions
    data: dict[str, Any] = {
        "basis": basis,
        "discount_rate": _figure(_decimal(f.get("discount_rate", ""), "折现率 i"), f.get("discount_evidence", "")),
        "years": _figure(_decimal(f.get("years", ""), "收益期 n"), f.get("years_evidence", "")),
    }
    for attr, label in LIMITS:
        if f.get(attr, "").strip():
            data[attr] = _figure(_decimal(f[attr], label), f.get(f"{attr}_evidence", ""))
    return IncomeIn.model_validate(data)


def market_from_form(f: dict[str, str]) -> MarketIn:
    comps = []
    for n, line in enumerate([x for x in f.get("comparable_lines", "").splitlines() if x.strip()], 1):
        parts = _split(line)
        if len(parts) < 7 or not parts[6]:
            raise FormProblem(
                f"可比案例第 {n} 行须写成“交易编号 | X1 | X2 | X3 | X4 | X5 | 调整依据”：{line.strip()!r}"
            )
        comp: dict[str, Any] = {"transaction_ref": parts[0]}
        for (attr, code, title), value in zip(FACTORS, parts[1:6], strict=True):
            comp[attr] = _figure(_decimal(value, f"第 {n} 个可比案例的 {code}"), f"{title}调整（{code}）：{parts[6]}")
        comps.append(comp)
    data: dict[str, Any] = {"comparables": comps}
    weights = [w.strip() for w in f.get("weights", "").replace("，", ",").split(",") if w.strip()]
    if weights:
        data["weights"] = [_figure(_decimal(w, "权重"), f.get("weights_evidence", "")) for w in weights]
    return MarketIn.model_validate(data)


def reconcile_from_form(f: dict[str, str], computed: list[str]) -> ReconcileIn:
    if f.get("mode") == "method":
        return ReconcileIn(conclusion_method=f.get("conclusion_method") or None, reason=f.get("reason", ""))  # type: ignore[arg-type]
    weights = {
        m: _figure(_decimal(f.get(f"weight_{m}", ""), f"{METHODS[m]}的权重"), f.get(f"weight_{m}_evidence", ""))
        for m in computed
    }
    return ReconcileIn.model_validate({"weights": weights})


def classify_from_form(f: dict[str, str]) -> ClassifyIn:
    return ClassifyIn.model_validate(
        {
            "holding_purpose": f.get("holding_purpose", ""),
            "expected_benefits_probable": f.get("expected_benefits_probable") == "on",
            "cost_reliably_measurable": f.get("cost_reliably_measurable") == "on",
            "controlled": f.get("controlled") == "on",
        }
    )


def header_from_form(f: dict[str, str]) -> AppraisalIn:
    names = [n.strip() for n in f.get("appraisers", "").replace("，", ",").split(",") if n.strip()]
    return AppraisalIn.model_validate(
        {
            "registration_code": f.get("registration_code", "").strip(),
            "title": f.get("title", "").strip(),
            "purpose": f.get("purpose", ""),
            "purpose_note": f.get("purpose_note", ""),
            "valuation_date": f.get("valuation_date", "").strip() or None,
            "appraisers": names,
            "previous_code": f.get("previous_code", "").strip() or None,
        }  # fmt: skip
    )


# --- pages --------------------------------------------------------------------------------------


def _page(
    request: Request, viewer: Viewer, template: str, context: dict[str, Any], *, status_code: int = 200
) -> HTMLResponse:
    ctx: dict[str, Any] = {
        "nav": "appraisals", "yuan": yuan, "exact_yuan": exact_yuan, "weight_text": weight_text,
        "states": STATES, "purposes": PURPOSES, "methods": METHODS,
        "formulas": FORMULAS, "holding_purposes": HOLDING_PURPOSES, "adjustments": ADJUSTMENTS,
        "income_bases": INCOME_BASES, "components": COST_COMPONENTS, "factors": FACTORS, "limits": LIMITS,
        "error": "", "error_key": "", "form": {},
        "may_write": viewer.actor.can(Permission.APPRAISAL_WRITE),
    }  # fmt: skip
    ctx.update(context)
    return render(request, template, ctx, status_code=status_code, headers=NO_STORE)


def _message(exc: Exception) -> tuple[str, int]:
    if isinstance(exc, ValidationError):
        parts = []
        for err in exc.errors():
            where = ".".join(str(p) for p in err.get("loc", ()))
            parts.append(f"{where}：{pydantic_message(err)}" if where else pydantic_message(err))
        return "；".join(parts), 422
    assert isinstance(exc, PubdataError)
    if exc.status not in (403, 409, 422):
        raise exc
    return exc.message, exc.status


@router.get("/appraisals", response_class=HTMLResponse)
def list_page(request: Request, session: DB, viewer: ViewerDep, state: str = "") -> Response:
    """评估报告: the reports the viewer may read (its agency's, those over assets it holds, every one for oversight)."""
    if not viewer.signed_in:
        return login_redirect(request)
    chosen = state if state in STATES else None
    rows = appraisals.list_appraisals(session, viewer.actor, state=chosen)
    return _page(request, viewer, "appraisal/index.html", {"rows": rows, "state": chosen or ""})


def _new_page(
    request: Request, viewer: Viewer, *, form: dict[str, str] | None = None, error: str = "", status_code: int = 200
) -> HTMLResponse:
    default = {"valuation_date": beijing_today().isoformat(), "appraisers": viewer.actor.username or ""}
    context = {"form": form or default, "error": error}
    return _page(request, viewer, "appraisal/new.html", context, status_code=status_code)


def _require_writer(viewer: Viewer) -> None:
    if not viewer.actor.can(Permission.APPRAISAL_WRITE):
        raise Forbidden("只有评估机构的评估人员可以出具评估报告")


@router.get("/appraisals/new", response_class=HTMLResponse)
def new_page(request: Request, viewer: ViewerDep, registration_code: str = "") -> Response:
    """新建评估报告 (the agency's form)."""
    if not viewer.signed_in:
        return login_redirect(request)
    _require_writer(viewer)
    form = {"valuation_date": beijing_today().isoformat(), "appraisers": viewer.actor.username or "",
            "registration_code": registration_code.strip()}  # fmt: skip
    return _new_page(request, viewer, form=form)


@router.post("/appraisals/new", response_class=HTMLResponse)
async def create(request: Request, session: DB, viewer: ViewerDep) -> Response:
    if not viewer.signed_in:
        return login_redirect(request)
    fields = form_fields(await request.form())
    check_csrf(viewer, fields.get("csrf_token"))
    _require_writer(viewer)
    try:
        data = header_from_form(fields)
        made = attempt(session, lambda: appraisals.create_appraisal(session, viewer.actor, data))
    except (ValidationError, PubdataError) as exc:
        message, status = _message(exc)
        return _new_page(request, viewer, form=fields, error=message, status_code=status)
    return RedirectResponse(f"/appraisals/{made.code}", status_code=303)


def _transactions(session: Session) -> list[transactions.SettledTransaction]:
    """The latest settled transactions of the platform (the comparables on offer)."""
    rows = transactions.settled_transactions(session)  # newest first
    return rows[:TRANSACTION_CHOICES]


def _report_forms(report: AppraisalRead) -> dict[str, dict[str, str]]:
    """Each form prefilled from what is stored (the page after a refusal keeps what was typed instead)."""
    forms: dict[str, dict[str, str]] = {
        "header": {
            "registration_code": report.registration_code,
            "title": report.title,
            "purpose": report.purpose,
            "purpose_note": report.purpose_note,
            "valuation_date": report.valuation_date.isoformat(),
            "appraisers": ", ".join(_usernames(report)),
            "previous_code": report.previous_code or "",
        },  # fmt: skip
        "cost": {"delta_kind": "direct"},
        "income": {"basis_kind": "direct"},
        "market": {},
        "reconcile": {"mode": "weights"},
        "classify": {},
    }
    if report.cost_input:
        c = report.cost_input
        f = forms["cost"]
        for attr, _ in COST_COMPONENTS:
            if c.get(attr):
                f[f"{attr}_yuan"] = _yuan_text(c[attr]["value"])
                f[f"{attr}_evidence"] = c[attr].get("evidence", "")
                f[f"{attr}_attachment"] = c[attr].get("attachment", "") or ""
        adj = c.get("adjustment", {})
        if adj.get("derived_from") == "quality_report":
            f["delta_kind"] = "quality_report"
        elif adj.get("kind") == "economic_life":
            f.update(delta_kind="economic_life", used_years=str(adj["used_years"]["value"]),
                     used_evidence=adj["used_years"]["evidence"], remaining_years=str(adj["remaining_years"]["value"]),
                     remaining_evidence=adj["remaining_years"]["evidence"])  # fmt: skip
        elif adj.get("kind") == "direct":
            f.update(delta_value=str(adj["coefficient"]["value"]), delta_evidence=adj["coefficient"]["evidence"])
    if report.income_input:
        i = report.income_input
        f = forms["income"]
        b = i["basis"]
        f["basis_kind"] = b["kind"]
        first = b.get("net_income") or b.get("total_income") or b.get("with_asset") or []
        f["income_lines"] = _lines(first)
        f["without_lines"] = _lines(b.get("without_asset") or [])
        if b["kind"] == "share":
            f.update(share=str(b["share"]["value"]), share_evidence=b["share"]["evidence"])
        if b["kind"] == "excess":
            f["contribution_lines"] = "\n".join(
                f"{c['name']} | {'; '.join(_yuan_text(r['value']) for r in c['returns'])} | "
                f"{c['returns'][0]['evidence'] if c['returns'] else ''}"
                for c in b["contributions"]
            )
        f.update(discount_rate=str(i["discount_rate"]["value"]), discount_evidence=i["discount_rate"]["evidence"],
                 years=str(i["years"]["value"]), years_evidence=i["years"]["evidence"])  # fmt: skip
        for attr, _ in LIMITS:
            if i.get(attr):
                f[attr] = str(i[attr]["value"])
                f[f"{attr}_evidence"] = i[attr]["evidence"]
    if report.market_input:
        m = report.market_input
        forms["market"]["comparable_lines"] = "\n".join(
            " | ".join([c["transaction_ref"], *(str(c[a]["value"]) for a, _, _ in FACTORS),
                        c["quality"]["evidence"].split("：", 1)[-1]])
            for c in m["comparables"]
        )  # fmt: skip
        if m.get("weights"):
            forms["market"]["weights"] = ", ".join(str(w["value"]) for w in m["weights"])
            forms["market"]["weights_evidence"] = m["weights"][0]["evidence"]
    if report.classification:
        c2 = report.classification
        forms["classify"] = {
            "holding_purpose": c2.holding_purpose,
            **{k: "on" for k in ("expected_benefits_probable", "cost_reliably_measurable", "controlled")
               if getattr(c2, k)},
        }  # fmt: skip
    return forms


def _yuan_text(fen: Any) -> str:
    if not isinstance(fen, int):
        return str(fen)
    sign = "-" if fen < 0 else ""
    return f"{sign}{abs(fen) // 100}.{abs(fen) % 100:02d}"


def _lines(figures: list[dict[str, Any]]) -> str:
    return "\n".join(f"{_yuan_text(x['value'])} | {x.get('evidence', '')}" for x in figures)


def _usernames(report: AppraisalRead) -> list[str]:
    return [p.username for p in report.appraisers]


def _report_page(
    request: Request,
    session: Session,
    viewer: Viewer,
    code: str,
    *,
    error: str = "",
    error_key: str = "",
    typed: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    report = appraisals.get_appraisal(session, viewer.actor, code)
    editable = report.can_edit and report.state == "draft"
    forms = _report_forms(report) if editable else {}
    if editable and typed is not None and error_key:
        forms[error_key] = typed
    context = {
        "r": report, "by_method": {m.method: m for m in report.methods}, "editable": editable, "forms": forms,
        "error": error, "error_key": error_key,
        "transactions": _transactions(session) if editable else [],
    }  # fmt: skip
    return _page(request, viewer, "appraisal/report.html", context, status_code=status_code)


@router.get("/appraisals/{code}", response_class=HTMLResponse)
def report_page(request: Request, code: str, session: DB, viewer: ViewerDep) -> Response:
    """One report: every input with its evidence, the formulas with the numbers, the conclusion and
    the classification; for the agency's draft also its forms."""
    if not viewer.signed_in:
        return login_redirect(request)
    return _report_page(request, session, viewer, code)


@router.get("/appraisals/{code}/print", response_class=HTMLResponse)
def print_page(request: Request, code: str, session: DB, viewer: ViewerDep) -> Response:
    """The printable report (A4, no navigation)."""
    if not viewer.signed_in:
        return login_redirect(request)
    report = appraisals.get_appraisal(session, viewer.actor, code)
    context = {"r": report, "by_method": {m.method: m for m in report.methods}, "today": beijing_today()}
    return _page(request, viewer, "appraisal/print.html", context)


STEPS: dict[str, Callable[[Session, Viewer, str, dict[str, str]], Any]] = {}


def _step(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def wrap(fn: Callable[..., Any]) -> Callable[..., Any]:
        STEPS[name] = fn
        return fn

    return wrap


@_step("header")
def _header(session: Session, viewer: Viewer, code: str, f: dict[str, str]) -> Any:
    return appraisals.update_appraisal(session, viewer.actor, code, header_from_form(f))


@_step("cost")
def _cost(session: Session, viewer: Viewer, code: str, f: dict[str, str]) -> Any:
    return appraisals.record_cost(session, viewer.actor, code, cost_from_form(f))


@_step("income")
def _income(session: Session, viewer: Viewer, code: str, f: dict[str, str]) -> Any:
    return appraisals.record_income(session, viewer.actor, code, income_from_form(f))


@_step("market")
def _market(session: Session, viewer: Viewer, code: str, f: dict[str, str]) -> Any:
    data = market_from_form(f)
    return appraisals.record_market(session, viewer.actor, code, data, transactions=transactions.get_transaction)


@_step("reconcile")
def _reconcile(session: Session, viewer: Viewer, code: str, f: dict[str, str]) -> Any:
    computed = [m.method for m in appraisals.get_appraisal(session, viewer.actor, code).methods]
    return appraisals.reconcile(session, viewer.actor, code, reconcile_from_form(f, computed))


@_step("classify")
def _classify(session: Session, viewer: Viewer, code: str, f: dict[str, str]) -> Any:
    return appraisals.classify(session, viewer.actor, code, classify_from_form(f))


@_step("sign")
def _sign(session: Session, viewer: Viewer, code: str, f: dict[str, str]) -> Any:
    return appraisals.sign(session, viewer.actor, code)


@_step("withdraw")
def _withdraw(session: Session, viewer: Viewer, code: str, f: dict[str, str]) -> Any:
    return appraisals.withdraw(session, viewer.actor, code, f.get("reason", ""))


def _clearing(method: str) -> Callable[[Session, Viewer, str, dict[str, str]], Any]:
    def clear(session: Session, viewer: Viewer, code: str, f: dict[str, str]) -> Any:
        return appraisals.clear_method(session, viewer.actor, code, method)

    return clear


STEPS.update({f"clear-{m}": _clearing(m) for m in METHODS})


@router.post("/appraisals/{code}/{step}", response_class=HTMLResponse)
async def report_step(request: Request, code: str, step: str, session: DB, viewer: ViewerDep) -> Response:
    """The agency's steps on its draft (and withdrawing a signed report)."""
    if not viewer.signed_in:
        return login_redirect(request)
    fields = form_fields(await request.form())
    check_csrf(viewer, fields.get("csrf_token"))
    action = STEPS.get(step)
    if action is None:
        appraisals.get_appraisal(session, viewer.actor, code)  # not found first for those who may not see it
        raise FormProblem(f"未知的操作：{step}")
    try:
        attempt(session, lambda: action(session, viewer, code, fields))
    except (ValidationError, PubdataError) as exc:
        message, status = _message(exc)
        with contextlib.suppress(PubdataError):
            return _report_page(
                request, session, viewer, code, error=message, error_key=step, typed=fields, status_code=status
            )
        raise
    anchor = {"sign": "report-head", "withdraw": "report-head"}.get(step, f"method-{step}")
    return RedirectResponse(f"/appraisals/{code}#{anchor}", status_code=303)
