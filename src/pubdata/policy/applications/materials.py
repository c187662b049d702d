"""Application materials (政策通): adding an uploaded file to an application as one of the materials
its clause lists, and reading it back — the enterprise and its reviewer only. The bytes are received,
checked by content and stored by ``policy.materials``; the rules of who may do what are those of
``policy.applications``."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pubdata.audit import service as audit
from pubdata.authz import Actor
from pubdata.errors import Forbidden
from pubdata.policy.applications import files as materials
from pubdata.policy.applications.workflow import (
    ENTERPRISE_EDITABLE,
    MAX_MATERIALS,
    STATE_LABELS,
    MaterialNotFound,
    WrongState,
    may_download,
    own_application,
    pack_of,
    record_step,
    refusals_audited,
    visible_application,
)
from pubdata.policy.models import PolicyApplication, PolicyMaterial


def _may_add(session: Session, actor: Actor, application_id: int, label: str | None) -> PolicyApplication:
    app = own_application(session, actor, application_id)
    if app.state not in ENTERPRISE_EDITABLE:
        raise WrongState(f"申报当前状态为“{STATE_LABELS[app.state]}”，不能再上传材料")
    if label is not None:
        check_label(session, app, label)
    return app


@refusals_audited("policy.material")
def begin_material(session: Session, actor: Actor, application_id: int, label: str | None = None) -> PolicyApplication:
    """Check, before a byte of the file is read, that the actor may add a material (and, when
    given, that the label is one the clause lists); a refusal is audited."""
    return _may_add(session, actor, application_id, label)


def check_label(session: Session, app: PolicyApplication, label: str) -> str:
    listed = pack_of(session, app).clause(app.clause_id).materials
    text = (label or "").strip()
    if text not in listed:
        raise materials.InvalidMaterial(
            f"“{text}”不是该条款要求的申报材料（应为：{'、'.join(listed) or '无'}）", field="label"
        )
    return text


@refusals_audited("policy.material")
def add_material(
    session: Session, actor: Actor, application_id: int, label: str, staged: materials.StagedMaterial, *, home: Path
) -> PolicyMaterial:
    """Keep an uploaded, checked file as the application's material under ``label`` (one of the
    clause's listed materials; several files per label are fine). The staged file is moved into
    place, or discarded when refused."""
    try:
        app = _may_add(session, actor, application_id, label)
        count = session.scalar(
            select(func.count()).select_from(PolicyMaterial).where(PolicyMaterial.application_id == app.id)
        )
        if (count or 0) >= MAX_MATERIALS:
            raise materials.InvalidMaterial(f"每个申报最多上传 {MAX_MATERIALS} 个材料文件", field="file")
        stored = materials.store(home, app.id, staged)
    except BaseException:
        staged.discard()
        raise
    row = PolicyMaterial(
        application_id=app.id, label=label.strip(), filename=staged.filename, content_type=staged.content_type,
        size=staged.size, sha256=staged.sha256, stored_path=stored, uploaded_by=actor.user_id,
    )  # fmt: skip
    session.add(row)
    session.flush()
    record_step(session, actor, app, "material", app.state, reason=label.strip(), material_id=row.id,
           filename=staged.filename, sha256=staged.sha256, size=staged.size)  # fmt: skip
    return row


def open_material(
    session: Session, actor: Actor, application_id: int, material_id: int, *, home: Path
) -> tuple[PolicyMaterial, Path]:
    """A material's row and file, for the enterprise and its reviewer (the read is audited)."""
    app = visible_application(session, actor, application_id)
    row = session.get(PolicyMaterial, material_id)
    if row is None or row.application_id != app.id:
        raise MaterialNotFound(f"材料不存在：{material_id}")
    if not may_download(actor, app):
        audit.refuse(
            session,
            actor,
            audit.Event("policy.material_read", reason="仅申报企业和审核部门可以查看材料",
                        publisher_org_id=app.reviewer_org_id,
                        details={"application_id": app.id, "material_id": row.id}),
        )  # fmt: skip
        raise Forbidden("申报材料仅申报企业和审核部门可以查看")
    path = materials.stored_file(home, row.stored_path)
    if not path.is_file():
        raise MaterialNotFound(f"材料文件不存在：{row.filename}")
    audit.record_later(
        session,
        actor,
        audit.Event("policy.material_read", publisher_org_id=app.reviewer_org_id, rows=1,
                    details={"application_id": app.id, "material_id": row.id, "sha256": row.sha256}),
    )  # fmt: skip
    return row, path
