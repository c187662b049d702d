"""数据资产登记 (the data-asset registry) pages: the list of registrations (in public notice and after
for everyone, the organisation's own in any state), one registration (details, sources and their
legality basis, events, objections with a form, the applicant's and the registrar's steps), the
application form, the registrar's queue (受理 / 形式审核 / 公示 / 赋码 / 异议处理), the printable
certificate with its PDF, and the public verification page 登记证书查验.

Pages call ``assets.registry.service`` only; the service decides who sees and may do what (an
application that is not public is not found for anyone but its holder, counterparty, applicant and
the registrar). Every form that changes something is a POST carrying the login session's CSRF token;
a refusal is shown on the page in Chinese with what was typed kept, and the service call runs in a
savepoint so a refused step leaves nothing half-done; a successful POST redirects (303). The
verification form is a GET (it changes nothing but the audit trail, and anyone may use it).

Uploading one's data to recompute its fingerprint is not offered: the fingerprint is over the values
as the platform typed them on loading (the ingest's cleaning and typing), which a file alone does not
fix; the page shows the canonical form and a short stand-alone script instead (``FINGERPRINT_SCRIPT``)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from pubdata.access.service import beijing_today
from pubdata.api.deps import DB, Home
from pubdata.api.v1.registry import product_facts, verification_url
from pubdata.assets.registry import service as registry
from pubdata.assets.registry.errors import InvalidRegistration, RegistrationNotFound
from pubdata.assets.registry.schemas import (
    BASES,
    CLASSIFICATIONS,
    KINDS,
    RIGHTS,
    STATES,
    SUBJECTS,
    ChainIn,
    FormalReviewIn,
    RegistrationIn,
    RegistrationRead,
    ResolveIn,
)
from pubdata.authz import Permission
from pubdata.catalog.vocab import SCENARIOS
from pubdata.errors import Forbidden, PubdataError
from pubdata.identity import service as identity
from pubdata.web.access_forms import NO_STORE, Names, attempt, check_csrf, login_redirect, validation_message
from pubdata.web.deps import ViewerDep
from pubdata.web.templating import Viewer, render

router = APIRouter(include_in_schema=False)

SOURCE_ROWS = 3  # source lines on the application form
# the registrar's steps: action → (the states it applies to, its label)
REVIEW_ACTIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "accept": (("submitted",), "受理"),
    "reject": (("submitted",), "不予受理"),
    "pass": (("accepted",), "形式审核通过并公示"),
    "return": (("accepted",), "退回补正"),
    "register": (("public_notice",), "登记赋码"),
}
OBJECTION_ACTIONS = {"dismiss": "异议不成立", "uphold": "异议成立（不予登记）"}
REVIEW_SECTIONS = (
    ("submitted", "待受理", "受理后进入形式审核；不予受理须说明理由（最终结果）。"),
    ("accepted", "形式审核", "审核通过即进入公示期；材料不全可退回补正，须说明理由。"),
    ("returned", "退回补正", "等待申请机构补正后重新提交。"),
    ("public_notice", "公示中", "公示期满（截止日的次日起）且异议均已处理，方可登记赋码。"),
)
APPLICANT_NEXT = {
    "submitted": "等待登记机构受理",
    "accepted": "登记机构形式审核中",
    "returned": "已退回补正：请按退回理由修改后重新提交",
    "rejected": "不予受理（最终结果）",
    "public_notice": "公示中：公示期内任何登录用户可提出异议",
    "refused": "异议成立，不予登记（最终结果）",
    "registered": "已登记赋码，可查看和下载登记证书",
    "superseded": "已由后续登记变更",
    "cancelled": "已注销",
}
FORM_PROBLEMS = {  # what the application form says for a field pydantic refuses
    "scenario": "应用场景：请选择",
    "classification": "分类分级：请选择",
    "rights": "登记权利：请至少选择一项",
    "sources": "来源数据：请至少填写一项目录编码及其依据",
}
CHAIN_KINDS = {"transfer": KINDS["transfer"], "licence": KINDS["licence"], "cancellation": KINDS["cancellation"]}

# A stand-alone way to recompute a fingerprint from one's own CSV (the values as the table stores
# them: an empty cell is NULL). tests/web/test_registry_pages.py runs it on the worked example.
FINGERPRINT_SCRIPT = """import csv, hashlib, sys, unicodedata
from decimal import Decimal

