"""数据信托 pages (docs/trusts.md): the trusts the viewer's organisation takes part in (every trust for
the operator and the oversight roles), one trust (settlor, trustee, beneficiaries with their shares as
fractions and percentages, the entrusted registered assets linking to their certificates' public
verification, fee, term, state, and each distribution: gross → the trustee's fee → each
beneficiary's part), the settlor's create / edit form for a draft, and the operator's 审核设立 and
终止.

Pages call ``assets.trusts.service`` only; the service decides who sees and may do what (a trust is
not found for anyone outside it). Every form is a POST carrying the login session's CSRF token; a
refusal is shown on the page in Chinese with what was typed kept, the service call running in a
savepoint; a successful POST redirects (303). Money is integer fen, only formatted here (``yuan``);
a fee rate is typed as a percentage with at most two decimals (basis points), a fixed fee in 元 to
the fen, a share as a fraction (``1/3``), a decimal (``0.25``) or a percentage (``25%``) — each
turned into exact integers, never floats.
"""

from __future__ import annotations

import contextlib
import re
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from fractions import Fraction
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from pubdata.access.service import beijing_today
from pubdata.api.deps import DB
from pubdata.assets.registry import service as registry
from pubdata.assets.registry.errors import RegistrationNotFound
from pubdata.assets.trusts import service as trusts
from pubdata.assets.trusts.schemas import (
    PURPOSES,
    STATES,
    TRUSTEE_KINDS,
    BeneficiaryIn,
    DistributionRead,
    TrustIn,
    TrustRead,
)
from pubdata.authz import Permission
from pubdata.errors import Forbidden, PubdataError
from pubdata.identity import service as identity
from pubdata.identity.schemas import ORGANISATION_KIND_LABELS
from pubdata.web.access_forms import NO_STORE, attempt, check_csrf, login_redirect
from pubdata.web.deps import ViewerDep
from pubdata.web.finance_pages import form_fields, parse_date, pct, service_errors, validation_errors
from pubdata.web.market_pages import yuan
from pubdata.web.templating import Viewer, render

router = APIRouter(include_in_schema=False)

BENEFICIARY_ROWS = 5  # empty rows the form offers (more once a trust has more beneficiaries)
FEE_KINDS = {"rate": "按分配总额的比例", "fixed": "每次分配的固定金额"}
PARTY_LABELS = {"settlor": "委托人", "trustee": "受托人", "beneficiary": "受益人"}
FIELD_TITLES = {
    "code": "信托代码", "title": "信托名称", "description": "信托说明", "purpose": "信托类型",
    "settlor_org_id": "委托人", "trustee_org_id": "受托人", "beneficiaries": "受益人", "assets": "委托资产",
    "term_start": "开始日期", "term_end": "结束日期", "fee": "受托人报酬",
}  # fmt: skip
_SHARE = re.compile(r"^([0-9]{1,18})(?:/([0-9]{1,18})|\.([0-9]{1,12}))?(%?)$")
_CODES = re.compile(r"[\s,，、;；]+")


# --- shares and money in words ------------------------------------------------------------------


def share_percent(numerator: int, denominator: int) -> str:
    """A share as a percentage: exact when it is (``1/2`` → ``50%``, ``1/8`` → ``12.5%``), otherwise
    rounded to two decimals and marked (``1/3`` → ``≈33.33%``)."""
    value = Fraction(numerator, denominator) * 100
    shown = (Decimal(value.numerator) / Decimal(value.denominator)).quantize(Decimal("0.01"), ROUND_HALF_UP)
    if Fraction(shown) == value:
        text = format(shown.normalize(), "f")
        return f"{text}%"
    return f"≈{shown}%"


def fee_text(trust: TrustRead) -> str:
    """The trustee's fee in one line of Chinese."""
    if trust.fee_rate_bp is not None:
        return f"每次分配总额的 {pct(trust.fee_rate_bp)}（{trust.fee_rate_bp} 个基点，按分向下取整）"
    return f"每次分配 {yuan(trust.fee_fixed_fen)} 元（不超过当次分配总额）"


