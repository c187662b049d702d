"""The portal in a real browser: home charts, search with htmx facets, entry page, login/logout,
and a phone-sized layout."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from tests import builders

pytestmark = pytest.mark.e2e

SCREENSHOTS = "/tmp"


@pytest.fixture(scope="module")
def catalogue(live_server: Any) -> dict[str, Any]:
    with live_server.session() as s:
        health = builders.make_org(s, name="青岛市卫生健康委员会")
        insurance = builders.make_org(s, name="青岛市医疗保障局")
        market = builders.make_org(s, name="青岛市市场监督管理局")
        edu = builders.make_org(s, name="青岛市教育局")
        builders.make_entry(
            s,
            code="QD-WJW-0001",
            title="医疗机构执业登记信息",
            category="medical",
            organisation=health.code,
            description="全市医疗机构的执业登记信息，含机构名称、地址、床位数。",
            tags=["医院", "三医"],
            security_grade="important",
            update_frequency="monthly",
            district="市南区",
            fields=[
                {"name": "org_name", "label": "机构名称", "type": "string"},
                {"name": "legal_id", "label": "法定代表人身份证号", "type": "string", "personal_kind": "id_number"},
                {"name": "beds", "label": "床位数", "type": "integer"},
            ],
        )
        for i in range(6):
            builders.make_entry(
                s,
                title=f"医疗卫生统计数据{i + 1}",
                category="medical",
                organisation=health.code,
                open_type="conditional" if i % 2 else "unconditional",
                tags=["卫生统计"],
            )
        for i in range(4):
            builders.make_entry(
                s,
                title=f"医疗保险参保信息{i + 1}",
                category="social_security",
                organisation=insurance.code,
                open_type="conditional",
                tags=["医保"],
            )
        for i in range(8):
            builders.make_entry(s, title=f"市场主体登记信息{i + 1}", category="business", organisation=market.code)
        for i in range(5):
            builders.make_entry(
                s,
                title=f"中小学校名录{i + 1}",
                category="education",
                organisation=edu.code,
                open_type="closed" if i == 0 else "unconditional",
            )
        org = builders.make_org(s, "department", name="青岛市大数据发展管理局")
        builders.make_user(s, org, username="e2e-user", display_name="李数据", roles=["department"])
    return {"entries": 24, "medical_query": 11}


def test_home_shows_figures_and_charts(page: Any, catalogue: dict, page_errors: list[str]) -> None:
    page.goto("/")
    assert page.title().startswith("首页")
    assert page.locator("header .brand-text").inner_text().startswith("青岛市公共数据运营平台")
    assert page.locator("#figure-entries .figure-value").inner_text() == str(catalogue["entries"])
    assert page.locator("#figure-departments .figure-value").inner_text() == "4"
    assert page.locator("#figure-categories .figure-value").inner_text() == "4"
    for chart in ("#chart-category", "#chart-department", "#chart-open-type"):
        canvas = page.locator(f"{chart} canvas").first
        canvas.wait_for(state="visible")
        box = canvas.bounding_box()
        assert box and box["width"] > 200 and box["height"] > 200, chart
    # ECharts has drawn the category chart with our data
    rendered = page.evaluate(
        "() => echarts.getInstanceByDom(document.getElementById('chart-category')).getOption().xAxis[0].data"
    )
    assert set(rendered) == {"医疗", "社保就业", "工商", "教育"}
    page.screenshot(path=f"{SCREENSHOTS}/pubdata-home.png", full_page=True)
    assert page_errors == []


def test_search_facets_and_history(page: Any, catalogue: dict, page_errors: list[str]) -> None:
    page.goto("/")
    page.fill("#home-q", "医疗")
    page.press("#home-q", "Enter")
    page.wait_for_url(re.compile(r"/dataset\?q="))
    assert page.locator("#result-count").inner_text() == str(catalogue["medical_query"])
    category = page.locator('section.facet[data-facet="category"]')
    assert category.locator(".facet-link", has_text="医疗").locator(".facet-count").inner_text() == "7"
    assert category.locator(".facet-link", has_text="社保就业").locator(".facet-count").inner_text() == "4"
    page.screenshot(path=f"{SCREENSHOTS}/pubdata-search.png", full_page=True)

    # a facet click swaps the results region (no page load) and pushes a shareable URL
    page.evaluate("() => { window.__samePage = true; }")
    category.locator(".facet-link", has_text="社保就业").click()
    page.wait_for_url(re.compile(r"category=social_security"))
    page.wait_for_function("() => document.querySelector('#result-count').textContent === '4'")
    assert page.evaluate("() => window.__samePage") is True
    query = parse_qs(urlsplit(page.url).query)
    assert query == {"q": ["医疗"], "category": ["social_security"]}
    titles = page.locator(".result h3 a").all_inner_texts()
    assert len(titles) == 4 and all(t.startswith("医疗保险参保信息") for t in titles)
    assert page.locator(".chip").count() == 1

    # the URL is shareable: loading it afresh gives the same results
    fresh = page.context.new_page()
    fresh.goto(page.url)
    assert fresh.locator("#result-count").inner_text() == "4"
    fresh.close()

    # sorting keeps the filter and updates the URL
    page.select_option("#sort-select", "title_asc")
    page.wait_for_url(re.compile(r"sort=title_asc"))
    page.wait_for_function("() => document.querySelector('.result h3 a').textContent.endsWith('1')")
    assert "category=social_security" in page.url

    # removing the filter chip widens the results again
    page.locator(".chip").click()
    page.wait_for_function(
        "n => document.querySelector('#result-count').textContent === n", arg=str(catalogue["medical_query"])
    )
    assert "category" not in parse_qs(urlsplit(page.url).query)

    # back restores the filtered page
    page.go_back()
    page.wait_for_function("() => document.querySelector('#result-count').textContent === '4'")
    assert "category=social_security" in page.url
    assert page_errors == []


def test_bad_search_parameter_shows_a_message(page: Any, catalogue: dict) -> None:
    response = page.goto("/dataset?category=nonsense")
    assert response.status == 400
    assert "类别“nonsense”不存在" in page.locator("#search-error").inner_text()


def test_entry_page_from_search(page: Any, catalogue: dict, page_errors: list[str]) -> None:
    page.goto("/dataset?q=" + "执业登记")
    page.locator(".result h3 a", has_text="医疗机构执业登记信息").click()
    page.wait_for_url(re.compile(r"/dataset/qd-wjw-0001$"))
    assert page.locator("#entry-title").inner_text() == "医疗机构执业登记信息"
    meta = page.locator("#entry-metadata")
    assert "QD-WJW-0001" in meta.inner_text()
    assert "青岛市卫生健康委员会" in meta.inner_text()
    assert "重要" in meta.inner_text() and "每月" in meta.inner_text() and "市南区" in meta.inner_text()
    rows = page.locator("#entry-fields tbody tr")
    assert rows.count() == 3
    assert "个人信息：身份证号" in rows.nth(1).inner_text()
    assert page.locator("#entry-revisions .revision").count() == 1
    page.screenshot(path=f"{SCREENSHOTS}/pubdata-entry.png", full_page=True)
    assert unquote(urlsplit(page.url).path) == "/dataset/qd-wjw-0001"
    assert page_errors == []


def test_login_and_logout(page: Any, catalogue: dict, page_errors: list[str]) -> None:
    page.goto("/dataset")
    page.locator("a.login-link").click()
    page.wait_for_url(re.compile(r"/user/login\?next=/dataset"))
    page.fill("#login-username", "e2e-user")
    page.fill("#login-password", "wrong")
    page.click("#login-form button[type=submit]")
    assert "用户名或密码错误" in page.locator("#login-error").inner_text()
    assert page_errors == ["Failed to load resource: the server responded with a status of 401 (Unauthorized)"]
    page_errors.clear()  # the wrong password's 401 is expected

    page.fill("#login-password", builders.PASSWORD)
    page.click("#login-form button[type=submit]")
    page.wait_for_url(re.compile(r"/dataset$"))
    chip = page.locator("header .user-chip")
    assert "李数据" in chip.inner_text() and "青岛市大数据发展管理局" in chip.inner_text()
    cookie = next(c for c in page.context.cookies() if c["name"] == "pubdata_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"

    page.locator("header .logout-form button").click()
    page.wait_for_url(re.compile(r"/$"))
    assert page.locator("header a.login-link").inner_text() == "登录"
    assert page.locator("header .user-chip").count() == 0
    assert not any(c["name"] == "pubdata_session" for c in page.context.cookies())
    assert page_errors == []


def test_phone_layout_has_no_horizontal_scrolling(browser: Any, live_server: Any, catalogue: dict) -> None:
    context = browser.new_context(
        base_url=live_server.url,
        locale="zh-CN",
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        has_touch=True,
        device_scale_factor=2,
        reduced_motion="reduce",
    )
    try:
        pg = context.new_page()
        for path in ("/", "/dataset?q=医疗", "/dataset/qd-wjw-0001", "/user/login"):
            pg.goto(path)
            overflow = pg.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 0, f"{path} scrolls sideways by {overflow}px"
            if path.startswith("/dataset?"):
                pg.screenshot(path=f"{SCREENSHOTS}/pubdata-search-phone.png", full_page=True)
        # filters start folded on a phone; open them, pick one, and the results narrow
        pg.goto("/dataset?q=医疗")
        assert pg.locator(".facet-drawer").get_attribute("open") is None
        assert not pg.locator('section.facet[data-facet="category"]').is_visible()
        pg.locator(".facet-drawer > summary").click()
        pg.locator('section.facet[data-facet="category"] .facet-link', has_text="社保就业").click()
        pg.wait_for_url(re.compile(r"category=social_security"))
        pg.wait_for_function("() => document.querySelector('#result-count').textContent === '4'")
        assert "已选 1 项" in pg.locator(".facet-drawer > summary").inner_text()

        pg.goto("/")
        pg.locator("#chart-category canvas").first.wait_for(state="visible")
        pg.screenshot(path=f"{SCREENSHOTS}/pubdata-home-phone.png", full_page=True)
    finally:
        context.close()
