"""数据产品 (the data market) pages: the marketplace of listed products with filters, one product (its
listing terms, sample, contract summary and active price plans), the public price list, the
provider's own products with 提交审核, and the operator's 上架审核 (approve into public notice or
reject, list once the notice is over, suspend, resume, delist).

Pages call ``market.service`` only; the service decides who sees and may do what (a product that is
not listed is not found for anyone but its provider's organisation and the operator). Every form is
a POST carrying the login session's CSRF token; a refusal is shown on the page in Chinese with what
was typed kept, and the service call runs in a savepoint so a refused step leaves nothing half-done;
a successful POST redirects (303). Ordering is not here yet: the product page shows a disabled 订购
button. Creating and editing products and plans is done through the API.

Money is integer fen (分) throughout and is only formatted here, never computed with floats:
``yuan(123450)`` → ``"1,234.50"``. The marketplace shows each product's cheapest plan by its
starting price (``start_fen``): free 0; one-off and subscription the price; per call the unit price;
tiered the first tier's unit price.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from pubdata.access import zones
from pubdata.access.service import beijing_today
from pubdata.api.deps import DB
from pubdata.authz import Permission
from pubdata.catalog.vocab import SCENARIOS
from pubdata.errors import Forbidden, Invalid, PubdataError
from pubdata.market import reports
from pubdata.market import service as market
from pubdata.market.errors import ProductNotFound
from pubdata.market.schemas import KINDS, STATES, PlanRead, ProductRead, ReviewIn
from pubdata.web.access_forms import NO_STORE, Names, attempt, check_csrf, login_redirect, mask_label
from pubdata.web.deps import ViewerDep
from pubdata.web.finance_pages import form_fields
from pubdata.web.templating import Viewer, render

router = APIRouter(include_in_schema=False)

# the operator's steps on /market/review: action → (the states it applies to, its label)
REVIEW_ACTIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "approve": (("under_review",), "通过审核并公示"),
    "reject": (("under_review",), "驳回"),
    "list": (("public_notice",), "上架"),
    "suspend": (("listed",), "暂停"),
    "resume": (("suspended",), "恢复上架"),
    "delist": (("public_notice", "suspended"), "下架"),
}
REVIEW_SECTIONS = (
    ("under_review", "待审核", "通过后进入公示期；驳回须说明理由，产品退回草稿。"),
    ("public_notice", "公示中", "公示期满（公示截止日的次日起）方可上架；公示期间收到异议可下架。"),
    ("listed", "已上架", "暂停须说明理由；暂停后可恢复上架或下架。"),
    ("suspended", "已暂停", "恢复上架，或说明理由后下架（下架为最终状态）。"),
)
QUOTA_LABELS = {
    "daily_call_quota": "每日调用次数上限",
    "daily_row_quota": "每日数据行数上限",
    "rate_per_minute": "每分钟调用次数上限",
}
PROVIDER_NEXT = {
    "draft": "可提交审核（须至少有一个有效的价格计划）",
    "under_review": "等待运营方审核",
    "public_notice": "公示中，期满后由运营方上架",
    "listed": "已在数据产品页面公开",
    "suspended": "已被运营方暂停，暂不对外提供",
    "delisted": "已下架（最终状态）",
}


# --- money and plans in words -------------------------------------------------------------------


def yuan(fen: int | None) -> str:
    """Integer fen as 元 with two decimals and thousands separators: ``123450`` → ``"1,234.50"``."""
    if fen is None:
        return "—"
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}{whole:,}.{cents:02d}"


def price_summary(plan: PlanRead) -> str:
    """A plan's prices in one line of Chinese."""
    if plan.kind == "free":
        return "免费（公益用途）"
    if plan.kind == "one_off":
        return f"{yuan(plan.price_fen)} 元 / 次购买"
    if plan.kind == "subscription":
        return f"{yuan(plan.price_fen)} 元 / {plan.term_months} 个月"
    if plan.kind == "per_call":
        text = f"{yuan(plan.unit_price_fen)} 元/次"
        if plan.free_quota:
            text += f"，每月前 {plan.free_quota:,} 次免费"
        return text
    if plan.kind == "tiered":
        return "；".join(tier_lines(plan))
    return plan.kind_label


