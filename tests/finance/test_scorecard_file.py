"""Scorecard model files: the shipped expert cards (v2, what ``expert`` means, and v1) are valid; a bad
file is refused with every problem named by its path; the Python reference evaluation and the SQL
give the same points for both versions."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pytest
import yaml

from pubdata.finance.errors import InvalidModelFile, ModelNotFound
from pubdata.finance.scorecards import card as cards
from pubdata.finance.scorecards.sql import score_select
from tests.finance.builders import code, facts_table

EXPERT = cards.load_card("expert")  # the newest shipped version: v2
V1 = cards.load_card("expert-v1")


def _expert_data() -> dict:
    return yaml.safe_load(EXPERT.text)


def _problems(data: dict) -> dict[str, str]:
    with pytest.raises(InvalidModelFile) as refused:
        cards.build_card(data, yaml.safe_dump(data, allow_unicode=True))
    out: dict[str, str] = {}
    for d in refused.value.details:
        out[d["field"]] = (out[d["field"]] + "；" if d["field"] in out else "") + d["message"]
    return out


def test_the_shipped_expert_cards_are_valid_and_expert_means_the_newest():
    assert EXPERT.id == "expert" and EXPERT.version == 2 and EXPERT.kind == "expert"
    assert cards.load_card("expert-v2").digest == EXPERT.digest
    assert V1.id == "expert" and V1.version == 1 and V1.digest != EXPERT.digest
    for card in (EXPERT, V1):
        assert (card.base, card.min, card.max) == (600, 300, 900)
        assert [g.grade for g in card.grades] == list(cards.GRADES)
        assert [d.title for d in card.dimensions] == ["基本信息", "纳税信用", "经营稳定", "创新能力", "合规记录"]
    with pytest.raises(ModelNotFound):
        cards.load_card("expert-v9")


def test_v2_scores_the_credit_profile_facts_and_counts_no_fact_twice():
    used = {f.fact for f in EXPERT.features}
    assert {
        "age_years", "tax_credit_grade_previous", "tax_grade_a_years_3", "tax_grade_cd_years_3", "insured_months_12",
        "insured_headcount_change_pct", "utility_bill_months_12", "utility_on_time_ratio_pct",
        "utility_arrears_months_12", "ip_class1_count", "ip_class2_count", "specialised_level",
        "penalty_fine_amount_3y", "enforcement_count", "abnormal_listings_3y", "high_tech_enterprise_valid",
    } <= used  # fmt: skip
    # replaced by their v2 equivalents, or (the combined listing flag) already scored by its two parts
    assert not used & {"founded", "patent_count", "is_high_tech", "is_specialised",
                       "listed_abnormal_or_seriously_dishonest"}  # fmt: skip
    assert {"is_dishonest_debtor", "is_abnormal_operation"} <= used
    by_fact = {f.fact: f for f in EXPERT.features}
    assert by_fact["is_dishonest_debtor"].bin_of(True).points == -200
    assert by_fact["is_abnormal_operation"].bin_of(True).points == -80
    # every feature has its missing bin and reasons worded in Chinese where a bin is a reason
    for f in EXPERT.features:
        for b in (*f.bins, f.missing):
            if b.text is not None:
                assert any("\u4e00" <= ch <= "\u9fff" for ch in b.text), (f.fact, b.text)


def test_every_problem_is_named_by_its_path():
    data = _expert_data()
    tax = data["dimensions"][1]["features"][0]
    tax["bins"][0]["points"] = "eighty"  # does not parse as an integer
    tax["bins"][1]["values"] = ["B", "Z"]  # a grade the fact never takes
    del tax["missing"]  # no bin for an unknown grade
    mars = len(data["dimensions"][1]["features"])
    data["dimensions"][1]["features"].append({"fact": "credit_rating_from_mars", "bins": [], "missing": {"points": 0}})
    penalties = data["dimensions"][4]["features"][0]
    penalties["bins"][2]["from"] = 4  # a gap between 3 and 4
    penalties["bins"][3]["from"] = 8  # overlaps the bin below 10
    dishonest = data["dimensions"][4]["features"][3]
    dishonest["bins"] = [{"value": True, "points": -200}]  # false is not covered
    status = data["dimensions"][0]["features"][0]
    status["bins"] = [{"values": ["存续", "在业"], "points": 0}]  # 吊销、注销、迁出 not covered
    headcount = data["dimensions"][2]["features"][0]
    headcount["bins"][0] = {"values": ["A"], "points": 1}  # categorical bins on a number
    capital = data["dimensions"][0]["features"][2]
    capital["bins"][1]["below"] = 2.5  # money thresholds are integer yuan
    data["grades"][0], data["grades"][1] = data["grades"][1], data["grades"][0]

    problems = _problems(data)
    assert "应为整数" in problems["dimensions[1].features[0].bins[0].points"]
    assert "Z" in problems["dimensions[1].features[0].bins[1].values"]
    assert "缺失值" in problems["dimensions[1].features[0].missing"]
    assert "未知的事实：credit_rating_from_mars" in problems[f"dimensions[1].features[{mars}].fact"]
    assert "缺口" in problems["dimensions[4].features[0].bins[2]"]
    assert "重叠" in problems["dimensions[4].features[0].bins[3]"]
    assert "value: false" in problems["dimensions[4].features[3].bins"]
    assert "吊销、注销、迁出" in problems["dimensions[0].features[0].bins"]
    assert "区间" in problems["dimensions[2].features[0].bins[0]"]
    assert "整数" in problems["dimensions[0].features[2].bins[1].below"]
    assert "AAA" in problems["grades"]


def test_open_ends_empty_intervals_and_scale_are_checked():
    data = _expert_data()
    patents = data["dimensions"][3]["features"][2]  # ip_class1_count: three bins
    patents["bins"][0]["from"] = 0  # nothing below 0 would have a bin
    patents["bins"][-1]["below"] = 100  # nor 100 and above
    age = data["dimensions"][0]["features"][1]
    age["bins"][1] = {"from": 3, "below": 1, "points": 0}
    on_time = data["dimensions"][2]["features"][5]  # utility_on_time_ratio_pct, a number: decimals allowed
    on_time["bins"][0]["below"] = on_time["bins"][1]["from"] = "79.5"
    on_time["bins"][1]["below"] = "ninety-five"
    operations = len(data["dimensions"][2]["features"])
    data["scale"] = {"base": 600, "min": 900, "max": 300}
    data["grades"][8]["min"] = 350  # the lowest grade no longer covers the scale's bottom
    data["dimensions"][2]["features"].append(dict(data["dimensions"][1]["features"][0]))  # a fact used twice
    problems = _problems(data)
    assert "第一箱应没有下限" in problems["dimensions[3].features[2].bins[0].from"]
    assert "最后一箱应没有上限" in problems["dimensions[3].features[2].bins[2].below"]
    assert "区间为空" in problems["dimensions[0].features[1].bins[1]"]
    assert "min" in problems["scale"]
    assert "已在 dimensions[1].features[0] 使用" in problems[f"dimensions[2].features[{operations}].fact"]
    assert "应为数值" in problems["dimensions[2].features[5].bins[1].below"]
    assert not any(k.startswith("dimensions[2].features[5].bins[0]") for k in problems)  # 79.5 is fine


def test_a_file_that_is_not_yaml_or_not_a_mapping_is_refused(tmp_path: Path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: [unclosed\n", encoding="utf-8")
    with pytest.raises(InvalidModelFile, match="不是有效的 YAML"):
        cards.load_card(str(bad))
    bad.write_text("- just a list\n", encoding="utf-8")
    with pytest.raises(InvalidModelFile, match="应为 YAML 映射"):
        cards.load_card(str(bad))


EDGE_ROWS = [
    # founded exactly 5 years before the facts year's end: 5 complete years (+25); a day later: 4 (0).
    # v1 bins the date `founded`, v2 the catalogue's `age_years` (the facts build derives it the same way)
    {"uscc": code(1), "name": "甲", "status": "存续", "founded": date(2020, 12, 31), "age_years": 5, "penalty_count": 3,
     "tax_credit_grade": "A", "tax_credit_grade_previous": "A", "tax_grade_a_years_3": 3, "tax_grade_cd_years_3": 0,
     "insured_headcount": 10, "insured_months_12": 12, "insured_headcount_change_pct": 0.0,
     "registered_capital": 20_000_000, "cbec_import_export_amount": 0, "utility_bill_months_12": 12,
     "utility_on_time_ratio_pct": 95.0, "utility_arrears_months_12": 0, "ip_class1_count": 4, "ip_class2_count": 10,
     "specialised_level": "国家级", "high_tech_enterprise_valid": True, "penalty_fine_amount_3y": 10_000,
     "enforcement_count": 0, "abnormal_listings_3y": 0, "is_dishonest_debtor": False, "is_abnormal_operation": False},
    {"uscc": code(2), "name": "乙", "status": "在业", "founded": date(2021, 1, 1), "age_years": 4, "penalty_count": 1,
     "tax_credit_grade": "D", "tax_credit_grade_previous": "D", "tax_grade_a_years_3": 0, "tax_grade_cd_years_3": 2,
     "insured_headcount": 0, "insured_months_12": 5, "insured_headcount_change_pct": -30.1,
     "registered_capital": 999_999, "utility_bill_months_12": 0, "utility_arrears_months_12": 3, "ip_class1_count": 0,
     "ip_class2_count": 9, "specialised_level": "无", "high_tech_enterprise_valid": False,
     "penalty_fine_amount_3y": 100_000, "enforcement_count": 2, "abnormal_listings_3y": 2, "is_dishonest_debtor": True,
     "is_abnormal_operation": True, "listed_abnormal_or_seriously_dishonest": True},
    {"uscc": code(3), "name": "丙"},  # nothing known
    {"uscc": code(4), "name": "丁", "status": "注销", "founded": date(2026, 3, 1), "age_years": 0, "patent_count": 20,
     "penalty_count": 0, "is_high_tech": True, "is_specialised": True, "cbec_import_export_amount": 10_000_000,
     "is_abnormal_operation": False, "tax_credit_grade": "B", "tax_grade_a_years_3": 1, "tax_grade_cd_years_3": 1,
     "insured_headcount": 300, "insured_months_12": 6, "insured_headcount_change_pct": 30.0,
     "utility_bill_months_12": 5, "utility_on_time_ratio_pct": 79.9, "utility_arrears_months_12": 1,
     "ip_class1_count": 1, "ip_class2_count": 1, "specialised_level": "市级", "high_tech_enterprise_valid": True,
     "penalty_fine_amount_3y": 9_999, "enforcement_count": 1, "abnormal_listings_3y": 1},
    {"uscc": code(5), "name": "戊", "status": "存续", "age_years": 10, "tax_credit_grade": "M",
     "tax_credit_grade_previous": "C", "tax_grade_a_years_3": 2, "tax_grade_cd_years_3": 1, "insured_headcount": 49,
     "insured_months_12": 11, "insured_headcount_change_pct": -30.0, "utility_bill_months_12": 6,
     "utility_on_time_ratio_pct": 80.0, "utility_arrears_months_12": 2, "ip_class1_count": 3, "ip_class2_count": 0,
     "specialised_level": "省级", "penalty_fine_amount_3y": 99_999, "penalty_count": 10},
]  # fmt: skip


def _scored(card: cards.Card, tmp_path: Path) -> dict[str, dict]:
    """Every EDGE_ROWS enterprise scored by the card's SQL, checked against the Python reference."""
    import pyarrow.parquet as pq

    facts = tmp_path / "facts.parquet"
    pq.write_table(facts_table(EDGE_ROWS), facts)
    sql = score_select(card, f"read_parquet('{facts}')", 2025)
    cur = duckdb.connect().execute(sql + " ORDER BY uscc")
    names = [d[0] for d in cur.description]
    rows = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
    assert len(rows) == len(EDGE_ROWS)
    for row in rows:
        source = next(r for r in EDGE_ROWS if r["uscc"] == row["uscc"])
        expected = cards.score_values(card, source, 2025)
        assert {f: row["p__" + f] for f in expected.points} == expected.points, row["uscc"]
        assert (row["raw_score"], row["score"], row["grade"]) == (expected.raw, expected.score, expected.grade)
    return {r["uscc"]: r for r in rows}


