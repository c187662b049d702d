"""The anchor entries' records: the datasets later features read by entry code (enterprise
registry, tax credit, social insurance, utilities, patents, credit lists and court enforcement
cases, honours, cross-border e-commerce, medical, schools, transport, ocean, tourism).

Enterprise-keyed datasets take their enterprise from the key table (``e_*`` columns), so a code,
name and district agree everywhere and the demo city's 300 enterprises come first: series (tax
years, months, trade years) cover enterprises 0, 1, 2, … in order, lists pick distinct ones by a
stride. Medical datasets share one synthetic population (``_pi``), so a patient's visits and
settlements carry the same name and ID number.

Cross-border e-commerce columns line up with the policy engine's facts (issue 5): exports and
imports per year (万元, as the catalogue labels them), whether the enterprise runs an independent
export site and what it spent on it (``site_investment``), provincial key platforms/parks and
public overseas warehouses with their recognition year, public warehouses' founding date and trade.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from math import gcd
from typing import Any

from pubdata.catalog.schemas import EntryCreate, FieldIn
from pubdata.demo import record_sql as q
from pubdata.demo.catalogue import ANCHOR_CODES
from pubdata.demo.record_fields import HOSPITALS, Ctx, Dataset, dirty_column, schema_of, value_sql
from pubdata.demo.record_sql import Gen, lit

START, END = date(2018, 1, 1), date(2022, 12, 20)
MONTHS = 36  # monthly series run 2020-01 … 2022-12
FIRST_MONTH = "2020-01-01"
SITE_INVESTMENT = FieldIn(
    name="site_investment",
    label="独立站投入（万元）",
    type="number",
    description="统计年度出口独立站建设、运营和研发投入，单位万元",
)
ACTIVE = "e_status IN ('存续', '在业')"


@dataclass(frozen=True)
class Sizes:
    """How big the city is: total records asked for, enterprises in the key table, persons."""

    records: int
    enterprises: int
    persons: int

    def share(self, fraction: float, minimum: int = 20) -> int:
        return max(minimum, round(self.records * fraction))


def stride(n: int, count: int) -> int:
    """A step that visits ``count`` distinct indexes below ``n`` (coprime with n, so r·step mod n
    never repeats for r < n)."""
    step = max(1, n // max(count, 1))
    while gcd(step, n) != 1:
        step += 1
    return step


Columns = dict[str, str]


def _dataset(
    entry: EntryCreate,
    seed: int,
    rows: int,
    columns: Columns,
    *,
    primary_key: list[str] | None = None,
    extra_fields: list[FieldIn] | None = None,
    constraints: dict[str, dict[str, Any]] | None = None,
    **kw: Any,
) -> Dataset:
    """A dataset with a column per declared field: ``columns`` where given, else the field
    library's value."""
    fields = list(entry.fields or []) + list(extra_fields or [])
    ctx = Ctx(Gen(seed, entry.code), Gen(seed, "persons", row="_pi"), START, END)
    cols = [(f.name, columns[f.name] if f.name in columns else value_sql(f.name, f.type, ctx)) for f in fields]
    schema = schema_of(fields, primary_key=primary_key, extra=constraints)
    return Dataset(code=entry.code, rows=rows, columns=cols, schema=schema, dirty=dirty_column(fields), **kw)


def _month(index: str) -> str:
    return f"CAST(DATE {lit(FIRST_MONTH)} + to_months(CAST({index} AS INTEGER)) AS DATE)"


def _grade(seed: int) -> str:
    """Tax credit grade of enterprise _ei in year _y (shared by the grade table and the A list)."""
    g = Gen(seed, "tax-grade")
    grades = q.weighted(("A", "B", "M", "C", "D"), (18, 45, 25, 8, 4))
    return f"CASE WHEN _ei = 0 THEN 'A' ELSE {g.pick('grade', grades, row='(_ei * 10000 + _y)')} END"