def parse_share(text: str) -> Fraction | None:
    """``1/3``, ``1``, ``0.25`` or ``25%`` as an exact fraction; None when it is none of these."""
    m = _SHARE.match(text.replace(" ", ""))
    if m is None:
        return None
    whole, denominator, decimals, percent = m.groups()
    if denominator is not None:
        if percent or int(denominator) == 0:
            return None
        value = Fraction(int(whole), int(denominator))
    else:
        value = Fraction(f"{whole}.{decimals}" if decimals else whole)
    return value / 100 if percent else value


def _plain_number(raw: str | None) -> str:
    return (raw or "").strip().replace(",", "").replace("，", "").removesuffix("%").removesuffix("元")


def _exact(text: str, scale: int) -> int | None:
    """``text`` × ``scale`` as an int when it is exactly one (None otherwise)."""
    try:
        value = Decimal(text) * scale
    except InvalidOperation:
        return None
    if not value.is_finite() or value != value.to_integral_value() or abs(value) > 10**18:
        return None
    return int(value)


# --- shared -------------------------------------------------------------------------------------


def trust_page(request: Request, template: str, context: dict[str, Any], *, status_code: int = 200) -> HTMLResponse:
    ctx: dict[str, Any] = {
        "nav": "trusts", "yuan": yuan, "share_percent": share_percent, "fee_text": fee_text, "states": STATES,
        "purposes": PURPOSES, "parties": PARTY_LABELS, "error": "", "errors": {},
    }  # fmt: skip
    ctx.update(context)
    return render(request, template, ctx, status_code=status_code, headers=NO_STORE)


def _shown_refusal(exc: PubdataError) -> int:
    """Refusals shown on the page: forbidden steps, conflicts, bad input. Anything else (not found,
    signed out) goes to the error page."""
    if exc.status in (403, 409, 422):
        return exc.status
    raise exc


def _may_manage(viewer: Viewer) -> None:
    if not viewer.actor.can(Permission.TRUST_MANAGE):
        raise Forbidden("设立、修改数据信托仅供委托人机构（企业、数商、政府部门）和运营方使用")


def _editable(viewer: Viewer, trust: TrustRead) -> bool:
    actor = viewer.actor
    return (
        trust.state == "draft"
        and actor.can(Permission.TRUST_MANAGE)
        and (actor.can(Permission.TRUST_REVIEW) or actor.organisation_id == trust.settlor_org_id)
    )


def _parties(viewer: Viewer, trust: TrustRead) -> list[str]:
    """What the viewer's organisation is in the trust, in words (``委托人`` …)."""
    org = viewer.actor.organisation_id
    out = []
    if org == trust.settlor_org_id:
        out.append(PARTY_LABELS["settlor"])
    if org == trust.trustee_org_id:
        out.append(PARTY_LABELS["trustee"])
    if any(b.organisation_id == org for b in trust.beneficiaries):
        out.append(PARTY_LABELS["beneficiary"])
    return out


# --- the list -----------------------------------------------------------------------------------


@router.get("/trusts", response_class=HTMLResponse)
def trust_list(request: Request, session: DB, viewer: ViewerDep, state: str = "") -> Response:
    """数据信托: the trusts the viewer may read, optionally in one state."""
    if not viewer.signed_in:
        return login_redirect(request)
    chosen = state.strip()
    problem = ""
    if chosen and chosen not in STATES:
        problem = f"状态“{chosen}”不存在（可选：{'、'.join(STATES.values())}）"
    rows = [] if problem else trusts.list_trusts(session, viewer.actor, state=chosen or None)
    counts = {s: 0 for s in STATES}
    if not chosen:
        for t in rows:
            counts[t.state] += 1
    context = {
        "rows": [{"trust": t, "parties": _parties(viewer, t)} for t in rows], "chosen": chosen, "problem": problem,
        "counts": counts, "may_create": viewer.actor.can(Permission.TRUST_MANAGE),
        "reviewer": viewer.actor.can(Permission.TRUST_REVIEW),
    }  # fmt: skip
    return trust_page(request, "trusts/index.html", context, status_code=400 if problem else 200)


@router.get("/trusts/new", response_class=HTMLResponse)
def trust_new(request: Request, session: DB, viewer: ViewerDep) -> Response:
    """设立数据信托: the form for a new draft."""
    if not viewer.signed_in:
        return login_redirect(request)
    _may_manage(viewer)
    return _form_page(request, session, viewer, trust=None, values=_values(None, viewer))


