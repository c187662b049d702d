"""Giving a declared resource its table in the portal: the resource page offers its publisher a form
pre-filled with the schema proposed from the entry's fields; no one else gets the form or may post it;
a bad schema is named in Chinese and creates nothing; after it, the upload form."""

from __future__ import annotations

import html
import json
import re
from urllib.parse import quote

import pytest

from pubdata.authz import SYSTEM
from pubdata.store import service as store
from pubdata.store.errors import TableNotFound
from tests.builders import make_entry
from tests.web.helpers import hidden_field, login

FIELDS = [
    {"name": "uscc", "label": "统一社会信用代码", "type": "string"},
    {"name": "legal_rep", "label": "法定代表人", "type": "string", "personal_kind": "name"},
    {"name": "staff", "label": "从业人数", "type": "integer"},
    {"name": "founded", "label": "成立日期", "type": "date"},
]


@pytest.fixture
def declared(session, as_actor):
    """A department's entry with its declared resource and no table yet."""
    dept = as_actor("department")
    entry = make_entry(session, dept, fields=FIELDS, resources=[{"name": "登记信息", "description": "登记在册"}])
    return dept, entry.name, entry.resources[0].id


def page_url(name: str, rid: str) -> str:
    return f"/dataset/{name}/resource/{rid}"


def has_table(session, rid: str) -> bool:
    try:
        store.get_table(session, SYSTEM, rid)
    except TableNotFound:
        return False
    return True


def textarea(page: str) -> str:
    match = re.search(r'<textarea id="new-table-schema"[^>]*>(.*?)</textarea>', page, re.S)
    assert match, "no schema textarea"
    return html.unescape(match.group(1))


