"""Native REST API for policy applications (政策通): apply for a clause, upload materials, follow the
application; the reviewing district bureau's decisions and the disbursement; the operator's routing
of districts to reviewers. The services decide who may do what (docs/policy.md)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse

from pubdata.api.deps import DB, ActorDep, Home
from pubdata.api.errors import ERROR_RESPONSES
from pubdata.api.params import DbId, enum_of
from pubdata.api.v1.file_uploads import receive_materials
from pubdata.catalog.vocab import DISTRICT_NAMES
from pubdata.policy.applications import materials as mats
from pubdata.policy.applications import reads, reviewers
from pubdata.policy.applications import reviews as review
from pubdata.policy.applications import workflow as apps
from pubdata.policy.applications.schemas import (
    ApplicationCreate,
    ApplicationRead,
    ApplicationSummary,
    ApproveIn,
    ClaimUpdate,
    DisburseIn,
    MaterialRead,
    ReasonIn,
    ReviewerRead,
    ReviewerSet,
)
from pubdata.policy.errors import InvalidMaterial

router = APIRouter(tags=["policy applications"], responses=ERROR_RESPONSES)

_UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "A multipart form: `label` (one of the clause's materials; before the file, or as "
        "?label=) and `file` (PDF, PNG or JPEG, checked by content; at most PUBDATA_POLICY_MATERIAL_MAX_MB).",
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {"label": {"type": "string"}, "file": {"type": "string", "format": "binary"}},
                    "required": ["file"],
                }
            }
        },
    }
}


@router.post(
    "/policies/{pack}/clauses/{clause}/applications",
    response_model=ApplicationRead,
    status_code=201,
    summary="Apply for a clause (as a draft, or submitted at once when no material is needed)",
)
def create_application(
    pack: str, clause: str, body: ApplicationCreate, session: DB, actor: ActorDep, home: Home
) -> ApplicationRead:
    """For the caller's own enterprise. The application goes to the commerce bureau of the district
    where the enterprise is registered; facts not in ``claimed_facts`` come from its public facts
    row. Refusals: 422 ``policy.registered_elsewhere``, ``policy.not_eligible``,
    ``policy.facts_missing``, ``policy.invalid_facts``; 409 ``policy.duplicate_application`` (one per
    clause and year; ``details.application_id`` names the first)."""
    app = apps.submit_application(
        session, actor, pack, clause, year=body.year, claimed_facts=body.claimed_facts, note=body.note, home=home,
        submit=body.submit,
    )  # fmt: skip
    return reads.get_application(session, actor, app.id)


@router.get("/applications", response_model=list[ApplicationSummary], summary="Applications: mine, my queue, all")
def list_applications(
    session: DB,
    actor: ActorDep,
    box: Literal["mine", "review", "all"] | None = Query(
        default=None, description="Default by role: a department's queue, everything for oversight, else mine"
    ),
    state: str | None = Query(
        default=None,
        description="draft, submitted, returned, approved, rejected, …",
        json_schema_extra=enum_of(apps.STATE_LABELS),
    ),
) -> list[ApplicationSummary]:
    return reads.list_applications(session, actor, box=box, state=state)


@router.get("/applications/{application_id}", response_model=ApplicationRead, summary="One application")
def get_application(application_id: DbId, session: DB, actor: ActorDep) -> ApplicationRead:
    """Claimed facts next to the public ones (``facts``, ``differences``), the evaluation with its
    trace, amount and cap, materials, history, disbursement, and the ``actions`` the caller may take."""
    return reads.get_application(session, actor, application_id)


@router.patch("/applications/{application_id}", response_model=ApplicationRead, summary="Correct a draft's claim")
def update_application(application_id: DbId, body: ClaimUpdate, session: DB, actor: ActorDep) -> ApplicationRead:
    """Draft or returned applications: the claimed facts (re-evaluated) and the note."""
    apps.update_claim(session, actor, application_id, claimed_facts=body.claimed_facts, note=body.note)
    return reads.get_application(session, actor, application_id)


@router.post(
    "/applications/{application_id}/materials",
    response_model=MaterialRead,
    status_code=201,
    summary="Upload a material (streamed; PDF, PNG or JPEG)",
    openapi_extra=_UPLOAD_BODY,
    responses={413: {"description": "Larger than PUBDATA_POLICY_MATERIAL_MAX_MB"}},
)
async def upload_material(
    application_id: DbId,
    request: Request,
    session: DB,
    actor: ActorDep,
    home: Home,
    label: str | None = Query(default=None, description="Which material (else the form's label field)"),
) -> MaterialRead:
    limit = request.app.state.settings.policy_material_max_mb * 1024**2
    await run_in_threadpool(mats.begin_material, session, actor, application_id, label)

    def check(fields: dict[str, str], _name: str) -> None:
        chosen = label or fields.get("label")
        if not chosen:
            raise InvalidMaterial("请给出材料名称 label（表单中写在文件之前，或用 ?label=）", field="label")
        mats.begin_material(session, actor, application_id, chosen)

    form = await receive_materials(request, home, limit=limit, before_file=check)
    if not form.files:
        raise InvalidMaterial("表单中没有文件（字段 file）", field="file")
    chosen = label or form.fields.get("label", "")
    row = await run_in_threadpool(
        lambda: mats.add_material(session, actor, application_id, chosen, form.files[0].staged, home=home)
    )
    return MaterialRead.model_validate(row)


@router.get(
    "/applications/{application_id}/materials/{material_id}",
    summary="A material's file (the enterprise and its reviewer)",
    response_class=FileResponse,
)
def download_material(
    application_id: DbId,
    material_id: DbId,
    session: DB,
    actor: ActorDep,
    home: Home,
    download: bool = Query(default=False, description="As an attachment rather than shown in the browser"),
) -> FileResponse:
    row, path = mats.open_material(session, actor, application_id, material_id, home=home)
    return FileResponse(
        path,
        media_type=row.content_type,
        filename=row.filename,
        content_disposition_type="attachment" if download else "inline",
        headers={"Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"},
    )


@router.post("/applications/{application_id}/submit", response_model=ApplicationRead, summary="Submit a draft")
def submit(application_id: DbId, session: DB, actor: ActorDep) -> ApplicationRead:
    """Every material the clause lists must be uploaded (422 ``policy.materials_missing`` names them)."""
    apps.submit_draft(session, actor, application_id)
    return reads.get_application(session, actor, application_id)


@router.post(
    "/applications/{application_id}/resubmit", response_model=ApplicationRead, summary="Resubmit after a return"
)
def resubmit(application_id: DbId, session: DB, actor: ActorDep) -> ApplicationRead:
    apps.resubmit_application(session, actor, application_id)
    return reads.get_application(session, actor, application_id)


@router.post("/applications/{application_id}/withdraw", response_model=ApplicationRead, summary="Withdraw")
def withdraw(application_id: DbId, session: DB, actor: ActorDep, body: ReasonIn | None = None) -> ApplicationRead:
    """Before a decision; final for the clause and year."""
    apps.withdraw_application(session, actor, application_id, (body or ReasonIn()).reason)
    return reads.get_application(session, actor, application_id)


@router.post(
    "/applications/{application_id}/approve", response_model=ApplicationRead, summary="Approve an amount ≤ the cap"
)
def approve(application_id: DbId, body: ApproveIn, session: DB, actor: ActorDep) -> ApplicationRead:
    """The reviewing bureau only; above the cap: 422 ``policy.amount_above_cap``."""
    review.approve_application(session, actor, application_id, body.amount, body.reason)
    return reads.get_application(session, actor, application_id)


@router.post("/applications/{application_id}/reject", response_model=ApplicationRead, summary="Reject (reason)")
def reject(application_id: DbId, body: ReasonIn, session: DB, actor: ActorDep) -> ApplicationRead:
    review.reject_application(session, actor, application_id, body.reason)
    return reads.get_application(session, actor, application_id)


@router.post(
    "/applications/{application_id}/return",
    response_model=ApplicationRead,
    summary="Return for more material (reason)",
)
def return_for_material(application_id: DbId, body: ReasonIn, session: DB, actor: ActorDep) -> ApplicationRead:
    review.return_application(session, actor, application_id, body.reason)
    return reads.get_application(session, actor, application_id)


@router.post(
    "/applications/{application_id}/disburse",
    response_model=ApplicationRead,
    summary="Record the payment of an approved application",
)
def disburse(application_id: DbId, body: DisburseIn, session: DB, actor: ActorDep) -> ApplicationRead:
    """The bureau that approved it; the disbursement carries the approved amount and the voucher number."""
    review.disburse_application(session, actor, application_id, body.reference)
    return reads.get_application(session, actor, application_id)


@router.get("/policy-reviewers", response_model=list[ReviewerRead], summary="Who reviews which district")
def list_reviewers(
    session: DB,
    actor: ActorDep,
    duty: str | None = Query(default=None, json_schema_extra=enum_of(reviewers.DUTIES)),
) -> list[ReviewerRead]:
    return reviewers.list_reviewers(session, actor, duty=duty)


@router.put("/policy-reviewers/{district}", response_model=ReviewerRead, summary="Route a district to a department")
def set_reviewer(
    district: Annotated[str, Path(json_schema_extra=enum_of(DISTRICT_NAMES))],
    body: ReviewerSet,
    session: DB,
    actor: ActorDep,
) -> ReviewerRead:
    """The operator's: applications made from now on in ``district`` go to ``organisation``."""
    return reviewers.set_reviewer(session, actor, district, body.organisation, duty=body.duty)