def tier_lines(plan: PlanRead) -> list[str]:
    """Graduated tiers as lines: ``1–1,000 次：0.10 元/次`` … ``5,001 次以上：0.05 元/次``."""
    lines = []
    low = 1
    for tier in plan.tiers or []:
        price = f"{yuan(tier.unit_price_fen)} 元/次"
        if tier.up_to is None:
            lines.append(f"{low:,} 次以上：{price}")
        else:
            lines.append(f"{low:,}–{tier.up_to:,} 次：{price}")
            low = tier.up_to + 1
    return lines


def ceiling_text(plan: PlanRead) -> str:
    """The most a buyer pays: ``每月最高 2,000.00 元``, ``每单最高 0.00 元`` or ``不封顶``."""
    if plan.ceiling_fen is None:
        return "不封顶"
    return f"{plan.ceiling_per_label}最高 {yuan(plan.ceiling_fen)} 元"


def start_fen(plan: PlanRead) -> int:
    """A plan's starting price (see the module's docstring), for choosing the cheapest plan."""
    if plan.kind in ("one_off", "subscription"):
        return plan.price_fen or 0
    if plan.kind == "per_call":
        return plan.unit_price_fen or 0
    if plan.kind == "tiered":
        return plan.tiers[0].unit_price_fen if plan.tiers else 0
    return 0


def cheapest(plans: list[PlanRead]) -> PlanRead | None:
    active = [p for p in plans if p.active]
    return min(active, key=lambda p: (start_fen(p), p.id)) if active else None


# --- shared -------------------------------------------------------------------------------------


def _tabs(viewer: Viewer) -> list[tuple[str, str, str]]:
    tabs = [("market", "/market", "数据产品"), ("prices", "/market/prices", "价格公示")]
    if viewer.actor.can(Permission.MARKET_PRODUCT_MANAGE):
        tabs.append(("mine", "/market/mine", "我的数据产品"))
    if viewer.actor.can(Permission.MARKET_LISTING_REVIEW):
        tabs.append(("review", "/market/review", "上架审核"))
    return tabs


def _zone_names(session: Session, viewer: Viewer) -> dict[str, str]:
    return {z.zone.code: z.zone.name for z in zones.list_zones(session, viewer.actor)}


def market_page(
    request: Request,
    viewer: Viewer,
    template: str,
    context: dict[str, Any],
    *,
    tab: str,
    status_code: int = 200,
) -> HTMLResponse:
    """Render a market page with the shared context: tabs, labels and the money helpers."""
    ctx: dict[str, Any] = {
        "nav": "market", "tabs": _tabs(viewer), "tab": tab, "yuan": yuan, "price_summary": price_summary,
        "ceiling_text": ceiling_text, "tier_lines": tier_lines, "kinds": KINDS, "scenarios": SCENARIOS,
        "states": STATES, "error": "", "error_key": "", "form": {},
    }  # fmt: skip
    ctx.update(context)
    return render(request, template, ctx, status_code=status_code, headers=NO_STORE)


def shown_refusal(exc: PubdataError) -> int:
    """Refusals shown on the page (the actor may use the page): forbidden steps, conflicts, a file too
    large, bad input. Anything else (not found, signed out) goes to the error page."""
    if exc.status in (403, 409, 413, 422):
        return exc.status
    raise exc


# --- the marketplace ----------------------------------------------------------------------------


def _choice(value: str, allowed: dict[str, str], what: str, problems: list[str]) -> str | None:
    value = value.strip()
    if not value:
        return None
    if value in allowed:
        return value
    problems.append(f"{what}“{value}”不存在（可选：{'、'.join(allowed.values())}）")
    return None


