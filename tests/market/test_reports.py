"""A report product (数据报告) delivers its PDF files: the provider uploads them while the product is a
draft (checked by content, stored once), the operator reviews them with the listing, and only the
provider, the operator and a buyer organisation with an active entitlement download them — every
download audited with the file's digest, every refusal audited too."""

# ruff: noqa: F811  (the ``w`` fixture is imported from test_orders)
from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from sqlalchemy import select

from pubdata.access.service import beijing_today
from pubdata.audit.models import AuditRecord
from pubdata.authz import ANONYMOUS
from pubdata.db import write_durable
from pubdata.errors import Unauthenticated
from pubdata.market import orders, reports
from pubdata.market import service as market
from pubdata.market.errors import (
    InvalidProduct,
    InvalidReport,
    NotEntitled,
    ProductNotFound,
    ReportNotFound,
    ReportTooLarge,
    WrongState,
)
from pubdata.market.models import MarketProduct, MarketReportFile
from pubdata.market.order_schemas import OrderIn
from pubdata.market.schemas import ContractIn, PlanIn, ReviewIn
from tests.market.builders import product_in
from tests.market.test_orders import pay, w  # noqa: F401

PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
ONE_OFF = PlanIn(code="one-off", title="单次购买", kind="one_off", price_fen=800_000)
LIMIT = 1 << 20
API = "/api/v1"


def stage(w, data=PDF, name="景区分析报告.pdf", limit=LIMIT):
    return reports.stage_bytes(w["home"], name, data, limit)


def draft_report(session, w, code="tax-report"):
    data = product_in(w["rid"], code=code, kind="report", title="纳税信用分析报告", requires_approval=False,
                      contract=ContractIn(fields=["district", "tax_credit_grade"]))  # fmt: skip
    product = market.create_product(session, w["operator"], data)
    market.add_plan(session, w["operator"], product.id, ONE_OFF)
    return product


def list_it(session, w, product_id) -> MarketProduct:
    market.submit(session, w["operator"], product_id)
    market.review(session, w["reviewer"], product_id, ReviewIn(action="approve"))
    session.get(MarketProduct, product_id).notice_until = beijing_today() - timedelta(days=1)
    market.list_product(session, w["reviewer"], product_id)
    return session.get(MarketProduct, product_id)


def bought(session, w, buyer, product) -> None:
    order = orders.place_order(session, buyer, OrderIn(product=product.code, plan="one-off"))
    pay(session, w, buyer, order.bills[0], reference=f"BK-{buyer.user_id}")
    assert orders.get_order(session, buyer, order.id).state == "active"


def audited(session, action):
    write_durable(session)
    return list(session.scalars(select(AuditRecord).where(AuditRecord.action == action).order_by(AuditRecord.seq)))


def test_a_report_is_uploaded_in_draft_reviewed_and_downloaded_by_its_buyer(session, w):
    product = draft_report(session, w)
    with pytest.raises(InvalidProduct, match="须上传报告文件"):
        market.submit(session, w["operator"], product.id)  # nothing to review yet
    version = session.get(MarketProduct, product.id).version
    first = reports.add_report(session, w["operator"], product.id, stage(w), note="正式版", home=w["home"])
    assert first.sha256 == hashlib.sha256(PDF).hexdigest() and first.size == len(PDF)
    assert first.filename == "景区分析报告.pdf" and first.content_type == "application/pdf"
    assert session.get(MarketProduct, product.id).version == version + 1  # an upload is a draft edit
    again = reports.add_report(session, w["operator"], product.id, stage(w, name="copy.pdf"), home=w["home"])
    assert again.id == first.id  # the same bytes are kept once
    assert list((reports.reports_root(w["home"]) / ".staging").iterdir()) == []  # nothing left staged
    product = list_it(session, w, product.id)

    # anyone who may see the listed product sees the files' names and digests, not their contents
    assert [f.sha256 for f in reports.list_reports(session, ANONYMOUS, product.code)] == [first.sha256]
    with pytest.raises(Unauthenticated):
        reports.open_report(session, ANONYMOUS, product.id, first.id, home=w["home"])
    with pytest.raises(NotEntitled, match="没有“纳税信用分析报告”的有效订购"):
        reports.open_report(session, w["buyer"], product.id, first.id, home=w["home"])

    bought(session, w, w["buyer"], product)
    row, path = reports.open_report(session, w["buyer"], product.id, first.id, home=w["home"])
    assert path.read_bytes() == PDF and row.sha256 == first.sha256
    with pytest.raises(NotEntitled):  # another organisation has bought nothing
        reports.open_report(session, w["other_buyer"], product.id, first.id, home=w["home"])
    with pytest.raises(ReportNotFound):
        reports.open_report(session, w["buyer"], product.id, first.id + 1000, home=w["home"])
    # the provider and the operator reviewing the listing open it too
    assert reports.open_report(session, w["reviewer"], product.id, first.id, home=w["home"])[1] == path

    downloads = [r for r in audited(session, "market.report_download") if r.result != "refused"]
    buyer_download = next(r for r in downloads if r.actor_user_id == w["buyer"].user_id)
    assert buyer_download.details["sha256"] == first.sha256 and buyer_download.details["entitlement"]
    refused = [r for r in audited(session, "market.report_download") if r.result == "refused"]
    assert {r.actor_user_id for r in refused} >= {w["buyer"].user_id, w["other_buyer"].user_id}


