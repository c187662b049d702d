"""政策通 application pages: the application form of a clause (prefilled from the enterprise's
facts, with the materials it lists and their uploads), 我的申报 (an enterprise's applications), the
reviewer's queue, and one application — claimed facts next to the public ones with differences
marked, the materials, the explanation, the cap — with the forms of whoever may act on it now.

Pages call the same services as the API (``policy.applications.workflow`` and its companions); the services
decide who may do what. Every form is a POST carrying the login session's CSRF token (in multipart
forms it comes first and is checked before a byte of any file is written); a refusal is shown on the
page in Chinese with its status, and the service calls run in a savepoint so that a refused step
leaves nothing half-done; a successful POST redirects (303) to the application. Money is entered and
shown in 万元 as the policy text writes it (stored as integer yuan).
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from pubdata.api.deps import DB
from pubdata.api.v1.file_uploads import ReceivedForm, receive_materials
from pubdata.authz import Permission
from pubdata.catalog.vocab import DISTRICT_NAMES
from pubdata.errors import Forbidden, Invalid, PubdataError
from pubdata.policy.applications import materials as mats
from pubdata.policy.applications import reads
from pubdata.policy.applications import reviews as review
from pubdata.policy.applications import workflow as apps
from pubdata.policy.applications.schemas import ApplicationRead
from pubdata.policy.packs.explain import money
from pubdata.policy.packs.pack import Pack
from pubdata.web.access_forms import NO_STORE, Names, attempt, check_csrf, login_redirect
from pubdata.web.deps import ViewerDep
from pubdata.web.templating import Viewer, render

router = APIRouter(include_in_schema=False)
WAN = Decimal(10_000)
KIND_LABELS = {
    "fixed": "固定金额",
    "up_to": "最高限额",
    "formula": "按比例计算",
    "assessed": "据实核定",
    "none": "认定标准",
}
STATUS_LABELS = {"same": "一致", "differs": "不一致", "no_public": "公共数据无记录", "unknown": "未知"}


def _home(request: Request) -> Any:
    return request.app.state.settings.home


def _limit(request: Request) -> int:
    return int(request.app.state.settings.policy_material_max_mb) * 1024**2


def _error(exc: PubdataError) -> dict[str, Any]:
    return {"message": exc.message, "status": exc.status}


def wan_to_yuan(text: str, title: str) -> int | None:
    """``"45.5"`` (万元) → ``455000``; empty → None."""
    raw = (text or "").strip().replace(",", "").replace("，", "")
    if not raw:
        return None
    try:
        value = Decimal(raw) * WAN
    except InvalidOperation:
        raise Invalid(f"{title}应为数字（万元）：{raw}", field=title) from None
    if value != value.to_integral_value():
        raise Invalid(f"{title}最多精确到元（万元的小数点后四位）：{raw}", field=title)
    if value < 0:
        raise Invalid(f"{title}不能为负数：{raw}", field=title)
    return int(value)


def yuan_to_wan(value: Any) -> str:
    if value is None:
        return ""
    return format((Decimal(value) / WAN).normalize(), "f")


def _fact_value(pack: Pack, name: str, fields: dict[str, str]) -> Any:
    """A claimed fact from the form (``fact.<name>``), in the pack's type."""
    spec = pack.inputs[name]
    raw = fields.get(f"fact.{name}", "").strip()
    if spec.type == "boolean":
        return {"true": True, "false": False}.get(raw)
    if spec.type == "money":
        return wan_to_yuan(raw, spec.title)
    if spec.type in ("integer", "number"):
        if not raw:
            return None
        try:
            number = Decimal(raw.replace(",", ""))
        except InvalidOperation:
            raise Invalid(f"{spec.title}应为数字：{raw}", field=name) from None
        return int(number) if spec.type == "integer" and number == number.to_integral_value() else float(number)
    return raw or None


def _form_fields(form: Any, source: dict[str, Any] | None) -> dict[str, str]:
    """The form's text for each fact, from values (public or claimed)."""
    out = {}
    for name in form.inputs:
        spec = form.pack.inputs[name]
        value = (source or {}).get(name)
        if value is None:
            out[name] = ""
        elif spec.type == "boolean":
            out[name] = "true" if value else "false"
        elif spec.type == "money":
            out[name] = yuan_to_wan(value)
        else:
            out[name] = str(value)
    return out