ESC, RS, US = "\\x1b", "\\x1e", "\\x1f"
FIELDS = {fields}  # 证书所载字段，按此顺序
KINDS = {{}}  # 非文本列的类型，如 {{"amount": "number"}}；可选 number、amount、integer

def render(value, kind):
    if value == "":
        return ESC + "N"  # 空单元格即空值（NULL）
    if kind in ("number", "amount"):
        d = Decimal(repr(float(value))) if kind == "number" else Decimal(value)
        text = format(d, "f")
        text = text.rstrip("0").rstrip(".") if "." in text else text
        return "0" if text in ("-0", "") else text
    if kind == "integer":
        return str(int(value))
    text = unicodedata.normalize("NFC", value)
    return text.replace(ESC, ESC + ESC).replace(RS, ESC + RS).replace(US, ESC + US)

def line(values):
    return US.join(values).encode("utf-8")

with open(sys.argv[1], newline="", encoding="utf-8") as f:
    rows = list(csv.DictReader(f))
body = sorted(line([render(r[n], KINDS.get(n, "string")) for n in FIELDS]) for r in rows)
print(hashlib.sha256(RS.encode().join([line([render(n, "string") for n in FIELDS])] + body)).hexdigest())
"""


def fingerprint_script(field_names: list[str]) -> str:
    return FINGERPRINT_SCRIPT.format(fields=repr(list(field_names)))


# --- shared -------------------------------------------------------------------------------------


def _may_apply(viewer: Viewer) -> bool:
    """Who is offered the application form: ``registry:apply``, or a department publishing data
    (the service checks that every source is its own)."""
    actor = viewer.actor
    return actor.organisation_id is not None and (
        actor.can(Permission.REGISTRY_APPLY) or actor.can(Permission.CATALOG_ENTRY_UPDATE)
    )


def _tabs(viewer: Viewer) -> list[tuple[str, str, str]]:
    tabs = [("list", "/registry", "登记公示")]
    if viewer.signed_in and viewer.actor.organisation_id is not None:
        tabs.append(("mine", "/registry?mine=1", "本机构的登记"))
    if _may_apply(viewer):
        tabs.append(("apply", "/registry/apply", "申请登记"))
    if viewer.actor.can(Permission.REGISTRY_REVIEW):
        tabs.append(("review", "/registry/review", "登记审核"))
    tabs.append(("verify", "/registry/verify", "登记证书查验"))
    return tabs


def registry_page(
    request: Request,
    viewer: Viewer,
    template: str,
    context: dict[str, Any],
    *,
    tab: str,
    status_code: int = 200,
) -> HTMLResponse:
    """Render a registry page with the shared context: tabs and the fixed lists' labels."""
    ctx: dict[str, Any] = {
        "nav": "registry", "tabs": _tabs(viewer), "tab": tab, "kinds": KINDS, "states": STATES,
        "subjects": SUBJECTS, "rights": RIGHTS, "bases": BASES, "classifications": CLASSIFICATIONS,
        "scenarios": SCENARIOS, "error": "", "error_key": "", "form": {}, "today": beijing_today(),
    }  # fmt: skip
    ctx.update(context)
    return render(request, template, ctx, status_code=status_code, headers=NO_STORE)


def _shown_refusal(exc: PubdataError) -> int:
    """Refusals shown on the page (forbidden steps, conflicts, bad input); anything else (not found,
    signed out) goes to the error page."""
    if exc.status in (403, 409, 422):
        return exc.status
    raise exc


