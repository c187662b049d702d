"""The entry page: metadata, tags, fields with personal-information markers, resources, revision
history and export links."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

from pubdata.catalog import service as catalog
from pubdata.catalog.schemas import EntryUpdate
from tests import builders


def _entry(session, **overrides):  # type: ignore[no-untyped-def]
    org = builders.make_org(session, name="青岛市卫生健康委员会", code="qd-wjw-entry")
    data = {
        "code": "QD-WJW-YL-0001",
        "title": "医疗机构执业登记信息",
        "description": "全市医疗机构的执业登记信息。",
        "category": "medical",
        "open_type": "conditional",
        "security_grade": "important",
        "update_frequency": "monthly",
        "district": "崂山区",
        "temporal_start": date(2020, 1, 1),
        "temporal_end": date(2024, 12, 31),
        "licence": "青岛市公共数据开放许可协议",
        "contact_name": "王主任",
        "contact_email": "data@wjw.qingdao.example",
        "contact_phone": "0532-12345678",
        "tags": ["医院", "三医"],
        "fields": [
            {"name": "org_name", "label": "机构名称", "type": "string", "description": "医疗机构全称"},
            {"name": "legal_person", "label": "法定代表人", "type": "string", "personal_kind": "name"},
            {"name": "legal_id", "label": "法定代表人身份证号", "type": "string", "personal_kind": "id_number"},
            {"name": "beds", "label": "床位数", "type": "integer"},
        ],
        "resources": [{"name": "执业登记表", "format": "CSV", "description": "按月更新"}],
        "organisation": org.code,
    }
    data.update(overrides)
    return builders.make_entry(session, **data)


def test_entry_page_shows_all_metadata(client, session):
    entry = _entry(session)
    entry.created_at = datetime(2023, 5, 31, 16, 5, tzinfo=UTC)  # 2023-06-01 00:05 in Shanghai
    session.flush()
    r = client.get(f"/dataset/{entry.name}")
    assert r.status_code == 200
    html = r.text
    meta = re.search(r'<dl class="meta-grid" id="entry-metadata">(.*?)</dl>', html, re.S).group(1)
    expected = {
        "目录编码": "QD-WJW-YL-0001",
        "发布部门": "青岛市卫生健康委员会",
        "数据类别": "医疗",
        "开放类型": "有条件开放",
        "安全级别": "重要",
        "更新频率": "每月",
        "空间范围": "崂山区",
        "时间范围": "2020-01-01 至 2024-12-31",
        "许可协议": "青岛市公共数据开放许可协议",
        "联系人": "王主任",
        "联系电话": "0532-12345678",
        "联系邮箱": "data@wjw.qingdao.example",
        "创建时间": "2023-06-01 00:05",
    }
    for name, value in expected.items():
        assert re.search(rf"<dt>{name}</dt><dd>.*?{re.escape(value)}.*?</dd>", meta), name
    assert '<h1 id="entry-title">医疗机构执业登记信息</h1>' in html
    assert "全市医疗机构的执业登记信息。" in html
    assert '<a class="tag" href="/dataset?tags=%E5%8C%BB%E9%99%A2">医院</a>' in html


def test_entry_page_shows_fields_and_personal_markers(client, session):
    entry = _entry(session)
    html = client.get(f"/dataset/{entry.name}").text
    table = re.search(r'<table class="data-table" id="entry-fields">(.*?)</table>', html, re.S).group(1)
    for header in ("字段名", "中文名称", "类型", "说明", "个人信息"):
        assert f"<th>{header}</th>" in table
    rows = re.findall(r"<tr>\s*(.*?)</tr>", table.split("<tbody>")[1], re.S)
    assert len(rows) == 4
    assert "<code>org_name</code>" in rows[0] and "机构名称" in rows[0] and "医疗机构全称" in rows[0]
    assert "否" in rows[0]
    assert "个人信息：姓名" in rows[1]
    assert "个人信息：身份证号" in rows[2]
    assert "integer" in rows[3] and "否" in rows[3]


def test_entry_page_shows_resources_and_export_links(client, session):
    entry = _entry(session)
    html = client.get(f"/dataset/{entry.name}").text
    resources = re.search(r'id="entry-resources">(.*?)</ul>', html, re.S).group(1)
    assert "执业登记表" in resources and "CSV" in resources and "按月更新" in resources
    assert f'href="/dataset/{entry.name}.ttl"' in html
    assert f'href="/dataset/{entry.name}.jsonld"' in html
    assert f'href="/api/3/action/package_show?id={entry.name}"' in html


def test_entry_page_by_code(client, session):
    entry = _entry(session)
    r = client.get("/dataset/QD-WJW-YL-0001")
    assert r.status_code == 200
    assert entry.title in r.text


def test_revision_history_lists_who_when_and_what_changed(client, session, as_actor):
    operator = as_actor("operator")
    entry = _entry(session)
    catalog.update_entry(
        session, operator, entry.name, EntryUpdate(title="医疗机构执业登记信息（2024版）", open_type="unconditional")
    )
    catalog.update_entry(session, operator, entry.name, EntryUpdate(tags=["医院"], description="更新后的描述"))
    html = client.get(f"/dataset/{entry.name}").text
    history = re.search(r'<ol class="revisions" id="entry-revisions">(.*?)</ol>', html, re.S).group(1)
    revisions = re.findall(r'<li class="revision">(.*?)</li>\s*(?=<li class="revision">|$)', history, re.S)
    assert len(revisions) == 3
    newest, middle, created = revisions
    assert "#3" in newest and "修改" in newest and operator.username in newest
    assert re.search(
        r'<span class="change-name">标签</span>：\s*<span class="change-old">三医、医院</span> → '
        r'<span class="change-new">医院</span>',
        newest,
    )
    assert "描述已修改" in newest
    assert re.search(
        r'<span class="change-name">标题</span>：\s*<span class="change-old">医疗机构执业登记信息</span>'
        r' → <span class="change-new">医疗机构执业登记信息（2024版）</span>',
        middle,
    )
    assert re.search(
        r'<span class="change-name">开放类型</span>：\s*<span class="change-old">有条件开放</span>'
        r' → <span class="change-new">无条件开放</span>',
        middle,
    )
    assert "#1" in created and "创建" in created and "system" in created
    assert re.search(r"<time datetime=\"[^\"]+\">\d{4}-\d{2}-\d{2} \d{2}:\d{2}</time>", created)


def test_field_changes_are_summarised(client, session, as_actor):
    operator = as_actor("operator")
    entry = _entry(session)
    catalog.update_entry(
        session, operator, entry.name, EntryUpdate(fields=[{"name": "hospital_name", "label": "机构名称"}])
    )
    html = client.get(f"/dataset/{entry.name}").text
    assert "字段定义已修改（4 个字段 → 1 个字段）" in html


def test_deleted_entry_is_not_found(client, session, as_actor):
    operator = as_actor("operator")
    entry = _entry(session)
    catalog.delete_entry(session, operator, entry.name)
    r = client.get(f"/dataset/{entry.name}")
    assert r.status_code == 404
    assert "数据目录不存在" in r.text