def registry(entry: EntryCreate, s: Sizes, seed: int) -> Dataset:
    status = {"enum": ["存续", "在业", "吊销", "注销", "迁出"]}
    return _dataset(
        entry,
        seed,
        s.enterprises,
        {},
        enterprise="r",
        primary_key=["uscc"],
        constraints={"status": {"constraints": status}},
    )


def tax_credit(entry: EntryCreate, s: Sizes, seed: int) -> Dataset:
    rows = min(s.share(0.017, 5 * q_min(s)), 5 * s.enterprises)
    g = Gen(seed, entry.code)
    return _dataset(
        entry,
        seed,
        rows,
        {
            "eval_year": "CAST(_y AS VARCHAR)",
            "credit_grade": _grade(seed),
            "taxpayer_type": g.pick("tp", ("一般纳税人", "小规模纳税人", "小规模纳税人"), row="_ei"),
        },
        enterprise="r // 5",
        helpers=[("_y", "2018 + r % 5")],
        where="_y >= year(e_found)",
        primary_key=["uscc", "eval_year"],
        constraints={"credit_grade": {"constraints": {"enum": ["A", "B", "M", "C", "D"]}}},
    )


def q_min(s: Sizes) -> int:
    """Enough rows that every demo enterprise is in each yearly or monthly series."""
    return min(300, s.enterprises)


def tax_a_list(entry: EntryCreate, s: Sizes, seed: int) -> Dataset:
    covered = min(s.share(0.017, 5 * q_min(s)), 5 * s.enterprises) // 5
    return _dataset(
        entry,
        seed,
        covered,
        {"eval_year": "'2022'", "credit_grade": "'A'"},
        enterprise="r",
        helpers=[("_y", "2022")],
        where=f"year(e_found) <= 2022 AND {_grade(seed)} = 'A'",
        primary_key=["uscc"],
    )


def _monthly(entry: EntryCreate, s: Sizes, fraction: float) -> tuple[int, dict[str, Any]]:
    rows = min(s.share(fraction, MONTHS * q_min(s)), MONTHS * s.enterprises)
    kw = {
        "enterprise": f"r // {MONTHS}",
        "helpers": [("_m", f"r % {MONTHS}")],
        "where": f"e_found <= {_month('_m')} + INTERVAL 27 DAY",
    }
    return rows, kw


def social_insurance(entry: EntryCreate, s: Sizes, seed: int) -> Dataset:
    rows, kw = _monthly(entry, s, 0.14)
    g = Gen(seed, entry.code)
    base = f"round(exp(ln(1) + {g.unit('base', row='_ei')} * ln(2500)))"
    total = f"CAST(greatest(1, round({base} * (0.92 + 0.16 * {g.unit('m')}))) AS BIGINT)"
    return _dataset(
        entry,
        seed,
        rows,
        {
            "period": f"strftime({_month('_m')}, '%Y-%m')",
            "insured_total": f"CAST({total} AS VARCHAR)",
            "pension_insured": f"CAST({total} - CAST({total} * 0.03 AS BIGINT) AS VARCHAR)",
            "medical_insured": f"CAST({total} AS VARCHAR)",
            "unemployment_insured": f"CAST({total} - CAST({total} * 0.05 AS BIGINT) AS VARCHAR)",
            "injury_insured": f"CAST({total} - CAST({total} * 0.02 AS BIGINT) AS VARCHAR)",
        },
        primary_key=["uscc", "period"],
        **kw,
    )


