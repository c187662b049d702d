"""A report product's files on its page (market/product.html, section 报告文件): the provider uploads
PDFs to its draft (streamed and checked by content, as the API does) and removes them; the provider,
the operator and an entitled buyer download them. The service (``market.reports``) decides who may
do what and audits every download; a refused upload is shown on the product page in Chinese."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from pubdata.api.deps import DB
from pubdata.api.v1.file_uploads import ReceivedForm, receive_files
from pubdata.errors import Forbidden, PubdataError
from pubdata.market import reports
from pubdata.market.errors import InvalidReport
from pubdata.web.access_forms import attempt, check_csrf, login_redirect
from pubdata.web.deps import ViewerDep
from pubdata.web.finance_pages import form_fields
from pubdata.web.market_pages import render_product, shown_refusal

router = APIRouter(include_in_schema=False)


@router.post("/market/products/{product_id}/reports", response_class=HTMLResponse)
async def upload(request: Request, product_id: int, session: DB, viewer: ViewerDep) -> Response:
    if not viewer.signed_in:
        return login_redirect(request)
    if not viewer.csrf_token:
        check_csrf(viewer, None)
    home = request.app.state.settings.home
    limit = int(request.app.state.settings.market_report_max_mb) * 1024**2
    await run_in_threadpool(reports.begin_report, session, viewer.actor, product_id)
    received = ReceivedForm()
    try:
        await receive_files(
            request, lambda name: reports.new_upload(home, name, limit), reports.REPORTS, limit=limit,
            before_file=lambda fields, _name: check_csrf(viewer, fields.get("csrf_token")), into=received,
        )  # fmt: skip
        check_csrf(viewer, received.fields.get("csrf_token"))
        if not received.files:
            raise InvalidReport("请选择要上传的报告文件（PDF）", field="file")
        staged, note = received.files[0].staged, received.fields.get("note", "")
        await run_in_threadpool(
            lambda: attempt(session, lambda: reports.add_report(session, viewer.actor, product_id, staged, note=note,
                                                                home=home))
        )  # fmt: skip
    except Forbidden:
        received.discard()
        raise
    except PubdataError as exc:
        received.discard()
        status, message = shown_refusal(exc), exc.message
        return await run_in_threadpool(
            lambda: render_product(request, session, viewer, product_id, error=message, error_key="reports",
                                   form=received.fields, status_code=status)
        )  # fmt: skip
    return RedirectResponse(f"/market/products/{product_id}#reports", status_code=303)


@router.post("/market/products/{product_id}/reports/{file_id}/remove", response_class=HTMLResponse)
async def remove(request: Request, product_id: int, file_id: int, session: DB, viewer: ViewerDep) -> Response:
    if not viewer.signed_in:
        return login_redirect(request)
    fields = form_fields(await request.form())
    check_csrf(viewer, fields.get("csrf_token"))
    home = request.app.state.settings.home
    try:
        attempt(session, lambda: reports.remove_report(session, viewer.actor, product_id, file_id, home=home))
    except PubdataError as exc:
        status = shown_refusal(exc)
        return render_product(request, session, viewer, product_id, error=exc.message, error_key="reports",
                              status_code=status)  # fmt: skip
    return RedirectResponse(f"/market/products/{product_id}#reports", status_code=303)


@router.get("/market/products/{product_id}/reports/{file_id}")
def download(request: Request, product_id: int, file_id: int, session: DB, viewer: ViewerDep) -> Response:
    if not viewer.signed_in:
        return login_redirect(request)
    row, path = reports.open_report(session, viewer.actor, product_id, file_id, home=request.app.state.settings.home)
    return FileResponse(
        path, media_type=row.content_type, filename=row.filename,
        headers={"Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"},
    )  # fmt: skip