# --- one trust ----------------------------------------------------------------------------------


def _distribution_rows(trust: TrustRead, distributions: list[DistributionRead]) -> dict[str, Any]:
    """Each distribution with its parts in the order of the trust's beneficiaries, and the totals."""
    order = [b.organisation_id for b in trust.beneficiaries]
    rows = []
    gross = fee = net = 0
    part_totals = [0] * len(order)
    for d in distributions:
        by_org = {p.organisation_id: p.amount_fen for p in d.parts}
        parts = [by_org.get(org, 0) for org in order]
        rows.append({"d": d, "parts": parts})
        gross, fee, net = gross + d.gross_fen, fee + d.fee_fen, net + d.net_fen
        part_totals = [a + b for a, b in zip(part_totals, parts, strict=True)]
    totals = {"gross": gross, "fee": fee, "net": net, "parts": part_totals}
    return {"rows": rows, "totals": totals}


def _certificates(session: Session, viewer: Viewer, codes: list[str]) -> list[dict[str, Any]]:
    """Each entrusted code with its certificate's public data (title, holder, status) when it has one."""
    out = []
    for code in codes:
        cert = None
        with contextlib.suppress(RegistrationNotFound):
            cert = registry.certificate(session, viewer.actor, code)
        out.append({"code": code, "cert": cert})
    return out


