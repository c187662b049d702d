"""The entry page's data-store section: quality score and dimensions in words, versions, the score
trend chart, and the links that only the publisher sees (upload, rejects)."""

from __future__ import annotations

import json
import re

import pytest

from pubdata.standards import uscc_with_check
from pubdata.store import service
from pubdata.store.ingest import load as ingest
from pubdata.store.schemas import TableCreate
from tests.builders import make_entry
from tests.web.helpers import login

SCHEMA = {
    "fields": [
        {"name": "uscc", "type": "string", "semanticType": "uscc", "title": "统一社会信用代码"},
        {"name": "founded", "type": "date", "title": "成立日期"},
    ],
    "primaryKey": "uscc",
}
CODES = [uscc_with_check(f"91370200MA{i:07d}") for i in range(30)]


@pytest.fixture
def published(session, as_actor, settings, tmp_path):
    """An entry of a department with one table loaded twice (the second load with a duplicate and a
    bad code) and a second, empty table."""
    dept = as_actor("department")
    entry = make_entry(session, dept, title="市场主体登记信息", update_frequency="monthly")
    rid = service.create_table(
        session, dept, entry.code, TableCreate(name="登记信息", schema=SCHEMA, reject_threshold=0.2)
    ).resource_id
    service.create_table(session, dept, entry.code, TableCreate(name="变更记录", schema=SCHEMA))
    for n, extra in ((1, []), (2, [f"{CODES[0]},2021-01-01", "91370200MA0000000X,2021-01-01"])):
        path = tmp_path / f"v{n}.csv"
        rows = [f"{c},2020-0{1 + i % 9}-1{i % 9}" for i, c in enumerate(CODES[: 10 * n])]
        path.write_text("\n".join(["uscc,founded", *rows, *extra]) + "\n", encoding="utf-8")
        ingest.ingest(session, dept, rid, path, home=settings.resolved_home)
    return dept, entry, rid


def section(html: str, rid: str) -> str:
    match = re.search(rf'<section class="panel store-table" id="store-{rid}".*?</section>', html, re.S)
    assert match, "no store section for the resource"
    return match.group(0)


def test_the_section_shows_the_score_dimensions_versions_and_trend(client, published):
    _dept, entry, rid = published
    r = client.get(f"/dataset/{entry.name}")
    assert r.status_code == 200
    html = section(r.text, rid)
    assert "数据质量 · 登记信息" in html
    quality = client.get(f"/api/v1/resources/{rid}/quality").json()
    assert f'<span class="figure-value">{quality["score"]:.1f}</span>' in html
    rows = re.findall(
        r'<tr class="dimension-(\w+)">\s*<th scope="row">(.*?)</th>\s*<td>(.*?)</td>\s*<td>(.*?)</td>', html
    )
    assert [(name, label) for name, label, _, _ in rows] == [
        ("completeness", "完整性"), ("validity", "规范性"), ("accuracy", "准确性"),
        ("consistency", "一致性"), ("uniqueness", "唯一性"), ("timeliness", "时效性"),
    ]  # fmt: skip
    words = {name: (score, text) for name, _, score, text in rows}
    assert words["uniqueness"][1] == "22 行中 1 行主键（统一社会信用代码）重复"
    assert "统一社会信用代码校验位错误 1 个" in words["validity"][1]
    assert "未评价" in words["consistency"][0] and "未声明且未能推断出" in words["consistency"][1]
    assert "成立日期" in words["timeliness"][1] and "更新频率每月" in words["timeliness"][1]
    versions = re.findall(r'<tr class="version( version-current)?">\s*<td>v(\d+)</td>.*?</tr>', html, re.S)
    assert versions == [(" version-current", "2"), ("", "1")]
    current = re.search(r'<tr class="version version-current">(.*?)</tr>', html, re.S).group(1)
    assert re.findall(r"<td>(\d+)</td>", current) == ["20", "2"] and "已发布" in current
    data = json.loads(re.search(r'class="quality-trend-data"[^>]*>(.*?)</script>', html, re.S).group(1))
    assert [p["version"] for p in data["points"]] == [1, 2] and data["labels"]["timeliness"] == "时效性"
    assert data["points"][1]["score"] == quality["trend"][1]["score"]
    assert f'href="/dataset/{entry.name}/resource/{rid}">浏览数据</a>' in html
    assert "/static/js/quality.js" in r.text


def test_a_table_without_versions_says_so(client, published, session):
    _dept, entry, _rid = published
    html = client.get(f"/dataset/{entry.name}").text
    empty = re.search(
        r'<section class="panel store-table"[^>]*>\s*<h2[^>]*>数据质量 · 变更记录</h2>.*?</section>', html, re.S
    )
    assert empty and "尚未发布数据版本" in empty.group(0) and "quality-trend-data" not in empty.group(0)


@pytest.mark.parametrize("role", ["anonymous", "department", "enterprise"])
def test_visitors_get_no_upload_or_rejects_links(client, published, as_actor, role):
    _dept, entry, rid = published
    if role != "anonymous":
        assert login(client, as_actor(role).username).status_code == 303
    html = section(client.get(f"/dataset/{entry.name}").text, rid)
    assert "上传新版本" not in html and "rejects.csv" not in html and "拒收明细" not in html
    assert "浏览数据" in html


@pytest.mark.parametrize("role", ["owner", "operator"])
def test_the_publisher_and_the_operator_get_upload_and_rejects_links(client, published, as_actor, role):
    dept, entry, rid = published
    who = dept if role == "owner" else as_actor("operator")
    assert login(client, who.username).status_code == 303
    html = section(client.get(f"/dataset/{entry.name}").text, rid)
    assert f'href="/dataset/{entry.name}/resource/{rid}/upload">上传新版本</a>' in html
    # only the version with rejected rows links its rejects file, and the link works in the browser session
    links = re.findall(r'href="(/api/v1/resources/[^"]+/rejects\.csv)"', html)
    assert links == [f"/api/v1/resources/{rid}/versions/2/rejects.csv"]
    download = client.get(links[0])
    assert download.status_code == 200 and "91370200MA0000000X" in download.content.decode("utf-8-sig")


def test_a_single_version_explains_why_there_is_no_trend_yet(client, session, as_actor, settings, tmp_path):
    dept = as_actor("department")
    entry = make_entry(session, dept)
    rid = service.create_table(session, dept, entry.code, TableCreate(name="表", schema=SCHEMA)).resource_id
    path = tmp_path / "v1.csv"
    path.write_text("uscc,founded\n" + "\n".join(f"{c},2020-01-01" for c in CODES[:5]) + "\n", encoding="utf-8")
    ingest.ingest(session, dept, rid, path, home=settings.resolved_home)
    r = client.get(f"/dataset/{entry.name}")
    html = section(r.text, rid)
    assert "quality-trend-data" not in html and "发布新版本后将显示质量得分趋势" in html
    assert "/static/js/quality.js" not in r.text