@router.get("/market", response_class=HTMLResponse)
def marketplace(
    request: Request, session: DB, viewer: ViewerDep, scenario: str = "", zone: str = "", kind: str = ""
) -> Response:
    """数据产品: listed products, filtered by scenario, zone and kind (a GET form: bookmarkable)."""
    zone_names = _zone_names(session, viewer)
    problems: list[str] = []
    chosen = {
        "scenario": _choice(scenario, SCENARIOS, "应用场景", problems),
        "zone": _choice(zone, zone_names, "专区", problems),
        "kind": _choice(kind, KINDS, "产品类型", problems),
    }
    rows = (
        []
        if problems
        else market.list_products(
            session, viewer.actor, state="listed", scenario=chosen["scenario"], zone=chosen["zone"], kind=chosen["kind"]
        )
    )
    items = [{"product": p, "cheapest": cheapest(p.plans), "plans": len(p.plans)} for p in rows]
    context = {
        "items": items, "zone_names": zone_names, "problems": problems,
        "filters": {"scenario": scenario.strip(), "zone": zone.strip(), "kind": kind.strip()},
        "filtered": any(chosen.values()),
    }  # fmt: skip
    status = 400 if problems else 200
    return market_page(request, viewer, "market/index.html", context, tab="market", status_code=status)


@router.get("/market/prices", response_class=HTMLResponse)
def prices(request: Request, session: DB, viewer: ViewerDep) -> Response:
    """数据产品价格公示: every listed product and its active plans with their fee ceilings."""
    price_list = market.price_list(session, viewer.actor)
    context = {"price_list": price_list, "zone_names": _zone_names(session, viewer)}
    return market_page(request, viewer, "market/prices.html", context, tab="prices")


@router.get("/market/products/{product_id}", response_class=HTMLResponse)
def product_page(request: Request, product_id: int, session: DB, viewer: ViewerDep) -> Response:
    """One product: its listing terms, sample, contract summary and active plans; for its provider's
    organisation and the operator also its state and listing history; a report's files."""
    return render_product(request, session, viewer, product_id)