def _trust_view(
    request: Request,
    session: Session,
    viewer: Viewer,
    trust_id: int,
    *,
    error: str = "",
    error_key: str = "",
    form: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    trust = trusts.get_trust(session, viewer.actor, trust_id)
    actor = viewer.actor
    reviewer = actor.can(Permission.TRUST_REVIEW)
    # a step's refusal is shown at its form when the page shows that form, otherwise at the top
    forms = {"approve": trust.state == "draft", "terminate": trust.state != "ended"}
    error_in_form = bool(reviewer and viewer.csrf_token and forms.get(error_key))
    context = {
        "t": trust, "assets": _certificates(session, viewer, trust.assets),
        "dist": _distribution_rows(trust, trusts.list_distributions(session, actor, trust.id)),
        "parties_of_viewer": _parties(viewer, trust), "editable": _editable(viewer, trust),
        "reviewer": reviewer, "today": beijing_today(), "error": error, "error_key": error_key, "form": form or {},
        "error_in_form": error_in_form,
    }  # fmt: skip
    return trust_page(request, "trusts/trust.html", context, status_code=status_code)


@router.get("/trusts/{trust_id}", response_class=HTMLResponse)
def trust_detail(request: Request, trust_id: int, session: DB, viewer: ViewerDep) -> Response:
    """One trust, its beneficiaries, assets and distributions; the operator's steps."""
    if not viewer.signed_in:
        return login_redirect(request)
    return _trust_view(request, session, viewer, trust_id)


async def _step(request: Request, session: Session, viewer: Viewer, trust_id: int, step: str) -> Response:
    fields = form_fields(await request.form())
    check_csrf(viewer, fields.get("csrf_token"))
    actor = viewer.actor
    try:
        if step == "approve":
            attempt(session, lambda: trusts.approve(session, actor, trust_id))
        else:
            attempt(session, lambda: trusts.terminate(session, actor, trust_id, fields.get("reason", "")))
    except PubdataError as exc:
        status = _shown_refusal(exc)
        return _trust_view(request, session, viewer, trust_id, error=exc.message, error_key=step, form=fields,
                           status_code=status)  # fmt: skip
    return RedirectResponse(f"/trusts/{trust_id}", status_code=303)


@router.post("/trusts/{trust_id}/approve", response_class=HTMLResponse)
async def trust_approve(request: Request, trust_id: int, session: DB, viewer: ViewerDep) -> Response:
    """The operator's 审核设立: draft → active."""
    if not viewer.signed_in:
        return login_redirect(request)
    return await _step(request, session, viewer, trust_id, "approve")


@router.post("/trusts/{trust_id}/terminate", response_class=HTMLResponse)
async def trust_terminate(request: Request, trust_id: int, session: DB, viewer: ViewerDep) -> Response:
    """The operator's 终止 of a draft or active trust, with a reason."""
    if not viewer.signed_in:
        return login_redirect(request)
    return await _step(request, session, viewer, trust_id, "terminate")


# --- the settlor's form -------------------------------------------------------------------------


def _blank_rows(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    return rows + [{"org": "", "share": ""} for _ in range(max(BENEFICIARY_ROWS - len(rows), 2))]


def _values(trust: TrustRead | None, viewer: Viewer) -> dict[str, Any]:
    """The form's values: a new trust's defaults, or a draft as it is."""
    if trust is None:
        today = beijing_today()
        own = "" if viewer.actor.can(Permission.TRUST_REVIEW) else str(viewer.actor.organisation_id or "")
        return {
            "settlor_org_id": own, "purpose": "asset_service", "fee_kind": "rate",
            "term_start": today.isoformat(), "term_end": (today + timedelta(days=365 * 3)).isoformat(),
            "bens": _blank_rows([]), "remainder": "0", "assets": [], "assets_extra": "",
        }  # fmt: skip
    rows = [{"org": str(b.organisation_id), "share": b.share} for b in trust.beneficiaries]
    remainder = next((str(n) for n, b in enumerate(trust.beneficiaries) if b.remainder), "0")
    return {
        "code": trust.code, "title": trust.title, "description": trust.description,
        "settlor_org_id": str(trust.settlor_org_id), "trustee_org_id": str(trust.trustee_org_id),
        "purpose": trust.purpose, "fee_kind": "rate" if trust.fee_rate_bp is not None else "fixed",
        "fee_rate": "" if trust.fee_rate_bp is None else format((Decimal(trust.fee_rate_bp) / 100).normalize(), "f"),
        "fee_fixed": "" if trust.fee_fixed_fen is None else format(Decimal(trust.fee_fixed_fen) / 100, "f"),
        "term_start": trust.term_start.isoformat(), "term_end": trust.term_end.isoformat(),
        "bens": _blank_rows(rows), "remainder": remainder, "assets": list(trust.assets), "assets_extra": "",
    }  # fmt: skip


def _int(raw: str | None) -> int | None:
    text = (raw or "").strip()
    return int(text) if text.isdecimal() and len(text) <= 12 else None


def _fee(fields: dict[str, str], errors: dict[str, str]) -> tuple[int | None, int | None]:
    kind = fields.get("fee_kind", "")
    if kind == "rate":
        text = _plain_number(fields.get("fee_rate"))
        bp = _exact(text, 100) if text else None
        if bp is None:
            errors["fee"] = f"费率请填写百分数，最多两位小数（如 1.5 表示 1.5%）：{text or '未填写'}"
        return bp, None
    if kind == "fixed":
        text = _plain_number(fields.get("fee_fixed"))
        fen = _exact(text, 100) if text else None
        if fen is None:
            errors["fee"] = f"固定报酬请填写金额（元），精确到分（如 5000.00）：{text or '未填写'}"
        return None, fen
    errors["fee"] = "请选择受托人报酬的计算方式：按比例或固定金额"
    return None, None


def _beneficiaries(fields: dict[str, str], errors: dict[str, str], values: dict[str, Any]) -> list[BeneficiaryIn]:
    """The filled rows, in order (empty rows dropped and the form compacted, so that "第 n 位" in a
    message is the n-th row shown)."""
    picked = str(fields.get("remainder", ""))
    rows: list[dict[str, str]] = []
    remainder = ""
    out: list[BeneficiaryIn] = []
    problems = []
    n = 0
    while f"ben_org_{n}" in fields or f"ben_share_{n}" in fields:
        org_text, share_text = fields.get(f"ben_org_{n}", "").strip(), fields.get(f"ben_share_{n}", "").strip()
        if org_text or share_text:
            position = len(rows) + 1
            if picked == str(n):
                remainder = str(len(rows))
            rows.append({"org": org_text, "share": share_text})
            org_id, share = _int(org_text), parse_share(share_text)
            if org_id is None:
                problems.append(f"第 {position} 位受益人：请选择受益机构")
            if share is None:
                problems.append(
                    f"第 {position} 位受益人的份额“{share_text}”无法识别："
                    "请填写分数（如 1/3）、小数（如 0.25）或百分数（如 25%）"
                )
            if org_id is not None and share is not None:
                out.append(BeneficiaryIn(organisation_id=org_id, numerator=share.numerator,
                                         denominator=share.denominator, remainder=picked == str(n)))  # fmt: skip
        n += 1
        if n > 200:
            break
    values["bens"], values["remainder"] = _blank_rows(rows), remainder
    if problems:
        errors["beneficiaries"] = "；".join(problems)
    return out


def _assets(checked: list[str], extra: str) -> list[str]:
    out: list[str] = []
    for code in [*checked, *_CODES.split(extra)]:
        text = code.strip()
        if text and text.upper() not in (c.upper() for c in out):
            out.append(text)
    return out


def _group(errors: dict[str, str]) -> dict[str, str]:
    """The service's problems by the form's parts (``beneficiaries[2].share`` → ``beneficiaries``)."""
    out: dict[str, str] = {}
    for field, message in errors.items():
        key = re.split(r"[\[.]", field, maxsplit=1)[0]
        key = "fee" if key.startswith("fee") else key
        out[key] = f"{out[key]}；{message}" if key in out else message
    return out


def _trust_in(
    fields: dict[str, str], checked: list[str], viewer: Viewer, trust: TrustRead | None, values: dict[str, Any]
) -> tuple[TrustIn | None, dict[str, str]]:
    errors: dict[str, str] = {}
    if trust is not None:
        settlor: int | None = trust.settlor_org_id
    elif viewer.actor.can(Permission.TRUST_REVIEW):
        settlor = _int(fields.get("settlor_org_id"))
        if settlor is None:
            errors["settlor_org_id"] = "请选择委托人"
    else:
        settlor = viewer.actor.organisation_id
    trustee = _int(fields.get("trustee_org_id"))
    if trustee is None:
        errors["trustee_org_id"] = "请选择受托人（持牌信托公司）"
    rate, fixed = _fee(fields, errors)
    start = parse_date(fields.get("term_start"), "term_start", "开始日期", errors, required=True)
    end = parse_date(fields.get("term_end"), "term_end", "结束日期", errors, required=True)
    beneficiaries = _beneficiaries(fields, errors, values)
    codes = _assets(checked, fields.get("assets_extra", ""))
    if errors:
        return None, errors
    try:
        data = TrustIn(
            code=fields.get("code", "").strip(), title=fields.get("title", "").strip(),
            description=fields.get("description", "").strip(), settlor_org_id=settlor, trustee_org_id=trustee,
            purpose=fields.get("purpose", ""), fee_rate_bp=rate, fee_fixed_fen=fixed, term_start=start,
            term_end=end, beneficiaries=beneficiaries, assets=codes,
        )  # fmt: skip
    except ValidationError as exc:
        errors = _group(validation_errors(exc, FIELD_TITLES))
        if "code" in errors and fields.get("code"):
            errors["code"] = "信托代码：2–64 个字符，只能用小写字母、数字、连字符和下划线，以字母或数字开头"
        return None, errors
    return data, {}


def _candidates(session: Session, viewer: Viewer, settlor_org_id: int | None) -> list[Any]:
    """The settlor's registrations in force of the asset itself, offered as checkboxes."""
    if settlor_org_id is None:
        return []
    regs = registry.list_registrations(session, viewer.actor, state="registered")
    return [r for r in regs if r.holder_org_id == settlor_org_id and r.kind in trusts.ASSET_KINDS and r.code]


def _form_page(
    request: Request,
    session: Session,
    viewer: Viewer,
    *,
    trust: TrustRead | None,
    values: dict[str, Any],
    error: str = "",
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    actor = viewer.actor
    orgs = identity.list_organisations(session, actor)
    by_kind: dict[str, list[Any]] = {}
    for org in orgs:
        by_kind.setdefault(org.kind, []).append(org)
    settlor_id = _int(values.get("settlor_org_id"))
    settlor_name = next((o.name for o in orgs if o.id == settlor_id), "")
    candidates = _candidates(session, viewer, settlor_id)
    offered = {r.code for r in candidates}
    if not values.get("assets_extra"):  # codes not offered as checkboxes stay in the text box
        values["assets_extra"] = "\n".join(c for c in values.get("assets", []) if c not in offered)
    context = {
        "trust": trust, "form": values, "error": error, "errors": errors or {}, "fee_kinds": FEE_KINDS,
        "trustees": [o for kind in TRUSTEE_KINDS for o in by_kind.get(kind, [])],
        "org_groups": [(ORGANISATION_KIND_LABELS.get(k, k), by_kind[k]) for k in ORGANISATION_KIND_LABELS
                       if k in by_kind],
        "settlors": [o for o in orgs if o.uscc], "choose_settlor": trust is None and actor.can(Permission.TRUST_REVIEW),
        "settlor_name": settlor_name, "candidates": candidates,
        "action": f"/trusts/{trust.id}/edit" if trust else "/trusts/new", "kind_labels": ORGANISATION_KIND_LABELS,
    }  # fmt: skip
    return trust_page(request, "trusts/form.html", context, status_code=status_code)


def _draft_of(session: Session, viewer: Viewer, trust_id: int) -> TrustRead:
    trust = trusts.get_trust(session, viewer.actor, trust_id)
    _may_manage(viewer)
    if not _editable(viewer, trust):
        if trust.state != "draft":
            raise Forbidden(f"数据信托当前为“{trust.state_label}”，只有草稿可以修改")
        raise Forbidden("只有委托人机构（或平台运营方）可以修改数据信托")
    return trust


@router.get("/trusts/{trust_id}/edit", response_class=HTMLResponse)
def trust_edit(request: Request, trust_id: int, session: DB, viewer: ViewerDep) -> Response:
    """修改草稿: the form with the draft as it is."""
    if not viewer.signed_in:
        return login_redirect(request)
    trust = _draft_of(session, viewer, trust_id)
    return _form_page(request, session, viewer, trust=trust, values=_values(trust, viewer))


async def _save(request: Request, session: Session, viewer: Viewer, trust_id: int | None) -> Response:
    raw = await request.form()
    check_csrf(viewer, str(raw.get("csrf_token") or ""))
    _may_manage(viewer)
    fields = form_fields(raw)
    trust = trusts.get_trust(session, viewer.actor, trust_id) if trust_id is not None else None
    if trust is not None:
        fields["code"] = trust.code  # the trust's key: not editable
        fields["settlor_org_id"] = str(trust.settlor_org_id)
    elif not viewer.actor.can(Permission.TRUST_REVIEW):
        fields["settlor_org_id"] = str(viewer.actor.organisation_id or "")
    checked = [str(c) for c in raw.getlist("assets")]
    values: dict[str, Any] = {**fields, "assets": checked, "assets_extra": fields.get("assets_extra", "")}
    data, errors = _trust_in(fields, checked, viewer, trust, values)
    if data is None:
        return _form_page(request, session, viewer, trust=trust, values=values, error="数据信托未保存，请按提示修改。",
                          errors=errors, status_code=422)  # fmt: skip
    actor, checked_data = viewer.actor, data
    try:
        if trust is None:
            saved = attempt(session, lambda: trusts.create_trust(session, actor, checked_data))
        else:
            tid = trust.id
            saved = attempt(session, lambda: trusts.update_trust(session, actor, tid, checked_data))
    except PubdataError as exc:
        status = _shown_refusal(exc)
        return _form_page(request, session, viewer, trust=trust, values=values, error=exc.message,
                          errors=_group(service_errors(exc)), status_code=status)  # fmt: skip
    return RedirectResponse(f"/trusts/{saved.id}", status_code=303)


@router.post("/trusts/new", response_class=HTMLResponse)
async def trust_create(request: Request, session: DB, viewer: ViewerDep) -> Response:
    if not viewer.signed_in:
        return login_redirect(request)
    return await _save(request, session, viewer, None)


@router.post("/trusts/{trust_id}/edit", response_class=HTMLResponse)
async def trust_update(request: Request, trust_id: int, session: DB, viewer: ViewerDep) -> Response:
    if not viewer.signed_in:
        return login_redirect(request)
    return await _save(request, session, viewer, trust_id)
