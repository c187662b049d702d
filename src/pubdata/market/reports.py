"""What a report product (数据报告) delivers: its PDF files.

The provider uploads a report's files while the product is a draft, so the operator reviews the
report the buyers will receive with the rest of the listing (a listed product is never edited: a
new edition of a report is a new product, or the product's next draft). Each upload or removal is a
draft edit (the product's version goes up). Files are checked by their content (PDF only: a table
belongs in an api or dataset product), stored content-addressed under
``$PUBDATA_HOME/market/reports/<product id>/<sha256>`` and listed with their SHA-256, so a buyer can
check what it received.

Who may download: the provider's organisation and the operator (to review), and a buyer
organisation holding an active entitlement to the product today (``orders.buyer_entitlement``: an
entitlement outlives a later suspension, as for verification). Every download is audited as
``market.report_download`` with the file's digest and the entitlement; a refused one is audited too.
Anyone who may see the product sees the files' names, sizes and digests, not their contents."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pubdata import uploads
from pubdata.audit import service as audit
from pubdata.authz import Actor, Permission, require
from pubdata.ledger.service import is_fen
from pubdata.market import service
from pubdata.market.errors import InvalidReport, NotEntitled, ProductNotFound, ReportNotFound, ReportTooLarge
from pubdata.market.models import MarketProduct, MarketReportFile
from pubdata.market.orders import buyer_entitlement, product_by_key

ACTIONS = ("market.report_upload", "market.report_remove", "market.report_download")
MAX_FILES = 20  # per product
MAX_NOTE = 500
REPORTS = uploads.Accepts(
    signatures=((b"%PDF-", "application/pdf"),),
    refused="数据报告只接受 PDF 文件（按文件内容判断，与扩展名无关）：该文件不是 PDF",
    noun="报告",
    invalid=InvalidReport,
    too_large=ReportTooLarge,
)


class ReportFileRead(BaseModel):
    id: int
    product_id: int
    filename: str
    content_type: str
    size: int
    sha256: str
    note: str
    uploaded_at: datetime


def reports_root(home: Path) -> Path:
    return home / "market" / "reports"


def new_upload(home: Path, filename: str | None, limit: int) -> uploads.CheckedUpload:
    """A report file's upload, staged beside the stored files (storing it is one rename)."""
    return uploads.CheckedUpload(reports_root(home) / ".staging", filename, limit, REPORTS)


def stage_bytes(home: Path, filename: str, data: bytes, limit: int) -> uploads.StagedFile:
    """A whole file given at once (the demo, tests) staged as an upload would be."""
    return uploads.stage_bytes(reports_root(home) / ".staging", filename, data, limit, REPORTS)


def _read(row: MarketReportFile) -> ReportFileRead:
    return ReportFileRead.model_validate(row, from_attributes=True)


def _event(action: str, product: MarketProduct, row: MarketReportFile, **details: object) -> audit.Event:
    return audit.Event(
        action, resource_id=product.resource_id, publisher_org_id=product.provider_org_id,
        details={"product": product.id, "code": product.code, "file": row.id, "sha256": row.sha256, **details},
    )  # fmt: skip


def _draft_report(session: Session, actor: Actor, product_id: int, what: str) -> MarketProduct:
    product = service.own_product(session, actor, product_id)
    if product.kind != "report":
        raise InvalidReport(f"“{product.title}”不是数据报告类产品，不能{what}", field="product")
    service.in_draft(product, what)
    return product


@audit.refusals_audited("market.report_upload", "product")
def begin_report(session: Session, actor: Actor, product_id: int) -> None:
    """Refuse an upload before its bytes arrive: the actor's organisation's draft report product."""
    _draft_report(session, actor, product_id, "上传报告文件")


@audit.refusals_audited("market.report_upload", "product")
def _add(
    session: Session, actor: Actor, product_id: int, staged: uploads.StagedFile, note: str, home: Path
) -> MarketReportFile:
    product = _draft_report(session, actor, product_id, "上传报告文件")
    note = (note or "").strip()
    if len(note) > MAX_NOTE:
        raise InvalidReport(f"说明不能超过 {MAX_NOTE} 个字符", field="note")
    same = session.scalar(
        select(MarketReportFile).where(
            MarketReportFile.product_id == product.id, MarketReportFile.sha256 == staged.sha256
        )
    )
    if same is not None:  # the same bytes again: nothing changes (``add_report`` drops the staged copy)
        return same
    count = session.scalar(select(func.count()).where(MarketReportFile.product_id == product.id)) or 0
    if count >= MAX_FILES:
        raise InvalidReport(f"一个数据报告最多 {MAX_FILES} 个文件", field="file")
    target = uploads.store_addressed(staged, reports_root(home) / str(product.id))
    row = MarketReportFile(
        product_id=product.id, filename=staged.filename, content_type=staged.content_type, size=staged.size,
        sha256=staged.sha256, stored_path=target.relative_to(home).as_posix(), note=note, uploaded_by=actor.user_id,
    )  # fmt: skip
    session.add(row)
    session.flush()
    service.touch(product)
    audit.record(session, actor, _event("market.report_upload", product, row, size=row.size, version=product.version))
    return row