def test_the_publisher_is_offered_the_proposed_schema_and_gives_the_resource_its_table(client, session, declared):
    dept, name, rid = declared
    login(client, dept.username)
    page = client.get(page_url(name, rid))
    assert page.status_code == 200 and 'id="new-table-form"' in page.text
    assert page.headers["cache-control"] == "no-store"
    proposed = json.loads(textarea(page.text))
    assert proposed == store.proposed_schema(session, dept, rid)
    assert [f["type"] for f in proposed["fields"]] == ["string", "string", "integer", "date"]
    assert proposed["fields"][1]["personalKind"] == "name"
    listing = page.text.split('id="proposed-fields"', 1)[1].split("</table>", 1)[0]
    assert "统一社会信用代码" in listing and "姓名" in listing and "整数" in listing

    # accepted as offered
    r = client.post(
        f"{page_url(name, rid)}/schema",
        data={
            "csrf_token": hidden_field(page.text, "csrf_token"),
            "table_schema_json": textarea(page.text),
            "reject_percent": "10",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    assert r.headers["location"] == f"{page_url(name, rid)}/upload?table=new"
    table = store.get_table(session, dept, rid)
    assert [f["name"] for f in table.table_schema["fields"]] == ["uscc", "legal_rep", "staff", "founded"]
    assert table.reject_threshold == pytest.approx(0.1)

    upload = client.get(r.headers["location"])
    assert upload.status_code == 200 and 'id="table-created"' in upload.text and 'id="upload-form"' in upload.text
    after = client.get(page_url(name, rid)).text
    assert 'id="resource-schema"' in after and 'id="new-table-form"' not in after


def test_an_edited_schema_is_the_one_given(client, session, declared):
    dept, name, rid = declared
    login(client, dept.username)
    page = client.get(page_url(name, rid)).text
    edited = json.loads(textarea(page))
    edited["primaryKey"] = "uscc"
    edited["fields"][0]["constraints"] = {"required": True}
    r = client.post(
        f"{page_url(name, rid)}/schema",
        data={"csrf_token": hidden_field(page, "csrf_token"), "table_schema_json": json.dumps(edited)},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    table = store.get_table(session, dept, rid)
    assert table.table_schema["primaryKey"] == "uscc" and table.reject_threshold == pytest.approx(0.05)


def test_the_operator_may_give_it_its_table_too(client, session, declared, as_actor):
    _, name, rid = declared
    operator = as_actor("operator")
    login(client, operator.username)
    page = client.get(page_url(name, rid)).text
    r = client.post(
        f"{page_url(name, rid)}/schema",
        data={"csrf_token": hidden_field(page, "csrf_token"), "table_schema_json": textarea(page)},
        follow_redirects=False,
    )
    assert r.status_code == 303 and has_table(session, rid)


SCHEMA = json.dumps({"fields": [{"name": "uscc", "type": "string"}]})


@pytest.mark.parametrize("role", ["department", "enterprise", "regulator"])
def test_others_get_no_form_and_are_refused(client, session, declared, as_actor, role):
    _, name, rid = declared
    login(client, as_actor(role).username)  # "department": another organisation's
    page = client.get(page_url(name, rid))
    assert page.status_code == 200 and 'id="no-table"' in page.text
    assert 'id="new-table-form"' not in page.text and "table_schema_json" not in page.text
    token = hidden_field(client.get("/user/me").text, "csrf_token")  # a valid token of their own session
    for schema in (SCHEMA, "{not json"):  # refused before what they wrote is read
        r = client.post(f"{page_url(name, rid)}/schema", data={"csrf_token": token, "table_schema_json": schema})
        assert r.status_code == 403, (schema, r.text)
    assert not has_table(session, rid)


def test_visitors_get_no_form_and_are_sent_to_sign_in(client, session, declared):
    _, name, rid = declared
    page = client.get(page_url(name, rid))
    assert page.status_code == 200 and "尚未建立数据表" in page.text and 'id="new-table-form"' not in page.text
    r = client.post(f"{page_url(name, rid)}/schema", data={"table_schema_json": SCHEMA}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/user/login?next=" + quote(page_url(name, rid))
    assert not has_table(session, rid)


def test_the_form_needs_the_sessions_csrf_token(client, session, declared):
    dept, name, rid = declared
    login(client, dept.username)
    for token in ("", "forged"):
        r = client.post(f"{page_url(name, rid)}/schema", data={"csrf_token": token, "table_schema_json": SCHEMA})
        assert r.status_code == 403 and "CSRF" in r.text
    assert not has_table(session, rid)


@pytest.mark.parametrize(
    ("schema", "reject_percent", "says"),
    [
        ('{"fields": [{"name": "uscc", "type": "string"}', "5", "表结构不是有效的 JSON：第 1 行"),
        ("[]", "5", "表结构应为 JSON 对象"),
        ("", "5", "表结构不能为空"),
        ('{"fields": []}', "5", "表结构的 fields 应为非空的字段列表"),
        ('{"fields": [{"name": "uscc", "type": "text"}]}', "5", "字段 uscc 的 type 应为以下之一"),
        ('{"fields": [{"name": "uscc"}], "primaryKey": "id"}', "5", "primaryKey 引用了不存在的字段 id"),
        (SCHEMA, "150", "拒收阈值应为 0 到 100 之间的百分数"),
        (SCHEMA, "很多", "拒收阈值应为 0 到 100 之间的百分数"),
    ],
)
def test_a_bad_schema_is_named_in_chinese_and_creates_nothing(client, session, declared, schema, reject_percent, says):
    dept, name, rid = declared
    login(client, dept.username)
    token = hidden_field(client.get(page_url(name, rid)).text, "csrf_token")
    r = client.post(
        f"{page_url(name, rid)}/schema",
        data={"csrf_token": token, "table_schema_json": schema, "reject_percent": reject_percent},
    )
    assert r.status_code == 422
    error = r.text.split('id="new-table-error"', 1)[1].split("</div>", 1)[0]
    assert says in html.unescape(error)
    assert textarea(r.text) == schema  # what they wrote is kept to correct
    assert not has_table(session, rid)


def test_every_problem_of_a_schema_is_listed(client, session, declared):
    dept, name, rid = declared
    login(client, dept.username)
    token = hidden_field(client.get(page_url(name, rid)).text, "csrf_token")
    bad = {
        "fields": [{"name": "1st", "type": "string"}, {"name": "n", "type": "integer", "constraints": {"pattern": "x"}}]
    }
    r = client.post(f"{page_url(name, rid)}/schema", data={"csrf_token": token, "table_schema_json": json.dumps(bad)})
    assert r.status_code == 422
    error = html.unescape(r.text.split('id="new-table-error"', 1)[1].split("</div>", 1)[0])
    assert "表结构有 2 处错误" in error
    assert "字段 1st 的 name" in error and "字段 n 的 constraints.pattern 只适用于文本（string）字段" in error
    assert not has_table(session, rid)


def test_a_second_table_is_refused(client, session, declared):
    dept, name, rid = declared
    login(client, dept.username)
    token = hidden_field(client.get(page_url(name, rid)).text, "csrf_token")
    first = client.post(
        f"{page_url(name, rid)}/schema", data={"csrf_token": token, "table_schema_json": SCHEMA}, follow_redirects=False
    )
    assert first.status_code == 303
    again = client.post(f"{page_url(name, rid)}/schema", data={"csrf_token": token, "table_schema_json": SCHEMA})
    assert again.status_code == 409 and "不能重复建立" in again.text
    bad = client.post(f"{page_url(name, rid)}/schema", data={"csrf_token": token, "table_schema_json": "{"})
    assert bad.status_code == 409


def test_the_upload_page_leads_the_publisher_to_the_form_first(client, declared):
    dept, name, rid = declared
    login(client, dept.username)
    r = client.get(f"{page_url(name, rid)}/upload", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"{page_url(name, rid)}#new-table"
    posted = client.post(f"{page_url(name, rid)}/upload", files={"file": ("a.csv", b"uscc\n1\n")})
    assert posted.status_code == 409 and "尚未建立数据表" in posted.text


def test_the_entry_page_links_the_resource_and_says_it_has_no_table(client, declared):
    _, name, rid = declared
    resources = client.get(f"/dataset/{name}").text.split('id="entry-resources"', 1)[1].split("</ul>", 1)[0]
    assert f'href="{page_url(name, rid)}">登记信息</a>' in resources and "尚未建立数据表" in resources