def _utility(
    entry: EntryCreate, s: Sizes, seed: int, fraction: float, column: str, top: float, price: float
) -> Dataset:
    """Monthly bills: most paid within the next month (on time); one enterprise in five pays late
    often (a third of its bills 35–80 days after the month ends); a few bills are left unpaid
    (arrears), more of them at the late payers. The demo's first enterprise always pays on time."""
    rows, kw = _monthly(entry, s, fraction)
    g = Gen(seed, entry.code)
    volume = f"round(exp(ln(5) + {g.unit('base', row='_ei')} * ln({top / 5})) * (0.85 + 0.3 * {g.unit('m')}), 1)"
    slow = f"(_ei > 0 AND {g.chance('slow', 200, row='_ei')})"
    late = f"({slow} AND {g.chance('late', 330)})"
    owing = f"(_ei > 0 AND ({g.chance('owe', 15)} OR ({slow} AND {g.chance('owe2', 60)})))"
    kw["helpers"] = [*kw["helpers"], ("_v", volume), ("_late", late), ("_owing", owing)]
    delay = f"CASE WHEN _late THEN {g.integer('pl', 35, 80)} ELSE {g.integer('pd', 5, 24)} END"
    paid = f"CAST({_month('_m')} + to_months(1) AS DATE) + CAST({delay} AS INTEGER)"
    return _dataset(
        entry,
        seed,
        rows,
        {
            "account_no": f"('{'3702' if column == 'power_kwh' else '0532'}' || lpad(CAST(_ei AS VARCHAR), 8, '0'))",
            "period": f"strftime({_month('_m')}, '%Y-%m')",
            column: "CAST(_v AS VARCHAR)",
            "bill_amount": f"CAST(CAST(round(_v * {price}, 2) AS DECIMAL(18,2)) AS VARCHAR)",
            "paid_date": f"CASE WHEN _owing THEN NULL ELSE strftime({paid}, '%Y-%m-%d') END",
            "arrears": "CASE WHEN _owing THEN 'true' ELSE 'false' END",
        },
        primary_key=["account_no", "period"],
        **kw,
    )


def water(entry: EntryCreate, s: Sizes, seed: int) -> Dataset:
    return _utility(entry, s, seed, 0.09, "water_volume", 20000, 4.9)


def electricity(entry: EntryCreate, s: Sizes, seed: int) -> Dataset:
    return _utility(entry, s, seed, 0.13, "power_kwh", 2_000_000, 0.68)


def patents(entry: EntryCreate, s: Sizes, seed: int) -> Dataset:
    g = Gen(seed, entry.code)
    # CN application number: year, type (1 invention, 2 utility model, 3 design), serial, check
    # (Σ digit × 2,3,4,5,6,7,8,9,2,3,4,5 mod 11; 10 → X).
    number = "(_ay * 100000000 + _pt * 10000000 + r % 10000000)"
    check = f"({q.digit_sum(number, 12, (2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5))} % 11)"
    apply = f"(DATE '2012-01-01' + CAST({g.h('apply')} % 3800 AS INTEGER))"
    grant = f"least(DATE '2022-12-20', {apply} + CAST({g.integer('grant', 150, 900)} AS INTEGER))"
    return _dataset(
        entry,
        seed,
        s.share(0.016),
        {
            "patent_no": q.cat("'ZL'", q.text(number), "'.'", q.when(f"{check} = 10", "'X'", q.text(check))),
            "patent_type": "['发明', '实用新型', '外观设计'][_pt]",
            "apply_date": f"strftime({apply}, '%Y-%m-%d')",
            "grant_date": f"strftime({grant}, '%Y-%m-%d')",
        },
        enterprise=f"{g.h('ent')} % {s.enterprises}",
        helpers=[
            ("_ay", f"year({apply})"),
            ("_pt", q.Gen(seed, entry.code).pick("pt", ("1", "2", "2", "3")) + "::INTEGER"),
        ],
        primary_key=["patent_no"],
    )


def _listed(entry: EntryCreate, s: Sizes, seed: int, rows: int, columns: Columns, offset: int, **kw: Any) -> Dataset:
    """A list of distinct enterprises (each at most once): r → (r · step + offset) mod E."""
    step = stride(s.enterprises, rows)
    rows = min(rows, s.enterprises)
    return _dataset(entry, seed, rows, columns, enterprise=f"(r * {step} + {offset}) % {s.enterprises}", **kw)


