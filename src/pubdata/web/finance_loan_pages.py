"""金融专区 loan pages: one application as both sides see it (the enterprise's list and withdrawal,
the bank's steps: review, approve with amount, rate and term, decline with a reason, disburse, repaid,
defaulted), the bank's pipeline, its product editor (with the rule's errors), the names a rule may
use, and the zone's dashboard drawn as server-side bar charts (no script, nothing fetched).

Same conventions as ``finance_pages`` (whose helpers these pages share): services decide who may do
what; forms carry the CSRF token; refusals are shown in Chinese by field; amounts in 万元, rates in %.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from pubdata.access.service import beijing_today
from pubdata.api.deps import DB
from pubdata.authz import Permission
from pubdata.errors import Forbidden, Invalid, PubdataError
from pubdata.finance.consent.schemas import SECTIONS
from pubdata.finance.loans import inputs
from pubdata.finance.loans import service as loans
from pubdata.finance.loans.errors import ApplicationNotFound, ProductNotFound
from pubdata.finance.loans.schemas import (
    BANK_STEPS,
    CATEGORIES,
    ENTERPRISE_WITHDRAWS_FROM,
    GUARANTEES,
    PRODUCT_STATES,
    STATES,
    ApplicationRead,
    ProductIn,
    ProductRead,
    StepIn,
)
from pubdata.web.access_forms import attempt, check_csrf, login_redirect
from pubdata.web.deps import ViewerDep
from pubdata.web.finance_pages import (
    STEP_LABELS,
    bp_to_pct_text,
    finance_page,
    form_fields,
    parse_date,
    parse_int,
    parse_rate,
    parse_wan,
    refusal_status,
    service_errors,
    validation_errors,
    yuan_to_wan,
)
from pubdata.web.templating import Viewer

router = APIRouter(include_in_schema=False)

PRODUCT_FIELDS = {
    "code": "产品代码", "name": "产品名称", "description": "产品说明", "category": "产品类别", "amount_min": "最低金额",
    "amount_max": "最高金额", "term_min_months": "最短期限", "term_max_months": "最长期限", "rate_min": "最低年利率",
    "rate_max": "最高年利率", "guarantee": "担保方式", "eligibility": "准入条件", "sections": "需授权的报告内容",
}  # fmt: skip
# the product's model fields whose form field has another name (rates are typed in %)
FORM_FIELD = {"rate_min_bp": "rate_min", "rate_max_bp": "rate_max", "rate_bp": "rate"}
STEP_FIELDS = {"amount": "批准金额", "rate_bp": "年利率", "term_months": "期限", "note": "说明", "on": "日期"}
GROUP_TITLES = {
    "district": "按注册地（区、市）", "industry": "按行业门类", "tier": "按梯度培育层级", "grade": "按信用等级",
    "product": "按贷款产品", "state": "按申请状态",
}  # fmt: skip
TYPE_LABELS = {"money": "金额（元）", "integer": "整数", "number": "数值", "boolean": "是/否", "string": "文本",
               "district": "区（市）名称"}  # fmt: skip
RULE_EXAMPLES = (
    ("credit_grade in ['AAA', 'AA', 'A'] and age_years >= 2", "信用等级 A 级及以上，成立满 2 年"),
    ("tax_credit_grade in ['A', 'B'] and not is_dishonest_debtor", "纳税信用 A 或 B 级，且不是失信被执行人"),
    ("tier_specialised_sme or high_tech_enterprise_valid", "专精特新中小企业，或有效期内的高新技术企业"),
    ("insured_headcount >= 10 and registered_capital >= 100万", "参保 10 人以上，注册资本 100 万元以上"),
)


def _remap(errors: dict[str, str]) -> dict[str, str]:
    return {FORM_FIELD.get(k, k): v for k, v in errors.items()}


# --- the enterprise's applications; one application (both sides) ---------------------------------


@router.get("/finance/applications", response_class=HTMLResponse)
def my_loan_applications(request: Request, session: DB, viewer: ViewerDep) -> Response:
    """我的贷款申请 (enterprise); banks and oversight are sent to the pipeline."""
    if not viewer.signed_in:
        return login_redirect(request)
    actor = viewer.actor
    if not actor.can(Permission.FINANCE_LOAN_APPLY):
        if actor.can(Permission.FINANCE_LOAN_REVIEW) or actor.can(Permission.FINANCE_LOAN_READ_ANY):
            return RedirectResponse("/finance/pipeline", status_code=303)
        raise Forbidden("“我的贷款申请”仅供企业用户使用")
    rows = loans.list_applications(session, actor)
    return finance_page(request, viewer, "finance/applications.html", {"rows": rows}, tab="applications")


def application_page(
    request: Request,
    session: Session,
    viewer: Viewer,
    application_id: int,
    *,
    error: str = "",
    errors: dict[str, str] | None = None,
    error_form: str = "",
    form: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    """One application, with the forms of whoever may act on it now (the bank's steps, the
    enterprise's withdrawal)."""
    actor = viewer.actor
    app: ApplicationRead = loans.get_application(session, actor, application_id)
    is_bank = actor.can(Permission.FINANCE_LOAN_REVIEW) and not actor.can(Permission.FINANCE_LOAN_READ_ANY)
    is_enterprise = actor.can(Permission.FINANCE_LOAN_APPLY)
    can_post = bool(viewer.csrf_token)
    steps = [a for a, (follows, _) in BANK_STEPS.items() if app.state in follows] if is_bank and can_post else []
    try:
        product: ProductRead | None = loans.get_product(session, actor, app.product_id)
    except ProductNotFound:
        product = None  # withdrawn since: the application keeps its own terms
    values = {
        "amount": yuan_to_wan(app.amount), "term_months": str(app.term_months),
        "rate": bp_to_pct_text(product.rate_min_bp) if product else "", "on": beijing_today().isoformat(),
        "note": "",
    }  # fmt: skip
    if error_form and form:
        values.update(form)
    eligibility = app.eligibility or {}
    context = {
        "app": app,
        "product": product,
        "hidden": eligibility.get("hidden"),
        "eligibility": eligibility,
        "steps": steps,
        "may_withdraw": is_enterprise and can_post and app.state in ENTERPRISE_WITHDRAWS_FROM,
        "is_bank": is_bank,
        "is_enterprise": is_enterprise,
        "form": values,
        "error": error,
        "errors": errors or {},
        "error_form": error_form,
        "step_labels": STEP_LABELS,
    }
    tab = "applications" if is_enterprise else "pipeline"
    return finance_page(request, viewer, "finance/application.html", context, tab=tab, status_code=status_code)


@router.get("/finance/applications/{application_id}", response_class=HTMLResponse)
def loan_application(request: Request, application_id: int, session: DB, viewer: ViewerDep) -> Response:
    if not viewer.signed_in:
        return login_redirect(request)
    return application_page(request, session, viewer, application_id)


@router.post("/finance/applications/{application_id}/withdraw", response_class=HTMLResponse)
async def loan_withdraw(request: Request, application_id: int, session: DB, viewer: ViewerDep) -> Response:
    if not viewer.signed_in:
        return login_redirect(request)
    fields = form_fields(await request.form())
    check_csrf(viewer, fields.get("csrf_token"))
    try:
        attempt(session, lambda: loans.withdraw(session, viewer.actor, application_id))
    except PubdataError as exc:
        status = refusal_status(exc)
        return application_page(request, session, viewer, application_id, error=exc.message, error_form="withdraw",
                                status_code=status)  # fmt: skip
    return RedirectResponse(f"/finance/applications/{application_id}", status_code=303)


def _step_data(action: str, fields: dict[str, str], errors: dict[str, str]) -> StepIn | None:
    """The step's form, typed: amounts in 万元 → 元, rates in % → basis points, dates."""
    data: dict[str, Any] = {"action": action, "note": fields.get("note", "")}
    if action == "approve":
        data["amount"] = parse_wan(fields.get("amount"), "amount", "批准金额", errors)
        data["rate_bp"] = parse_rate(fields.get("rate"), "rate", "年利率", errors)
        data["term_months"] = parse_int(fields.get("term_months"), "term_months", "期限", errors, "月")
    elif action in ("disburse", "repaid", "defaulted"):
        data["on"] = parse_date(fields.get("on"), "on", "日期", errors, required=False)
    if errors:
        return None
    try:
        return StepIn(**data)
    except ValidationError as exc:
        errors.update(_remap(validation_errors(exc, STEP_FIELDS)))
        return None


@router.post("/finance/applications/{application_id}/steps/{action}", response_class=HTMLResponse)
async def loan_step(request: Request, application_id: int, action: str, session: DB, viewer: ViewerDep) -> Response:
    """The bank's step on its application (``BANK_STEPS``)."""
    if not viewer.signed_in:
        return login_redirect(request)
    if action not in BANK_STEPS:
        raise ApplicationNotFound(f"没有这个操作：{action}")
    fields = form_fields(await request.form())
    check_csrf(viewer, fields.get("csrf_token"))
    errors: dict[str, str] = {}
    data = _step_data(action, fields, errors)
    if data is None:
        return application_page(request, session, viewer, application_id, error="操作未完成，请按提示修改。",
                                errors=errors, error_form=action, form=fields, status_code=422)  # fmt: skip
    step = data
    try:
        attempt(session, lambda: loans.step(session, viewer.actor, application_id, step))
    except PubdataError as exc:
        status = refusal_status(exc)
        return application_page(request, session, viewer, application_id, error=exc.message,
                                errors=_remap(service_errors(exc)), error_form=action, form=fields,
                                status_code=status)  # fmt: skip
    return RedirectResponse(f"/finance/applications/{application_id}", status_code=303)


# --- the bank's pipeline --------------------------------------------------------------------------


@router.get("/finance/pipeline", response_class=HTMLResponse)
def pipeline(request: Request, session: DB, viewer: ViewerDep, state: str = "") -> Response:
    """The applications a bank received (oversight: every bank's), by state."""
    if not viewer.signed_in:
        return login_redirect(request)
    actor = viewer.actor
    if not (actor.can(Permission.FINANCE_LOAN_REVIEW) or actor.can(Permission.FINANCE_LOAN_READ_ANY)):
        raise Forbidden("贷款申请受理仅供金融专区的银行和监管方使用")
    if state and state not in STATES:
        raise Invalid(f"未知的申请状态：{state}", field="state")
    rows = loans.list_applications(session, actor)
    counts = {s: sum(1 for r in rows if r.state == s) for s in STATES}
    shown = [r for r in rows if r.state == state] if state else rows
    context = {
        "rows": shown, "counts": counts, "total": len(rows), "state": state,
        "oversight": actor.can(Permission.FINANCE_LOAN_READ_ANY),
    }  # fmt: skip
    return finance_page(request, viewer, "finance/pipeline.html", context, tab="pipeline")


# --- the bank's product editor --------------------------------------------------------------------


def _product_values(product: ProductRead | None) -> dict[str, Any]:
    if product is None:
        return {"code": "", "name": "", "description": "", "category": "inclusive", "amount_min": "",
                "amount_max": "", "term_min_months": "", "term_max_months": "", "rate_min": "", "rate_max": "",
                "guarantee": "credit", "eligibility": "", "sections": ["basic", "score"]}  # fmt: skip
    return {
        "code": product.code, "name": product.name, "description": product.description, "category": product.category,
        "amount_min": yuan_to_wan(product.amount_min), "amount_max": yuan_to_wan(product.amount_max),
        "term_min_months": str(product.term_min_months), "term_max_months": str(product.term_max_months),
        "rate_min": bp_to_pct_text(product.rate_min_bp), "rate_max": bp_to_pct_text(product.rate_max_bp),
        "guarantee": product.guarantee, "eligibility": product.eligibility, "sections": list(product.sections),
    }  # fmt: skip


def _product_data(fields: dict[str, str], sections: list[str], errors: dict[str, str]) -> ProductIn | None:
    amount_min = parse_wan(fields.get("amount_min"), "amount_min", "最低金额", errors)
    amount_max = parse_wan(fields.get("amount_max"), "amount_max", "最高金额", errors)
    term_min = parse_int(fields.get("term_min_months"), "term_min_months", "最短期限", errors, "月")
    term_max = parse_int(fields.get("term_max_months"), "term_max_months", "最长期限", errors, "月")
    rate_min = parse_rate(fields.get("rate_min"), "rate_min", "最低年利率", errors)
    rate_max = parse_rate(fields.get("rate_max"), "rate_max", "最高年利率", errors)
    for low, high, field, what in (
        (amount_min, amount_max, "amount_max", "最高金额不能低于最低金额"),
        (term_min, term_max, "term_max_months", "最长期限不能短于最短期限"),
        (rate_min, rate_max, "rate_max", "最高年利率不能低于最低年利率"),
    ):
        if low is not None and high is not None and low > high:
            errors.setdefault(field, what)
    if not fields.get("eligibility", "").strip():
        errors.setdefault("eligibility", "请填写准入条件")
    if errors:
        return None
    try:
        return ProductIn(
            code=fields.get("code", "").strip(), name=fields.get("name", "").strip(),
            description=fields.get("description", "").strip(), category=fields.get("category", ""),
            amount_min=amount_min, amount_max=amount_max, term_min_months=term_min, term_max_months=term_max,
            rate_min_bp=rate_min, rate_max_bp=rate_max, guarantee=fields.get("guarantee", ""),
            eligibility=fields.get("eligibility", "").strip(), sections=sections,
        )  # fmt: skip
    except ValidationError as exc:
        errors.update(_remap(validation_errors(exc, PRODUCT_FIELDS)))
        if "code" in errors and fields.get("code"):
            errors["code"] = "产品代码：只能用小写字母、数字和连字符，以字母或数字开头"
        return None


def _editor_page(
    request: Request,
    viewer: Viewer,
    *,
    product: ProductRead | None,
    values: dict[str, Any],
    error: str = "",
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    context = {
        "product": product, "form": values, "categories": CATEGORIES, "guarantees": GUARANTEES,
        "sections": SECTIONS, "examples": RULE_EXAMPLES, "error": error, "errors": errors or {},
        "action": f"/finance/bank/products/{product.id}" if product else "/finance/bank/products/new",
    }  # fmt: skip
    return finance_page(
        request, viewer, "finance/product_form.html", context, tab="bank-products", status_code=status_code
    )


def _own_product(session: Session, viewer: Viewer, product_id: int) -> ProductRead:
    return loans.get_own_product(session, viewer.actor, product_id)


@router.get("/finance/bank/products", response_class=HTMLResponse)
def bank_products(request: Request, session: DB, viewer: ViewerDep) -> Response:
    """The bank's products, drafts included, with publish / withdraw."""
    if not viewer.signed_in:
        return login_redirect(request)
    rows = loans.list_products(session, viewer.actor, mine=True)
    context = {"rows": rows, "product_states": PRODUCT_STATES, "sections": SECTIONS}
    return finance_page(request, viewer, "finance/bank_products.html", context, tab="bank-products")


@router.get("/finance/bank/products/new", response_class=HTMLResponse)
def product_new(request: Request, session: DB, viewer: ViewerDep) -> Response:
    if not viewer.signed_in:
        return login_redirect(request)
    loans.list_products(session, viewer.actor, mine=True)  # only a bank of the zone: refused here otherwise
    return _editor_page(request, viewer, product=None, values=_product_values(None))


@router.get("/finance/bank/products/{product_id}", response_class=HTMLResponse)
def product_edit(request: Request, product_id: int, session: DB, viewer: ViewerDep) -> Response:
    if not viewer.signed_in:
        return login_redirect(request)
    product = _own_product(session, viewer, product_id)
    return _editor_page(request, viewer, product=product, values=_product_values(product))


async def _save_product(request: Request, session: Session, viewer: Viewer, product_id: int | None) -> Response:
    raw = await request.form()
    check_csrf(viewer, str(raw.get("csrf_token") or ""))
    fields = form_fields(raw)
    sections = [str(s) for s in raw.getlist("sections")]
    product = _own_product(session, viewer, product_id) if product_id is not None else None
    if product is not None:
        fields["code"] = product.code  # the code is the product's key: not editable
    values: dict[str, Any] = {**fields, "sections": sections}
    errors: dict[str, str] = {}
    data = _product_data(fields, sections, errors)
    if data is None:
        return _editor_page(request, viewer, product=product, values=values, error="产品未保存，请按提示修改。",
                            errors=errors, status_code=422)  # fmt: skip
    checked = data
    try:
        if product is None:
            saved = attempt(session, lambda: loans.create_product(session, viewer.actor, checked))
        else:
            pid = product.id
            saved = attempt(session, lambda: loans.update_product(session, viewer.actor, pid, checked))
    except PubdataError as exc:
        status = refusal_status(exc)
        return _editor_page(request, viewer, product=product, values=values, error=exc.message,
                            errors=_remap(service_errors(exc)), status_code=status)  # fmt: skip
    return RedirectResponse(f"/finance/bank/products#product-{saved.id}", status_code=303)


@router.post("/finance/bank/products/new", response_class=HTMLResponse)
async def product_create(request: Request, session: DB, viewer: ViewerDep) -> Response:
    if not viewer.signed_in:
        return login_redirect(request)
    return await _save_product(request, session, viewer, None)


@router.post("/finance/bank/products/{product_id}", response_class=HTMLResponse)
async def product_update(request: Request, product_id: int, session: DB, viewer: ViewerDep) -> Response:
    if not viewer.signed_in:
        return login_redirect(request)
    return await _save_product(request, session, viewer, product_id)


@router.post("/finance/bank/products/{product_id}/{state}", response_class=HTMLResponse)
async def product_state(request: Request, product_id: int, state: str, session: DB, viewer: ViewerDep) -> Response:
    """Publish or withdraw (下架) one of the bank's products."""
    if not viewer.signed_in:
        return login_redirect(request)
    target = {"publish": "published", "withdraw": "withdrawn"}.get(state)
    if target is None:
        raise ProductNotFound(f"没有这个操作：{state}")
    fields = form_fields(await request.form())
    check_csrf(viewer, fields.get("csrf_token"))
    attempt(session, lambda: loans.set_product_state(session, viewer.actor, product_id, target))
    return RedirectResponse(f"/finance/bank/products#product-{product_id}", status_code=303)


@router.get("/finance/loan-inputs", response_class=HTMLResponse)
def loan_inputs(request: Request, viewer: ViewerDep) -> Response:
    """Every name a product's eligibility rule may use, with its meaning, type and unit."""
    rows = sorted(inputs.inputs().values(), key=lambda i: (i.name not in inputs.DERIVED, i.name))
    context = {"rows": rows, "type_labels": TYPE_LABELS, "grades": inputs.GRADES, "examples": RULE_EXAMPLES}
    return finance_page(request, viewer, "finance/loan_inputs.html", context, tab="bank-products")


# --- the zone's dashboard -------------------------------------------------------------------------


def _bars(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each group row with its bar lengths (% of the largest): applications (approved inside) and the
    amount approved."""
    top_count = max((r["applications"] for r in rows), default=0) or 1
    top_amount = max((r["amount_approved"] for r in rows), default=0) or 1
    return [
        {
            **r,
            "w_applications": round(100 * r["applications"] / top_count, 1),
            "w_approved": round(100 * r["approved"] / top_count, 1),
            "w_amount": round(100 * r["amount_approved"] / top_amount, 1),
        }
        for r in rows
    ]


@router.get("/finance/dashboard", response_class=HTMLResponse)
def dashboard(request: Request, session: DB, viewer: ViewerDep) -> Response:
    """Credit extended through the channel: totals and the breakdowns, as bar charts and tables."""
    if not viewer.signed_in:
        return login_redirect(request)
    board = loans.dashboard(session, viewer.actor)
    groups = [(key, GROUP_TITLES[key], _bars(board["by"].get(key, []))) for key in GROUP_TITLES]
    context = {
        "total": board["total"], "groups": groups,
        "oversight": viewer.actor.can(Permission.FINANCE_LOAN_READ_ANY),
    }  # fmt: skip
    return finance_page(request, viewer, "finance/dashboard.html", context, tab="dashboard")
