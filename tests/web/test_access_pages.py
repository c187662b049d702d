"""Portal pages for governed access: the request form, the requests lists and review queues, one
request with its decision forms and history, the grants with usage and revocation, and the audit
viewer — each by role, with CSRF, bad values shown on the form, and nothing half-saved."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import quote

import pytest
from sqlalchemy import select

from pubdata.access import service as access
from pubdata.access.models import AccessGrant, AccessRequest
from pubdata.access.schemas import Decision
from pubdata.audit import service as audit
from pubdata.audit.models import AuditRecord
from pubdata.catalog import service as catalog
from pubdata.store import contracts
from tests.access.people import ask, grant, load_people
from tests.store.rows_fixture import load_table
from tests.web.helpers import hidden_field, login


@pytest.fixture
def people(session, as_actor, settings, tmp_path):
    return load_people(session, as_actor("department"), settings.home, tmp_path)


def sign_in(client, actor):
    client.cookies.clear()
    r = login(client, actor.username)
    assert r.status_code == 303, r.text


def form_url(people):
    return f"/dataset/{people.entry_name}/resource/{people.resource_id}/request"


def resource_url(people):
    return f"/dataset/{people.entry_name}/resource/{people.resource_id}"


def token_of(client, url="/access/requests"):
    return hidden_field(client.get(url).text, "csrf_token")


def request_form(client, people, **overrides):
    today = access.beijing_today()
    data = {
        "csrf_token": token_of(client, form_url(people)),
        "scenario": "普惠金融授信",
        "purpose": "核验借款人身份与缴费情况，用于小微企业主信用贷款审批",
        "fields": ["name", "id_number", "district", "amount"],
        "period_start": today.isoformat(),
        "period_end": (today + timedelta(days=90)).isoformat(),
        "expected_rows": "1000",
    }
    data.update(overrides)
    return data


def requests_of(session, people):
    return list(session.scalars(select(AccessRequest).where(AccessRequest.resource_id == people.resource_id)))


def region(html, element_id):
    """The HTML of the element with this id, up to the end of its table or list (enough for asserts)."""
    start = html.index(f'id="{element_id}"')
    return html[start : start + 20_000]


# --- who may see the pages ----------------------------------------------------------------------------


def test_visitors_are_sent_to_sign_in(client, people):
    for method, url in [
        ("get", form_url(people)),
        ("post", form_url(people)),
        ("get", "/access/requests"),
        ("get", "/access/requests/1"),
        ("post", "/access/requests/1/decision"),
        ("get", "/access/grants"),
        ("post", "/access/grants/1/revoke"),
        ("get", "/audit"),
    ]:
        r = getattr(client, method)(url, follow_redirects=False)
        assert r.status_code == 303, url
        assert r.headers["location"].startswith("/user/login?next=/"), url


def test_the_resource_page_offers_the_request_to_those_who_may_ask(client, session, as_actor, people):
    html = client.get(resource_url(people)).text
    link = re.search(r'<a class="button" id="request-access" href="([^"]+)">([^<]+)</a>', html)
    assert link and link.group(2) == "登录后申请"
    assert link.group(1) == "/user/login?next=" + quote(form_url(people))

    sign_in(client, as_actor("bank"))
    html = client.get(resource_url(people)).text
    assert 'id="rows-forbidden"' in html
    assert f'id="request-access" href="{form_url(people)}">申请使用</a>' in html

    for who in (as_actor("regulator"), as_actor("operator"), people.owner):
        sign_in(client, who)
        assert 'id="request-access"' not in client.get(resource_url(people)).text


def test_open_data_has_no_request_button(client, session, as_actor, settings, tmp_path):
    loaded = load_table(session, as_actor("department"), settings.home, tmp_path)
    sign_in(client, as_actor("bank"))
    html = client.get(f"/dataset/{loaded.entry_name}/resource/{loaded.resource_id}").text
    assert 'id="rows-table"' in html and 'id="request-access"' not in html
    # and asking anyway says why
    r = client.get(f"/dataset/{loaded.entry_name}/resource/{loaded.resource_id}/request")
    assert r.status_code == 422 and "无条件开放，无需申请" in r.text


@pytest.mark.parametrize("role", ["regulator", "operator"])
def test_roles_that_may_not_request_get_403(client, as_actor, people, role):
    sign_in(client, as_actor(role))
    assert client.get(form_url(people)).status_code == 403
    token = token_of(client)
    r = client.post(form_url(people), data={"csrf_token": token, "scenario": "测试场景", "fields": ["name"]})
    assert r.status_code == 403 and "禁止访问" in r.text


def test_the_publisher_need_not_ask_for_its_own_data(client, people):
    sign_in(client, people.owner)
    r = client.get(form_url(people))
    assert r.status_code == 422 and "本机构发布的数据" in r.text


# --- the request form -----------------------------------------------------------------------------------


def test_the_form_lists_fields_with_titles_personal_badges_and_default_masks(client, as_actor, people):
    sign_in(client, as_actor("bank"))
    r = client.get(form_url(people))
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    boxes = re.findall(r'<input type="checkbox" name="fields" value="([^"]+)"', r.text)
    assert boxes == ["name", "id_number", "phone", "address", "district", "birth", "amount"]
    name_line = r.text.split('value="name"', 1)[1].split("</label>", 1)[0]
    assert "姓名" in name_line and "badge-personal" in name_line and "默认遮盖：姓名（张*）" in name_line
    district_line = r.text.split('value="district"', 1)[1].split("</label>", 1)[0]
    assert "badge-personal" not in district_line and "默认遮盖" not in district_line
    assert 'type="date"' in r.text and 'name="expected_rows"' in r.text


def test_a_bank_requests_and_follows_its_request(client, session, as_actor, people):
    bank = as_actor("bank")
    sign_in(client, bank)
    r = client.post(form_url(people), data=request_form(client, people), follow_redirects=False)
    assert r.status_code == 303, r.text
    (req,) = requests_of(session, people)
    assert r.headers["location"] == f"/access/requests/{req.id}"
    assert (req.consumer_org_id, req.fields) == (bank.organisation_id, ["name", "id_number", "district", "amount"])
    assert req.masks == {"name": "name", "id_number": "id_number"} and req.expected_rows == 1000

    page = client.get(r.headers["location"]).text
    assert "待部门审核" in page and "普惠金融授信" in page
    assert "身份证号（370202********1234）" in page  # the mask each field gets
    assert 'id="withdraw-form"' in page and 'id="approve-form"' not in page  # the consumer withdraws, not decides
    mine = region(client.get("/access/requests").text, "mine-table")
    assert f'href="/access/requests/{req.id}"' in mine and "待部门审核" in mine
    # the form now says a request is under review
    assert f"#{req.id}（待部门审核）" in client.get(form_url(people)).text


def test_the_form_refuses_without_the_csrf_token(client, session, as_actor, people):
    sign_in(client, as_actor("bank"))
    data = request_form(client, people)
    for token in ("", "forged"):
        r = client.post(form_url(people), data={**data, "csrf_token": token})
        assert r.status_code == 403 and "CSRF" in r.text
    assert requests_of(session, people) == []


@pytest.mark.parametrize(
    ("overrides", "says"),
    [
        ({"period_start": (access.beijing_today() - timedelta(days=1)).isoformat()}, "开始日期已过"),
        ({"period_end": "2020-13-40"}, "结束日期：日期格式应为 YYYY-MM-DD"),
        ({"fields": ["name", "salary"]}, "数据表中没有这些字段：salary"),
        ({"fields": []}, "申请字段：至少选择一项"),
        ({"scenario": "x"}, "应用场景：至少 2 个字"),
        ({"expected_rows": "很多"}, "预计每月使用行数：应为整数"),
    ],
)
def test_bad_values_are_shown_on_the_form_and_nothing_is_stored(client, session, as_actor, people, overrides, says):
    sign_in(client, as_actor("bank"))
    r = client.post(form_url(people), data=request_form(client, people, **overrides))
    assert r.status_code == 422
    error = re.search(r'id="request-error">(.*?)</div>', r.text, re.S)
    assert error and says in error.group(1)
    assert "核验借款人身份与缴费情况" in r.text  # what was typed is kept
    assert requests_of(session, people) == []


# --- review -------------------------------------------------------------------------------------------


def post_decision(client, request_id, **data):
    token = token_of(client, f"/access/requests/{request_id}")
    return client.post(
        f"/access/requests/{request_id}/decision", data={"csrf_token": token, **data}, follow_redirects=False
    )


def test_the_department_narrows_then_the_operator_grants_with_quotas(client, session, as_actor, people):
    bank, operator = as_actor("bank"), as_actor("operator")
    request_id = ask(session, bank, people, ["name", "id_number", "phone", "district", "amount"])

    sign_in(client, people.owner)
    assert client.get("/access/review-count").text.strip().endswith(">1</span>")
    queue = region(client.get("/access/requests").text, "review-table")
    assert f'href="/access/requests/{request_id}"' in queue
    page = client.get(f"/access/requests/{request_id}").text
    assert 'id="approve-form"' in page and 'name="daily_call_quota"' not in page  # quotas are the operator's
    end = access.beijing_today() + timedelta(days=10)
    r = post_decision(
        client,
        request_id,
        action="approve",
        fields=["name", "phone", "district", "amount"],  # id_number unticked
        **{"mask.name": "all", "mask.phone": "phone"},  # phone unchanged: no change recorded
        row_filter="district = '崂山区'",
        period_end=end.isoformat(),
        reason="仅限崂山区试点",
    )
    assert r.status_code == 303, r.text
    req = access.get_request(session, people.owner, request_id)
    assert req.state == "department_approved" and req.fields == ["name", "phone", "district", "amount"]
    assert req.masks == {"name": "all", "phone": "phone"} and req.row_filter == "district = '崂山区'"
    assert req.period_end == end
    history = region(client.get(f"/access/requests/{request_id}").text, "decisions")
    assert "同意（收窄范围）" in history and "仅限崂山区试点" in history
    assert '<span class="change-name">字段</span>' in history and "身份证号" not in history.split("change-new")[1]
    assert "姓名：姓名（张*）" in history and "姓名：全部遮盖" in history
    assert client.get("/access/review-count").text.count("nav-count") == 0

    sign_in(client, operator)
    assert ">1</span>" in client.get("/access/review-count").text
    page = client.get(f"/access/requests/{request_id}").text
    assert 'name="daily_call_quota"' in page and "待运营方审核" in page
    r = post_decision(
        client,
        request_id,
        action="approve",
        fields=["name", "phone", "district", "amount"],
        daily_call_quota="50",
        daily_row_quota="1000",
        rate_per_minute="10",
    )
    assert r.status_code == 303, r.text
    g = session.scalar(select(AccessGrant).where(AccessGrant.request_id == request_id))
    assert (g.daily_call_quota, g.daily_row_quota, g.rate_per_minute) == (50, 1000, 10)
    assert g.fields == ["name", "phone", "district", "amount"] and g.row_filter == "district = '崂山区'"
    assert "已授权" in client.get(f"/access/requests/{request_id}").text

    # the bank sees its grant with usage against quota, and the masked, filtered preview
    sign_in(client, bank)
    preview = client.get(resource_url(people)).text
    rows = re.findall(r"<tr>(.*?)</tr>", preview.split('id="rows-table"', 1)[1].split("</table>", 1)[0], re.S)
    cells = [re.findall(r"<td>(.*?)</td>", row) for row in rows[1:]]
    assert cells and all(c[1] == "***" and c[3] == "崂山区" and re.fullmatch(r"138\*{4}\d{4}", c[2]) for c in cells)
    grants = client.get("/access/grants").text
    card = region(grants, f"grant-{g.id}")
    assert "生效中" in card and "district = &#39;崂山区&#39;" in card
    assert re.search(r'id="calls-\d+".*?<span class="usage-used">1</span> / 50（2%）', card, re.S)
    assert re.search(rf'id="rows-{g.id}".*?<span class="usage-used">{len(cells)}</span> / 1,000', card, re.S)
    assert "撤销授权" not in card  # the consumer cannot revoke


def test_a_bad_decision_is_shown_and_nothing_is_half_saved(client, session, as_actor, people):
    request_id = ask(session, as_actor("bank"), people, ["name", "id_number", "district"])
    sign_in(client, people.owner)
    # the fields are narrowed before the row filter is checked: the failure must undo both
    r = post_decision(client, request_id, action="approve", fields=["name", "district"], row_filter="district = ")
    assert r.status_code == 422
    assert "行过滤" in re.search(r'id="decision-error">(.*?)</div>', r.text, re.S).group(1)
    assert "district = " in r.text  # the typed filter is kept
    req = access.get_request(session, people.owner, request_id)
    assert req.state == "requested" and req.fields == ["name", "id_number", "district"] and len(req.decisions) == 1

    r = post_decision(client, request_id, action="approve", fields=["name"], **{"mask.name": "first:9"})
    assert r.status_code == 422 and "只能更严格" in r.text
    r = post_decision(client, request_id, action="approve", fields=["name"], period_end="2999-01-01")
    assert r.status_code == 422 and "不能延长" in r.text
    r = post_decision(client, request_id, action="reject", reject_reason="  ")
    assert r.status_code == 422 and "驳回需说明理由" in re.search(r'id="reject-error">(.*?)</div>', r.text).group(1)
    assert access.get_request(session, people.owner, request_id).state == "requested"

    r = post_decision(client, request_id, action="reject", reject_reason="用途与数据不匹配")
    assert r.status_code == 303
    page = client.get(f"/access/requests/{request_id}").text
    assert "已驳回" in page and "用途与数据不匹配" in page and 'id="approve-form"' not in page


def test_the_operator_cannot_take_the_departments_step_nor_others_see_it(client, session, as_actor, people):
    request_id = ask(session, as_actor("bank"), people, ["name"])
    sign_in(client, as_actor("operator"))
    page = client.get(f"/access/requests/{request_id}").text
    assert "待部门审核" in page and 'id="approve-form"' not in page
    r = post_decision(client, request_id, action="approve", fields=["name"])
    assert r.status_code == 403 and "没有权限" in re.search(r'id="decision-error">(.*?)</div>', r.text).group(1)
    assert access.get_request(session, people.owner, request_id).state == "requested"

    sign_in(client, as_actor("department"))  # another department: the request does not exist for it
    assert client.get(f"/access/requests/{request_id}").status_code == 404
    assert client.get("/access/review-count").text.count("nav-count") == 0


def test_operator_quota_must_be_a_number(client, session, as_actor, people):
    request_id = ask(session, as_actor("bank"), people, ["name"])
    contracts.review_access(session, people.owner, request_id, Decision(action="approve"))
    sign_in(client, as_actor("operator"))
    r = post_decision(client, request_id, action="approve", fields=["name"], daily_call_quota="很多")
    assert r.status_code == 422 and "每日调用次数上限应为整数" in r.text
    r = post_decision(client, request_id, action="approve", fields=["name"], daily_call_quota="0")
    assert r.status_code == 422 and "每日调用次数上限：不能小于 1" in r.text
    assert access.get_request(session, people.owner, request_id).grant is None


def test_decisions_refuse_without_the_csrf_token(client, session, as_actor, people):
    request_id = ask(session, as_actor("bank"), people, ["name"])
    sign_in(client, people.owner)
    r = client.post(f"/access/requests/{request_id}/decision", data={"action": "approve"})
    assert r.status_code == 403 and "CSRF" in r.text
    assert access.get_request(session, people.owner, request_id).state == "requested"


def test_the_consumer_withdraws_while_under_review(client, session, as_actor, people):
    bank = as_actor("bank")
    request_id = ask(session, bank, people, ["name"])
    sign_in(client, bank)
    url = f"/access/requests/{request_id}/withdraw"
    assert client.post(url, data={"withdraw_reason": "x"}).status_code == 403  # no token
    r = client.post(url, data={"csrf_token": token_of(client), "withdraw_reason": "项目取消"}, follow_redirects=False)
    assert r.status_code == 303
    page = client.get(f"/access/requests/{request_id}").text
    assert "已撤回" in page and "项目取消" in page and 'id="withdraw-form"' not in page
    # withdrawing again is a conflict, shown on the page
    r = client.post(url, data={"csrf_token": token_of(client)})
    assert r.status_code == 409 and "不能撤回" in r.text


# --- grants -------------------------------------------------------------------------------------------


def test_the_publisher_revokes_with_a_reason_and_reads_stop(client, session, as_actor, people):
    bank, operator = as_actor("bank"), as_actor("operator")
    grant_id = grant(session, bank, operator, people, ["name", "district"])

    sign_in(client, bank)
    assert 'id="rows-table"' in client.get(resource_url(people)).text
    r = client.post(f"/access/grants/{grant_id}/revoke", data={"csrf_token": token_of(client), "reason": "不用了"})
    assert r.status_code == 403 and "只有发布数据的部门或运营方" in r.text

    sign_in(client, people.owner)
    issued = region(client.get("/access/grants").text, "issued")
    assert f'action="/access/grants/{grant_id}/revoke"' in issued
    r = client.post(f"/access/grants/{grant_id}/revoke", data={"reason": "违规使用"})
    assert r.status_code == 403  # no CSRF token
    r = client.post(f"/access/grants/{grant_id}/revoke", data={"csrf_token": token_of(client), "reason": " "})
    assert r.status_code == 422 and "撤销授权需说明理由" in r.text
    assert session.get(AccessGrant, grant_id).state == "active"
    r = client.post(
        f"/access/grants/{grant_id}/revoke",
        data={"csrf_token": token_of(client), "reason": "发现超范围使用"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    card = region(client.get("/access/grants").text, f"grant-{grant_id}")
    assert "已撤销" in card and "发现超范围使用" in card and "立即撤销" not in card

    sign_in(client, bank)
    html = client.get(resource_url(people)).text
    assert 'id="rows-forbidden"' in html and 'id="rows-table"' not in html
    assert "已撤销" in region(client.get("/access/grants").text, "held")


# --- the audit trail ----------------------------------------------------------------------------------


def test_the_regulator_searches_verifies_and_exports(client, session, as_actor, people):
    bank = as_actor("bank")
    request_id = ask(session, bank, people, ["name"])
    sign_in(client, bank)
    assert client.get(f"/api/v1/resources/{people.resource_id}/rows").status_code == 403  # refused, audited
    sign_in(client, as_actor("regulator"))
    html = client.get("/audit").text
    table = region(html, "audit-table")
    assert "提交申请" in table and "读取数据行" in table and people.entry_code in table
    assert 'href="/api/v1/audit/export.csv"' in html and 'href="/api/v1/audit/export.jsonl"' in html
    refused = region(client.get("/audit", params={"result": "refused"}).text, "audit-table")
    assert "读取数据行" in refused and "提交申请" not in refused
    assert "提交申请" in client.get("/audit", params={"action": "access.request"}).text
    today = access.beijing_today()
    none = client.get("/audit", params={"until": (today - timedelta(days=1)).isoformat()}).text
    assert "没有符合条件的审计记录" in none

    verified = client.get("/audit", params={"verify": "1"}).text
    assert re.search(r'class="verify-result verify-ok".*?审计链完整', verified, re.S)
    # a record changed behind the platform's back is found
    record = session.scalar(select(AuditRecord).order_by(AuditRecord.seq).where(AuditRecord.action == "access.request"))
    record.reason = "改过了"
    session.flush()
    broken = client.get("/audit", params={"verify": "1"}).text
    assert re.search(rf'class="verify-result verify-broken".*?第 {record.seq} 条', broken, re.S)
    assert request_id


def test_each_role_sees_its_share_of_the_trail(client, session, as_actor, people):
    bank, other = as_actor("bank"), as_actor("enterprise")
    ask(session, bank, people, ["name"])
    ask(session, other, people, ["district"])
    sign_in(client, bank)
    html = client.get("/audit").text
    assert html.count('<tr class="audit-') == 1 and 'id="verify-button"' not in html
    assert "/api/v1/audit/export.csv" not in html
    assert client.get("/audit", params={"verify": "1"}).status_code == 200  # ignored, not run
    sign_in(client, people.owner)  # the publisher sees every use of its data
    assert client.get("/audit").text.count('<tr class="audit-') == 2


@pytest.mark.parametrize(
    ("params", "says"),
    [
        ({"since": "2025-02-30"}, "开始日期的格式应为"),
        ({"result": "maybe"}, "结果“maybe”无效"),
        ({"page": "0"}, "页码"),
    ],
)
def test_bad_audit_filters_are_explained(client, as_actor, params, says):
    sign_in(client, as_actor("regulator"))
    r = client.get("/audit", params=params)
    assert r.status_code == 400 and says in re.search(r'id="audit-error">(.*?)</div>', r.text).group(1)


def test_navigation_links_and_review_badge(client, as_actor, people):
    html = client.get("/").text
    assert 'href="/access/requests"' not in html
    sign_in(client, as_actor("bank"))
    html = client.get("/").text
    assert 'href="/access/requests"' in html and 'href="/access/grants"' in html and 'href="/audit"' in html
    assert 'hx-get="/access/review-count"' not in html  # nothing to review
    sign_in(client, people.owner)
    assert 'hx-get="/access/review-count"' in client.get("/").text


def test_sandbox_mode_requested_narrowed_to_and_budgeted(client, session, as_actor, people):
    bank, operator = as_actor("bank"), as_actor("operator")
    sign_in(client, bank)
    form = client.get(form_url(people)).text
    assert re.search(r'<input type="radio" name="mode" value="rows" checked>', form)  # no health data: rows first
    r = client.post(form_url(people), data=request_form(client, people, mode="sandbox"), follow_redirects=False)
    assert r.status_code == 303
    assert access.get_request(session, bank, int(r.headers["location"].rsplit("/", 1)[1])).mode == "sandbox"
    r = client.post(form_url(people), data=request_form(client, people, mode="everything"))
    assert r.status_code == 422 and "使用方式" in r.text

    # a rows request narrowed to the sandbox by the department; the operator sets the privacy budget
    request_id = ask(session, bank, people, ["district", "amount"])
    sign_in(client, people.owner)
    r = post_decision(client, request_id, action="approve", fields=["district", "amount"], mode="sandbox")
    assert r.status_code == 303
    history = region(client.get(f"/access/requests/{request_id}").text, "decisions")
    assert "使用方式" in history and "隐私计算沙箱（仅聚合结果）" in history.split("change-new")[1]
    sign_in(client, operator)
    r = post_decision(client, request_id, action="approve", fields=["district", "amount"], privacy_budget="2.5")
    assert r.status_code == 303
    g = access.get_request(session, operator, request_id).grant
    assert (g.mode, g.privacy_budget) == ("sandbox", 2.5)
    sign_in(client, bank)
    card = region(client.get("/access/grants").text, f"grant-{g.id}")
    assert "隐私计算沙箱" in card and re.search(
        r'id="budget-\d+".*?已用 <span class="usage-spent">0.00</span> / 2.50', card, re.S
    )


def test_the_audit_viewer_pages_fifty_at_a_time(client, session, as_actor):
    regulator = as_actor("regulator")
    for i in range(55):
        audit.record(session, regulator, audit.Event("rows.read", entry_code=f"P-{i:03d}", rows=i))
    sign_in(client, regulator)
    first = client.get("/audit", params={"action": "rows.read"}).text
    assert "共 55 条记录，第 1 / 2 页" in first and first.count('<tr class="audit-') == 50
    assert ">P-054</a>" in first and ">P-004</a>" not in first  # newest first
    next_url = re.search(r'id="audit-next" href="([^"]+)"', first).group(1).replace("&amp;", "&")
    assert "action=rows.read" in next_url and "page=2" in next_url
    second = client.get(next_url).text
    assert second.count('<tr class="audit-') == 5 and ">P-000</a>" in second
    assert 'id="audit-next"' not in second and 'id="audit-prev"' in second


def test_the_operator_revokes_any_grant_and_the_regulator_only_looks(client, session, as_actor, people):
    bank, operator = as_actor("bank"), as_actor("operator")
    grant_id = grant(session, bank, operator, people, ["district"])
    sign_in(client, as_actor("regulator"))
    issued = region(client.get("/access/grants").text, "issued")
    assert "全部授权" in client.get("/access/grants").text and f'id="grant-{grant_id}"' in issued
    assert "/revoke" not in issued
    r = client.post(f"/access/grants/{grant_id}/revoke", data={"csrf_token": token_of(client), "reason": "监管要求"})
    assert r.status_code == 403 and session.get(AccessGrant, grant_id).state == "active"

    sign_in(client, operator)
    assert f'action="/access/grants/{grant_id}/revoke"' in client.get("/access/grants").text
    r = client.post(
        f"/access/grants/{grant_id}/revoke",
        data={"csrf_token": token_of(client), "reason": "合同到期前终止"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and session.get(AccessGrant, grant_id).state == "revoked"
    history = region(client.get(f"/access/requests/{session.get(AccessGrant, grant_id).request_id}").text, "decisions")
    assert "撤销授权" in history and "合同到期前终止" in history


def test_requests_and_grants_stay_listed_when_the_entry_is_withdrawn(client, session, as_actor, people):
    bank = as_actor("bank")
    grant_id = grant(session, bank, as_actor("operator"), people, ["district"])
    request_id = session.get(AccessGrant, grant_id).request_id
    catalog.delete_entry(session, people.owner, people.entry_code)
    sign_in(client, bank)
    for url in ("/access/requests", "/access/grants", f"/access/requests/{request_id}"):
        r = client.get(url)
        assert r.status_code == 200 and "数据目录已撤销" in r.text, url
