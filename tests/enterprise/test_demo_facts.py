"""Enterprise facts over the demo city's generated records (the source entries only, at a small
size): facts checked against values worked out in Python from the source rows, and the CLI."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from pubdata.authz import SYSTEM
from pubdata.catalog import service as catalog
from pubdata.cli import app as cli_app
from pubdata.cli import platform as cli
from pubdata.db import forget_engine, get_engine, session_scope
from pubdata.demo import city, records
from pubdata.enterprise import files, service
from pubdata.enterprise.facts import FACTS, SOURCES
from pubdata.settings import get_settings
from pubdata.store import files as store_files
from pubdata.store import service as store
from tests.conftest import fresh_engine

SEED = city.DEFAULT_SEED
RECORDS = 20_000
YEAR = 2022


@dataclass
class Demo:
    engine: Engine
    home: Path
    number: int

    def source_rows(self, key: str, columns: str, code: str | None = None) -> list[tuple[Any, ...]]:
        """Rows of a source table's current version (its first entry's, or ``code``'s), read straight
        from its file (the oracle)."""
        with session_scope(self.engine) as session:
            entry = catalog.get_entry(session, SYSTEM, code or SOURCES[key].entry_code)
            (resource,) = entry.resources  # the one it declares holds the rows
            number = store.get_table(session, SYSTEM, resource.id).current_version
        assert number is not None
        path = store_files.version_dir(self.home, resource.id, number) / store_files.DATA_FILE
        con = duckdb.connect()
        try:
            columns, _, where = columns.partition(" WHERE ")
            sql = f"SELECT {columns} FROM read_parquet('{path}')" + (f" WHERE {where}" if where else "")
            return con.execute(sql).fetchall()
        finally:
            con.close()

    def facts(self) -> dict[str, dict[str, Any]]:
        con = duckdb.connect()
        try:
            table = con.execute(f"SELECT * FROM read_parquet('{files.facts_file(self.home, self.number)}')")
            return {r["uscc"]: r for r in table.to_arrow_table().to_pylist()}
        finally:
            con.close()


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    root = tmp_path_factory.mktemp("facts-demo")
    engine = fresh_engine(root, name="facts_demo")
    with session_scope(engine) as session:
        city.build(session, seed=SEED, progress=lambda _msg: None)
    home = root / "home"
    codes = {c for s in SOURCES.values() for c in s.entry_codes}
    records.fill(lambda: session_scope(engine), home=home, seed=SEED, records=RECORDS, only=codes)
    with session_scope(engine) as session:
        built = service.build_facts(session, SYSTEM, home=home)
    yield Demo(engine, home, built.version.number)
    engine.dispose()


def _yuan(amount: Decimal | None) -> int | None:
    return None if amount is None else int(amount * 10_000)


def test_one_row_per_registered_enterprise(demo: Demo) -> None:
    registry = {u for (u,) in demo.source_rows("enterprise_registry", "uscc")}
    facts = demo.facts()
    assert set(facts) == registry and len(registry) == records.sizes(RECORDS).enterprises
    assert {r["registered_district"] for r in facts.values()} <= set(FACTS["registered_district"].values or ())
    assert all(r["registered_district"] is not None for r in facts.values())


def test_the_demo_enterprise(demo: Demo) -> None:
    facts = demo.facts()[city.demo_enterprise().uscc]
    assert facts["name"] == "青岛海岸线跨境电子商务有限公司" and facts["registered_district"] == "市南区"
    assert facts["cbec_export_amount"] == 44_000_000  # 4,400 万元 in 2022
    assert facts["has_independent_site"] is True and facts["independent_site_investment"] == 3_200_000
    assert facts["provincial_key_platform_2022"] is True and facts["tax_credit_grade"] == "A"


def test_trade_facts_match_the_trade_rows(demo: Demo) -> None:
    rows = demo.source_rows(
        "cbec_trade", f"uscc, export_amount, import_amount, independent_site, site_investment WHERE stat_year = {YEAR}"
    )
    assert rows
    facts = demo.facts()
    traded = set()
    for uscc, export, imports, site, investment in rows:
        traded.add(uscc)
        f = facts[uscc]
        assert f["cbec_export_amount"] == _yuan(export), uscc
        assert f["cbec_import_export_amount"] == _yuan(export + (imports or 0)), uscc
        assert f["has_independent_site"] is site
        assert f["independent_site_investment"] == (0 if site is False else _yuan(investment))
    others = [f for u, f in facts.items() if u not in traded]
    assert all(f["cbec_export_amount"] == 0 and f["has_independent_site"] is None for f in others)


def test_latest_grade_and_headcount_and_counts_match_the_rows(demo: Demo) -> None:
    facts = demo.facts()
    grades: dict[str, tuple[int, str]] = {}
    for uscc, year, grade in demo.source_rows("tax_credit", "uscc, eval_year, credit_grade"):
        if year <= YEAR and (uscc not in grades or year > grades[uscc][0]):
            grades[uscc] = (year, grade)
    headcounts: dict[str, tuple[str, int]] = {}
    for uscc, period, total in demo.source_rows("social_insurance", "uscc, period, insured_total"):
        if period <= f"{YEAR}-12" and (uscc not in headcounts or period > headcounts[uscc][0]):
            headcounts[uscc] = (period, total)
    patents: dict[str, int] = defaultdict(int)
    for uscc, granted, status in demo.source_rows("patents", "uscc, grant_date, legal_status"):
        if granted is not None and granted <= date(YEAR, 12, 31) and status == "有效":
            patents[uscc] += 1
    penalties: dict[str, int] = defaultdict(int)
    for uscc, decided in demo.source_rows("penalties", "uscc, decision_date"):
        if decided is not None and date(YEAR - 2, 1, 1) <= decided <= date(YEAR, 12, 31):
            penalties[uscc] += 1
    for uscc, f in facts.items():
        assert f["tax_credit_grade"] == (grades[uscc][1] if uscc in grades else None), uscc
        assert f["insured_headcount"] == (headcounts[uscc][1] if uscc in headcounts else None), uscc
        assert f["patent_count"] == patents.get(uscc, 0), uscc
        assert f["penalty_count"] == penalties.get(uscc, 0), uscc
    assert sum(patents.values()) > 0 and sum(penalties.values()) > 0


def test_lists_match_the_rows(demo: Demo) -> None:
    facts = demo.facts()
    platforms, parks, park_trade = set(), set(), {}
    for uscc, kind, level, year, imports, export in demo.source_rows(
        "cbec_key_platforms", "uscc, category_name, honour_level, recognised_year, import_amount, export_amount"
    ):
        key_2022 = level == "省级" and year == 2022
        if kind == "跨境电商平台" and key_2022:
            platforms.add(uscc)
        if kind == "跨境电商产业园":
            park_trade[uscc] = _yuan(imports + export)
            if key_2022:
                parks.add(uscc)
    months, trade = {}, {}
    for uscc, found, imports, export in demo.source_rows(
        "cbec_public_warehouses", "uscc, found_date, import_amount, export_amount"
    ):
        months[uscc] = max(0, (YEAR - found.year) * 12 + 12 - found.month)  # whole months to 31 December
        trade[uscc] = _yuan(imports + export)
    high_tech = {u for u, y, valid in demo.source_rows("high_tech", "uscc, recognised_year, valid_to") if y <= YEAR
                 and valid >= date(YEAR, 12, 31)}  # fmt: skip
    abnormal = {
        u for u, listed, removed in demo.source_rows("abnormal_operations", "uscc, listed_date, removed_date")
        if listed <= date(YEAR, 12, 31) and (removed is None or removed > date(YEAR, 12, 31))
    }  # fmt: skip
    for uscc, f in facts.items():
        assert f["provincial_key_platform_2022"] is (uscc in platforms)
        assert f["provincial_key_park_2022"] is (uscc in parks)
        assert f["park_import_export_amount"] == park_trade.get(uscc)
        assert f["public_warehouse_operating_months"] == months.get(uscc, 0)  # not on the list: none
        assert f["public_warehouse_trade_amount"] == trade.get(uscc, 0)
        assert f["is_high_tech"] is (uscc in high_tech)
        assert f["is_abnormal_operation"] is (uscc in abnormal)
    assert platforms and parks and months and high_tech and abnormal


# --- the command line -----------------------------------------------------------------------------


def test_cli_build_show_catalogue(
    demo: Demo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PUBDATA_HOME", str(demo.home))
    monkeypatch.setenv("PUBDATA_DATABASE_URL", demo.engine.url.render_as_string(hide_password=False))
    runner = CliRunner()
    try:
        r = runner.invoke(cli_app, ["facts", "build", "--json"])
        assert r.exit_code == 0, r.output
        out = json.loads(r.output)
        assert out["built"] is False and out["version"]["number"] == demo.number  # nothing changed
        r = runner.invoke(cli_app, ["facts", "build", "--force"])
        assert r.exit_code == 0 and f"第 {demo.number + 1} 版" in r.output and "2022 年度" in r.output
        uscc = city.demo_enterprise().uscc
        r = runner.invoke(cli_app, ["facts", "show", uscc, "--json"])
        assert r.exit_code == 0, r.output
        shown = json.loads(r.output)
        assert shown["version"]["number"] == demo.number + 1 and shown["values"]["cbec_export_amount"] == 44_000_000
        r = runner.invoke(cli_app, ["facts", "show", uscc])
        assert "跨境电商出口额：44,000,000 元" in r.output and "开设出口独立站：是" in r.output
        assert "水电费按时缴纳比例：100.00 %" in r.output  # a number fact; the demo's first enterprise pays on time
        assert shown["values"]["utility_on_time_ratio_pct"] == 100.0  # a JSON number
        r = runner.invoke(cli_app, ["facts", "show", "91370202MA00000000"])
        assert r.exit_code == 2 and "enterprise.not_found" in r.output
        r = runner.invoke(cli_app, ["facts", "catalogue", "--json"])
        assert [f["name"] for f in json.loads(r.output)] == list(FACTS)
        r = runner.invoke(cli_app, ["facts", "build", "--year", "1800", "--json"])
        assert r.exit_code == 1 and json.loads(r.output)["error"]["code"] == "enterprise.invalid_year"
        # what `pubdata demo` runs after the records: the current version, nothing rebuilt
        cli._demo_facts(demo.home)
        assert f"企业档案就绪：第 {demo.number + 1} 版，2022 年度" in capsys.readouterr().out
    finally:
        get_engine().dispose()
        get_settings.cache_clear()
        forget_engine()


# --- the credit profile (issue 12) ----------------------------------------------------------------


def _pct(num: int, den: int) -> Decimal:
    """A percentage with two decimals, rounded half away from zero (as the build rounds)."""
    return (Decimal(num) * 100 / Decimal(den)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _full_years(start: date, end: date) -> int:
    return max(0, end.year - start.year - ((end.month, end.day) < (start.month, start.day)))


def test_credit_profile_facts_match_the_rows(demo: Demo) -> None:
    facts = demo.facts()
    end = date(YEAR, 12, 31)
    founded = dict(demo.source_rows("enterprise_registry", "uscc, found_date"))
    by_year: dict[str, dict[int, str]] = defaultdict(dict)
    for uscc, year, grade in demo.source_rows("tax_credit", "uscc, eval_year, credit_grade"):
        if grade in ("A", "B", "M", "C", "D"):
            by_year[uscc][year] = grade
    months: dict[str, dict[str, int]] = defaultdict(dict)
    for uscc, period, total in demo.source_rows("social_insurance", "uscc, period, insured_total"):
        if total is not None:
            months[uscc][period] = total
    ip1: dict[str, int] = defaultdict(int)
    ip2: dict[str, int] = defaultdict(int)
    for uscc, granted, status, kind in demo.source_rows("patents", "uscc, grant_date, legal_status, patent_type"):
        if granted is not None and granted <= end and status == "有效":
            (ip1 if kind == "发明" else ip2)[uscc] += kind in ("发明", "实用新型", "外观设计")
    fines: dict[str, Decimal] = defaultdict(Decimal)
    for uscc, decided, fine in demo.source_rows("penalties", "uscc, decision_date, fine_amount"):
        if decided is not None and date(YEAR - 2, 1, 1) <= decided <= end:
            fines[uscc] += fine or 0
    levels: dict[str, set[str]] = defaultdict(set)
    for uscc, year, level in demo.source_rows("specialised", "uscc, recognised_year, honour_level"):
        if year is not None and year <= YEAR:
            levels[uscc].add(level)
    open_cases: dict[str, int] = defaultdict(int)
    for uscc, filed, closed in demo.source_rows("enforcement_cases", "uscc, filing_date, closed_date"):
        if filed is not None and filed <= end and (closed is None or closed > end):
            open_cases[uscc] += 1
    for uscc, f in facts.items():
        assert f["age_years"] == (None if founded[uscc] is None else _full_years(founded[uscc], end)), uscc
        years = sorted((y for y in by_year.get(uscc, {}) if y <= YEAR), reverse=True)
        assert f["tax_credit_grade_previous"] == (by_year[uscc][years[1]] if len(years) > 1 else None), uscc
        graded = by_year.get(uscc)
        window = [graded[y] for y in range(YEAR - 2, YEAR + 1) if y in graded] if graded else None
        assert f["tax_grade_a_years_3"] == (None if window is None else window.count("A")), uscc
        assert f["tax_grade_cd_years_3"] == (None if window is None else sum(g in "CD" for g in window)), uscc
        series = months.get(uscc)
        expected_months = (
            None if series is None else sum(1 for p, n in series.items() if p.startswith(f"{YEAR}-") and n > 0)
        )
        assert f["insured_months_12"] == expected_months, uscc
        now, before = (series or {}).get(f"{YEAR}-12"), (series or {}).get(f"{YEAR - 1}-12")
        change = None if not before or now is None else _pct(now - before, before)
        assert f["insured_headcount_change_pct"] == change, uscc
        assert f["ip_class1_count"] == ip1.get(uscc, 0) and f["ip_class2_count"] == ip2.get(uscc, 0), uscc
        assert f["penalty_fine_amount_3y"] == int((fines.get(uscc, Decimal(0)) * 10_000).to_integral_value()), uscc
        best = next((lv for lv in ("国家级", "省级", "市级") if lv in levels.get(uscc, ())), "无")
        assert f["specialised_level"] == best, uscc
        assert f["enforcement_count"] == open_cases.get(uscc, 0), uscc
        assert f["high_tech_enterprise_valid"] is f["is_high_tech"]
        either = f["is_abnormal_operation"] or f["is_dishonest_debtor"]
        assert f["listed_abnormal_or_seriously_dishonest"] is either, uscc
        assert f["is_sme"] is None and f["rd_expense_ratio_pct"] is None  # enterprise-supplied: never built
    # the demo gives these signals variety
    assert sum(ip1.values()) and sum(ip2.values()) and sum(open_cases.values()) and len(levels) > 1
    assert {f["specialised_level"] for f in facts.values()} >= {"无", "市级"}


def test_utility_facts_match_both_entries_rows(demo: Demo) -> None:
    facts = demo.facts()
    bills: dict[str, list[tuple[str, date | None, bool]]] = defaultdict(list)
    for code in SOURCES["utility_bills"].entry_codes:
        for uscc, period, paid, arrears in demo.source_rows(
            "utility_bills", "uscc, period, paid_date, arrears", code=code
        ):
            bills[uscc].append((period, paid, arrears))
    late = 0
    for uscc, f in facts.items():
        rows = bills.get(uscc)
        if rows is None:
            assert f["utility_bill_months_12"] is None and f["utility_on_time_ratio_pct"] is None, uscc
            continue
        year = [b for b in rows if b[0].startswith(f"{YEAR}-")]
        assert f["utility_bill_months_12"] == len({b[0] for b in year}), uscc
        assert f["utility_arrears_months_12"] == len({b[0] for b in year if b[2]}), uscc
        on_time = 0
        for period, paid, arrears in year:
            y, m = int(period[:4]), int(period[5:7])
            due = date(y + (m == 12), m % 12 + 1, 1)  # the first day of the next month …
            due = date(due.year + (due.month == 12), due.month % 12 + 1, 1)  # … of the month after: exclusive
            ok = paid is not None and paid < due and not arrears
            on_time += ok
            late += paid is not None and not ok
        expected = None if not year else _pct(on_time, len(year))
        assert f["utility_on_time_ratio_pct"] == expected, uscc
    assert late > 0  # some bills are paid late
    ratios = [f["utility_on_time_ratio_pct"] for f in facts.values() if f["utility_on_time_ratio_pct"] is not None]
    assert min(ratios) < 100 and max(ratios) == 100
