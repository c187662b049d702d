"""金融专区 (银企直通车) pages, first half: the helpers every finance page shares (units, form parsing,
errors by field, the role's links), 授权管理 (consents: grant, revoke, and every read under each), and
贷款产品 (every published product matched against the enterprise's facts, with the reasons, and a
one-step application form). ``finance_loan_pages`` has the rest: one application as both sides see
it, 我的贷款申请, the bank's pipeline and steps, the product editor and the dashboard.

Pages call the finance services (``finance.consent.service``, ``finance.loans.service``); the services
decide who may do what. Every form is a POST carrying the login session's CSRF token; a refusal is
shown on the page in Chinese, next to the field it names, with its status; the service call runs in
a savepoint so that a refused step leaves nothing half-done; a successful POST redirects (303).

Units: loan amounts are entered and shown in 万元 (stored as integer 元; up to four decimals, so any
whole-yuan amount can be typed); annual rates in % with at most two decimals (stored as basis points:
3.45% → 345); terms in months.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from pubdata.access.service import beijing_today
from pubdata.api.deps import DB, Home
from pubdata.api.errors import pydantic_message
from pubdata.authz import Permission
from pubdata.enterprise import service as enterprise
from pubdata.enterprise.errors import EnterpriseNotFound, FactsNotBuilt
from pubdata.errors import Forbidden, PubdataError
from pubdata.finance.consent import service as consents
from pubdata.finance.consent.schemas import MAX_DAYS, PURPOSES, SECTIONS, ConsentCreate, ConsentRead
from pubdata.finance.loans import service as loans
from pubdata.finance.loans.schemas import (
    STATES,
    ApplicationIn,
    ProductMatch,
    ProductRead,
)
from pubdata.policy.packs.explain import money
from pubdata.web.access_forms import NO_STORE, attempt, check_csrf, login_redirect
from pubdata.web.account import safe_next
from pubdata.web.deps import ViewerDep
from pubdata.web.templating import Viewer, render

router = APIRouter(include_in_schema=False)

WAN = Decimal(10_000)
CONSENT_STATUS = {"live": "有效", "expired": "已过期", "revoked": "已撤销"}
USE_RESULTS = {"allowed": "已查看", "refused": "被拒绝"}
VERDICTS = {True: ("yes", "符合"), False: ("no", "不符合"), None: ("unknown", "待补充信息")}
CONSENT_FIELDS = {"bank": "授权银行", "sections": "报告内容", "purpose": "用途", "purpose_note": "用途说明",
                  "expires_on": "授权截止日期"}  # fmt: skip
STEP_LABELS = {"review": "开始审查", "approve": "批准", "decline": "拒绝", "disburse": "放款", "repaid": "结清",
               "defaulted": "违约"}  # fmt: skip
APPLY_FIELDS = {"amount": "申请金额", "term_months": "期限", "purpose": "资金用途", "consent_id": "授权",
                "product_id": "贷款产品"}  # fmt: skip


# --- shared: units, form values, errors, the finance tabs -------------------------------------------


def yuan_to_wan(value: int | None) -> str:
    """``1500000`` → ``"150"`` (万元), for form fields."""
    if value is None:
        return ""
    return format((Decimal(value) / WAN).normalize(), "f")


def pct(bp: int | None) -> str:
    """Basis points as a percentage: ``345`` → ``"3.45%"``."""
    if bp is None:
        return "—"
    return f"{Decimal(bp) / 100:.2f}%"


def bp_to_pct_text(bp: int | None) -> str:
    return "" if bp is None else f"{Decimal(bp) / 100:.2f}"


def _clean(raw: str | None) -> str:
    return (raw or "").strip().replace(",", "").replace("，", "")


def parse_wan(raw: str | None, field: str, title: str, errors: dict[str, str]) -> int | None:
    """An amount typed in 万元 → integer 元; a problem is put in ``errors[field]``."""
    text = _clean(raw)
    if not text:
        errors.setdefault(field, f"请填写{title}（万元）")
        return None
    try:
        value = Decimal(text) * WAN
    except InvalidOperation:
        errors.setdefault(field, f"{title}应为数字（万元）：{text}")
        return None
    if not value.is_finite() or value <= 0:
        errors.setdefault(field, f"{title}应大于 0")
        return None
    if value != value.to_integral_value():
        errors.setdefault(field, f"{title}最多精确到元（万元的小数点后四位）：{text}")
        return None
    return int(value)


def parse_int(raw: str | None, field: str, title: str, errors: dict[str, str], unit: str = "") -> int | None:
    text = _clean(raw)
    if not text:
        errors.setdefault(field, f"请填写{title}")
        return None
    try:
        value = int(text)
    except ValueError:
        errors.setdefault(field, f"{title}应为整数{f'（{unit}）' if unit else ''}：{text}")
        return None
    if value <= 0:
        errors.setdefault(field, f"{title}应大于 0")
        return None
    return value


def parse_rate(raw: str | None, field: str, title: str, errors: dict[str, str]) -> int | None:
    """An annual rate typed in % (``3.45``) → basis points (``345``): at most two decimals, above 0."""
    text = _clean(raw).removesuffix("%")
    if not text:
        errors.setdefault(field, f"请填写{title}（%）")
        return None
    try:
        value = Decimal(text) * 100
    except InvalidOperation:
        errors.setdefault(field, f"{title}应为百分数，如 3.45：{text}")
        return None
    if not value.is_finite() or value <= 0:
        errors.setdefault(field, f"{title}应大于 0%")
        return None
    if value != value.to_integral_value():
        errors.setdefault(field, f"{title}最多保留两位小数（如 3.45%）：{text}")
        return None
    return int(value)


def parse_date(raw: str | None, field: str, title: str, errors: dict[str, str], *, required: bool) -> date | None:
    text = (raw or "").strip()
    if not text:
        if required:
            errors.setdefault(field, f"请填写{title}")
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        errors.setdefault(field, f"{title}的格式应为 YYYY-MM-DD：{text}")
        return None


def validation_errors(exc: ValidationError, titles: dict[str, str]) -> dict[str, str]:
    """Pydantic's problems, in Chinese, by form field."""
    out: dict[str, str] = {}
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ())]
        field = loc[0] if loc else ""
        kind = err.get("type", "")
        if kind == "too_short" and field == "sections":
            message = "请至少选择一项"
        elif kind in ("missing", "string_too_short") and not err.get("input"):
            message = "必须填写"
        else:
            message = pydantic_message(err)
        title = titles.get(field, "")
        out.setdefault(field, f"{title}：{message}" if title else message)
    return out