def render_product(
    request: Request,
    session: Session,
    viewer: Viewer,
    product_id: int,
    *,
    error: str = "",
    error_key: str = "",
    form: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    """The product page, with a refused form's error and what was typed (``error_key`` names the form)."""
    product: ProductRead = market.get_product(session, viewer.actor, product_id)
    contract = product.contract
    names = Names(session, viewer)
    if product.events:
        names.know_users_of({product.provider_org_id, viewer.actor.organisation_id})
    context = {
        "p": product,
        "zone_names": _zone_names(session, viewer),
        "active_plans": [x for x in product.plans if x.active],
        "inactive_plans": [x for x in product.plans if not x.active],
        "fields": contract.get("fields") or [],
        "masks": [(f, mask_label(rule)) for f, rule in sorted((contract.get("masks") or {}).items())],
        "quotas": [(QUOTA_LABELS[k], contract[k]) for k in QUOTA_LABELS if contract.get(k) is not None],
        "key_field": contract.get("key_field"),
        "row_filter": contract.get("row_filter"),
        "predicate": contract.get("predicate"),
        "privileged": bool(product.events),
        "user_name": names.user,
        "reports": reports.report_files(session, viewer.actor, product.id) if product.kind == "report" else None,
        "error": error, "error_key": error_key, "form": form or {},
    }  # fmt: skip
    tab = "mine" if product.state != "listed" and viewer.actor.organisation_id == product.provider_org_id else "market"
    return market_page(request, viewer, "market/product.html", context, tab=tab, status_code=status_code)


# --- the provider's products --------------------------------------------------------------------


def _mine_page(
    request: Request, session: Session, viewer: Viewer, *, error: str = "", error_key: str = "", status_code: int = 200
) -> HTMLResponse:
    rows = market.list_products(session, viewer.actor, mine=True)
    counts = {s: sum(1 for r in rows if r.state == s) for s in STATES}
    context = {
        "rows": rows, "counts": counts, "next_step": PROVIDER_NEXT, "zone_names": _zone_names(session, viewer),
        "error": error, "error_key": error_key,
    }  # fmt: skip
    return market_page(request, viewer, "market/mine.html", context, tab="mine", status_code=status_code)


def _require(viewer: Viewer, permission: Permission, message: str) -> None:
    if not viewer.actor.can(permission):
        raise Forbidden(message)


@router.get("/market/mine", response_class=HTMLResponse)
def mine(request: Request, session: DB, viewer: ViewerDep) -> Response:
    """我的数据产品: the organisation's products in every state, with 提交审核 for drafts."""
    if not viewer.signed_in:
        return login_redirect(request)
    _require(viewer, Permission.MARKET_PRODUCT_MANAGE, "“我的数据产品”仅供运营方和数商使用")
    return _mine_page(request, session, viewer)


@router.post("/market/mine/{product_id}/submit", response_class=HTMLResponse)
async def submit(request: Request, product_id: int, session: DB, viewer: ViewerDep) -> Response:
    if not viewer.signed_in:
        return login_redirect(request)
    fields = form_fields(await request.form())
    check_csrf(viewer, fields.get("csrf_token"))
    _require(viewer, Permission.MARKET_PRODUCT_MANAGE, "“我的数据产品”仅供运营方和数商使用")
    try:
        attempt(session, lambda: market.submit(session, viewer.actor, product_id))
    except PubdataError as exc:
        status = shown_refusal(exc)
        return _mine_page(request, session, viewer, error=exc.message, error_key=f"{product_id}-submit",
                          status_code=status)  # fmt: skip
    return RedirectResponse(f"/market/mine#product-{product_id}", status_code=303)


# --- the operator's review ----------------------------------------------------------------------


def _review_page(
    request: Request,
    session: Session,
    viewer: Viewer,
    *,
    error: str = "",
    error_key: str = "",
    form: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    actor = viewer.actor
    sections = [(state, title, hint, market.list_products(session, actor, state=state))
                for state, title, hint in REVIEW_SECTIONS]  # fmt: skip
    context = {
        "sections": sections, "today": beijing_today(), "actions": REVIEW_ACTIONS,
        "zone_names": _zone_names(session, viewer), "error": error, "error_key": error_key, "form": form or {},
    }  # fmt: skip
    return market_page(request, viewer, "market/review.html", context, tab="review", status_code=status_code)


@router.get("/market/review", response_class=HTMLResponse)
def review(request: Request, session: DB, viewer: ViewerDep) -> Response:
    """上架审核: products under review, in public notice, listed and suspended, each with its steps."""
    if not viewer.signed_in:
        return login_redirect(request)
    _require(viewer, Permission.MARKET_LISTING_REVIEW, "上架审核仅供运营方使用")
    return _review_page(request, session, viewer)


def _notice_days(raw: str | None) -> Any:
    """The typed notice days as an integer when it is one; otherwise as typed, so that the service
    refuses it with its own message."""
    text = (raw or "").strip()
    try:
        return int(text)
    except ValueError:
        return text


def _step(session: Session, viewer: Viewer, product_id: int, action: str, fields: dict[str, str]) -> Any:
    actor, reason = viewer.actor, fields.get("reason", "")
    if action in ("approve", "reject"):
        try:
            data = ReviewIn(action=action, reason=reason, notice_days=_notice_days(fields.get("notice_days")))
        except ValidationError:
            raise Invalid("理由最多 2000 个字", field="reason") from None
        return market.review(session, actor, product_id, data)
    if action == "list":
        return market.list_product(session, actor, product_id)
    if action == "suspend":
        return market.suspend(session, actor, product_id, reason)
    if action == "resume":
        return market.resume(session, actor, product_id, reason)
    return market.delist(session, actor, product_id, reason)


@router.post("/market/review/{product_id}/{action}", response_class=HTMLResponse)
async def review_step(request: Request, product_id: int, action: str, session: DB, viewer: ViewerDep) -> Response:
    """One of the operator's steps (``REVIEW_ACTIONS``) on a product."""
    if not viewer.signed_in:
        return login_redirect(request)
    if action not in REVIEW_ACTIONS:
        raise ProductNotFound(f"没有这个操作：{action}")
    fields = form_fields(await request.form())
    check_csrf(viewer, fields.get("csrf_token"))
    _require(viewer, Permission.MARKET_LISTING_REVIEW, "上架审核仅供运营方使用")
    try:
        attempt(session, lambda: _step(session, viewer, product_id, action, fields))
    except PubdataError as exc:
        status = shown_refusal(exc)
        return _review_page(request, session, viewer, error=exc.message, error_key=f"{product_id}-{action}",
                            form=fields, status_code=status)  # fmt: skip
    return RedirectResponse(f"/market/review#product-{product_id}", status_code=303)