def penalties(entry: EntryCreate, s: Sizes, seed: int) -> Dataset:
    g = Gen(seed, entry.code)
    day = g.date("day", "2018-01-01", 1815)
    return _dataset(
        entry,
        seed,
        s.share(0.0008),
        {
            "decision_no": q.cat(
                "'青'", q.district_of("_d"), "'市监罚〔'", q.text(f"year({day})"), "'〕'", q.text("r + 1"), "'号'"
            ),
            "decision_date": f"strftime({day}, '%Y-%m-%d')",
            "issuing_authority": f"('青岛市' || {q.district_of('_d')} || '市场监督管理局')",
        },
        enterprise=f"{g.h('ent')} % {s.enterprises}",
        primary_key=["decision_no"],
    )


def _dishonest(seed: int, s: Sizes) -> tuple[int, str, str]:
    """The dishonest-debtor list's rows, and (over ``r``) its enterprise and case filing day."""
    g = Gen(seed, ANCHOR_CODES["dishonest_debtors"])
    enterprise = f"({g.h('ent')} % {max(1, s.enterprises - 300)}) + {min(300, s.enterprises - 1)}"
    return s.share(0.0002), enterprise, g.date("day", "2018-01-01", 1815)


def dishonest_debtors(entry: EntryCreate, s: Sizes, seed: int) -> Dataset:
    rows, enterprise, day = _dishonest(seed, s)
    return _dataset(
        entry,
        seed,
        rows,
        {
            "case_no": f"('（' || CAST(year({day}) AS VARCHAR) || '）鲁02执' || CAST(r + 1 AS VARCHAR) || '号')",
            "publish_date": f"strftime({day} + INTERVAL 60 DAY, '%Y-%m-%d')",
        },
        enterprise=enterprise,
        primary_key=["case_no"],
    )


def enforcement_cases(entry: EntryCreate, s: Sizes, seed: int) -> Dataset:
    """Court enforcement cases against enterprises (被执行人): the first rows are the dishonest
    debtors' cases (same case number and filing day, never concluded), the others drawn — about
    three in five concluded 30–600 days after filing. The demo's first enterprise has none."""
    g = Gen(seed, entry.code)
    listed, dd_enterprise, dd_day = _dishonest(seed, s)
    rows = max(s.share(0.0006), listed)
    day = f"CASE WHEN r < {listed} THEN {dd_day} ELSE {g.date('day', '2018-01-01', 1815)} END"
    closed = f"(r >= {listed} AND {g.chance('closed', 600)})"
    end = f"{day} + CAST({g.integer('after', 30, 600)} AS INTEGER)"
    return _dataset(
        entry,
        seed,
        rows,
        {
            "case_no": f"('（' || CAST(year({day}) AS VARCHAR) || '）鲁02执' || CAST(r + 1 AS VARCHAR) || '号')",
            "filing_date": f"strftime({day}, '%Y-%m-%d')",
            "exec_amount": g.log_amount("amt", 5000, 5_000_000),
            "performance": q.when(closed, "'全部履行'", g.pick("perf", ("全部未履行", "全部未履行", "部分履行"))),
            "closed_date": f"CASE WHEN {closed} AND {end} <= DATE '2022-12-20' THEN strftime({end}, '%Y-%m-%d') END",
        },
        enterprise=(
            f"CASE WHEN r < {listed} THEN {dd_enterprise} ELSE 1 + {g.h('ent')} % {max(1, s.enterprises - 1)} END"
        ),
        primary_key=["case_no"],
    )


