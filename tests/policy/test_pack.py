"""Policy packs: the cross-border e-commerce pack's cases pass on both back ends; bad packs are
refused naming every problem; the CLI and API evaluate with explanations."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from pubdata.authz import ANONYMOUS
from pubdata.cli import app as cli
from pubdata.policy import service
from pubdata.policy.packs.cases import run_cases
from pubdata.policy.packs.engine import InvalidFacts
from pubdata.policy.packs.pack import PACKS_DIR, InvalidPack, compile_pack, load_pack

CBEC = "qingdao-cbec-2023"
BASE = {"registered_district": "崂山区"}


def _pack_text(**changes: Any) -> str:
    """The cbec pack's YAML with top-level keys or one clause's keys replaced."""
    data = yaml.safe_load((PACKS_DIR / f"{CBEC}.yaml").read_text(encoding="utf-8"))
    for key, value in changes.items():
        if key.startswith("clause:"):
            _, clause_id, field = key.split(":")
            clause = next(c for c in data["clauses"] if c["id"] == clause_id)
            clause[field] = value
        else:
            data[key] = value
    return yaml.safe_dump(data, allow_unicode=True)


def _problems(text: str) -> list[str]:
    with pytest.raises(InvalidPack) as info:
        compile_pack(text)
    return list(info.value.details)


def test_cbec_cases_pass_on_python_and_sql() -> None:
    results = run_cases(load_pack(CBEC))
    assert len(results) >= 20
    assert [(r.name, r.failures) for r in results if not r.passed] == []


def test_cbec_pack_uses_only_facts_the_facts_table_provides() -> None:
    _pack, warnings = service.check_pack(CBEC)
    assert warnings == []


def test_a_wrong_expectation_fails_on_both_back_ends() -> None:
    data = yaml.safe_load((PACKS_DIR / f"{CBEC}.yaml").read_text(encoding="utf-8"))
    data["tests"] = [
        {
            "name": "恰好2000万元算“超过”（错误的期望）",
            "facts": {"has_independent_site": True, "cbec_export_amount": 20_000_000},
            "expect": {"independent_site": {"eligible": True}},
        }
    ]
    (result,) = run_cases(compile_pack(yaml.safe_dump(data, allow_unicode=True)))
    assert not result.passed
    assert any("Python" in f for f in result.failures) and any("SQL" in f for f in result.failures)


@pytest.mark.parametrize(
    ("facts", "clause", "eligible", "amount"),
    [
        # 超过 is strict, 达到 inclusive; 最高不超过 figures include the 10万 base
        ({"has_independent_site": True, "cbec_export_amount": 20_000_000}, "independent_site", False, None),
        ({"has_independent_site": True, "cbec_export_amount": 20_000_001, "independent_site_investment": 90_000},
         "independent_site", True, 45_000),
        ({"provincial_key_platform_2022": True, "cbec_import_export_amount": 30_000_000},
         "key_platform", True, 200_000),
        ({"provincial_key_platform_2022": True, "cbec_import_export_amount": 50_000_000},
         "key_platform", True, 500_000),
        ({"provincial_key_park_2022": True, "park_import_export_amount": 499_999_999}, "key_park", True, 200_000),
        ({"provincial_key_overseas_warehouse_2022": True, "cbec_export_amount": 200_000_000},
         "overseas_warehouse", True, 1_000_000),
        ({"public_warehouse_operating_months": 12, "public_warehouse_trade_amount": 2_000_000_000},
         "public_warehouse", True, None),
        ({"public_warehouse_operating_months": 12, "public_warehouse_trade_amount": 4_000_000_001},
         "public_warehouse", True, 2_000_000),
    ],
)  # fmt: skip
def test_article_edge_cases(facts: dict[str, Any], clause: str, eligible: bool, amount: int | None) -> None:
    result = service.evaluate_facts(ANONYMOUS, CBEC, {**BASE, **facts})
    got = next(c for c in result["clauses"] if c["id"] == clause)
    assert (got["eligible"], got["amount"]) == (eligible, amount)


def test_explanations_quote_the_article_and_show_values() -> None:
    result = service.evaluate_facts(
        ANONYMOUS, CBEC, {**BASE, "has_independent_site": True, "cbec_export_amount": 25_000_000}
    )
    site = result["clauses"][0]
    assert site["eligible"] is True and site["amount"] is None
    assert site["missing"] == ["independent_site_investment"]
    text = "\n".join(site["trace"])
    assert "第二项" in text and "年度跨境电商出口规模超过2000万元" in text
    assert "年度跨境电商出口额（2,500万元） 超过 2,000万元" in text
    assert "缺少 独立站建设、运维、研发等资金投入" in text
    platform = result["clauses"][1]
    assert platform["eligible"] is None and platform["missing"] == ["provincial_key_platform_2022"]


@pytest.mark.parametrize(
    ("facts", "message"),
    [
        ({"registered_district": "朝阳区"}, "应为青岛市的区（市）之一"),
        ({"cbec_export_amount": -1}, "不能为负数"),
        ({"cbec_export_amount": 1.5}, "应为整数"),
        ({"cbec_export_amount": "many"}, "应为数字"),
        ({"has_independent_site": "yes"}, "应为 true 或 false"),
        ({"employees": 3}, "未知的事实：employees"),
    ],
)
def test_bad_facts_are_named(facts: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidFacts, match=message):
        service.evaluate_facts(ANONYMOUS, CBEC, facts)


def test_pack_problems_are_all_reported_with_where_they_are() -> None:
    problems = _problems(
        _pack_text(
            **{
                "clause:independent_site:when": "has_independent_site and employees > 10",
                "clause:key_platform:when": "provincial_key_platform_2022 and",
                "clause:key_park:amount": {"base": "10万", "cap": "5万", "fixed": "10万"},
                "clause:overseas_warehouse:amount": {
                    "tiers": {
                        "by": "cbec_export_amount",
                        "rows": [
                            {"below": "3000万", "amount": "10万"},
                            {"from": "2900万", "below": "2亿", "up_to": "50万"},  # overlaps the first
                            {"above": "2亿", "up_to": "100万"},  # 2亿 itself falls in no tier
                        ],
                    },
                },  # fmt: skip
                "clause:public_warehouse:amount": {
                    "tiers": {
                        "by": "public_warehouse_trade_amount",
                        "rows": [
                            {"from": "1亿", "through": "20亿", "assessed": True},  # nothing below 1亿
                            {"above": "20亿", "through": "40亿", "up_to": "100万"},  # nothing above 40亿
                        ],
                    },
                },  # fmt: skip
            }
        )
    )
    text = "\n".join(problems)
    assert "clauses[1]（independent_site）.when：未知的事实：employees" in text
    assert "clauses[2]（key_platform）.when：表达式不完整" in text
    assert "上限 cap 5万元 低于基础奖励 base 10万元" in text
    assert "第 1 档与第 2 档重叠" in text
    assert "第 2 档与第 3 档之间有缺口（2亿元 至 2亿元）" in text
    assert "第 1 档从 1亿元 开始" in text
    assert "最后一档有上限 40亿元" in text


def test_pack_shape_errors_name_the_key() -> None:
    problems = _problems(_pack_text(**{"clause:key_park:amount": {"fixed": "-5"}}))
    assert any("clauses.2.amount.fixed" in p and "非负整数" in p for p in problems)
    with pytest.raises(InvalidPack, match="不是有效的 YAML"):
        compile_pack("id: [unclosed")
    with pytest.raises(InvalidPack, match="没有这个条款：nowhere"):
        compile_pack(_pack_text(tests=[{"name": "x", "expect": {"nowhere": {"eligible": True}}}]))


def test_cli_check_test_and_evaluate(tmp_path: Path) -> None:
    runner = CliRunner()
    ok = runner.invoke(cli, ["policy", "check", CBEC, "--json"])
    assert ok.exit_code == 0 and json.loads(ok.stdout)["clauses"] == 5
    tested = runner.invoke(cli, ["policy", "test", CBEC, "--json"])
    assert tested.exit_code == 0 and json.loads(tested.stdout)["failed"] == 0
    facts = tmp_path / "facts.json"
    facts.write_text(json.dumps({**BASE, "provincial_key_park_2022": True, "park_import_export_amount": 600_000_000}))
    out = runner.invoke(cli, ["policy", "evaluate", CBEC, "--facts", str(facts), "--json"])
    result = json.loads(out.stdout)
    park = next(c for c in result["clauses"] if c["id"] == "key_park")
    assert (park["eligible"], park["amount"], result["total"]) == (True, 500_000, 500_000)
    broken = tmp_path / "broken.yaml"
    broken.write_text(_pack_text(**{"clause:key_park:when": "provincial_key_park_2022 >"}), encoding="utf-8")
    bad = runner.invoke(cli, ["policy", "check", str(broken)])
    assert bad.exit_code == 1 and "key_park" in bad.stderr


def test_api_evaluates_supplied_facts(client: Any) -> None:
    listed = client.get("/api/v1/policies").json()
    assert [p["id"] for p in listed] == [
        "miit-tiers-2022", "miit-tiers-2026", CBEC, "qingdao-guarantee-fee-2025", "qingdao-lukedai-interest-2025"
    ]  # fmt: skip
    detail = client.get(f"/api/v1/policies/{CBEC}").json()
    assert [c["id"] for c in detail["clause_list"]] == [
        "independent_site", "key_platform", "key_park", "overseas_warehouse", "public_warehouse",
    ]  # fmt: skip
    body = {"facts": {**BASE, "provincial_key_platform_2022": True, "cbec_import_export_amount": 29_990_000}}
    r = client.post(f"/api/v1/policies/{CBEC}/evaluate", json=body)
    assert r.status_code == 200
    platform = next(c for c in r.json()["clauses"] if c["id"] == "key_platform")
    assert platform["amount"] == 100_000 and platform["amount_kind"] == "fixed"
    bad = client.post(f"/api/v1/policies/{CBEC}/evaluate", json={"facts": {"cbec_export_amount": -5}})
    assert bad.status_code == 422 and "不能为负数" in bad.json()["error"]["message"]
    assert client.get("/api/v1/policies/../../etc/passwd").status_code == 404
    assert client.get("/api/v1/policies/nope").json()["error"]["code"] == "policy.pack_not_found"