async def _fields(request: Request, viewer: Viewer) -> tuple[dict[str, str], Any]:
    form = await request.form()
    fields = {k: str(v) for k, v in form.items()}
    check_csrf(viewer, fields.get("csrf_token"))
    return fields, form


# --- the list -----------------------------------------------------------------------------------


@router.get("/registry", response_class=HTMLResponse)
def registrations(request: Request, session: DB, viewer: ViewerDep, mine: str = "", state: str = "") -> Response:
    """数据资产登记: registrations in notice and after (everyone), the organisation's own in any state."""
    own = bool(mine) and viewer.actor.organisation_id is not None
    chosen = state if state in STATES else None
    rows = registry.list_registrations(session, viewer.actor, mine=own, state=chosen)
    rows.sort(key=lambda r: (r.registered_on or r.notice_from or r.created_at.date(), r.id), reverse=True)
    context = {"rows": rows, "mine": own, "state": chosen or "", "next_step": APPLICANT_NEXT}
    return registry_page(request, viewer, "registry/index.html", context, tab="mine" if own else "list")


# --- one registration ---------------------------------------------------------------------------


def _registration_page(
    request: Request,
    session: Session,
    viewer: Viewer,
    registration_id: int,
    *,
    error: str = "",
    error_key: str = "",
    form: dict[str, str] | None = None,
    status_code: int = 200,
    objected: bool = False,
) -> HTMLResponse:
    reg: RegistrationRead = registry.get_registration(session, viewer.actor, registration_id)
    actor = viewer.actor
    names = Names(session, viewer)
    privileged = bool(reg.events)
    if privileged:
        names.know_users_of({reg.holder_org_id, reg.counterparty_org_id, actor.organisation_id})
    holder = actor.organisation_id is not None and actor.organisation_id in (reg.holder_org_id, reg.counterparty_org_id)
    today = beijing_today()
    context = {
        "r": reg, "privileged": privileged, "user_name": names.user, "next_step": APPLICANT_NEXT,
        "registrar": actor.can(Permission.REGISTRY_REVIEW) and actor.user_id is not None,
        "own_application": actor.user_id is not None and privileged and any(
            e.action == "apply" and e.actor_user_id == actor.user_id for e in reg.events),
        "may_resubmit": holder and reg.state == "returned",
        "may_amend": holder and reg.state == "registered" and actor.organisation_id == reg.holder_org_id
        and reg.kind in ("initial", "change", "correction", "transfer"),
        "may_object": viewer.signed_in and reg.state == "public_notice" and reg.notice_until is not None
        and today <= reg.notice_until,
        "notice_over": reg.notice_until is not None and today > reg.notice_until,
        "chain_kinds": CHAIN_KINDS, "actions": REVIEW_ACTIONS, "objection_actions": OBJECTION_ACTIONS,
        "error": error, "error_key": error_key, "form": form or {}, "objected": objected and viewer.signed_in,
    }  # fmt: skip
    tab = "mine" if reg.state not in registry.PUBLIC_STATES and holder else "list"
    return registry_page(request, viewer, "registry/registration.html", context, tab=tab, status_code=status_code)


@router.get("/registry/registrations/{registration_id}", response_class=HTMLResponse)
def registration(
    request: Request, registration_id: int, session: DB, viewer: ViewerDep, objected: str = ""
) -> Response:
    """One registration: what is registered, its sources, and for the privileged its history and
    objections; the forms of the steps the viewer may take."""
    return _registration_page(request, session, viewer, registration_id, objected=bool(objected))


async def _registration_step(
    request: Request, session: Session, viewer: Viewer, registration_id: int, key: str, step: Any
) -> Response:
    """Run ``step(fields, form)`` for a form on the registration's page: on success to the page of
    the registration it returns (an amendment is a registration of its own), else the page again
    with the refusal."""
    if not viewer.signed_in:
        return login_redirect(request, f"/registry/registrations/{registration_id}")
    fields, form = await _fields(request, viewer)
    try:
        done = attempt(session, lambda: step(fields, form))
    except PubdataError as exc:
        status = _shown_refusal(exc)
        return _registration_page(request, session, viewer, registration_id, error=exc.message, error_key=key,
                                  form=fields, status_code=status)  # fmt: skip
    target = done.id if isinstance(done, RegistrationRead) else registration_id
    filed = "?objected=1" if key == "objections" else ""  # the filer does not see objections: say it is filed
    return RedirectResponse(f"/registry/registrations/{target}{filed}#{key}", status_code=303)