def abnormal_operations(entry: EntryCreate, s: Sizes, seed: int) -> Dataset:
    g = Gen(seed, entry.code)
    listed = g.date("listed", "2018-01-01", 1700)
    removed = f"{listed} + CAST({g.integer('after', 30, 400)} AS INTEGER)"
    gone = g.chance("removed", 400)
    return _listed(
        entry,
        s,
        seed,
        s.share(0.0004),
        {
            "listed_date": f"strftime({listed}, '%Y-%m-%d')",
            "removed_date": f"CASE WHEN {gone} THEN strftime({removed}, '%Y-%m-%d') END",
            "removed_reason": q.when(gone, g.pick("why", ("补报年度报告", "申请移出并经核实", "依法办理住所变更登记"))),
        },
        offset=301,
        primary_key=["uscc", "listed_date"],
    )


def high_tech(entry: EntryCreate, s: Sizes, seed: int) -> Dataset:
    g = Gen(seed, entry.code)
    year = g.integer("year", 2017, 2022)
    return _listed(
        entry,
        s,
        seed,
        s.share(0.0002),
        {
            "cert_no": f"('GR' || CAST({year} AS VARCHAR) || '3702' || lpad(CAST(r + 1 AS VARCHAR), 5, '0'))",
            "recognised_year": f"CAST({year} AS VARCHAR)",
            "valid_to": f"CAST({year} + 3 AS VARCHAR) || '-12-31'",
        },
        offset=1,
        primary_key=["cert_no"],
    )


def specialised(entry: EntryCreate, s: Sizes, seed: int) -> Dataset:
    g = Gen(seed, entry.code)
    level = g.pick("level", ("国家级", "省级", "省级", "市级", "市级", "市级"))
    return _listed(
        entry,
        s,
        seed,
        s.share(0.0001),
        {
            "honour": f"CASE WHEN {level} = '国家级' THEN '专精特新“小巨人”企业' ELSE '专精特新中小企业' END",
            "honour_level": level,
            "recognised_year": f"CAST({g.integer('year', 2019, 2022)} AS VARCHAR)",
        },
        offset=2,
        primary_key=["uscc", "honour"],
    )


def _cbec_enterprises(s: Sizes) -> int:
    """Enterprises 0 … K-1 trade across borders (all demo enterprises at small sizes)."""
    return min(s.enterprises, max(q_min(s), round(s.records * 0.0003)))


def cbec_trade(entry: EntryCreate, s: Sizes, seed: int) -> Dataset:
    g = Gen(seed, entry.code)
    base = f"exp(ln(5) + {g.unit('base', row='_ei')} * ln(4000))"  # 5 … 20,000 万元 a year
    growth = f"(0.8 + 0.5 * {g.unit('growth')})"
    site = f"(_ei = 0 OR {g.chance('site', 300, row='_ei')})"
    export = f"CASE WHEN _ei = 0 THEN 2600 + 900 * (_y - 2020) ELSE round({base} * {growth}, 2) END"
    return _dataset(
        entry,
        seed,
        3 * _cbec_enterprises(s),
        {
            "stat_year": "CAST(_y AS VARCHAR)",
            "export_amount": f"CAST(CAST({export} AS DECIMAL(18,2)) AS VARCHAR)",
            "import_amount": f"CAST(CAST(round({base} * {g.unit('imp')} * 0.4, 2) AS DECIMAL(18,2)) AS VARCHAR)",
            "trade_mode": g.pick("mode", ("9610", "9710", "9710", "9810", "1210"), row="_ei"),
            "independent_site": f"CASE WHEN {site} THEN 'true' ELSE 'false' END",
            "site_url": f"CASE WHEN {site} THEN 'https://www.' || lower(e_uscc) || '.com' END",
            "site_investment": (
                f"CASE WHEN _ei = 0 THEN '320.00' WHEN {site} "
                f"THEN CAST(CAST(round(exp(ln(3) + {g.unit('inv')} * ln(300)), 2) AS DECIMAL(18,2)) AS VARCHAR) END"
            ),
        },
        enterprise="r // 3",
        helpers=[("_y", "2020 + r % 3")],
        where="_y >= year(e_found)",
        extra_fields=[SITE_INVESTMENT],
        primary_key=["uscc", "stat_year"],
    )


