"""企业档案 pages: an enterprise's own facts with titles, units and source links; the lookup and
any enterprise's page for the operator, departments and the regulator; 404 for everyone else."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from pubdata.authz import SYSTEM
from pubdata.enterprise import service
from pubdata.settings import Settings
from tests.builders import make_org, make_user
from tests.enterprise.mini_city import A, B, build_city
from tests.web.helpers import login


@pytest.fixture
def built(session: Session, settings: Settings, tmp_path: Path) -> Path:
    build_city(session, settings.home, tmp_path)
    service.build_facts(session, SYSTEM, home=settings.home)
    return settings.home


def _sign_in(client, session: Session, kind: str, role: str, **org) -> None:  # type: ignore[no-untyped-def]
    user = make_user(session, make_org(session, kind, **org), roles=[role])
    assert login(client, user.username).status_code == 303


def test_an_enterprise_sees_its_own_facts(client, session: Session, built: Path) -> None:  # type: ignore[no-untyped-def]
    _sign_in(client, session, "enterprise", "enterprise", uscc=A)
    home = client.get("/").text
    assert 'href="/me/facts"' in home and "企业档案" in home
    page = client.get("/me/facts")
    assert page.status_code == 200
    html = page.text
    assert "青岛甲跨境电商有限公司" in html and A in html and "2022 年" in html
    assert "跨境电商出口额" in html and "26,005,000 元（2,600.50 万元）" in html
    assert '<a href="/dataset/QD-SWJ-SM-00001">跨境电商企业进出口额统计</a>' in html
    # an unknown value shows the rule that made it unknown
    assert "只有名单上的产业园运营主体才有此数据，其他企业为空" in html
    assert client.get(f"/enterprises/{B}").status_code == 404
    assert client.get(f"/enterprises/{A}").status_code == 200
    assert client.get("/enterprises", follow_redirects=False).headers["location"] == "/me/facts"


def test_an_enterprise_the_facts_do_not_hold_gets_a_notice(client, session: Session, built: Path) -> None:  # type: ignore[no-untyped-def]
    _sign_in(client, session, "enterprise", "enterprise")
    page = client.get("/me/facts")
    assert page.status_code == 404 and "企业档案中暂无本企业" in page.text


@pytest.mark.parametrize(("kind", "role"), [("operator", "operator"), ("department", "department"),
                                            ("regulator", "regulator")])  # fmt: skip
def test_lookup_and_any_enterprise_for_those_who_may(  # type: ignore[no-untyped-def]
    client, session: Session, built: Path, kind: str, role: str
) -> None:
    _sign_in(client, session, kind, role)
    assert 'href="/enterprises"' in client.get("/").text
    assert "统一社会信用代码" in client.get("/enterprises").text
    found = client.get("/enterprises", params={"uscc": B.lower()}, follow_redirects=False)
    assert found.status_code == 303 and found.headers["location"] == f"/enterprises/{B}"
    page = client.get(f"/enterprises/{B}")
    assert page.status_code == 200 and "3,000,000 元" in page.text and "园区跨境电商进出口额" in page.text


def test_others_get_not_found_and_visitors_sign_in(client, session: Session, built: Path) -> None:  # type: ignore[no-untyped-def]
    visitor = client.get(f"/enterprises/{A}", follow_redirects=False)
    assert visitor.status_code == 303 and visitor.headers["location"].startswith("/user/login")
    assert client.get("/me/facts", follow_redirects=False).status_code == 303
    _sign_in(client, session, "bank", "bank")
    assert "企业档案" not in client.get("/").text
    assert client.get(f"/enterprises/{A}").status_code == 404
    assert client.get("/me/facts").status_code == 404