@router.post("/registry/registrations/{registration_id}/objections", response_class=HTMLResponse)
async def object_to(request: Request, registration_id: int, session: DB, viewer: ViewerDep) -> Response:
    """异议: any signed-in user during the public notice."""

    def step(fields: dict[str, str], _form: Any) -> Any:
        return registry.file_objection(session, viewer.actor, registration_id, fields.get("text", ""))

    return await _registration_step(request, session, viewer, registration_id, "objections", step)


@router.post("/registry/registrations/{registration_id}/resubmit", response_class=HTMLResponse)
async def resubmit(request: Request, registration_id: int, session: DB, viewer: ViewerDep, home: Home) -> Response:
    """The applicant resubmits a returned application with a corrected description, coverage and
    update frequency (the rest as applied for; the API takes a whole corrected application)."""

    def step(fields: dict[str, str], _form: Any) -> Any:
        reg = registry.get_registration(session, viewer.actor, registration_id)
        data = _resubmitted(reg, fields)
        return registry.resubmit(session, viewer.actor, registration_id, data, products=product_facts, home=home)

    return await _registration_step(request, session, viewer, registration_id, "resubmit", step)


def _resubmitted(reg: RegistrationRead, fields: dict[str, str]) -> RegistrationIn | None:
    if reg.kind not in ("initial", "change", "correction"):
        return None
    try:
        return RegistrationIn(
            kind=reg.kind, previous_id=reg.previous_id, subject=reg.subject, product_id=reg.product_id,  # type: ignore[arg-type]
            resource_id=reg.resource_id, title=fields.get("title", reg.title).strip(),
            description=fields.get("description", reg.description).strip(), holder_name=reg.holder_name,
            holder_uscc=reg.holder_uscc, rights=reg.rights,  # type: ignore[arg-type]
            sources=[{"entry": s.entry, "basis": s.basis, "grant_id": s.grant_id} for s in reg.sources],  # type: ignore[misc]
            update_frequency=fields.get("update_frequency", reg.update_frequency).strip(),
            coverage=fields.get("coverage", reg.coverage).strip(), scenario=reg.scenario,  # type: ignore[arg-type]
            classification=reg.classification, reason=fields.get("reason", "").strip(),  # type: ignore[arg-type]
        )  # fmt: skip
    except ValidationError as exc:
        raise InvalidRegistration(validation_message(exc)["message"]) from None


@router.post("/registry/registrations/{registration_id}/chain", response_class=HTMLResponse)
async def amend(request: Request, registration_id: int, session: DB, viewer: ViewerDep) -> Response:
    """The holder applies for a transfer, licence or cancellation of a registered registration."""

    def step(fields: dict[str, str], form: Any) -> Any:
        kind = fields.get("kind", "")
        chained = kind in ("transfer", "licence")
        try:
            data = ChainIn(
                kind=kind, previous_id=registration_id, reason=fields.get("reason", "").strip(),  # type: ignore[arg-type]
                counterparty_org=(fields.get("counterparty_org") or "").strip() or None if chained else None,
                counterparty_name=(fields.get("counterparty_name") or "").strip() or None if chained else None,
                counterparty_uscc=(fields.get("counterparty_uscc") or "").strip() or None if chained else None,
                rights=[str(x) for x in form.getlist("rights")] or None if kind == "licence" else None,
                licence_until=(fields.get("licence_until") or None) if kind == "licence" else None,
            )  # fmt: skip
        except ValidationError as exc:
            problem = validation_message(exc)
            if problem["field"] == "kind":
                problem["message"] = "请选择登记类型：转移、许可或注销"
            raise InvalidRegistration(problem["message"], field=problem["field"]) from None
        return registry.apply_chain(session, viewer.actor, data)

    return await _registration_step(request, session, viewer, registration_id, "amend", step)