def _cbec_list(entry: EntryCreate, s: Sizes, seed: int, rows: int, offset: int, columns: Columns, **kw: Any) -> Dataset:
    k = _cbec_enterprises(s)
    rows = min(rows, k)
    step = stride(k, rows)
    return _dataset(entry, seed, rows, columns, enterprise=f"(r * {step} + {offset}) % {k}", **kw)


def cbec_overseas_warehouses(entry: EntryCreate, s: Sizes, seed: int) -> Dataset:
    g = Gen(seed, entry.code)
    return _cbec_list(
        entry,
        s,
        seed,
        20 + s.records // 1_000_000,
        3,
        {
            "honour_level": g.pick("level", ("省级", "省级", "省级", "市级")),
            "recognised_year": f"CAST({g.integer('year', 2020, 2022)} AS VARCHAR)",
            "warehouse_area": g.number("area", 2000, 60000, 1),
            "export_amount": g.log_amount("exp", 500, 60000),
        },
        primary_key=["uscc", "overseas_warehouse"],
    )


def cbec_key_platforms(entry: EntryCreate, s: Sizes, seed: int) -> Dataset:
    g = Gen(seed, entry.code)
    park = f"(r > 0 AND {g.chance('park', 350)})"
    return _cbec_list(
        entry,
        s,
        seed,
        20 + s.records // 2_000_000,
        0,
        {
            "category_name": f"CASE WHEN {park} THEN '跨境电商产业园' ELSE '跨境电商平台' END",
            "honour_level": f"CASE WHEN r = 0 THEN '省级' ELSE {g.pick('level', ('省级', '省级', '市级'))} END",
            "recognised_year": f"CASE WHEN r = 0 THEN '2022' ELSE CAST({g.integer('year', 2020, 2022)} AS VARCHAR) END",
            # a park's figures are the trade of the legal entities registered in it
            "import_amount": q.when(park, g.log_amount("pimp", 5000, 200000), g.log_amount("imp", 100, 20000)),
            "export_amount": q.when(park, g.log_amount("pexp", 10000, 500000), g.log_amount("exp", 500, 60000)),
        },
        primary_key=["uscc", "category_name"],
    )


def cbec_public_warehouses(entry: EntryCreate, s: Sizes, seed: int) -> Dataset:
    g = Gen(seed, entry.code)
    return _cbec_list(
        entry,
        s,
        seed,
        20 + s.records // 2_000_000,
        5,
        {
            "warehouse_area": g.number("area", 3000, 80000, 1),
            "served_enterprises": f"CAST({g.integer('served', 10, 600)} AS VARCHAR)",
            "found_date": f"strftime({g.date('found', '2018-06-01', 1600)}, '%Y-%m-%d')",
            "import_amount": g.log_amount("imp", 500, 50000),
            "export_amount": g.log_amount("exp", 1000, 150000),
        },
        primary_key=["uscc"],
    )


def _institution_uscc(g: Gen, prefix: str) -> str:
    return q.uscc(q.division_of("_d"), f"({g.h('org')} % 100000000)", prefix)


def _hospital_name(g: Gen) -> str:
    synthetic = (
        f"({q.district_of('_d')} || {g.pick('hn', ('中心', '东部', '西部', '北部', '南部', '新城', '滨海'))} || "
        f"{g.pick('ht', ('社区卫生服务中心', '卫生院', '门诊部', '诊所', '医院', '中医医院'))})"
    )
    return f"CASE WHEN r < {len(HOSPITALS)} THEN {q.str_list(HOSPITALS)}[r + 1] ELSE {synthetic} END"


def medical_institutions(entry: EntryCreate, s: Sizes, seed: int) -> Dataset:
    g = Gen(seed, entry.code)
    return _dataset(
        entry,
        seed,
        50 + s.records // 20_000,
        {
            "hospital_name": _hospital_name(g),
            "uscc": _institution_uscc(g, "12"),
            "licence_no": f"('PDY' || {q.division_of('_d')} || lpad(CAST(r + 1 AS VARCHAR), 8, '0'))",
        },
        primary_key=["licence_no"],
    )