def add_report(
    session: Session, actor: Actor, product_id: int, staged: uploads.StagedFile, *, note: str = "", home: Path
) -> ReportFileRead:
    """Attach a staged PDF to the actor's organisation's draft report product (the same file twice
    is kept once). The staged file is discarded whatever happens."""
    try:
        return _read(_add(session, actor, product_id, staged, note, home))
    finally:
        staged.discard()  # a no-op once the file was moved into place


@audit.refusals_audited("market.report_remove", "product")
def _remove(session: Session, actor: Actor, product_id: int, file_id: int, home: Path) -> None:
    product = _draft_report(session, actor, product_id, "删除报告文件")
    row = session.get(MarketReportFile, file_id) if is_fen(file_id) else None
    if row is None or row.product_id != product.id:
        raise ReportNotFound(f"报告文件不存在：{file_id}")
    audit.record(session, actor, _event("market.report_remove", product, row, filename=row.filename))
    path = uploads.inside(reports_root(home), home / row.stored_path)
    session.delete(row)
    service.touch(product)
    session.flush()
    path.unlink(missing_ok=True)


def remove_report(session: Session, actor: Actor, product_id: int, file_id: int, *, home: Path) -> None:
    """Remove a file from the actor's organisation's draft report product (its bytes too)."""
    _remove(session, actor, product_id, file_id, home)


def _product(session: Session, actor: Actor, key: str | int) -> tuple[MarketProduct, bool, int | None]:
    """The product, whether the actor reviews or provides it, and the actor's organisation's active
    entitlement to it: not found for anyone else when it is not listed."""
    product = product_by_key(session, key)
    if product is None:
        raise ProductNotFound(f"数据产品不存在：{key}")
    full = service.privileged(actor, product)
    entitlement = buyer_entitlement(session, actor, product)
    if not (product.state == "listed" or full or entitlement is not None):
        raise ProductNotFound(f"数据产品不存在：{key}")
    return product, full, entitlement.id if entitlement is not None else None


class ReportFiles(BaseModel):
    files: list[ReportFileRead]
    downloadable: bool  # the actor may download them (provider, operator, an entitled buyer)
    editable: bool  # the actor may add and remove files (its organisation's draft)


def report_files(session: Session, actor: Actor, product_key: str | int) -> ReportFiles:
    """A report product's files (names, sizes, digests) for whoever may see the product, and what
    the actor may do with them."""
    require(actor, Permission.MARKET_PRODUCT_READ)
    product, full, entitlement = _product(session, actor, product_key)
    rows = session.scalars(
        select(MarketReportFile).where(MarketReportFile.product_id == product.id).order_by(MarketReportFile.id)
    )
    own = actor.organisation_id == product.provider_org_id and actor.can(Permission.MARKET_PRODUCT_MANAGE)
    return ReportFiles(
        files=[_read(r) for r in rows],
        downloadable=full or (entitlement is not None and actor.can(Permission.MARKET_ORDER_READ)),
        editable=own and product.state == "draft" and product.kind == "report",
    )


def list_reports(session: Session, actor: Actor, product_key: str | int) -> list[ReportFileRead]:
    """A report product's files (names, sizes, digests) for whoever may see the product."""
    return report_files(session, actor, product_key).files


@audit.refusals_audited("market.report_download", "product")
def _open(
    session: Session, actor: Actor, product_key: str | int, file_id: int, home: Path
) -> tuple[MarketReportFile, Path]:
    require(actor, Permission.MARKET_PRODUCT_READ)
    product, full, entitlement = _product(session, actor, product_key)
    row = session.get(MarketReportFile, file_id) if is_fen(file_id) else None
    if row is None or row.product_id != product.id:
        raise ReportNotFound(f"报告文件不存在：{file_id}")
    if not full:
        require(actor, Permission.MARKET_ORDER_READ)
        if entitlement is None:
            raise NotEntitled(f"本机构没有“{product.title}”的有效订购，不能下载该报告")
    path = uploads.inside(reports_root(home), home / row.stored_path)
    if not path.is_file():
        raise ReportNotFound(f"报告文件已不在存储中：{row.filename}（请联系运营方）")
    audit.record_later(
        session, actor, _event("market.report_download", product, row, entitlement=entitlement, size=row.size)
    )
    return row, path


def open_report(
    session: Session, actor: Actor, product_key: str | int, file_id: int, *, home: Path
) -> tuple[ReportFileRead, Path]:
    """A report file to send: to the provider's organisation, the operator, or a buyer organisation
    with an active entitlement; audited."""
    row, path = _open(session, actor, product_key, file_id, home)
    return _read(row), path
