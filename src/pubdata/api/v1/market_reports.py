"""Native REST API of report products' files (数据报告): the provider uploads PDFs to its draft
report product (streamed, checked by content), everyone who may see the product lists them (names,
sizes, SHA-256), and the provider, the operator and buyers with an active entitlement download them
(audited). Writes need the token scope ``market``; see docs/market.md."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse

from pubdata.api.deps import DB, ActorDep, Home
from pubdata.api.errors import ERROR_RESPONSES
from pubdata.api.params import DbId
from pubdata.api.v1.file_uploads import receive_files
from pubdata.market import reports
from pubdata.market.errors import InvalidReport
from pubdata.market.reports import ReportFileRead

router = APIRouter(tags=["market"], responses=ERROR_RESPONSES)

_UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "A multipart form: `note` (optional, before the file) and `file` (a PDF, checked by "
        "content; at most PUBDATA_MARKET_REPORT_MAX_MB).",
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {"note": {"type": "string"}, "file": {"type": "string", "format": "binary"}},
                    "required": ["file"],
                }
            }
        },
    }
}


@router.post(
    "/market/products/{product_id}/reports",
    response_model=ReportFileRead,
    status_code=201,
    summary="Upload a report product's file (PDF, streamed; draft only)",
    openapi_extra=_UPLOAD_BODY,
    responses={413: {"description": "Larger than PUBDATA_MARKET_REPORT_MAX_MB"}},
)
async def upload_report(product_id: DbId, request: Request, session: DB, actor: ActorDep, home: Home) -> ReportFileRead:
    limit = request.app.state.settings.market_report_max_mb * 1024**2
    await run_in_threadpool(reports.begin_report, session, actor, product_id)
    form = await receive_files(
        request, lambda name: reports.new_upload(home, name, limit), reports.REPORTS, limit=limit
    )
    if not form.files:
        raise InvalidReport("表单中没有文件（字段 file）", field="file")
    staged, note = form.files[0].staged, form.fields.get("note", "")
    return await run_in_threadpool(
        lambda: reports.add_report(session, actor, product_id, staged, note=note, home=home)
    )  # fmt: skip


@router.get("/market/products/{product_id}/reports", response_model=list[ReportFileRead], summary="A report's files")
def list_reports(product_id: DbId, session: DB, actor: ActorDep) -> list[ReportFileRead]:
    """Names, sizes and SHA-256 digests (not the contents) for whoever may see the product."""
    return reports.list_reports(session, actor, product_id)


@router.get(
    "/market/products/{product_id}/reports/{file_id}",
    summary="Download a report's file (provider, operator, entitled buyers; audited)",
    response_class=FileResponse,
)
def download_report(
    product_id: DbId,
    file_id: DbId,
    session: DB,
    actor: ActorDep,
    home: Home,
    download: bool = Query(default=True, description="As an attachment rather than shown in the browser"),
) -> FileResponse:
    row, path = reports.open_report(session, actor, product_id, file_id, home=home)
    return FileResponse(
        path, media_type=row.content_type, filename=row.filename,
        content_disposition_type="attachment" if download else "inline",
        headers={"Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"},
    )  # fmt: skip


@router.delete(
    "/market/products/{product_id}/reports/{file_id}", status_code=204, summary="Remove a draft report's file"
)
def remove_report(product_id: DbId, file_id: DbId, session: DB, actor: ActorDep, home: Home) -> Response:
    reports.remove_report(session, actor, product_id, file_id, home=home)
    return Response(status_code=204)