def _patients(s: Sizes, g: Gen) -> str:
    return f"{g.h('patient')} % {s.persons}"


def outpatient_visits(entry: EntryCreate, s: Sizes, seed: int) -> Dataset:
    g = Gen(seed, entry.code)
    return _dataset(entry, seed, s.share(0.2), {}, person=_patients(s, g))


def insurance_designated(entry: EntryCreate, s: Sizes, seed: int) -> Dataset:
    g = Gen(seed, entry.code)
    brand = g.pick("ph", ("百洲", "医保城", "漱玉平民", "国风", "春天"))
    pharmacy = q.cat(brand, "'大药房'", q.district_of("_d"), q.text("r"), "'号店'")
    hospital = f"r < {len(HOSPITALS)}"
    return _dataset(
        entry,
        seed,
        50 + s.records // 40_000,
        {
            "hospital_name": q.when(hospital, f"{q.str_list(HOSPITALS)}[r + 1]", pharmacy),
            "uscc": q.when(hospital, _institution_uscc(g, "12"), _institution_uscc(g, "91")),
            "hospital_level": q.when(hospital, g.pick("lv", ("三级甲等", "三级乙等", "二级甲等")), "'未定级'"),
            "insurance_type": "'职工医保、居民医保'",
        },
    )


def insurance_settlements(entry: EntryCreate, s: Sizes, seed: int) -> Dataset:
    g = Gen(seed, entry.code)
    cost = f"CAST(round(exp(ln(20) + {g.unit('cost')} * ln(1500)), 2) AS DECIMAL(18,2))"
    fund = f"CAST(round(_cost * (0.5 + 0.4 * {g.unit('ratio')}), 2) AS DECIMAL(18,2))"
    return _dataset(
        entry,
        seed,
        s.share(0.15),
        {
            "total_cost": "CAST(_cost AS VARCHAR)",
            "fund_paid": "CAST(_fund AS VARCHAR)",
            "self_paid": "CAST(_cost - _fund AS VARCHAR)",
            "insurance_type": Gen(seed, "persons", row="_pi").pick(
                "ins", ("职工医保", "职工医保", "居民医保"), row="_pi"
            ),
        },
        person=_patients(s, g),
        helpers=[("_cost", cost), ("_fund", fund.replace("_cost", cost))],
    )


def schools(entry: EntryCreate, s: Sizes, seed: int) -> Dataset:
    g = Gen(seed, entry.code)
    kind = g.pick("kind", ("小学", "小学", "小学", "初级中学", "高级中学", "九年一贯制学校"))
    nature = g.pick("nature", ("公办", "公办", "公办", "公办", "民办"))
    word = g.pick("nm", ("实验", "育才", "新华", "海滨", "金湾", "振华", "明德", "启智"))
    name = q.cat("'青岛市'", q.district_of("_d"), word, q.text("r + 1"), kind)
    return _dataset(
        entry,
        seed,
        50 + s.records // 100_000,
        {
            "school_name": name,
            "school_type": kind,
            "school_nature": nature,
            "uscc": q.when(f"{nature} = '公办'", _institution_uscc(g, "12"), _institution_uscc(g, "52")),
        },
        primary_key=["uscc"],
    )


def bus_routes(entry: EntryCreate, s: Sizes, seed: int) -> Dataset:
    g = Gen(seed, entry.code)
    route = "(r // 20)"
    return _dataset(
        entry,
        seed,
        100 + s.records // 20_000,
        {
            "route_no": f"CAST({route} + 1 AS VARCHAR) || '路'",
            "route_name": f"CAST({route} + 1 AS VARCHAR) || '路（' || {q.district_of('_d')} || '）'",
            "stop_name": q.cat(g.pick("stop", [r for roads in q.ROADS for r in roads]), "'站'"),
            "longitude": g.number("lon", 119.95, 120.65, 6),
            "latitude": g.number("lat", 35.85, 36.45, 6),
            "open_hours": g.pick("hours", ("06:00-21:00", "05:30-22:30", "06:30-20:00"), row=route),
        },
        district=Gen(seed, entry.code).district_index("route", row=route),
    )


