"""The catalogue search page: query, facets with counts, filter chips, sorting, paging, htmx
partials and friendly errors for bad parameters."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import pytest

from tests import builders

HX = {"HX-Request": "true"}


@pytest.fixture
def catalogue(session):  # type: ignore[no-untyped-def]
    health = builders.make_org(session, name="青岛市卫生健康委员会", code="qd-wjw")
    insurance = builders.make_org(session, name="青岛市医疗保障局", code="qd-ybj")
    edu = builders.make_org(session, name="青岛市教育局", code="qd-jyj")
    entries = {
        "hospitals": builders.make_entry(
            session,
            title="医疗机构基本信息",
            category="medical",
            organisation=health.code,
            tags=["医院", "三医"],
            district="市南区",
        ),
        "doctors": builders.make_entry(
            session,
            title="医疗卫生人员执业信息",
            category="medical",
            organisation=health.code,
            open_type="conditional",
            tags=["医师"],
        ),
        "claims": builders.make_entry(
            session,
            title="医疗保险定点机构",
            category="finance_tax",
            organisation=insurance.code,
            tags=["医保"],
        ),
        "schools": builders.make_entry(session, title="中小学校名录", category="education", organisation=edu.code),
    }
    return entries


def _titles(html: str) -> list[str]:
    return re.findall(r'<h3><a href="/dataset/[^"]+">([^<]+)</a></h3>', html)


def _facet(html: str, name: str) -> dict[str, int]:
    match = re.search(rf'<section class="facet" data-facet="{name}">(.*?)</section>', html, re.S)
    if not match:
        return {}
    pairs = re.findall(
        r'<span class="facet-label">([^<]+)</span><span class="facet-count">(\d+)</span>', match.group(1)
    )
    return {label: int(n) for label, n in pairs}


def test_query_finds_entries_with_facet_counts(client, catalogue):
    r = client.get("/dataset", params={"q": "医疗"})
    assert r.status_code == 200
    assert "<html" in r.text
    titles = _titles(r.text)
    assert set(titles) == {"医疗机构基本信息", "医疗卫生人员执业信息", "医疗保险定点机构"}
    assert '<strong id="result-count">3</strong>' in r.text
    assert _facet(r.text, "category") == {"医疗": 2, "财税金融": 1}
    assert _facet(r.text, "organisation") == {"青岛市卫生健康委员会": 2, "青岛市医疗保障局": 1}
    assert _facet(r.text, "open_type") == {"无条件开放": 2, "有条件开放": 1}
    assert _facet(r.text, "tags")["医院"] == 1
    assert _facet(r.text, "district") == {"全市": 2, "市南区": 1}
    for title in ("类别", "发布部门", "开放类型", "安全级别", "更新频率", "行政区", "标签"):
        assert f"<h2>{title}</h2>" in r.text


def test_facet_link_narrows_results_and_chip_removes_the_filter(client, catalogue):
    r = client.get("/dataset", params={"q": "医疗"})
    link = re.search(
        r'<a href="([^"]+)" hx-get="\1"[^>]*class="facet-link"><span class="facet-label">医疗</span>', r.text
    )
    assert link, "category facet link for 医疗"
    url = link.group(1).replace("&amp;", "&")
    assert parse_qs(urlsplit(url).query) == {"q": ["医疗"], "category": ["medical"]}

    narrowed = client.get(url)
    assert set(_titles(narrowed.text)) == {"医疗机构基本信息", "医疗卫生人员执业信息"}
    assert _facet(narrowed.text, "organisation") == {"青岛市卫生健康委员会": 2}
    chip = re.search(r'<a href="([^"]+)"[^>]*class="chip"[^>]*>.*?医疗', narrowed.text, re.S)
    assert chip, "active-filter chip"
    assert parse_qs(urlsplit(chip.group(1).replace("&amp;", "&")).query) == {"q": ["医疗"]}
    # the active facet value is marked, and the form keeps the filter for the next query
    assert 'class="facet-link active"' in narrowed.text
    assert '<input type="hidden" name="category" value="medical">' in narrowed.text


def test_filters_accept_chinese_labels_and_combine(client, catalogue):
    r = client.get("/dataset", params={"category": "医疗", "open_type": "有条件开放"})
    assert _titles(r.text) == ["医疗卫生人员执业信息"]
    r = client.get("/dataset", params=[("tags", "医院"), ("district", "市南区")])
    assert _titles(r.text) == ["医疗机构基本信息"]
    r = client.get("/dataset", params={"organisation": "qd-jyj"})
    assert _titles(r.text) == ["中小学校名录"]
    assert "青岛市教育局" in re.search(r'class="chips".*?</div>', r.text, re.S).group(0)


def test_htmx_request_gets_only_the_results_region(client, catalogue):
    full = client.get("/dataset", params={"q": "医疗"})
    partial = client.get("/dataset", params={"q": "医疗"}, headers=HX)
    assert partial.status_code == 200
    assert "<html" not in partial.text and "site-header" not in partial.text
    assert 'id="search-region"' not in partial.text  # the region's content, swapped into it
    assert set(_titles(partial.text)) == set(_titles(full.text))
    assert 'hx-target="#search-region"' in partial.text and 'hx-push-url="true"' in partial.text
    assert "HX-Request" in partial.headers["vary"]
    # history restores and full-page htmx requests need the whole page
    restore = client.get("/dataset", params={"q": "医疗"}, headers={**HX, "HX-History-Restore-Request": "true"})
    assert "<html" in restore.text
    whole = client.get("/dataset", params={"q": "医疗"}, headers={**HX, "HX-Request-Type": "full"})
    assert "<html" in whole.text


def test_sorting(client, catalogue):
    by_title = _titles(client.get("/dataset", params={"sort": "title_asc"}).text)
    assert by_title == sorted(by_title, key=lambda t: t.encode())
    by_code = client.get("/dataset", params={"sort": "code_asc"}).text
    codes = re.findall(r'<a href="/dataset/(t-\d+)">', by_code)
    assert codes == sorted(codes) and len(codes) == 4
    page = client.get("/dataset", params={"sort": "modified_desc"}).text
    assert re.search(r'<option value="modified_desc" selected>最近更新</option>', page)
    for label in ("相关度", "最近更新", "标题", "编码"):
        assert f">{label}</option>" in page


def test_relevance_is_the_default_with_a_query(client, catalogue):
    page = client.get("/dataset", params={"q": "医疗"}).text
    assert re.search(r'<option value="relevance" selected>相关度</option>', page)


def test_paging(client, session):
    org = builders.make_org(session)
    for i in range(25):
        builders.make_entry(session, title=f"分页测试目录{i:02d}", organisation=org.code)
    first = client.get("/dataset", params={"q": "分页测试", "sort": "title_asc"})
    assert len(_titles(first.text)) == 20
    assert '<strong id="result-count">25</strong>' in first.text
    assert "下一页" in first.text
    second = client.get("/dataset", params={"q": "分页测试", "sort": "title_asc", "page": "2"})
    assert _titles(second.text) == [f"分页测试目录{i:02d}" for i in range(20, 25)]
    assert "上一页" in second.text and "下一页" not in second.text
    assert '<span class="pager-current" aria-current="page">2</span>' in second.text


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"category": "火星"}, "类别“火星”不存在"),
        ({"open_type": "maybe"}, "开放类型“maybe”不存在"),
        ({"security_grade": "top-secret"}, "安全级别“top-secret”不存在"),
        ({"update_frequency": "hourly"}, "更新频率“hourly”不存在"),
        ({"district": "火星区"}, "行政区“火星区”不存在"),
        ({"organisation": "no-such-org"}, "发布部门“no-such-org”不存在"),
        ({"page": "abc"}, "页码“abc”无效"),
        ({"page": "0"}, "页码“0”无效"),
        ({"page": "-3"}, "页码“-3”无效"),
        ({"page": "100000"}, "页码超出范围"),
        ({"sort": "price"}, "不支持的排序方式“price”"),
        ({"q": "医" * 201}, "搜索词过长"),
    ],
)
def test_bad_parameters_get_a_friendly_message(client, catalogue, params, message):
    r = client.get("/dataset", params=params)
    assert r.status_code == 400
    assert "搜索条件有误" in r.text and message in r.text
    assert "<html" in r.text
    partial = client.get("/dataset", params=params, headers=HX)
    assert partial.status_code == 400 and message in partial.text and "<html" not in partial.text


def test_results_show_department_category_badge_and_shanghai_time(client, session):
    org = builders.make_org(session, name="青岛市海洋发展局")
    entry = builders.make_entry(
        session,
        title="海洋牧场名录",
        category="ocean",
        open_type="conditional",
        organisation=org.code,
        description="全市海洋牧场的位置、面积和经营主体。" * 10,
    )
    entry.modified_at = datetime(2024, 1, 1, 20, 30, tzinfo=UTC)  # 2024-01-02 04:30 in Shanghai
    session.flush()
    html = client.get("/dataset", params={"q": "海洋牧场"}).text
    assert "海洋牧场名录" in html
    assert "青岛市海洋发展局" in html
    assert '<span class="badge badge-conditional">有条件开放</span>' in html
    assert '<span class="meta-item">海洋</span>' in html
    assert "2024-01-02 04:30" in html
    desc = re.search(r'<p class="result-desc">([^<]+)</p>', html).group(1)
    assert desc.endswith("…") and len(desc) <= 121


def test_no_results_message(client, catalogue):
    r = client.get("/dataset", params={"q": "不存在的词语组合"})
    assert r.status_code == 200
    assert "没有找到符合条件的数据目录" in r.text


def test_search_output_is_escaped(client, session):
    builders.make_entry(session, title="<script>alert(1)</script>目录")
    html = client.get("/dataset", params={"q": "目录"}).text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;目录" in html
    assert "<script>alert(1)</script>" not in html
    echoed = client.get("/dataset", params={"q": "<b>目录"}).text
    assert "&lt;b&gt;目录" in echoed and "<b>目录" not in echoed
