"""The fact-sources file (issue 12): the shipped file, every problem of a bad file named by its path,
build-time refusals (missing entry, resource, column, money unit) with nothing written, the file's
version on the facts version, the setting that points to another file, and the CLI check."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from pubdata.authz import SYSTEM
from pubdata.cli import app as cli_app
from pubdata.enterprise import config, files, service
from pubdata.enterprise import facts as catalogue
from pubdata.enterprise.errors import (
    FactSourceMissing,
    InvalidFactSources,
    SourceColumnsMissing,
    SourceUnitMissing,
)
from pubdata.enterprise.facts import FACTS, KEY, SOURCES
from pubdata.enterprise.models import EnterpriseFactsVersion
from pubdata.errors import Invalid
from pubdata.settings import Settings, get_settings
from pubdata.store import service as store
from tests.enterprise.mini_city import TABLES, build_city, load


def _shipped() -> dict[str, Any]:
    data = yaml.safe_load(config.SHIPPED.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def _write(tmp_path: Path, data: dict[str, Any], name: str = "city.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def _problems(data: Any) -> dict[str, str]:
    with pytest.raises(InvalidFactSources) as caught:
        config.parse_sources(data)
    assert isinstance(caught.value, Invalid) and caught.value.code == "enterprise.invalid_fact_sources"
    return {d["field"]: d["message"] for d in caught.value.details}


def test_the_shipped_file_is_the_catalogue() -> None:
    shipped = config.load_sources(config.SHIPPED)
    assert shipped.version and len(shipped.digest) == 16
    assert list(FACTS) == list(shipped.facts) and next(iter(FACTS)) == KEY
    assert set(SOURCES) == set(shipped.sources)
    # every aggregation kind is used by some fact, and every enterprise-supplied fact has none
    used = {f.aggregate.kind for f in shipped.facts.values() if f.aggregate}
    assert used == set(config.AGGREGATES)
    supplied = [f for f in shipped.facts.values() if shipped.sources[f.source].kind == "enterprise_supplied"]
    assert all(f.aggregate is None and f.absent.value is None for f in supplied)
    # every input of the shipped tier packs is a fact: public, or declared as supplied by the enterprise
    from pubdata.policy.packs.pack import load_pack

    for pack in ("miit-tiers-2022", "miit-tiers-2026"):
        assert set(load_pack(pack).inputs) <= set(FACTS), pack
    assert FACTS["rd_expense_ratio_pct"].type == "number" and FACTS["rd_expense_ratio_pct"].supplied
    assert FACTS["utility_on_time_ratio_pct"].duckdb_type == "DECIMAL(18,2)"
    assert SOURCES["utility_bills"].entry_codes == ("QD-SWGLJ-ZY-00001", "QD-GXJ-ZY-00001")
    assert FACTS["registered_district"].values == catalogue.DISTRICTS and len(catalogue.DISTRICTS) == 10


def test_a_bad_file_names_every_problem_by_its_path() -> None:
    data = copy.deepcopy(_shipped())
    facts = data["facts"]
    facts["registered_capital"]["source"] = "foo"
    facts["tax_credit_grade"]["aggregate"]["column"] = "grade"
    facts["patent_count"]["aggregate"]["kind"] = "median"
    facts["penalty_count"]["aggregate"]["year"] = {"last_n_years": 0}
    facts["is_high_tech"]["type"] = "flag"
    facts["insured_headcount"]["absent"]["value"] = "none"
    facts["cbec_export_amount"]["aggregate"]["filters"] = [{"column": "stat_year", "between": [1, 2]}]
    facts["is_sme"]["aggregate"] = {"kind": "value", "column": "uscc"}
    facts["specialised_level"]["aggregate"]["order"] = ["国家级", "区级"]
    facts["listed_abnormal_or_seriously_dishonest"]["aggregate"]["facts"] = ["is_abnormal_operation", "nope"]
    data["sources"]["patents"]["columns"].remove("uscc")
    data["districts"][1]["codes"] = ["370202"]
    data["registry"] = "registry"
    data["colour"] = "blue"
    del data["version"]
    problems = _problems(data)
    assert problems["facts.registered_capital.source"] == "未知的数据来源 'foo'"
    assert "没有声明字段 'grade'" in problems["facts.tax_credit_grade.aggregate.column"]
    assert "未知的聚合方式 'median'" in problems["facts.patent_count.aggregate.kind"]
    assert "facts.penalty_count.aggregate.year.last_n_years" in problems
    assert "facts.is_high_tech.type" in problems
    assert "facts.insured_headcount.absent.value" in problems
    assert "facts.cbec_export_amount.aggregate.filters[0]" in problems
    assert "不能有 aggregate" in problems["facts.is_sme.aggregate"]
    assert "'区级'" in problems["facts.specialised_level.aggregate.order[1]"]
    assert "'nope'" in problems["facts.listed_abnormal_or_seriously_dishonest.aggregate.facts[1]"]
    assert "'uscc'" in problems["sources.patents.columns"]
    assert "已属于 市南区" in problems["districts[1].codes[0]"]
    assert problems["registry"] == "未知的数据来源 'registry'"
    assert "colour" in problems and problems["version"] == "缺失"
    # one error, every problem in its message too
    with pytest.raises(InvalidFactSources) as caught:
        config.parse_sources(data)
    assert f"有 {len(problems)} 处错误" in caught.value.message
    assert "facts.registered_capital.source: 未知的数据来源 'foo'" in caught.value.message


def test_kinds_and_types_must_agree() -> None:
    data = copy.deepcopy(_shipped())
    data["facts"]["patent_count"]["type"] = "boolean"  # count gives integers
    data["facts"]["penalty_count"]["aggregate"]["rank"] = 2  # rank is latest's
    data["facts"]["age_years"]["source"] = "tax_credit"  # elapsed reads found_date, not declared there
    data["facts"]["name"]["source"] = "tax_credit"  # value reads one row per enterprise: the registry only
    data["facts"]["insured_headcount_change_pct"]["aggregate"]["at"]["as"] = "date"  # month-on-month needs periods
    problems = _problems(data)
    assert "count 不能得出 boolean" in problems["facts.patent_count.aggregate.kind"]
    assert "不使用此属性" in problems["facts.penalty_count.aggregate.rank"]
    assert "facts.age_years.aggregate.column" in problems
    assert "facts.name.aggregate.column" in problems  # ent_name is not a tax column
    assert "只能用于登记信息来源" in problems["facts.name.aggregate.kind"]
    assert "month 或 year" in problems["facts.insured_headcount_change_pct.aggregate.at.as"]


def test_yaml_errors_and_duplicate_keys_are_refused(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nfacts: [unclosed\n", encoding="utf-8")
    with pytest.raises(InvalidFactSources, match="不是有效的 YAML"):
        config.load_sources(bad)
    text = config.SHIPPED.read_text(encoding="utf-8")
    twice = text.replace("  name:\n    title: 企业名称", "  uscc:\n    title: 企业名称", 1)
    dup = tmp_path / "dup.yaml"
    dup.write_text(twice, encoding="utf-8")
    with pytest.raises(InvalidFactSources, match="重复的键 'uscc'"):
        config.load_sources(dup)
    with pytest.raises(InvalidFactSources, match="无法读取"):
        config.load_sources(tmp_path / "absent.yaml")


# --- building from a file -------------------------------------------------------------------------


@pytest.fixture
def city(session: Session, settings: Settings, tmp_path: Path):  # type: ignore[no-untyped-def]
    return build_city(session, settings.home, tmp_path)


def _written(home: Path) -> set[str]:
    """What the facts directory holds (the home is shared by the tests of a session)."""
    root = files.facts_root(home)
    return {p.name for p in root.iterdir()} if root.is_dir() else set()


def _nothing_written(session: Session, home: Path, before: set[str]) -> None:
    assert session.scalar(select(EnterpriseFactsVersion.id)) is None
    assert _written(home) == before  # no version directory, no staging directory left behind


def test_a_missing_entry_resource_or_column_is_refused_and_nothing_written(
    session: Session,
    city,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    data = copy.deepcopy(_shipped())
    data["sources"]["patents"]["entry"] = "QD-NONE-KJ-09999"
    data["sources"]["penalties"]["resource"] = "处罚明细"
    data["sources"]["tax_credit"]["columns"].append("taxpayer_type")
    before = _written(city.home)
    with pytest.raises(FactSourceMissing) as caught:
        service.build_facts(session, SYSTEM, home=city.home, config=config.load_sources(_write(tmp_path, data)))
    fields = {d["field"]: d["message"] for d in caught.value.details}
    assert "QD-NONE-KJ-09999" in fields["sources.patents"]
    assert "处罚明细" in fields["sources.penalties.resource"]
    assert "缺少 taxpayer_type" in fields["sources.tax_credit.columns"]
    assert caught.value.status == 422
    _nothing_written(session, city.home, before)

    only_columns = copy.deepcopy(_shipped())
    only_columns["sources"]["tax_credit"]["columns"].append("taxpayer_type")
    with pytest.raises(SourceColumnsMissing, match="缺少 taxpayer_type"):
        service.build_facts(
            session, SYSTEM, home=city.home, config=config.load_sources(_write(tmp_path, only_columns, "b.yaml"))
        )
    _nothing_written(session, city.home, before)


def test_a_money_column_without_a_unit_is_refused(session: Session, city, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    csv = TABLES["penalties"][2]
    schema = copy.deepcopy(TABLES["penalties"][1])
    for f in schema["fields"]:
        f.pop("unit", None)  # fine_amount: 罚没金额（万元） — a title is not a unit
    entry_resource = store.get_table(session, SYSTEM, city.resources["penalties"])
    assert entry_resource.table_schema["fields"][-1]["unit"] == "wan_yuan"
    # a second city whose penalties table declares no unit
    from pubdata.store.schemas import ResourceTableCreate
    from tests.builders import make_entry

    entry = make_entry(session, code="QD-XX-XY-00009", title="处罚（无单位）")
    table = store.create_resource_table(session, SYSTEM, entry.resources[0].id, ResourceTableCreate(schema=schema))
    load(session, "penalties_no_unit", csv, table.resource_id, city.home, tmp_path)
    data = copy.deepcopy(_shipped())
    data["sources"]["penalties"]["entry"] = "QD-XX-XY-00009"
    before = _written(city.home)
    with pytest.raises(SourceUnitMissing) as caught:
        service.build_facts(session, SYSTEM, home=city.home, config=config.load_sources(_write(tmp_path, data)))
    assert caught.value.details == [
        {
            "field": "sources.penalties.columns",
            "message": "行政处罚信息（QD-XX-XY-00009）的金额字段 fine_amount 没有在表结构中声明单位（unit）："
            "应为 fen、yuan、wan_yuan 或 yi_yuan",
        }
    ]
    _nothing_written(session, city.home, before)


def test_another_city_file_and_its_version(session: Session, city, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    first = service.build_facts(session, SYSTEM, home=city.home)
    shipped = config.load_sources(config.SHIPPED)
    assert first.version.sources_file_version == shipped.version
    row = session.scalar(select(EnterpriseFactsVersion).where(EnterpriseFactsVersion.number == first.version.number))
    assert row is not None and row.sources_file_digest == shipped.digest

    # a city with one fact fewer, a wider penalty window and another version: a new build
    data = copy.deepcopy(_shipped())
    data["version"] = "other-1"
    data["facts"]["penalty_count"]["aggregate"]["year"] = {"last_n_years": 4}
    del data["facts"]["is_sme"]
    other = config.load_sources(_write(tmp_path, data))
    built = service.build_facts(session, SYSTEM, home=city.home, config=other)
    assert built.built and built.version.sources_file_version == "other-1"
    rows = _read(files.facts_file(city.home, built.version.number))
    from tests.enterprise.mini_city import A

    assert rows[A]["penalty_count"] == 3 and "is_sme" not in rows[A]  # X1 (2019) now counts
    again = service.build_facts(session, SYSTEM, home=city.home, config=other)
    assert not again.built


def _read(path: Path) -> dict[str, dict[str, Any]]:
    import duckdb

    con = duckdb.connect()
    try:
        table = con.execute(f"SELECT * FROM read_parquet('{path}')").to_arrow_table()
    finally:
        con.close()
    return {r["uscc"]: r for r in table.to_pylist()}


def test_the_setting_points_to_the_deployments_file(
    session: Session,
    city,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
) -> None:
    data = copy.deepcopy(_shipped())
    data["version"] = "configured-7"
    data["facts"]["registered_capital"]["title"] = "注册资金"
    path = _write(tmp_path, data)
    monkeypatch.setenv("PUBDATA_FACTS_SOURCES_FILE", str(path))
    get_settings.cache_clear()
    try:
        assert config.configured_path() == path
        assert service.facts_stale(session)
        built = service.build_facts(session, SYSTEM, home=city.home)
        assert built.version.sources_file_version == "configured-7"
        assert FACTS["registered_capital"].title == "注册资金"  # the catalogue follows the file
        assert not service.facts_stale(session)
    finally:
        monkeypatch.delenv("PUBDATA_FACTS_SOURCES_FILE")
        get_settings.cache_clear()
        catalogue.refresh()
    assert FACTS["registered_capital"].title == "注册资本"
    assert service.facts_stale(session)  # built from another file than the configured one


def test_cli_check_sources(tmp_path: Path) -> None:
    runner = CliRunner()
    r = runner.invoke(cli_app, ["facts", "check-sources", str(config.SHIPPED), "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    supplied = sum(f.supplied for f in FACTS.values())
    assert out["facts"] == len(FACTS) and out["supplied"] == supplied >= 14 and out["aggregates"]["count"] >= 5
    data = copy.deepcopy(_shipped())
    data["facts"]["registered_capital"]["source"] = "foo"
    data["facts"]["patent_count"]["aggregate"]["at"] = "granted_on"
    r = runner.invoke(cli_app, ["facts", "check-sources", str(_write(tmp_path, data)), "--json"])
    assert r.exit_code == 1
    error = json.loads(r.output)["error"]
    assert error["code"] == "enterprise.invalid_fact_sources"
    assert {d["field"] for d in error["details"]} == {
        "facts.registered_capital.source",
        "facts.patent_count.aggregate.at.column",
    }
    r = runner.invoke(cli_app, ["facts", "check-sources", str(_write(tmp_path, data))])
    assert r.exit_code == 1 and "facts.registered_capital.source: 未知的数据来源 'foo'" in r.output


def test_a_file_gone_bad_keeps_readers_on_the_last_good_catalogue(
    session: Session,
    city,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
) -> None:
    path = _write(tmp_path, copy.deepcopy(_shipped()))
    monkeypatch.setenv("PUBDATA_FACTS_SOURCES_FILE", str(path))
    get_settings.cache_clear()
    try:
        good = catalogue.refresh()
        path.write_text("version: 2\nfacts: {}\n", encoding="utf-8")  # a city editing its file badly
        assert catalogue.refresh() is good and "penalty_count" in FACTS  # readers: the last good catalogue
        assert service.fact_catalogue()[0].name == "uscc"
        with pytest.raises(InvalidFactSources, match="facts: 应为非空的映射"):
            service.build_facts(session, SYSTEM, home=city.home)  # a build: refused
    finally:
        monkeypatch.delenv("PUBDATA_FACTS_SOURCES_FILE")
        get_settings.cache_clear()
        catalogue.refresh()
