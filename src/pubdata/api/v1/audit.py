"""Native REST API for the audit trail: search (by role), verify, signed checkpoints and export (the
regulator)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response, StreamingResponse

from pubdata.api.deps import DB, ActorDep
from pubdata.api.errors import ERROR_RESPONSES
from pubdata.api.params import Offset, OptionalDbIdQuery, enum_of
from pubdata.audit import service as audit
from pubdata.authz import Permission, require
from pubdata.db import session_scope
from pubdata.errors import Invalid

router = APIRouter(tags=["audit"], responses=ERROR_RESPONSES)


@router.get(
    "/audit",
    summary="Search the audit trail",
    description="The regulator sees every record; a publishing department every use of its data; anyone "
    "else the records of its own organisation's actions. Newest first.",
)
def search(
    session: DB,
    actor: ActorDep,
    action: str | None = None,
    result: Annotated[str | None, Query(json_schema_extra=enum_of((audit.ALLOWED, audit.REFUSED)))] = None,
    entry: str | None = None,
    resource_id: str | None = None,
    organisation_id: OptionalDbIdQuery = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = Query(default=100, ge=1, le=1000),
    offset: Offset = 0,
) -> dict[str, Any]:
    if result is not None and result not in (audit.ALLOWED, audit.REFUSED):
        raise Invalid("result 应为 allowed 或 refused", field="result")
    q = audit.AuditQuery(
        action=action,
        result=result,
        entry_code=entry,
        resource_id=resource_id,
        actor_org_id=organisation_id,
        since=since,
        until=until,
        limit=limit,
        offset=offset,
    )
    total, rows = audit.search(session, actor, q)
    return {"total": total, "records": [audit.as_dict(r) for r in rows]}


@router.get("/audit/verify", summary="Verify the hash chain (regulator)")
def verify(session: DB, actor: ActorDep) -> dict[str, Any]:
    return audit.verify(session, actor).as_json()


@router.get(
    "/audit/checkpoint",
    summary="A fresh signed checkpoint of the chain (regulator)",
    description="Verifies the whole chain, then returns {format, length, head_hash, at, key_id, public_key, "
    "signature} signed with the platform's Ed25519 key (docs/access.md). Keep it outside the platform; "
    "`pubdata audit verify --against FILE --public-key KEY` later proves the chain still extends it. "
    "409 `audit.chain_broken` when the chain does not verify (nothing is signed).",
)
def checkpoint(request: Request, session: DB, actor: ActorDep) -> dict[str, Any]:
    return audit.checkpoint(session, actor, request.app.state.settings).as_json()


EXPORT_MEDIA = {"csv": "text/csv; charset=utf-8", "jsonl": "application/jsonl; charset=utf-8"}


@router.get(
    "/audit/export.{fmt}",
    summary="Export the whole trail as csv or jsonl (regulator), streamed",
    response_class=StreamingResponse,
    responses={200: {"content": {media: {} for media in EXPORT_MEDIA.values()}}},
)
def export(
    fmt: Annotated[str, Path(json_schema_extra=enum_of(EXPORT_MEDIA))], session: DB, actor: ActorDep
) -> Response:
    if fmt not in EXPORT_MEDIA:
        raise Invalid(f"不支持的导出格式：{fmt}（可用：csv、jsonl）", field="format")
    require(actor, Permission.AUDIT_TRAIL_READ)

    engine = session.get_bind()

    def lines() -> Iterator[bytes]:
        if fmt == "csv":
            yield "\ufeff".encode()
        # the request's session is closed once the route returns: the stream reads with its own
        with session_scope(engine) as reading:  # type: ignore[arg-type]
            for line in audit.export_lines(reading, actor, fmt):
                yield line.encode()

    headers = {"Content-Disposition": f"attachment; filename=audit.{fmt}"}
    return StreamingResponse(lines(), media_type=EXPORT_MEDIA[fmt], headers=headers)
