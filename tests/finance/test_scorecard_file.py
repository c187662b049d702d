"""Scorecard model files: the shipped expert card is valid; a bad file is refused with every problem
named by its path; the Python reference evaluation and the SQL give the same points."""

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

EXPERT = cards.load_card("expert")


def _expert_data() -> dict:
    return yaml.safe_load(EXPERT.text)


def _problems(data: dict) -> dict[str, str]:
    with pytest.raises(InvalidModelFile) as refused:
        cards.build_card(data, yaml.safe_dump(data, allow_unicode=True))
    out: dict[str, str] = {}
    for d in refused.value.details:
        out[d["field"]] = (out[d["field"]] + "；" if d["field"] in out else "") + d["message"]
    return out


def test_the_shipped_expert_card_is_valid_and_uses_only_catalogue_facts():
    assert EXPERT.id == "expert" and EXPERT.version == 1 and EXPERT.kind == "expert"
    assert (EXPERT.base, EXPERT.min, EXPERT.max) == (600, 300, 900)
    assert [g.grade for g in EXPERT.grades] == list(cards.GRADES)
    assert [d.title for d in EXPERT.dimensions] == ["基本信息", "纳税信用", "经营稳定", "创新能力", "合规记录"]
    assert cards.load_card("expert-v1").digest == EXPERT.digest
    with pytest.raises(ModelNotFound):
        cards.load_card("expert-v9")


def test_every_problem_is_named_by_its_path():
    data = _expert_data()
    tax = data["dimensions"][1]["features"][0]
    tax["bins"][0]["points"] = "eighty"  # does not parse as an integer
    tax["bins"][1]["values"] = ["B", "Z"]  # a grade the fact never takes
    del tax["missing"]  # no bin for an unknown grade
    data["dimensions"][1]["features"].append({"fact": "credit_rating_from_mars", "bins": [], "missing": {"points": 0}})
    penalties = data["dimensions"][4]["features"][0]
    penalties["bins"][2]["from"] = 4  # a gap between 3 and 4
    penalties["bins"][3]["from"] = 8  # overlaps the bin below 10
    dishonest = data["dimensions"][4]["features"][1]
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
    assert "未知的事实：credit_rating_from_mars" in problems["dimensions[1].features[1].fact"]
    assert "缺口" in problems["dimensions[4].features[0].bins[2]"]
    assert "重叠" in problems["dimensions[4].features[0].bins[3]"]
    assert "value: false" in problems["dimensions[4].features[1].bins"]
    assert "吊销、注销、迁出" in problems["dimensions[0].features[0].bins"]
    assert "区间" in problems["dimensions[2].features[0].bins[0]"]
    assert "整数" in problems["dimensions[0].features[2].bins[1].below"]
    assert "AAA" in problems["grades"]


def test_open_ends_empty_intervals_and_scale_are_checked():
    data = _expert_data()
    patents = data["dimensions"][3]["features"][2]
    patents["bins"][0]["from"] = 0  # nothing below 0 would have a bin
    patents["bins"][-1]["below"] = 100  # nor 100 and above
    founded = data["dimensions"][0]["features"][1]
    founded["bins"][1] = {"from": 3, "below": 1, "points": 0}
    data["scale"] = {"base": 600, "min": 900, "max": 300}
    data["grades"][8]["min"] = 350  # the lowest grade no longer covers the scale's bottom
    data["dimensions"][2]["features"].append(dict(data["dimensions"][1]["features"][0]))  # a fact used twice
    problems = _problems(data)
    assert "第一箱应没有下限" in problems["dimensions[3].features[2].bins[0].from"]
    assert "最后一箱应没有上限" in problems["dimensions[3].features[2].bins[3].below"]
    assert "区间为空" in problems["dimensions[0].features[1].bins[1]"]
    assert "min" in problems["scale"]
    assert "已在 dimensions[1].features[0] 使用" in problems["dimensions[2].features[2].fact"]


def test_a_file_that_is_not_yaml_or_not_a_mapping_is_refused(tmp_path: Path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: [unclosed\n", encoding="utf-8")
    with pytest.raises(InvalidModelFile, match="不是有效的 YAML"):
        cards.load_card(str(bad))
    bad.write_text("- just a list\n", encoding="utf-8")
    with pytest.raises(InvalidModelFile, match="应为 YAML 映射"):
        cards.load_card(str(bad))


EDGE_ROWS = [
    # founded exactly 5 years before the facts year's end: 5 complete years (+25); a day later: 4 (0)
    {"uscc": code(1), "name": "甲", "status": "存续", "founded": date(2020, 12, 31), "penalty_count": 3,
     "tax_credit_grade": "A", "insured_headcount": 10, "registered_capital": 20_000_000},
    {"uscc": code(2), "name": "乙", "status": "在业", "founded": date(2021, 1, 1), "penalty_count": 1,
     "tax_credit_grade": "D", "insured_headcount": 0, "registered_capital": 999_999, "is_dishonest_debtor": True},
    {"uscc": code(3), "name": "丙"},  # nothing known
    {"uscc": code(4), "name": "丁", "status": "注销", "founded": date(2026, 3, 1), "patent_count": 20,
     "penalty_count": 0, "is_high_tech": True, "is_specialised": True, "cbec_import_export_amount": 10_000_000,
     "is_abnormal_operation": False},
]  # fmt: skip


def test_sql_and_python_give_the_same_points_score_and_grade(tmp_path: Path):
    facts = tmp_path / "facts.parquet"
    import pyarrow.parquet as pq

    pq.write_table(facts_table(EDGE_ROWS), facts)
    sql = score_select(EXPERT, f"read_parquet('{facts}')", 2025)
    con = duckdb.connect()
    cur = con.execute(sql + " ORDER BY uscc")
    names = [d[0] for d in cur.description]
    rows = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
    assert len(rows) == len(EDGE_ROWS)
    for row in rows:
        source = next(r for r in EDGE_ROWS if r["uscc"] == row["uscc"])
        expected = cards.score_values(EXPERT, source, 2025)
        assert {f: row["p__" + f] for f in expected.points} == expected.points, row["uscc"]
        assert (row["raw_score"], row["score"], row["grade"]) == (expected.raw, expected.score, expected.grade)
    first = next(r for r in rows if r["uscc"] == code(1))
    assert (first["v__founded"], first["p__founded"], first["p__penalty_count"]) == (5, 25, -40)
    second = next(r for r in rows if r["uscc"] == code(2))
    assert (second["v__founded"], second["p__founded"], second["p__penalty_count"]) == (4, 0, -20)
    # hand-computed: 600 + 0 + 25 + 20 (capital ≥ 2000万) + 80 (A) + 20 (10 insured) + 0 + 0 + 0 + 0 − 40 + 0 + 0
    assert (first["score"], first["grade"]) == (705, "BBB")
    # 600 + 0 + 0 − 10 − 150 − 40 + 0 + 0 + 0 + 0 − 20 − 200 + 0 = 180 → clipped to 300, grade C
    assert (second["raw_score"], second["score"], second["grade"]) == (180, 300, "C")
    # nothing known: 600 − 30 − 20 + 0 − 20 − 20 + 0 … = 510 → CC
    third = next(r for r in rows if r["uscc"] == code(3))
    assert (third["score"], third["grade"]) == (510, "CC")