# --- the application form ------------------------------------------------------------------------------


def _apply_page(
    request: Request,
    session: Session,
    viewer: Viewer,
    pack_id: str,
    clause_id: str,
    *,
    values: dict[str, str] | None = None,
    note: str = "",
    error: dict[str, Any] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    form = reads.prepare_application(session, viewer.actor, pack_id, clause_id, home=_home(request))
    context = {
        "nav": "policies",
        "form": form,
        "values": values if values is not None else _form_fields(form, form.public),
        "public_text": _form_fields(form, form.public),
        "note": note,
        "error": error,
        "place": form.pack.spec.reviewer.of,
        "districts": DISTRICT_NAMES,
        "money": money,
        "kind_labels": KIND_LABELS,
        "limit_mb": request.app.state.settings.policy_material_max_mb,
        "action_url": f"/policies/{pack_id}/apply/{clause_id}",
    }
    return render(request, "applications/apply.html", context, status_code=status_code, headers=NO_STORE)


@router.get("/policies/{pack_id}/apply/{clause_id}", response_class=HTMLResponse)
def apply_page(request: Request, pack_id: str, clause_id: str, session: DB, viewer: ViewerDep) -> Response:
    if not viewer.signed_in:
        return login_redirect(request)
    return _apply_page(request, session, viewer, pack_id, clause_id)


def _create(
    session: Session, viewer: Viewer, request: Request, pack_id: str, clause_id: str, received: ReceivedForm
) -> int:
    """The draft, its materials and (when asked and complete) the submission, in one savepoint."""
    fields = received.fields
    home = _home(request)
    form = reads.prepare_application(session, viewer.actor, pack_id, clause_id, home=home)
    claimed = {n: _fact_value(form.pack, n, fields) for n in form.inputs if n != form.pack.spec.reviewer.of}
    labels = list(form.clause.materials)

    def act() -> int:
        app = apps.submit_application(
            session, viewer.actor, pack_id, clause_id, claimed_facts=claimed, note=fields.get("note", ""), home=home
        )
        for f in received.files:
            index = int(f.field.removeprefix("material.")) if f.field.startswith("material.") else -1
            if not 0 <= index < len(labels):
                raise Invalid(f"未知的材料栏目：{f.field}", field="materials")
            mats.add_material(session, viewer.actor, app.id, labels[index], f.staged, home=home)
        if fields.get("submit") == "1" and not apps.missing_materials(session, app, form.clause):
            apps.submit_draft(session, viewer.actor, app.id)
        return int(app.id)

    return attempt(session, act)


@router.post("/policies/{pack_id}/apply/{clause_id}", response_class=HTMLResponse)
async def apply_submit(request: Request, pack_id: str, clause_id: str, session: DB, viewer: ViewerDep) -> Response:
    if not viewer.signed_in:
        return login_redirect(request)
    if not viewer.csrf_token:
        check_csrf(viewer, None)
    form = await run_in_threadpool(
        reads.prepare_application, session, viewer.actor, pack_id, clause_id, home=_home(request)
    )

    def before_file(fields: dict[str, str], _name: str) -> None:
        check_csrf(viewer, fields.get("csrf_token"))

    received = ReceivedForm()
    try:
        await receive_materials(
            request, _home(request), limit=_limit(request), max_files=max(len(form.clause.materials), 1),
            before_file=before_file, into=received,
        )  # fmt: skip
        check_csrf(viewer, received.fields.get("csrf_token"))
        app_id = await run_in_threadpool(_create, session, viewer, request, pack_id, clause_id, received)
    except Forbidden:
        received.discard()
        raise
    except PubdataError as exc:
        received.discard()
        if exc.status >= 500:
            raise
        typed = received.fields
        values = {n: typed.get(f"fact.{n}", "") for n in form.inputs} if typed else None
        error, status = _error(exc), exc.status

        def again() -> HTMLResponse:
            return _apply_page(request, session, viewer, pack_id, clause_id, values=values,
                               note=typed.get("note", ""), error=error, status_code=status)  # fmt: skip

        return await run_in_threadpool(again)
    return RedirectResponse(f"/applications/{app_id}", status_code=303)


# --- lists ---------------------------------------------------------------------------------------------


@router.get("/me/applications", response_class=HTMLResponse)
def my_applications(request: Request, session: DB, viewer: ViewerDep) -> Response:
    if not viewer.signed_in:
        return login_redirect(request)
    rows = reads.list_applications(session, viewer.actor, box="mine")
    context = {"nav": "applications", "rows": rows, "money": money, "mine": True,
               "may_apply": viewer.actor.can(Permission.POLICY_APPLICATION_SUBMIT)}  # fmt: skip
    return render(request, "applications/mine.html", context, headers=NO_STORE)


@router.get("/review/applications", response_class=HTMLResponse)
def review_queue(request: Request, session: DB, viewer: ViewerDep) -> Response:
    if not viewer.signed_in:
        return login_redirect(request)
    actor = viewer.actor
    if actor.can(Permission.POLICY_APPLICATION_READ_ANY):
        box = "all"
    elif actor.can(Permission.POLICY_APPLICATION_REVIEW) and actor.organisation_id is not None:
        box = "review"
    else:
        raise Forbidden("您的账号不审核政策申报：政策申报由平台为企业注册地所在区（市）配置的主管部门审核")
    rows = reads.list_applications(session, actor, box=box)
    groups = [
        ("pending", "待审核", [r for r in rows if r.state == "submitted"]),
        ("to-pay", "已核准、待拨付", [r for r in rows if r.state == "approved"]),
        ("others", "其他申报", [r for r in rows if r.state not in ("submitted", "approved")]),
    ]
    context = {"nav": "applications", "groups": groups, "money": money, "oversight": box == "all"}
    return render(request, "applications/queue.html", context, headers=NO_STORE)


@router.get("/applications/review-count", response_class=HTMLResponse)
def review_count(request: Request, session: DB, viewer: ViewerDep) -> Response:
    """The navigation's badge: applications waiting for the viewer's bureau (loaded by htmx)."""
    count = reads.pending_count(session, viewer.actor) if viewer.signed_in else 0
    return render(request, "applications/_count.html", {"count": count}, headers=NO_STORE)


# --- one application -----------------------------------------------------------------------------------


def _application_page(
    request: Request,
    session: Session,
    viewer: Viewer,
    application_id: int,
    *,
    error: dict[str, Any] | None = None,
    error_form: str = "",
    values: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    app: ApplicationRead = reads.get_application(session, viewer.actor, application_id)
    names = Names(session, viewer)
    names.know_users_of([app.organisation_id, app.reviewer_org_id])
    stored = apps.visible_application(session, viewer.actor, application_id)
    pack = apps.pack_of(session, stored)
    actions = app.actions if viewer.csrf_token else []
    claimed_form = {f.name: f for f in app.facts}
    default_amount = app.cap if app.cap is not None else app.computed_amount
    form = {"amount": yuan_to_wan(default_amount), "reason": "", "reference": "", "note": app.note}
    form.update(values or {})
    context = {
        "nav": "applications",
        "app": app,
        "pack": pack,
        "clause": pack.clause(app.clause_id),
        "facts": app.facts,
        "claimed_form": claimed_form,
        "edit_values": _claimed_text(pack, app),
        "actions": actions,
        "may_download": apps.may_download(viewer.actor, stored),
        "events": [
            {
                "action": apps.ACTION_LABELS.get(e.action, e.action),
                "code": e.action,
                "who": names.user(e.actor_user_id),
                "org": names.org(e.actor_org_id),
                "at": e.at,
                "to": apps.STATE_LABELS.get(e.to_state, e.to_state),
                "amount": e.amount,
                "reason": e.reason,
            }
            for e in app.events
        ],
        "status_labels": STATUS_LABELS,
        "kind_labels": KIND_LABELS,
        "money": money,
        "wan": yuan_to_wan,
        "error": error,
        "error_form": error_form,
        "form": form,
        "limit_mb": request.app.state.settings.policy_material_max_mb,
    }
    return render(request, "applications/application.html", context, status_code=status_code, headers=NO_STORE)


def _claimed_text(pack: Pack, app: ApplicationRead) -> dict[str, str]:
    out = {}
    for f in app.facts:
        if f.name == pack.spec.reviewer.of:
            continue
        if f.claimed is None:
            out[f.name] = ""
        elif f.type == "boolean":
            out[f.name] = "true" if f.claimed else "false"
        elif f.type == "money":
            out[f.name] = yuan_to_wan(f.claimed)
        else:
            out[f.name] = str(f.claimed)
    return out


@router.get("/applications/{application_id}", response_class=HTMLResponse)
def application_page(request: Request, application_id: int, session: DB, viewer: ViewerDep) -> Response:
    if not viewer.signed_in:
        return login_redirect(request)
    return _application_page(request, session, viewer, application_id)


@router.post("/applications/{application_id}/materials", response_class=HTMLResponse)
async def material_upload(request: Request, application_id: int, session: DB, viewer: ViewerDep) -> Response:
    if not viewer.signed_in:
        return login_redirect(request)
    if not viewer.csrf_token:
        check_csrf(viewer, None)
    await run_in_threadpool(mats.begin_material, session, viewer.actor, application_id)

    def before_file(fields: dict[str, str], _name: str) -> None:
        check_csrf(viewer, fields.get("csrf_token"))
        mats.begin_material(session, viewer.actor, application_id, fields.get("label", ""))

    received = ReceivedForm()
    try:
        received = await receive_materials(request, _home(request), limit=_limit(request), before_file=before_file)
        check_csrf(viewer, received.fields.get("csrf_token"))
        if not received.files:
            raise Invalid("请选择要上传的文件", field="file")
        staged = received.files[0].staged
        label = received.fields.get("label", "")
        home = _home(request)

        def add() -> object:
            return attempt(
                session, lambda: mats.add_material(session, viewer.actor, application_id, label, staged, home=home)
            )

        await run_in_threadpool(add)
    except Forbidden:
        received.discard()
        raise
    except PubdataError as exc:
        received.discard()
        if exc.status >= 500:
            raise
        error, status = _error(exc), exc.status

        def again() -> HTMLResponse:
            return _application_page(request, session, viewer, application_id, error=error, error_form="material",
                                     status_code=status)  # fmt: skip

        return await run_in_threadpool(again)
    return RedirectResponse(f"/applications/{application_id}#materials", status_code=303)


def _step(session: Session, viewer: Viewer, application_id: int, action: str, fields: dict[str, str]) -> None:
    actor = viewer.actor
    reason = fields.get("reason", "")
    if action == "submit":
        apps.submit_draft(session, actor, application_id)
    elif action == "resubmit":
        apps.resubmit_application(session, actor, application_id)
    elif action == "withdraw":
        apps.withdraw_application(session, actor, application_id, reason)
    elif action == "approve":
        amount = wan_to_yuan(fields.get("amount", ""), "核准金额")
        if amount is None:
            raise Invalid("请填写核准金额（万元）", field="amount")
        review.approve_application(session, actor, application_id, amount, reason)
    elif action == "reject":
        review.reject_application(session, actor, application_id, reason)
    elif action == "return":
        review.return_application(session, actor, application_id, reason)
    elif action == "disburse":
        review.disburse_application(session, actor, application_id, fields.get("reference", ""))
    elif action == "update":
        stored = apps.visible_application(session, actor, application_id)
        pack = apps.pack_of(session, stored)
        clause = pack.clause(stored.clause_id)
        inputs = apps.clause_inputs(pack, clause)
        claimed = {n: _fact_value(pack, n, fields) for n in inputs if n != pack.spec.reviewer.of}
        apps.update_claim(session, actor, application_id, claimed_facts=claimed, note=fields.get("note"))


ACTIONS = ("submit", "resubmit", "withdraw", "approve", "reject", "return", "disburse", "update")


@router.post("/applications/{application_id}/{action}", response_class=HTMLResponse)
async def application_step(
    request: Request, application_id: int, action: str, session: DB, viewer: ViewerDep
) -> Response:
    if not viewer.signed_in:
        return login_redirect(request)
    if action not in ACTIONS:
        raise apps.ApplicationNotFound(f"没有这个操作：{action}")
    fields = {k: str(v) for k, v in (await request.form()).items()}
    check_csrf(viewer, fields.get("csrf_token"))

    def step() -> None:
        attempt(session, lambda: _step(session, viewer, application_id, action, fields))

    try:
        await run_in_threadpool(step)
    except Forbidden:
        raise
    except PubdataError as exc:
        if exc.status >= 500 or exc.status == 404:
            raise
        error, status = _error(exc), exc.status

        def again() -> HTMLResponse:
            return _application_page(request, session, viewer, application_id, error=error, error_form=action,
                                     values=fields, status_code=status)  # fmt: skip

        return await run_in_threadpool(again)
    return RedirectResponse(f"/applications/{application_id}", status_code=303)