def test_v2_sql_and_python_give_the_same_points_score_and_grade_on_every_edge(tmp_path: Path):
    rows = _scored(EXPERT, tmp_path)
    first, second, third, fourth, fifth = (rows[code(n)] for n in range(1, 6))
    assert (first["v__age_years"], first["p__age_years"], first["p__penalty_count"]) == (5, 25, -30)
    assert (second["v__age_years"], second["p__age_years"], second["p__penalty_count"]) == (4, 0, -15)
    # the edges of the new facts: from is in the bin, below is not
    assert [first[f"p__{f}"] for f in ("insured_headcount_change_pct", "utility_on_time_ratio_pct",
                                       "penalty_fine_amount_3y", "ip_class1_count", "ip_class2_count")] == [
        5, 10, -20, 30, 10]  # fmt: skip
    assert [fifth[f"p__{f}"] for f in ("insured_headcount_change_pct", "utility_on_time_ratio_pct",
                                       "penalty_fine_amount_3y", "ip_class1_count", "insured_months_12",
                                       "utility_bill_months_12", "utility_arrears_months_12", "age_years")] == [
        0, 0, -20, 15, -10, 0, -10, 45]  # fmt: skip
    assert (second["p__insured_headcount_change_pct"], fourth["p__insured_headcount_change_pct"]) == (-20, 10)
    assert (fourth["p__utility_on_time_ratio_pct"], fourth["p__penalty_fine_amount_3y"]) == (-20, 0)
    # hand-computed: 600 + 25 (5 years) + 20 (capital ≥ 2000万) + 60 (A) + 15 (previous A) + 20 (A three years)
    # + 20 (10 insured) + 5 (12 months) + 5 (headcount change 0 %) + 10 (95 % on time) + 40 (高新) + 60 (国家级)
    # + 30 (4 Ⅰ类) + 10 (10 Ⅱ类) − 30 (3 penalties) − 20 (fines 1万) = 870
    assert (first["score"], first["grade"]) == (870, "AAA")
    # listed dishonest and abnormal, D twice, enforcement, fines: far below the floor → 300, grade C
    assert (second["raw_score"], second["score"], second["grade"]) == (-210, 300, "C")
    # nothing known: 600 − 30 (status) − 20 (age) − 20 (not graded) − 20 (no insurance record) = 510 → CC
    assert (third["score"], third["grade"]) == (510, "CC")
    # 注销 (−250) outweighs the honours: 390 → C
    assert (fourth["raw_score"], fourth["grade"]) == (390, "C")


def test_v1_still_scores_as_it_did(tmp_path: Path):
    rows = _scored(V1, tmp_path)
    first, second, third = rows[code(1)], rows[code(2)], rows[code(3)]
    assert (first["v__founded"], first["p__founded"], first["p__penalty_count"]) == (5, 25, -40)
    assert (second["v__founded"], second["p__founded"], second["p__penalty_count"]) == (4, 0, -20)
    # v1 reads none of the credit-profile facts: 600 + 0 + 25 + 20 + 80 (A) + 20 (10 insured) − 40 = 705
    assert (first["score"], first["grade"]) == (705, "BBB")
    # 600 − 10 − 150 − 40 − 20 − 200 − 80 = 100 → clipped to 300, grade C
    assert (second["raw_score"], second["score"], second["grade"]) == (100, 300, "C")
    assert (third["score"], third["grade"]) == (510, "CC")