def service_errors(exc: PubdataError) -> dict[str, str]:
    """A service refusal by form field (its ``details``), or under ``""`` when it names none."""
    out: dict[str, str] = {}
    details = exc.details if isinstance(exc.details, list) else []
    for d in details:
        if isinstance(d, dict) and d.get("message"):
            field = str(d.get("field") or "")
            out[field] = f"{out[field]}；{d['message']}" if field in out else str(d["message"])
    if not out:
        out[str(getattr(exc, "field", None) or "")] = exc.message
    return out


def form_fields(form: Any) -> dict[str, str]:
    return {k: str(v) for k, v in form.items()}


def local_target(target: str | None, default: str) -> str:
    """A redirect target only when it is a path of this site (the sign-in form's rule)."""
    return safe_next(target, default)


def tabs_for(viewer: Viewer) -> list[tuple[str, str, str]]:
    """The finance zone's links for the viewer's role: (key, url, label)."""
    actor = viewer.actor
    tabs: list[tuple[str, str, str]] = []
    if actor.can(Permission.FINANCE_LOAN_APPLY):
        tabs += [
            ("products", "/finance/products", "贷款产品"),
            ("applications", "/finance/applications", "我的贷款申请"),
            ("consents", "/finance/consents", "授权管理"),
        ]
    elif actor.can(Permission.FINANCE_LOAN_REVIEW):
        tabs += [
            ("pipeline", "/finance/pipeline", "贷款申请受理"),
            ("bank-products", "/finance/bank/products", "产品管理"),
            ("consents", "/finance/consents", "收到的授权"),
            ("dashboard", "/finance/dashboard", "专区看板"),
            ("products", "/finance/products", "已发布产品"),
        ]
    elif actor.can(Permission.FINANCE_LOAN_READ_ANY):
        tabs += [
            ("dashboard", "/finance/dashboard", "专区看板"),
            ("pipeline", "/finance/pipeline", "全部贷款申请"),
            ("consents", "/finance/consents", "全部授权"),
            ("products", "/finance/products", "贷款产品"),
        ]
    else:
        tabs.append(("products", "/finance/products", "贷款产品"))
    return tabs