@router.post("/registry/registrations/{registration_id}/{action}", response_class=HTMLResponse)
async def registrar_step_here(
    request: Request, registration_id: int, action: str, session: DB, viewer: ViewerDep
) -> Response:
    """One of the registrar's steps (``REVIEW_ACTIONS``), taken from the registration's page."""
    if action not in REVIEW_ACTIONS:
        raise RegistrationNotFound(f"没有这个操作：{action}")

    def step(fields: dict[str, str], _form: Any) -> Any:
        return _registrar_step(session, viewer, registration_id, action, fields)

    return await _registration_step(request, session, viewer, registration_id, f"{registration_id}-{action}", step)


# --- applying -----------------------------------------------------------------------------------


def _apply_page(
    request: Request,
    session: Session,
    viewer: Viewer,
    *,
    error: str = "",
    form: dict[str, Any] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    org = identity.own_organisation(session, viewer.actor)
    defaults = {"holder_name": org.name if org else "", "holder_uscc": (org.uscc or "") if org else "",
                "scenario": "", "classification": "general", "rights": [], "subject": "resource"}  # fmt: skip
    context = {
        "form": defaults | (form or {}), "error": error, "source_rows": range(SOURCE_ROWS),
        "apply_kinds": {k: KINDS[k] for k in ("initial", "change", "correction")},
    }  # fmt: skip
    return registry_page(request, viewer, "registry/apply.html", context, tab="apply", status_code=status_code)


def _require_apply(viewer: Viewer) -> None:
    if not _may_apply(viewer):
        raise Forbidden("申请登记仅供运营方、企业、数商及发布数据的部门使用")


@router.get("/registry/apply", response_class=HTMLResponse)
def apply_form(request: Request, session: DB, viewer: ViewerDep) -> Response:
    """申请登记: the application form (the holder is the viewer's organisation)."""
    if not viewer.signed_in:
        return login_redirect(request)
    _require_apply(viewer)
    return _apply_page(request, session, viewer)


def _optional_int(value: str | None) -> int | str | None:
    text = (value or "").strip()
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        return text  # pydantic refuses it, naming the field


def _application(fields: dict[str, str], form: Any) -> RegistrationIn:
    sources = []
    for i in range(SOURCE_ROWS):
        entry = (fields.get(f"source_entry_{i}") or "").strip()
        if entry:
            sources.append({"entry": entry, "basis": fields.get(f"source_basis_{i}", "own"),
                            "grant_id": _optional_int(fields.get(f"source_grant_{i}"))})  # fmt: skip
    subject = fields.get("subject", "resource")
    try:
        return RegistrationIn.model_validate(
            {
                "kind": fields.get("kind", "initial"), "previous_id": _optional_int(fields.get("previous_id")),
                "subject": subject,
                "product_id": _optional_int(fields.get("product_id")) if subject == "product" else None,
                "resource_id": (fields.get("resource_id") or "").strip() or None,
                "fingerprint": (fields.get("fingerprint") or "").strip() or None,
                "title": fields.get("title", "").strip(), "description": fields.get("description", "").strip(),
                "holder_name": fields.get("holder_name", "").strip(),
                "holder_uscc": fields.get("holder_uscc", "").strip(),
                "rights": [str(x) for x in form.getlist("rights")], "sources": sources,
                "update_frequency": fields.get("update_frequency", "").strip(),
                "coverage": fields.get("coverage", "").strip(), "scenario": fields.get("scenario", ""),
                "classification": fields.get("classification", ""), "reason": fields.get("reason", "").strip(),
            }
        )  # fmt: skip
    except ValidationError as exc:
        problem = validation_message(exc)
        message = FORM_PROBLEMS.get(problem["field"], problem["message"])
        raise InvalidRegistration(message, field=problem["field"]) from None


@router.post("/registry/apply", response_class=HTMLResponse)
async def apply(request: Request, session: DB, viewer: ViewerDep, home: Home) -> Response:
    if not viewer.signed_in:
        return login_redirect(request)
    fields, form = await _fields(request, viewer)
    _require_apply(viewer)
    typed: dict[str, Any] = fields | {"rights": [str(x) for x in form.getlist("rights")]}
    try:
        data = _application(fields, form)
        made = attempt(session, lambda: registry.apply(session, viewer.actor, data, products=product_facts, home=home))
    except PubdataError as exc:
        status = _shown_refusal(exc)
        return _apply_page(request, session, viewer, error=exc.message, form=typed, status_code=status)
    return RedirectResponse(f"/registry/registrations/{made.id}", status_code=303)


# --- the registrar ------------------------------------------------------------------------------


def _require_registrar(viewer: Viewer) -> None:
    if not viewer.actor.can(Permission.REGISTRY_REVIEW):
        raise Forbidden("登记审核仅供登记机构（平台运营方）使用")


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
    sections = [(state, title, hint, registry.list_registrations(session, actor, state=state))
                for state, title, hint in REVIEW_SECTIONS]  # fmt: skip
    context = {
        "sections": sections, "actions": REVIEW_ACTIONS, "objection_actions": OBJECTION_ACTIONS,
        "error": error, "error_key": error_key, "form": form or {},
    }  # fmt: skip
    return registry_page(request, viewer, "registry/review.html", context, tab="review", status_code=status_code)


@router.get("/registry/review", response_class=HTMLResponse)
def review(request: Request, session: DB, viewer: ViewerDep) -> Response:
    """登记审核: applications to accept, to review, returned, and in public notice with their
    objections; each with its steps."""
    if not viewer.signed_in:
        return login_redirect(request)
    _require_registrar(viewer)
    return _review_page(request, session, viewer)


def _notice_days(raw: str | None) -> Any:
    text = (raw or "").strip()
    try:
        return int(text) if text else 10
    except ValueError:
        raise InvalidRegistration(f"公示天数须为 1 至 {registry.MAX_NOTICE_DAYS} 之间的整数：{text}",
                                  field="notice_days") from None  # fmt: skip


def _registrar_step(session: Session, viewer: Viewer, registration_id: int, action: str, fields: dict[str, str]) -> Any:
    actor, reason = viewer.actor, fields.get("reason", "")
    if action in ("accept", "reject"):
        return registry.accept(session, actor, registration_id, accept=action == "accept", reason=reason)
    if action in ("pass", "return"):
        try:
            data = FormalReviewIn(action=action, reason=reason, notice_days=_notice_days(fields.get("notice_days")))
        except ValidationError:
            raise InvalidRegistration("理由最多 2000 个字", field="reason") from None
        return registry.formal_review(session, actor, registration_id, data)
    return registry.register(session, actor, registration_id)


@router.post("/registry/review/{registration_id}/{action}", response_class=HTMLResponse)
async def review_step(request: Request, registration_id: int, action: str, session: DB, viewer: ViewerDep) -> Response:
    """One of the registrar's steps (``REVIEW_ACTIONS``) from the queue."""
    if not viewer.signed_in:
        return login_redirect(request)
    if action not in REVIEW_ACTIONS:
        raise RegistrationNotFound(f"没有这个操作：{action}")
    fields, _ = await _fields(request, viewer)
    _require_registrar(viewer)
    try:
        attempt(session, lambda: _registrar_step(session, viewer, registration_id, action, fields))
    except PubdataError as exc:
        status = _shown_refusal(exc)
        return _review_page(request, session, viewer, error=exc.message, error_key=f"{registration_id}-{action}",
                            form=fields, status_code=status)  # fmt: skip
    return RedirectResponse(f"/registry/review#registration-{registration_id}", status_code=303)


@router.post("/registry/objections/{objection_id}/{action}", response_class=HTMLResponse)
async def resolve(request: Request, objection_id: int, action: str, session: DB, viewer: ViewerDep) -> Response:
    """The registrar resolves an objection (``OBJECTION_ACTIONS``), with its reasons; back to where
    the form was (the queue or the registration's page)."""
    if not viewer.signed_in:
        return login_redirect(request)
    if action not in OBJECTION_ACTIONS:
        raise RegistrationNotFound(f"没有这个操作：{action}")
    fields, _ = await _fields(request, viewer)
    _require_registrar(viewer)
    back = fields.get("back", "")
    try:  # an empty reason reaches the service, which refuses it in its own words
        data = ResolveIn(action=action, reason=fields.get("reason", "").strip() or " ")  # type: ignore[arg-type]
        done = attempt(session, lambda: registry.resolve_objection(session, viewer.actor, objection_id, data))
    except ValidationError:
        exc: PubdataError = InvalidRegistration("理由最多 2000 个字", field="reason")
        return _review_page(request, session, viewer, error=exc.message, error_key=f"objection-{objection_id}",
                            form=fields, status_code=422)  # fmt: skip
    except PubdataError as exc:
        status = _shown_refusal(exc)
        return _review_page(request, session, viewer, error=exc.message, error_key=f"objection-{objection_id}",
                            form=fields, status_code=status)  # fmt: skip
    if back == "registration":
        return RedirectResponse(f"/registry/registrations/{done.registration_id}#objections", status_code=303)
    return RedirectResponse(f"/registry/review#registration-{done.registration_id}", status_code=303)


# --- certificates and verification --------------------------------------------------------------


@router.get("/registry/certificates/{code}", response_class=HTMLResponse)
def certificate(request: Request, code: str, session: DB, viewer: ViewerDep) -> Response:
    """登记证书: printable (print CSS), with the PDF and the verification link."""
    cert = registry.certificate(session, viewer.actor, code)
    context = {"c": cert, "verify_url": verification_url(request, cert.code)}
    return registry_page(request, viewer, "registry/certificate.html", context, tab="list")


@router.get("/registry/verify", response_class=HTMLResponse)
def verify_form(request: Request, session: DB, viewer: ViewerDep, code: str = "", fingerprint: str = "") -> Response:
    """登记证书查验: enter a code (and optionally one's own fingerprint)."""
    text = code.strip()
    if text:
        if registry.CODE_PATTERN.match(text.upper()):
            target = f"/registry/verify/{text.upper()}"
            query = f"?fingerprint={quote(fingerprint.strip())}" if fingerprint.strip() else ""
            return RedirectResponse(target + query, status_code=303)
        problem = f"登记编号格式应为 {registry.city_prefix()}-DR-年份-六位序号：{text}"
        context = {"code": text, "v": None, "c": None, "problem": problem}
        return registry_page(request, viewer, "registry/verify.html", context, tab="verify", status_code=400)
    context = {"code": "", "v": None, "c": None, "problem": ""}
    return registry_page(request, viewer, "registry/verify.html", context, tab="verify")


@router.get("/registry/verify/{code}", response_class=HTMLResponse)
def verify(request: Request, code: str, session: DB, viewer: ViewerDep, fingerprint: str = "") -> Response:
    """The answer for a code: the certificate's status and data, and whether a given fingerprint
    matches the registered one; how to compute one's own."""
    given = fingerprint.strip()[:64] or None
    try:
        result = registry.verify(session, code, given, actor=viewer.actor)
    except RegistrationNotFound:
        problem = f"未找到登记编号为 {code} 的登记证书，请核对编号。"
        missing: dict[str, Any] = {"code": code, "v": None, "c": None, "problem": problem}
        return registry_page(request, viewer, "registry/verify.html", missing, tab="verify", status_code=404)
    context: dict[str, Any] = {
        "code": result.code, "v": result, "c": result.certificate, "problem": "",
        "script": fingerprint_script(result.certificate.field_names),
    }  # fmt: skip
    return registry_page(request, viewer, "registry/verify.html", context, tab="verify")
