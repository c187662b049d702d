"""MIIT tiered cultivation (梯度培育) as versioned recognition packs: the scored clauses' cases pass on
both back ends; the score block is validated naming every problem; unknown facts make the score an
interval; the version in force is chosen by the assessment date; CLI and API return the score."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml
from typer.testing import CliRunner

from pubdata.authz import ANONYMOUS, SYSTEM
from pubdata.cli import app as cli
from pubdata.errors import Conflict, NotFound
from pubdata.policy import service
from pubdata.policy.packs.cases import facts_table, run_cases
from pubdata.policy.packs.engine import InvalidFacts, check_facts, evaluate_pack, pack_select
from pubdata.policy.packs.pack import PACKS_DIR, InvalidPack, compile_pack, load_pack

P2022, P2026 = "miit-tiers-2022", "miit-tiers-2026"
INNOVATIVE_FACTS = [
    "is_sme", "listed_abnormal_or_seriously_dishonest", "major_accident_or_tax_evasion_last_3_years",
    "product_in_prohibited_restricted_or_obsolete_category", "sci_tech_award_national_or_provincial_last_3_years",
    "high_tech_enterprise_valid", "tech_innovation_demo_or_ip_advantage_or_ip_demo_enterprise_valid",
    "rd_institution_provincial_or_above", "new_equity_financing_last_3_years_yuan", "ip_class1_high_value_count",
    "ip_class1_self_developed_count", "ip_class1_count", "ip_class2_count", "rd_expense_ratio_pct",
    "main_business_revenue_growth_pct", "asset_liability_ratio_pct", "strategic_emerging_industry",
    "main_business_revenue_share_pct",
]  # fmt: skip
# an enterprise scoring 15 + 15 + 15 + 5 + 10 + 20 = 80 (no direct condition)
FACTS = {
    "is_sme": True, "listed_abnormal_or_seriously_dishonest": False,
    "major_accident_or_tax_evasion_last_3_years": False,
    "product_in_prohibited_restricted_or_obsolete_category": False,
    "sci_tech_award_national_or_provincial_last_3_years": False, "high_tech_enterprise_valid": False,
    "tech_innovation_demo_or_ip_advantage_or_ip_demo_enterprise_valid": False,
    "rd_institution_provincial_or_above": False, "new_equity_financing_last_3_years_yuan": 0,
    "ip_class1_high_value_count": 0, "ip_class1_self_developed_count": 1, "ip_class1_count": 2, "ip_class2_count": 5,
    "rd_expense_ratio_pct": 4.2, "main_business_revenue_growth_pct": 12.5, "asset_liability_ratio_pct": 58.0,
    "strategic_emerging_industry": True, "main_business_revenue_share_pct": 72.0,
}  # fmt: skip


def _clause(result: dict[str, Any], clause_id: str) -> dict[str, Any]:
    return next(c for c in result["clauses"] if c["id"] == clause_id)


@pytest.mark.parametrize("pack_id", [P2022, P2026])
def test_tier_cases_pass_on_python_and_sql(pack_id: str) -> None:
    results = run_cases(load_pack(pack_id))
    assert len(results) >= 100
    assert [(r.name, r.failures) for r in results if not r.passed] == []


def test_innovative_sme_uses_exactly_the_issue_fact_names() -> None:
    pack = load_pack(P2022)
    assert set(pack.clause("innovative_sme").facts()) == set(INNOVATIVE_FACTS)
    assert set(load_pack(P2026).clause("tech_innovative_sme").facts()) == {
        *INNOVATIVE_FACTS,
        "tech_based_sme_registered",
    }


@pytest.mark.parametrize("pack_id", [P2022, P2026])
def test_cases_cover_every_band_edge_of_every_scored_indicator(pack_id: str) -> None:
    """Each bound of each band has a case with the score expected at the bound and one just beside it
    (0.01 for numbers, 1 for counts)."""
    pack = load_pack(pack_id)
    scored = [c for c in pack.clauses if c.score is not None]
    assert scored
    for clause in scored:
        tested: dict[str, set[Decimal]] = {}
        for case in pack.spec.tests:
            if "score" in case.expect.get(clause.id, {}):
                for name, value in case.facts.items():
                    if isinstance(value, int | float) and not isinstance(value, bool):
                        tested.setdefault(name, set()).add(Decimal(str(value)))
        assert clause.score is not None
        for indicator in clause.score.indicators:
            if indicator.kind != "bands":
                continue
            by = indicator.by.name  # type: ignore[union-attr]
            step = Decimal(1) if pack.inputs[by].type == "integer" else Decimal("0.01")
            for band in indicator.bands:
                for edge in (band.lower, band.upper):
                    if edge is None:
                        continue
                    # from/below: the bound and the value just under it; above/through: just over it
                    under = edge.inclusive == (band.lower is edge)
                    beside = edge.value - step if under else edge.value + step
                    assert {edge.value, beside} <= tested.get(by, set()), (clause.id, indicator.id, edge)


def test_the_text_is_quoted_and_bounds_include_the_number() -> None:
    pack = load_pack(P2022)
    text = pack.clause("innovative_sme").text
    for words in ("评价得分达到60分以上（其中创新能力指标得分不低于20分、成长性指标及专业化指标得分均不低于15分）",
                  "A.5%以上（20分）", "近三年新增股权融资总额（合格机构投资者的实缴额）500万元以上"):  # fmt: skip
        assert words in text
    assert "63号" in pack.spec.source.document
    facts = check_facts(pack, {**FACTS, "rd_expense_ratio_pct": 5.0})
    got = _clause(evaluate_pack(pack, facts), "innovative_sme")
    assert got["score"] == 85  # 5% reads as "5%以上": 20 points, not 15
    line = next(t for t in got["trace"] if t.startswith("  · 上年度研发费用总额占营业收入总额比重（满分20分）"))
    assert "5%" in line and "A. 5%以上" in line and "→ 20分" in line


def test_the_trace_lists_every_indicator_group_and_the_pass_mark() -> None:
    pack = load_pack(P2022)
    got = _clause(evaluate_pack(pack, check_facts(pack, FACTS)), "innovative_sme")
    assert got["eligible"] is True and got["score"] == 80 and got["score_min"] == got["score_max"] == 80
    trace = "\n".join(got["trace"])
    for words in ("评分：满分100分，达到60分以上为通过", "【创新能力指标】", "【成长性指标】", "【专业化指标】",
                  "属于“B. 自主研发的Ⅰ类知识产权1项以上” → 15分",
                  "上年度资产负债率（58%），属于“B. 55%-75%”（超过55%、不超过75%） → 5分",
                  "小计 30分，要求不低于20分 ✓", "小计 20分，要求不低于15分 ✓", "总分 80分，要求达到60分 ✓ → 评分达标",
                  "条件 ✓ 基本条件", "条件 ✗ 创新型中小企业直通条件", "结论：符合条件"):  # fmt: skip
        assert words in trace, words
    detail = got["score_detail"]
    assert detail["pass_mark"] == 60 and [g["id"] for g in detail["groups"]] == [
        "innovation",
        "growth",
        "specialisation",
    ]
    assert [i["points"] for g in detail["groups"] for i in g["indicators"]] == [15, 15, 15, 5, 10, 20]


def test_specialty_missing_is_decided_where_the_other_85_points_decide() -> None:
    pack = load_pack(P2022)
    cases = {c.name: c for c in pack.spec.tests}
    decided = [n for n in cases if n.startswith("专精特新 特色化未知")]
    assert len(decided) == 4  # ≥60 without it: yes; 44: no; 45 and 52: undecided
    facts = check_facts(pack, {**pack.spec.test_defaults, **cases[decided[0]].facts})
    got = _clause(evaluate_pack(pack, facts), "specialised_sme")
    assert got["eligible"] is None and got["missing"] == ["provincial_specialty_score"]
    assert (got["score"], got["score_min"], got["score_max"]) == (None, 52, 67)
    assert any("缺少 特色化指标得分" in t and "计 0～15分" in t for t in got["trace"])
    assert any("总分 52～67分" in t and "评分暂无法判断" in t for t in got["trace"])


def test_the_platform_score_of_2026_is_missing_never_guessed() -> None:
    pack = load_pack(P2026)
    assert pack.inputs["zjtx_development_score"].type == "number"
    cases = {c.name: c for c in pack.spec.tests}
    base = cases["专精特新（2026） 六项条件恰好达标（平台得分50分）"].facts
    for clause_id, facts in (
        ("specialised_sme", base),
        ("little_giant", cases["小巨人（2026） 各项恰好达标（研发两年合计1200万元、平台得分60分）"].facts),
    ):
        known = check_facts(pack, {**pack.spec.test_defaults, **facts})
        assert _clause(evaluate_pack(pack, known), clause_id)["eligible"] is True
        without = {**known, "zjtx_development_score": None}
        got = _clause(evaluate_pack(pack, without), clause_id)
        assert got["eligible"] is None and got["missing"] == ["zjtx_development_score"]


def test_sql_gives_the_score_interval_per_enterprise() -> None:
    pack = load_pack(P2022)
    rows = [
        {**FACTS, "uscc": "known"},
        {**FACTS, "uscc": "growth-unknown", "main_business_revenue_growth_pct": None},
        {**FACTS, "uscc": "nothing-known", **{k: None for k in INNOVATIVE_FACTS}},
    ]
    con = duckdb.connect()
    con.register("facts", facts_table(pack, [check_facts(pack, r, strict=False) | {"uscc": r["uscc"]} for r in rows]))
    got = {
        r[0]: r[1:]
        for r in con.execute(
            f"SELECT enterprise, eligible, score, score_min, score_max FROM ({pack_select(pack, 'facts')}) "
            "WHERE clause = 'innovative_sme'"
        ).fetchall()
    }
    assert got["known"] == (True, 80, 80, 80)
    # growth unknown: 0–20 points instead of 15; total 65–85, growth group 5–25 against its floor 15: undecided
    assert got["growth-unknown"] == (None, None, 65, 85)
    assert got["nothing-known"] == (None, None, 5, 100)


def _score_pack(score: dict[str, Any], when: str = "score_passes") -> str:
    return yaml.safe_dump(
        {
            "id": "score-test",
            "version": 1,
            "kind": "recognition",
            "title": "评分测试",
            "source": {"document": "《测试》", "issued_by": ["测试"], "published": "2026-01-01"},
            "effective": {"from": "2026-01-01"},
            "reviewer": {"department": "industry", "of": "registered_district"},
            "inputs": {"x": {"type": "number", "title": "X"}, "flag": {"type": "boolean", "title": "F"}},
            "clauses": [{"id": "c", "title": "C", "article": "一", "text": "……", "when": when, "score": score}],
        },
        allow_unicode=True,
    )


def _problems(text: str) -> list[str]:
    with pytest.raises(InvalidPack) as info:
        compile_pack(text)
    return list(info.value.details)


def _group(*indicators: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"id": "g", "title": "G", "indicators": list(indicators), **extra}


def test_score_blocks_are_checked_naming_every_problem() -> None:
    gap = {
        "id": "a",
        "title": "A",
        "max": 10,
        "by": "x",
        "bands": [{"from": 5, "points": 10}, {"below": 4, "points": 0}],
    }
    overlap = {"id": "b", "title": "B", "max": 10, "by": "x",
               "bands": [{"from": 5, "points": 10}, {"from": 3, "through": 5, "points": 5},
                         {"below": 3, "points": 0}]}  # fmt: skip
    wrong_max = {
        "id": "c",
        "title": "C",
        "max": 20,
        "by": "x",
        "bands": [{"from": 5, "points": 10}, {"below": 5, "points": 0}],
    }
    no_otherwise = {"id": "d", "title": "D", "max": 5, "cases": [{"when": "flag", "points": 5}]}
    bad_when = {
        "id": "e",
        "title": "E",
        "max": 5,
        "cases": [{"when": "x", "points": 5}, {"otherwise": True, "points": 0}],
    }
    two_forms = {"id": "f", "title": "F", "max": 5, "points": "x", "cases": [{"otherwise": True, "points": 5}]}
    problems = _problems(
        _score_pack(
            {
                "pass_mark": 200,
                "total": 99,
                "groups": [_group(gap, overlap, wrong_max, no_otherwise, bad_when, two_forms, floor=100)],
            }
        )
    )
    text = "\n".join(problems)
    assert "4 至 5 之间的取值没有档次（缺口）" in text
    assert "两档重叠（5）" in text
    assert "（c）：满分写为 20，各档最高得分为 10" in text
    assert "最后一项应为 otherwise" in text
    assert "（e）.cases[1].when：条件应为是/否的判断" in text
    assert "bands（配合 by）、cases、points 必须且只能写一个" in text
    assert "最低分 100 高于满分" in text and "及格线 200 高于满分" in text and "满分写为 99" in text
    # a scored clause must read its score; a support pack's clause needs an amount; a recognition one has none
    ok = {"pass_mark": 5, "groups": [_group({"id": "p", "title": "P", "max": 10, "points": "x"})]}
    assert any("条件中应使用 score_passes" in p for p in _problems(_score_pack(ok, when="flag")))
    assert any("未知的事实：score_passes" in p for p in _problems(_score_pack(None, when="score_passes")))  # type: ignore[arg-type]
    compile_pack(_score_pack(ok, when="flag or score_passes"))


def test_points_given_by_a_fact_are_kept_within_the_maximum() -> None:
    text = _score_pack({"pass_mark": 6, "groups": [_group({"id": "p", "title": "P", "max": 10, "points": "x"})]})
    pack = compile_pack(text)
    for x, score, eligible in ((25, 10, True), (-3, 0, False), (6, 6, True), (5.5, 5.5, False), (None, None, None)):
        got = _clause(evaluate_pack(pack, check_facts(pack, {"x": x})), "c")
        assert (got["score"], got["eligible"]) == (score, eligible)
    # and the SQL back end agrees
    data = yaml.safe_load(text)
    data["tests"] = [{"name": f"x={x}", "facts": {"x": x}, "expect": {"c": {"score": s, "eligible": e}}}
                     for x, s, e in ((25, 10, True), (-3, 0, False), (5.5, 5.5, False),
                                     (None, None, None))]  # fmt: skip
    assert all(r.passed for r in run_cases(compile_pack(yaml.safe_dump(data, allow_unicode=True))))


def test_the_rules_in_force_are_chosen_by_the_assessment_date() -> None:
    assert service.pack_in_force(ANONYMOUS, "miit-tiers", date(2025, 6, 1)).id == P2022
    assert service.pack_in_force(ANONYMOUS, "miit-tiers", date(2026, 3, 31)).id == P2022
    assert service.pack_in_force(ANONYMOUS, "miit-tiers", date(2026, 4, 1)).id == P2026
    assert service.pack_in_force(ANONYMOUS, P2026, date(2026, 4, 1)).id == P2026  # an id is a family of one
    with pytest.raises(NotFound, match="没有生效的版本"):
        service.pack_in_force(ANONYMOUS, "miit-tiers", date(2022, 5, 31))
    with pytest.raises(NotFound):
        service.pack_in_force(ANONYMOUS, "no-such-family", date(2026, 4, 1))
    # the versions of a family never overlap (else the choice would be ambiguous: Conflict)
    families: dict[str, list[Any]] = {}
    for p in service.list_packs(SYSTEM):
        families.setdefault(p.family, []).append(p.spec.effective)
    for periods in families.values():
        periods.sort(key=lambda e: e.from_)
        for a, b in zip(periods, periods[1:], strict=False):
            assert a.to is not None and a.to < b.from_
    assert Conflict  # (raised by pack_in_force when two versions are in force)


def test_cli_evaluates_with_score_and_by_date(tmp_path: Path) -> None:
    runner = CliRunner()
    facts = tmp_path / "F.json"
    facts.write_text(json.dumps(FACTS), encoding="utf-8")
    out = runner.invoke(cli, ["policy", "evaluate", P2022, "--facts", str(facts), "--json"])
    assert out.exit_code == 0, out.output
    got = _clause(json.loads(out.stdout), "innovative_sme")
    assert (got["eligible"], got["score"], got["score_min"], got["score_max"]) == (True, 80, 80, 80)
    out = runner.invoke(
        cli, ["policy", "evaluate", "miit-tiers", "--on", "2026-06-01", "--facts", str(facts), "--json"]
    )
    assert out.exit_code == 0, out.output
    result = json.loads(out.stdout)
    assert result["policy"] == P2026 and result["assessed_on"] == "2026-06-01"
    assert _clause(result, "tech_innovative_sme")["score"] == 80
    text = runner.invoke(cli, ["policy", "evaluate", "miit-tiers", "--on", "2025-01-01", "--facts", str(facts)]).output
    assert "miit-tiers-2022" in text and "创新型中小企业：符合，得分 80" in text
    bad = runner.invoke(cli, ["policy", "evaluate", "miit-tiers", "--on", "2021-01-01", "--facts", str(facts)])
    assert bad.exit_code != 0 and "没有生效的版本" in bad.output
    for pack_id in (P2022, P2026):
        assert runner.invoke(cli, ["policy", "test", pack_id]).exit_code == 0
        assert runner.invoke(cli, ["policy", "check", pack_id]).exit_code == 0


def test_api_returns_the_score_next_to_eligible(client: Any) -> None:
    response = client.post(
        f"/api/v1/policies/{P2022}/evaluate", json={"facts": {**FACTS, "asset_liability_ratio_pct": None}}
    )
    assert response.status_code == 200, response.text
    got = _clause(response.json(), "innovative_sme")
    assert got["eligible"] is True and got["score"] is None and (got["score_min"], got["score_max"]) == (75, 85)
    assert got["amount_kind"] == "none" and got["score_detail"]["groups"][1]["min_points"] == 15
    page = client.get(f"/policies/{P2022}")
    assert page.status_code == 200 and "创新型中小企业" in page.text


def test_recognition_packs_push_no_notices() -> None:
    assert not load_pack(P2022).notifies and not load_pack(P2026).notifies
    assert load_pack("qingdao-cbec-2023").notifies
    assert (PACKS_DIR / f"{P2026}.yaml").is_file()


def test_recognition_packs_take_no_applications_and_no_bulk_matching(
    session: Any, as_actor: Any, tmp_path: Path
) -> None:
    from pubdata.policy.applications.workflow import InvalidApplication, submit_application
    from pubdata.policy.matching.match import PackNotMatchable, match_pack

    with pytest.raises(InvalidApplication) as exc:
        submit_application(session, as_actor("enterprise"), P2026, "specialised_sme", home=tmp_path)
    assert "认定标准" in exc.value.message
    with pytest.raises(PackNotMatchable):
        match_pack(session, SYSTEM, P2022, home=tmp_path)


def test_definitions_and_kinds_are_checked() -> None:
    data = yaml.safe_load(_score_pack(None, when="a"))  # type: ignore[arg-type]
    del data["clauses"][0]["score"]
    data["definitions"] = {
        "x": {"title": "与事实重名", "when": "flag"},
        "a": {"title": "引用后面的定义", "when": "b"},
        "b": {"title": "B", "when": "x > 1"},
    }
    data["clauses"][0]["amount"] = {"fixed": "1万"}
    text = "\n".join(_problems(yaml.safe_dump(data, allow_unicode=True, sort_keys=False)))
    assert "definitions.x：名称无效或与事实重名" in text
    assert "definitions.a：未知的事实：b" in text
    assert "认定标准（kind: recognition）的条款没有金额" in text
    data["kind"] = "support"
    data["definitions"] = {"b": {"title": "B", "when": "x > 1"}, "a": {"title": "A", "when": "b and flag"}}
    del data["clauses"][0]["amount"]
    assert any("需要 amount" in p for p in _problems(yaml.safe_dump(data, allow_unicode=True, sort_keys=False)))
    data["clauses"][0]["amount"] = {"fixed": "1万"}
    pack = compile_pack(yaml.safe_dump(data, allow_unicode=True, sort_keys=False))
    got = _clause(evaluate_pack(pack, check_facts(pack, {"x": 2, "flag": None})), "c")
    assert got["eligible"] is None and got["missing"] == ["flag"]
    assert got["trace"][1].startswith("条件 ？ A：") and got["trace"][2].startswith("  条件 ✓ B：")


def test_a_string_fact_with_listed_values_refuses_others() -> None:
    pack = load_pack(P2022)
    assert check_facts(pack, {"rd_institution_level": "省级"}) == {"rd_institution_level": "省级"}
    with pytest.raises(InvalidFacts, match="应为以下之一：国家级、省级、市级、市级以下、未建立"):
        check_facts(pack, {"rd_institution_level": "国家级研发中心"})


def test_an_undecided_case_indicator_names_every_fact_that_could_decide_it() -> None:
    """The IP indicator's cases (高价值Ⅰ类 → 自主研发Ⅰ类 → Ⅰ类 → Ⅱ类): unknown at the first case, any
    later case may be the one that holds, so the form must ask for all of them at once."""
    facts = {k: v for k, v in FACTS.items() if not k.startswith("ip_")}
    got = _clause(service.evaluate_facts(SYSTEM, P2022, facts), "innovative_sme")
    ip = {"ip_class1_high_value_count", "ip_class1_self_developed_count", "ip_class1_count", "ip_class2_count"}
    assert got["score"] is None
    detail = {i["id"]: i for g in got["score_detail"]["groups"] for i in g["indicators"]}
    ip_indicator = next(i for i in detail.values() if set(i["missing"]) & ip)
    assert ip <= set(ip_indicator["missing"])