def finance_page(
    request: Request,
    viewer: Viewer,
    template: str,
    context: dict[str, Any],
    *,
    tab: str,
    status_code: int = 200,
) -> HTMLResponse:
    """Render a finance page with the shared context: tabs, unit helpers, labels."""
    ctx: dict[str, Any] = {
        "nav": "finance", "tabs": tabs_for(viewer), "tab": tab, "money": money, "wan": yuan_to_wan, "pct": pct,
        "state_labels": STATES, "error": "", "errors": {},
    }  # fmt: skip
    ctx.update(context)
    return render(request, template, ctx, status_code=status_code, headers=NO_STORE)


def refusal_status(exc: PubdataError) -> int:
    """Refusals shown on the form: bad input (422) and conflicts (409). Others go to the error page."""
    if exc.status in (409, 422):
        return exc.status
    raise exc


@router.get("/finance", response_class=HTMLResponse)
def finance_home(viewer: ViewerDep) -> Response:
    """The zone's first page for the viewer's role."""
    return RedirectResponse(tabs_for(viewer)[0][1], status_code=303)


# --- consents (授权) ---------------------------------------------------------------------------------


def admitted_banks(session: Session, viewer: Viewer) -> list[Any]:
    """Banks admitted to the finance zone (the consent form's choice)."""
    return consents.admitted_banks(session, viewer.actor)


def _may_grant(session: Session, viewer: Viewer) -> bool:
    return viewer.actor.can(Permission.FINANCE_CONSENT_GRANT) and bool(enterprise.own_uscc(session, viewer.actor))


def _consent_form_defaults(request: Request) -> dict[str, Any]:
    q = request.query_params
    sections = [s for s in q.get("sections", "").split(",") if s in SECTIONS]
    purpose = q.get("purpose", "")
    return {
        "bank": q.get("bank", ""),
        "sections": sections,
        "purpose": purpose if purpose in PURPOSES else "loan_application",
        "purpose_note": "",
        "expires_on": (beijing_today() + timedelta(days=90)).isoformat(),
        "next": local_target(q.get("next"), ""),
    }