def test_an_entitlement_outlives_a_suspension_but_not_its_end(session, w):
    product = draft_report(session, w)
    file = reports.add_report(session, w["operator"], product.id, stage(w), home=w["home"])
    product = list_it(session, w, product.id)
    bought(session, w, w["buyer"], product)
    market.suspend(session, w["reviewer"], product.id, "数据来源核查中")
    assert reports.open_report(session, w["buyer"], product.code, file.id, home=w["home"])[1].is_file()
    with pytest.raises(ProductNotFound):  # nobody else learns of the suspended product
        reports.list_reports(session, w["other_buyer"], product.code)
    orders.end_expired(session, w["finance"], on=beijing_today() + timedelta(days=400))
    with pytest.raises(ProductNotFound):
        reports.open_report(session, w["buyer"], product.code, file.id, home=w["home"])


def test_bad_report_files_are_refused_and_nothing_is_kept(session, w):
    product = draft_report(session, w)
    with pytest.raises(InvalidReport, match="只接受 PDF"):
        stage(w, data=b"PK\x03\x04 a spreadsheet pretending")
    with pytest.raises(InvalidReport, match="为空"):
        stage(w, data=b"")
    with pytest.raises(ReportTooLarge, match="报告文件过大"):
        stage(w, data=PDF + b"\0" * 2000, limit=1000)
    assert list((reports.reports_root(w["home"]) / ".staging").iterdir()) == []
    unique = PDF + b"refused"
    with pytest.raises(InvalidReport, match="说明不能超过"):
        reports.add_report(session, w["operator"], product.id, stage(w, unique), note="长" * 501, home=w["home"])
    api = market.create_product(session, w["operator"], product_in(w["rid"], code="tax-api"))
    with pytest.raises(InvalidReport, match="不是数据报告类产品"):
        reports.add_report(session, w["operator"], api.id, stage(w, unique), home=w["home"])
    with pytest.raises(ProductNotFound):  # another organisation does not even see the draft
        reports.add_report(session, w["merchant"], product.id, stage(w, unique), home=w["home"])
    assert session.scalars(select(MarketReportFile)).all() == []
    sha = hashlib.sha256(unique).hexdigest()
    assert not any(p.name == sha for p in reports.reports_root(w["home"]).rglob("*"))
    refused = audited(session, "market.report_upload")
    assert refused and all(r.result == "refused" for r in refused)


def test_files_change_only_in_draft(session, w):
    product = draft_report(session, w)
    kept = reports.add_report(session, w["operator"], product.id, stage(w), home=w["home"])
    wrong = reports.add_report(session, w["operator"], product.id, stage(w, data=PDF + b"v0"), home=w["home"])
    stored = reports.reports_root(w["home"]) / str(product.id) / wrong.sha256
    assert stored.is_file()
    reports.remove_report(session, w["operator"], product.id, wrong.id, home=w["home"])
    assert not stored.exists() and [f.id for f in reports.list_reports(session, w["operator"], product.id)] == [kept.id]
    list_it(session, w, product.id)
    with pytest.raises(WrongState, match="只有草稿可以上传报告文件"):
        reports.add_report(session, w["operator"], product.id, stage(w, data=PDF + b"v2"), home=w["home"])
    with pytest.raises(WrongState, match="只有草稿可以删除报告文件"):
        reports.remove_report(session, w["operator"], product.id, kept.id, home=w["home"])


def test_the_api_streams_uploads_and_serves_downloads(client, session, w, token_for):
    bearer = {k: {"Authorization": f"Bearer {token_for(w[k], ['read', 'market'])}"} for k in ("operator", "buyer")}
    product = draft_report(session, w)
    url = f"{API}/market/products/{product.id}/reports"
    files = {"file": ("报告.pdf", PDF, "application/pdf")}
    assert client.post(url, files=files).status_code == 401
    refused = client.post(url, files={"file": ("x.pdf", b"MZ\x90\x00 not a pdf", "application/pdf")},
                          headers=bearer["operator"])  # fmt: skip
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "market.invalid_report"
    made = client.post(url, data={"note": "正式版"}, files=files, headers=bearer["operator"])
    assert made.status_code == 201, made.text
    assert made.json()["note"] == "正式版" and made.json()["sha256"] == hashlib.sha256(PDF).hexdigest()
    file_id = made.json()["id"]
    assert client.post(url, files=files, headers=bearer["buyer"]).status_code == 403  # a buyer provides nothing
    list_it(session, w, product.id)
    bought(session, w, w["buyer"], session.get(MarketProduct, product.id))
    assert [f["id"] for f in client.get(url).json()] == [file_id]
    assert client.get(f"{url}/{file_id}").status_code == 401
    got = client.get(f"{url}/{file_id}", headers=bearer["buyer"])
    assert got.status_code == 200 and got.content == PDF
    assert got.headers["content-type"] == "application/pdf" and "attachment" in got.headers["content-disposition"]
    assert got.headers["cache-control"] == "private, no-store"
    gone = client.delete(f"{url}/{file_id}", headers=bearer["operator"])
    assert gone.status_code == 409 and gone.json()["error"]["code"] == "market.wrong_state"
