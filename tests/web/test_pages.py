"""Home page, shared layout, static assets and error pages."""

from __future__ import annotations

import re

from tests import builders
from tests.web.helpers import embedded_json


def _setup_catalogue(session):  # type: ignore[no-untyped-def]
    health = builders.make_org(session, name="青岛市卫生健康委员会")
    edu = builders.make_org(session, name="青岛市教育局")
    builders.make_entry(session, title="医疗机构基本信息", category="medical", organisation=health.code)
    builders.make_entry(
        session, title="医师执业注册信息", category="medical", open_type="conditional", organisation=health.code
    )
    builders.make_entry(session, title="中小学校名录", category="education", organisation=edu.code)
    return health, edu


def test_home_shows_figures_and_chart_data(client, session):
    _setup_catalogue(session)
    r = client.get("/")
    assert r.status_code == 200
    html = r.text
    assert '<html lang="zh-CN">' in html
    assert "青岛市公共数据运营平台" in html
    assert re.search(r'id="figure-entries">\s*<span class="figure-value">3</span>', html)
    assert re.search(r'id="figure-departments">\s*<span class="figure-value">2</span>', html)
    assert re.search(r'id="figure-categories">\s*<span class="figure-value">2</span>', html)
    # open-type shares: 2 of 3 unconditional, 1 of 3 conditional
    assert "66.7<small>%</small>" in html and "33.3<small>%</small>" in html
    data = embedded_json(html, "stats-data")
    assert {r["label"]: r["count"] for r in data["by_category"]} == {"医疗": 2, "教育": 1}
    assert {r["label"]: r["count"] for r in data["by_organisation"]} == {"青岛市卫生健康委员会": 2, "青岛市教育局": 1}
    assert {r["label"]: r["count"] for r in data["by_open_type"]} == {"无条件开放": 2, "有条件开放": 1}
    for chart in ("chart-category", "chart-department", "chart-open-type"):
        assert f'id="{chart}"' in html
    assert 'action="/dataset"' in html and 'name="q"' in html


def test_home_lists_at_most_fifteen_departments_in_the_chart(client, session):
    for i in range(17):
        org = builders.make_org(session)
        for _ in range(1 + i % 3):
            builders.make_entry(session, organisation=org.code)
    data = embedded_json(client.get("/").text, "stats-data")
    assert len(data["by_organisation"]) == 15
    counts = [r["count"] for r in data["by_organisation"]]
    assert counts == sorted(counts, reverse=True)


def test_layout_navigation_and_no_external_assets(client, session):
    html = client.get("/").text
    for text, href in (("首页", "/"), ("数据目录", "/dataset"), ("API 文档", "/docs"), ("登录", "/user/login")):
        assert re.search(rf'<a[^>]*href="{re.escape(href)}"[^>]*>{text}</a>', html), text
    assert "site-footer" in html
    sources = re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', html)
    assert sources and all(s.startswith("/static/") for s in sources), sources
    assert "cdn" not in html.lower()


def test_html_pages_send_protective_headers(client):
    r = client.get("/")
    assert "script-src 'self'" in r.headers["content-security-policy"]
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["x-content-type-options"] == "nosniff"


def test_vendored_assets_are_served(client):
    for path, marker in (
        ("/static/vendor/echarts/echarts.min.js", "echarts"),
        ("/static/vendor/htmx/htmx.min.js", "htmx"),
        ("/static/css/site.css", "search-layout"),
        ("/static/js/home.js", "chart-category"),
    ):
        r = client.get(path)
        assert r.status_code == 200, path
        assert marker in r.text[:2_000_000]
    assert client.get("/static/vendor/echarts/LICENSE").status_code == 200
    assert client.get("/static/vendor/htmx/LICENSE").status_code == 200


def test_empty_catalogue_home_still_renders(client):
    r = client.get("/")
    assert r.status_code == 200
    assert "平台暂无数据目录" in r.text
    assert "echarts.min.js" not in r.text


def test_unknown_page_is_a_chinese_404(client):
    r = client.get("/no-such-page")
    assert r.status_code == 404
    assert "页面不存在" in r.text and "返回首页" in r.text
    assert "Not Found" not in r.text


def test_unknown_entry_is_a_chinese_404(client):
    r = client.get("/dataset/no-such-entry")
    assert r.status_code == 404
    assert "数据目录不存在" in r.text
    assert "<h1>页面不存在</h1>" in r.text


def test_wrong_method_is_a_chinese_405(client):
    r = client.put("/dataset")
    assert r.status_code == 405
    assert "请求方法不允许" in r.text


def test_api_errors_keep_their_json_shape(client):
    r = client.get("/api/v1/entries/no-such-entry")
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("application/json")