def _consents_page(
    request: Request,
    session: Session,
    viewer: Viewer,
    *,
    form: dict[str, Any] | None = None,
    error: str = "",
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    rows = consents.list_consents(session, viewer.actor)
    may_grant = _may_grant(session, viewer)
    today = beijing_today()
    context = {
        "consents": rows,
        "may_grant": may_grant,
        "banks": admitted_banks(session, viewer) if may_grant else [],
        "sections": SECTIONS,
        "purposes": PURPOSES,
        "status_labels": CONSENT_STATUS,
        "form": form if form is not None else _consent_form_defaults(request),
        "today": today.isoformat(),
        "last_day": (today + timedelta(days=MAX_DAYS)).isoformat(),
        "oversight": viewer.actor.can(Permission.FINANCE_CONSENT_READ_ANY),
        "error": error,
        "errors": errors or {},
    }
    return finance_page(request, viewer, "finance/consents.html", context, tab="consents", status_code=status_code)


@router.get("/finance/consents", response_class=HTMLResponse)
def consent_list(request: Request, session: DB, viewer: ViewerDep) -> Response:
    """The consents the viewer may see (an enterprise those it gave, with the form to give one; a bank
    those naming it; oversight all)."""
    if not viewer.signed_in:
        return login_redirect(request)
    return _consents_page(request, session, viewer)


@router.post("/finance/consents", response_class=HTMLResponse)
async def consent_grant(request: Request, session: DB, viewer: ViewerDep) -> Response:
    if not viewer.signed_in:
        return login_redirect(request)
    raw = await request.form()
    check_csrf(viewer, str(raw.get("csrf_token") or ""))
    fields = form_fields(raw)
    form: dict[str, Any] = {**fields, "sections": [str(s) for s in raw.getlist("sections")]}
    form["next"] = local_target(fields.get("next"), "")
    errors: dict[str, str] = {}
    expires_on = parse_date(fields.get("expires_on"), "expires_on", "授权截止日期", errors, required=True)
    if not fields.get("bank", "").strip():
        errors["bank"] = "请选择授权的银行"
    data = None
    try:
        data = ConsentCreate(
            bank=fields.get("bank", "").strip() or "-", sections=form["sections"], purpose=fields.get("purpose", ""),
            purpose_note=fields.get("purpose_note", ""), expires_on=expires_on or beijing_today(),
        )  # fmt: skip
    except ValidationError as exc:
        for field, message in validation_errors(exc, CONSENT_FIELDS).items():
            errors.setdefault(field, message)
    if errors or data is None:
        return _consents_page(request, session, viewer, form=form, error="授权未保存，请按提示修改后重新提交。",
                              errors=errors, status_code=422)  # fmt: skip
    if not viewer.actor.can(Permission.FINANCE_CONSENT_GRANT):
        raise Forbidden("只有企业用户才能授权银行查询本企业信用报告")
    try:
        given = attempt(session, lambda: consents.grant_consent(session, viewer.actor, data))
    except PubdataError as exc:
        status = refusal_status(exc)
        return _consents_page(request, session, viewer, form=form, error=exc.message, errors=service_errors(exc),
                              status_code=status)  # fmt: skip
    return RedirectResponse(form["next"] or f"/finance/consents/{given.id}", status_code=303)


def _consent_page(
    request: Request,
    session: Session,
    viewer: Viewer,
    consent_id: int,
    *,
    error: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    consent = consents.get_consent(session, viewer.actor, consent_id)
    uses = consents.consent_uses(session, viewer.actor, consent_id)
    actor = viewer.actor
    own = actor.can(Permission.FINANCE_CONSENT_GRANT) and enterprise.own_uscc(session, actor) == consent.uscc
    context = {
        "consent": consent,
        "uses": uses,
        "sections": SECTIONS,
        "status_labels": CONSENT_STATUS,
        "use_results": USE_RESULTS,
        "may_revoke": own and consent.status != "revoked" and bool(viewer.csrf_token),
        "error": error,
    }
    return finance_page(request, viewer, "finance/consent.html", context, tab="consents", status_code=status_code)


@router.get("/finance/consents/{consent_id}", response_class=HTMLResponse)
def consent_page(request: Request, consent_id: int, session: DB, viewer: ViewerDep) -> Response:
    """One consent and every read of the report under it (who, when, which sections, allowed or refused)."""
    if not viewer.signed_in:
        return login_redirect(request)
    return _consent_page(request, session, viewer, consent_id)


@router.post("/finance/consents/{consent_id}/revoke", response_class=HTMLResponse)
async def consent_revoke(request: Request, consent_id: int, session: DB, viewer: ViewerDep) -> Response:
    if not viewer.signed_in:
        return login_redirect(request)
    fields = form_fields(await request.form())
    check_csrf(viewer, fields.get("csrf_token"))
    if fields.get("confirm") != "1":
        return _consent_page(request, session, viewer, consent_id, error="请勾选确认后再撤销授权。", status_code=422)
    reason = fields.get("reason", "")
    try:
        attempt(session, lambda: consents.revoke_consent(session, viewer.actor, consent_id, reason))
    except PubdataError as exc:
        status = refusal_status(exc)
        return _consent_page(request, session, viewer, consent_id, error=exc.message, status_code=status)
    return RedirectResponse(f"/finance/consents/{consent_id}", status_code=303)


# --- loan products matched, applying ----------------------------------------------------------------


def _usable_consents(all_consents: list[ConsentRead], product: ProductRead) -> list[ConsentRead]:
    """The enterprise's live consents to the product's bank covering the sections it needs."""
    return [
        c
        for c in all_consents
        if c.status == "live" and c.bank_code == product.bank_code and set(product.sections) <= set(c.sections)
    ]


def _consent_link(product: ProductRead) -> str:
    query = {
        "bank": product.bank_code, "sections": ",".join(product.sections), "purpose": "loan_application",
        "next": f"/finance/products#product-{product.id}",
    }  # fmt: skip
    return "/finance/consents?" + urlencode(query) + "#grant"


def _products_page(
    request: Request,
    session: Session,
    viewer: Viewer,
    home: Any,
    *,
    open_id: int | None = None,
    form: dict[str, str] | None = None,
    error: str = "",
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    actor = viewer.actor
    uscc = enterprise.own_uscc(session, actor) if actor.can(Permission.FINANCE_LOAN_APPLY) else None
    matches: list[ProductMatch] | None = None
    notice = ""
    if uscc:
        try:
            matches = loans.match_products(session, actor, uscc, home=home)
        except FactsNotBuilt:
            notice = "企业档案尚未生成，暂时无法判断本企业与各产品的匹配情况。"
        except EnterpriseNotFound:
            notice = f"企业档案中暂无本企业（{uscc}），暂时无法判断匹配情况。"
    elif actor.can(Permission.FINANCE_LOAN_APPLY):
        notice = "本机构没有登记统一社会信用代码，不能申请贷款。"
    elif not viewer.signed_in:
        notice = "以企业用户登录后，可查看本企业与各产品的匹配结果并在线申请。"
    products = [m.product for m in matches] if matches is not None else loans.list_products(session, actor)
    own_consents = consents.list_consents(session, actor) if matches is not None else []
    cards = []
    for i, product in enumerate(products):
        match = matches[i] if matches is not None else None
        cards.append(
            {
                "product": product,
                "match": match,
                "verdict": VERDICTS[match.eligible] if match is not None else None,
                "consents": _usable_consents(own_consents, product),
                "consent_link": _consent_link(product),
                "may_apply": match is not None and match.eligible is not False and bool(viewer.csrf_token),
            }
        )
    context = {
        "cards": cards,
        "matched": matches is not None,
        "notice": notice,
        "sections": SECTIONS,
        "open_id": open_id,
        "form": form or {},
        "error": error,
        "errors": errors or {},
    }
    return finance_page(request, viewer, "finance/products.html", context, tab="products", status_code=status_code)


@router.get("/finance/products", response_class=HTMLResponse)
def product_list(request: Request, session: DB, viewer: ViewerDep, home: Home) -> Response:
    """Every published product; for an enterprise, matched against its facts, with the apply form."""
    return _products_page(request, session, viewer, home)


@router.post("/finance/products/{product_id}/apply", response_class=HTMLResponse)
async def product_apply(request: Request, product_id: int, session: DB, viewer: ViewerDep, home: Home) -> Response:
    if not viewer.signed_in:
        return login_redirect(request, f"/finance/products#product-{product_id}")
    fields = form_fields(await request.form())
    check_csrf(viewer, fields.get("csrf_token"))
    if not viewer.actor.can(Permission.FINANCE_LOAN_APPLY):
        raise Forbidden("只有企业用户才能申请贷款")
    errors: dict[str, str] = {}
    amount = parse_wan(fields.get("amount"), "amount", "申请金额", errors)
    term = parse_int(fields.get("term_months"), "term_months", "期限", errors, "月")
    consent_id = None
    if not fields.get("consent_id", "").strip():
        errors["consent_id"] = "请选择一项授权（没有可用的授权时，请先授权该银行）"
    else:
        consent_id = parse_int(fields.get("consent_id"), "consent_id", "授权", errors)
    data = None
    if not errors:
        try:
            data = ApplicationIn(product_id=product_id, consent_id=consent_id, amount=amount, term_months=term,
                                 purpose=fields.get("purpose", "").strip())  # fmt: skip
        except ValidationError as exc:
            errors.update(validation_errors(exc, APPLY_FIELDS))
    if errors or data is None:
        return _products_page(request, session, viewer, home, open_id=product_id, form=fields,
                              error="申请未提交，请按提示修改。", errors=errors, status_code=422)  # fmt: skip
    checked = data
    try:
        app = attempt(session, lambda: loans.apply(session, viewer.actor, checked, home=home))
    except PubdataError as exc:
        status = refusal_status(exc)
        return _products_page(request, session, viewer, home, open_id=product_id, form=fields, error=exc.message,
                              errors=service_errors(exc), status_code=status)  # fmt: skip
    return RedirectResponse(f"/finance/applications/{app.id}", status_code=303)