def fishing_vessels(entry: EntryCreate, s: Sizes, seed: int) -> Dataset:
    g = Gen(seed, entry.code)
    return _dataset(
        entry,
        seed,
        50 + s.records // 30_000,
        {
            "vessel_no": "('3702' || lpad(CAST(r + 1 AS VARCHAR), 8, '0'))",
            "ship_name": "('鲁青渔' || lpad(CAST(r + 1 AS VARCHAR), 5, '0'))",
            "valid_to": f"strftime({g.date('valid', '2023-01-01', 1800)}, '%Y-%m-%d')",
        },
        enterprise=f"{g.h('ent')} % {s.enterprises}",
        primary_key=["vessel_no"],
    )


# Real A-level scenic spots: name, level, district index.
SCENIC = (
    ("崂山风景区", "5A", 3),
    ("栈桥", "4A", 0),
    ("八大关景区", "4A", 0),
    ("小青岛公园", "4A", 0),
    ("青岛啤酒博物馆", "4A", 1),
    ("金沙滩景区", "4A", 2),
    ("琅琊台风景区", "4A", 2),
    ("大珠山风景区", "4A", 2),
    ("青岛海昌极地海洋公园", "4A", 3),
    ("鳌山湾景区", "3A", 6),
)


def scenic_spots(entry: EntryCreate, s: Sizes, seed: int) -> Dataset:
    g = Gen(seed, entry.code)
    n = len(SCENIC)
    word = g.pick("nm", ("生态", "田园", "海韵", "山水", "民俗", "湿地"))
    name = q.cat(q.district_of("_d"), word, q.text("r"), g.pick("kind", ("公园", "景区", "度假区")))
    real = f"r < {n}"
    return _dataset(
        entry,
        seed,
        20 + s.records // 1_000_000,
        {
            "scenic_name": f"CASE WHEN r < {n} THEN {q.str_list([x[0] for x in SCENIC])}[r + 1] ELSE {name} END",
            "scenic_level": q.when(
                real, f"{q.str_list([x[1] for x in SCENIC])}[r + 1]", g.pick("lv", ("4A", "3A", "2A"))
            ),
        },
        district=q.when(real, f"[{', '.join(str(x[2]) for x in SCENIC)}][r + 1]", g.district_index("d")),
        primary_key=["scenic_name"],
    )


BUILDERS: dict[str, Callable[[EntryCreate, Sizes, int], Dataset]] = {
    "enterprise_registry": registry,
    "tax_credit": tax_credit,
    "tax_a_list": tax_a_list,
    "social_insurance": social_insurance,
    "water": water,
    "electricity": electricity,
    "patents": patents,
    "penalties": penalties,
    "dishonest_debtors": dishonest_debtors,
    "enforcement_cases": enforcement_cases,
    "abnormal_operations": abnormal_operations,
    "high_tech": high_tech,
    "specialised": specialised,
    "cbec_trade": cbec_trade,
    "cbec_overseas_warehouses": cbec_overseas_warehouses,
    "cbec_key_platforms": cbec_key_platforms,
    "cbec_public_warehouses": cbec_public_warehouses,
    "medical_institutions": medical_institutions,
    "outpatient_visits": outpatient_visits,
    "insurance_designated": insurance_designated,
    "insurance_settlements": insurance_settlements,
    "schools": schools,
    "bus_routes": bus_routes,
    "fishing_vessels": fishing_vessels,
    "scenic_spots": scenic_spots,
}
assert set(BUILDERS) == set(ANCHOR_CODES)
BY_CODE = {code: BUILDERS[key] for key, code in ANCHOR_CODES.items()}
