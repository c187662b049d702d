"""A report product's files on its portal page: the provider uploads a PDF to its draft (a non-PDF is
refused on the page in Chinese with the note kept), removes one, and after listing only the provider,
the operator and an entitled buyer get download links and the file; a buyer's order links to them."""

# ruff: noqa: F811 (the `w` fixture imported from tests/market/test_orders.py is each test's argument)
from __future__ import annotations

import pytest
from sqlalchemy import select

from pubdata.audit.models import AuditRecord
from pubdata.db import write_durable
from pubdata.market import orders
from pubdata.market.models import MarketProduct
from pubdata.market.order_schemas import OrderIn
from tests.market.test_orders import pay, w  # noqa: F401 (w is the fixture)
from tests.market.test_reports import PDF, draft_report, list_it
from tests.web.helpers import hidden_field
from tests.web.test_market_order_pages import quick_passwords, section, sign_in  # noqa: F401


@pytest.fixture
def product(session, w):
    return draft_report(session, w)


def upload(client, product_id, data=PDF, note="初版"):
    page = client.get(f"/market/products/{product_id}")
    assert page.status_code == 200, page.text
    form = {"csrf_token": hidden_field(page.text, "csrf_token"), "note": note}
    return client.post(f"/market/products/{product_id}/reports", data=form,
                       files={"file": ("报告.pdf", data, "application/pdf")}, follow_redirects=False)  # fmt: skip


def test_the_provider_uploads_and_removes_files_of_its_draft(client, session, w, product):
    sign_in(client, w["operator"])
    page = client.get(f"/market/products/{product.id}")
    assert "尚未上传报告文件" in section(page.text, "reports") and 'id="report-upload-form"' in page.text
    refused = upload(client, product.id, data=b"PK\x03\x04 not a pdf", note="保留的说明")
    assert refused.status_code == 422
    assert "数据报告只接受 PDF 文件" in section(refused.text, "reports-error")
    assert 'value="保留的说明"' in refused.text  # what was typed is kept
    done = upload(client, product.id)
    assert done.status_code == 303 and done.headers["location"].endswith("#reports")
    wrong = upload(client, product.id, data=PDF + b"wrong edition")
    assert wrong.status_code == 303
    page = client.get(f"/market/products/{product.id}")
    files = section(page.text, "report-files")
    assert files.count("报告.pdf") == 2 and "初版" in files
    remove_id = int(page.text.split('id="report-remove-')[-1].split('"')[0])
    gone = client.post(f"/market/products/{product.id}/reports/{remove_id}/remove",
                       data={"csrf_token": hidden_field(page.text, "csrf_token")}, follow_redirects=False)  # fmt: skip
    assert gone.status_code == 303
    assert client.get(f"/market/products/{product.id}").text.count('id="report-file-') == 1
    no_csrf = client.post(f"/market/products/{product.id}/reports", files={"file": ("x.pdf", PDF, "application/pdf")})
    assert no_csrf.status_code == 403


def test_only_entitled_buyers_download(client, session, w, product):
    sign_in(client, w["operator"])
    assert upload(client, product.id).status_code == 303
    list_it(session, w, product.id)
    page = client.get(f"/market/products/{product.id}")
    file_id = int(page.text.split('id="report-download-')[1].split('"')[0])
    url = f"/market/products/{product.id}/reports/{file_id}"
    assert client.get(url).content == PDF  # the provider

    client.cookies.clear()
    public = client.get(f"/market/products/{product.id}")
    assert "报告.pdf" in section(public.text, "report-files") and "report-download-" not in public.text
    assert client.get(url, follow_redirects=False).status_code == 303  # to sign in
    sign_in(client, w["buyer"])
    assert "订购并开通授权后可下载报告" in client.get(f"/market/products/{product.id}").text
    assert client.get(url).status_code == 403

    order = orders.place_order(session, w["buyer"], OrderIn(product=product.code, plan="one-off"))
    pay(session, w, w["buyer"], order.bills[0])
    got = client.get(url)
    assert got.status_code == 200 and got.content == PDF and "attachment" in got.headers["content-disposition"]
    detail = client.get(f"/market/orders/{order.id}")
    assert f'href="/market/products/{product.id}#reports"' in section(detail.text, f"report-files-{order.id}")
    write_durable(session)
    downloads = session.scalars(select(AuditRecord).where(AuditRecord.action == "market.report_download")).all()
    assert {(r.actor_user_id, r.result) for r in downloads} >= {(w["buyer"].user_id, "allowed"),
                                                                (w["buyer"].user_id, "refused")}  # fmt: skip
    assert session.get(MarketProduct, product.id).state == "listed"
