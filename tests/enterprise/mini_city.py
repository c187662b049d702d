"""A hand-made city for the facts tests: the source entries (by their real codes) with tables holding
a few rows each, loaded through the real ingest pipeline, so every fact of every enterprise can be
worked out by hand (the expected values are in ``EXPECTED``).

Amounts are in 万元 as the city's tables declare them (Table Schema ``unit: wan_yuan``), except the
public warehouses' table, whose columns declare ``yuan`` — the build must read each column's unit.
Tables are keyed by source key, the two utility tables (one source, two entries) by their own keys
(``ENTRY`` gives each table's entry code).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from pubdata.authz import SYSTEM
from pubdata.enterprise.facts import SOURCES
from pubdata.standards import uscc_with_check
from pubdata.store import service
from pubdata.store.ingest import load as ingest
from pubdata.store.schemas import ResourceTableCreate
from tests.builders import make_entry, make_org

A = uscc_with_check("91370202MA0000001")  # 市南区: trader with an independent site, key platform
B = uscc_with_check("91370203MA0000002")  # 市北区: park operator with a public warehouse
C = uscc_with_check("91370215MA0000003")  # 即墨区 (old division code): no trade, no records
D = uscc_with_check("91370211MA0000004")  # 黄岛区 (西海岸新区): site without reported investment
E = uscc_with_check("91370211MA0000005")  # 黄岛区 from its credit code alone


def _schema(spec: str, key: list[str]) -> dict[str, Any]:
    """``name:type:title[:unit]`` per line."""
    fields = []
    for line in spec.strip().splitlines():
        name, kind, title, *unit = (p.strip() for p in line.split(":"))
        item = {"name": name, "type": kind, "title": title}
        if unit:
            item["unit"] = unit[0]
        if name == "uscc":
            item["semanticType"] = "uscc"
        fields.append(item)
    return {"fields": fields, "primaryKey": key}


TABLES: dict[str, tuple[str, dict[str, Any], str]] = {
    # source key: (open type, schema, CSV)
    "enterprise_registry": (
        "unconditional",
        _schema(
            """
            uscc:string:统一社会信用代码
            ent_name:string:企业名称
            district:string:所属区市
            division_code:string:行政区划代码
            industry_code:string:行业代码
            reg_capital:number:注册资本（万元）:wan_yuan
            found_date:date:成立日期
            status:string:登记状态
            """,
            ["uscc"],
        ),
        f"""uscc,ent_name,district,division_code,industry_code,reg_capital,found_date,status
{A},青岛甲跨境电商有限公司,市南区,370202,F5292,100.50,2016-04-18,存续
{B},青岛乙产业园运营有限公司,青岛市市北区,370203,L7221,50,2010-01-01,在业
{C},青岛丙水产有限公司,,370282,C1361,8.25,2001-02-03,存续
{D},青岛丁贸易有限公司,西海岸新区,,F5179,3000,2019-07-01,吊销
{E},青岛戊科技有限公司,,,I6513,1,2022-12-31,存续
""",
    ),
    "tax_credit": (
        "conditional",
        _schema(
            "uscc:string:统一社会信用代码\neval_year:integer:评价年度\ncredit_grade:string:信用等级",
            ["uscc", "eval_year"],
        ),
        f"""uscc,eval_year,credit_grade
{A},2020,B
{A},2021,A
{A},2023,D
{B},2022,M
{D},2021,D
{D},2022,c
""",
    ),
    "social_insurance": (
        "conditional",
        _schema(
            "uscc:string:统一社会信用代码\nperiod:string:统计期\ninsured_total:integer:参保总人数", ["uscc", "period"]
        ),
        f"""uscc,period,insured_total
{A},2021-12,10
{A},2022-11,10
{A},2022-12,12
{A},2023-01,99
{B},2021-06,0
""",
    ),
    "patents": (
        "unconditional",
        _schema(
            "patent_no:string:专利号\nuscc:string:统一社会信用代码\ngrant_date:date:授权日期\nlegal_status:string:法律状态\n"
            "patent_type:string:专利类型",
            ["patent_no"],
        ),
        f"""patent_no,uscc,grant_date,legal_status,patent_type
P1,{A},2018-03-01,有效,发明
P2,{A},2022-12-31,有效,实用新型
P3,{A},2023-01-01,有效,发明
P4,{A},2019-01-01,失效,发明
P5,{B},2020-05-05,有效,外观设计
""",
    ),
    "penalties": (
        "unconditional",
        _schema(
            "decision_no:string:决定书文号\nuscc:string:统一社会信用代码\ndecision_date:date:处罚决定日期\n"
            "fine_amount:number:罚没金额（万元）:wan_yuan",
            ["decision_no"],
        ),
        f"""decision_no,uscc,decision_date,fine_amount
X1,{A},2019-12-31,1
X2,{A},2020-01-01,0.5
X3,{A},2022-12-31,
X4,{D},2023-02-01,2
""",
    ),
    "dishonest_debtors": (
        "unconditional",
        _schema("case_no:string:案号\nuscc:string:统一社会信用代码\npublish_date:date:发布日期", ["case_no"]),
        f"""case_no,uscc,publish_date
K1,{C},2021-06-01
K2,{D},2023-06-01
""",
    ),
    "abnormal_operations": (
        "unconditional",
        _schema(
            "uscc:string:统一社会信用代码\nlisted_date:date:列入日期\nremoved_date:date:移出日期",
            ["uscc", "listed_date"],
        ),
        f"""uscc,listed_date,removed_date
{B},2021-01-01,
{C},2020-01-01,2021-03-01
""",
    ),
    "high_tech": (
        "unconditional",
        _schema("uscc:string:统一社会信用代码\nrecognised_year:integer:认定年度\nvalid_to:date:有效期至", ["uscc"]),
        f"""uscc,recognised_year,valid_to
{B},2019,2022-12-31
{D},2018,2021-12-31
""",
    ),
    "specialised": (
        "unconditional",
        _schema(
            "uscc:string:统一社会信用代码\nrecognised_year:integer:认定年度\nhonour_level:string:认定级别", ["uscc"]
        ),
        f"""uscc,recognised_year,honour_level
{C},2023,国家级
{D},2021,省级
""",
    ),
    "cbec_trade": (
        "conditional",
        _schema(
            """
            uscc:string:统一社会信用代码
            stat_year:integer:统计年度
            export_amount:number:出口额（万元）:wan_yuan
            import_amount:number:进口额（万元）:wan_yuan
            independent_site:boolean:是否开设独立站
            site_investment:number:独立站投入（万元）:wan_yuan
            """,
            ["uscc", "stat_year"],
        ),
        f"""uscc,stat_year,export_amount,import_amount,independent_site,site_investment
{A},2021,1000,100,true,10
{A},2022,2600.50,99.50,true,32
{B},2022,10,,false,
{D},2022,5,1,true,
""",
    ),
    "cbec_overseas_warehouses": (
        "unconditional",
        _schema("uscc:string:统一社会信用代码\nhonour_level:string:级别\nrecognised_year:integer:获评年度", ["uscc"]),
        f"""uscc,honour_level,recognised_year
{C},省级,2022
{D},市级,2022
""",
    ),
    "cbec_key_platforms": (
        "unconditional",
        _schema(
            """
            uscc:string:统一社会信用代码
            category_name:string:类别
            honour_level:string:级别
            recognised_year:integer:获评年度
            import_amount:number:进口额（万元）:wan_yuan
            export_amount:number:出口额（万元）:wan_yuan
            """,
            ["uscc", "category_name"],
        ),
        f"""uscc,category_name,honour_level,recognised_year,import_amount,export_amount
{A},跨境电商平台,省级,2022,1,2
{B},跨境电商产业园,省级,2022,100,200
{D},跨境电商平台,市级,2022,3,4
""",
    ),
    "cbec_public_warehouses": (
        "conditional",
        _schema(
            "uscc:string:统一社会信用代码\nfound_date:date:投入运营日期\nimport_amount:number:进口额（元）:yuan\n"
            "export_amount:number:出口额（元）:yuan",
            ["uscc"],
        ),
        f"""uscc,found_date,import_amount,export_amount
{B},2021-09-15,15000,25000
""",
    ),
    "enforcement_cases": (
        "unconditional",
        _schema(
            "case_no:string:案号\nuscc:string:统一社会信用代码\nfiling_date:date:立案日期\nclosed_date:date:结案日期",
            ["case_no"],
        ),
        f"""case_no,uscc,filing_date,closed_date
E1,{A},2021-05-01,2022-06-01
E2,{A},2022-03-01,
E3,{A},2022-11-01,2023-01-15
E4,{B},2023-02-01,
E5,{B},2020-01-01,2022-12-31
""",
    ),
    "utility_water": (
        "conditional",
        _schema(
            """
            uscc:string:统一社会信用代码
            account_no:string:户号
            period:string:统计期
            bill_amount:number:应缴金额（元）:yuan
            paid_date:date:缴费日期
            arrears:boolean:是否欠费
            """,
            ["account_no", "period"],
        ),
        f"""uscc,account_no,period,bill_amount,paid_date,arrears
{A},W1,2022-01,100,2022-02-10,false
{A},W1,2022-02,100,2022-04-05,false
{A},W1,2022-03,100,,true
""",
    ),
    "utility_power": (
        "conditional",
        _schema(
            """
            uscc:string:统一社会信用代码
            account_no:string:户号
            period:string:统计期
            bill_amount:number:应缴金额（元）:yuan
            paid_date:date:缴费日期
            arrears:boolean:是否欠费
            """,
            ["account_no", "period"],
        ),
        f"""uscc,account_no,period,bill_amount,paid_date,arrears
{A},E1,2021-12,500,2022-01-05,false
{A},E1,2022-01,500,2022-01-20,false
{A},E1,2022-04,500,2022-05-31,false
{B},E2,2021-06,80,2021-07-01,false
""",
    ),
}
# the entry each table belongs to
ENTRY: dict[str, str] = {k: SOURCES[k].entry_code for k in TABLES if k in SOURCES} | {
    "utility_water": SOURCES["utility_bills"].entry_codes[0],
    "utility_power": SOURCES["utility_bills"].entry_codes[1],
}
assert set(ENTRY.values()) == {c for s in SOURCES.values() for c in s.entry_codes}

# Year 2022 facts worked out by hand from the rows above (the credit-profile facts of issue 12 too).
EXPECTED: dict[str, dict[str, Any]] = {
    A: {
        "name": "青岛甲跨境电商有限公司", "registered_district": "市南区", "registered_capital": 1_005_000,
        "status": "存续", "cbec_export_amount": 26_005_000, "cbec_import_export_amount": 27_000_000,
        "has_independent_site": True, "independent_site_investment": 320_000, "provincial_key_platform_2022": True,
        "provincial_key_park_2022": False, "park_import_export_amount": None,
        "provincial_key_overseas_warehouse_2022": False, "public_warehouse_operating_months": 0,
        "public_warehouse_trade_amount": 0, "tax_credit_grade": "A", "insured_headcount": 12,
        "is_high_tech": False, "is_specialised": False, "patent_count": 2, "penalty_count": 2,
        "is_dishonest_debtor": False, "is_abnormal_operation": False,
        "age_years": 6, "tax_credit_grade_previous": "B", "tax_grade_a_years_3": 1, "tax_grade_cd_years_3": 0,
        "insured_months_12": 2, "insured_headcount_change_pct": Decimal("20.00"),
        "utility_bill_months_12": 4, "utility_on_time_ratio_pct": Decimal("60.00"), "utility_arrears_months_12": 1,
        "ip_class1_count": 1, "ip_class2_count": 1, "specialised_level": "无", "penalty_fine_amount_3y": 5_000,
        "enforcement_count": 2, "abnormal_listings_3y": 0, "listed_abnormal_or_seriously_dishonest": False,
        "high_tech_enterprise_valid": False, "is_sme": None, "rd_expense_ratio_pct": None,
    },
    B: {
        "registered_district": "市北区", "registered_capital": 500_000, "cbec_export_amount": 100_000,
        "cbec_import_export_amount": 100_000, "has_independent_site": False, "independent_site_investment": 0,
        "provincial_key_platform_2022": False, "provincial_key_park_2022": True,
        "park_import_export_amount": 3_000_000, "public_warehouse_operating_months": 15,
        "public_warehouse_trade_amount": 40_000, "tax_credit_grade": "M", "insured_headcount": 0,
        "is_high_tech": True, "is_abnormal_operation": True, "patent_count": 1, "penalty_count": 0,
        "age_years": 12, "tax_credit_grade_previous": None, "tax_grade_a_years_3": 0, "tax_grade_cd_years_3": 0,
        "insured_months_12": 0, "insured_headcount_change_pct": None, "utility_bill_months_12": 0,
        "utility_on_time_ratio_pct": None, "utility_arrears_months_12": 0, "ip_class1_count": 0,
        "ip_class2_count": 1, "penalty_fine_amount_3y": 0, "enforcement_count": 0, "abnormal_listings_3y": 1,
        "listed_abnormal_or_seriously_dishonest": True, "high_tech_enterprise_valid": True,
    },
    C: {
        "registered_district": "即墨区", "registered_capital": 82_500, "cbec_export_amount": 0,
        "cbec_import_export_amount": 0, "has_independent_site": None, "independent_site_investment": None,
        "provincial_key_platform_2022": False, "provincial_key_overseas_warehouse_2022": True,
        "tax_credit_grade": None, "insured_headcount": None, "is_dishonest_debtor": True,
        "is_abnormal_operation": False, "is_specialised": False, "patent_count": 0,
        "age_years": 21, "tax_grade_a_years_3": None, "insured_months_12": None, "utility_bill_months_12": None,
        "utility_on_time_ratio_pct": None, "utility_arrears_months_12": None, "specialised_level": "无",
        "abnormal_listings_3y": 1, "listed_abnormal_or_seriously_dishonest": True, "enforcement_count": 0,
    },
    D: {
        "registered_district": "黄岛区", "status": "吊销", "cbec_export_amount": 50_000,
        "cbec_import_export_amount": 60_000, "has_independent_site": True, "independent_site_investment": None,
        "provincial_key_platform_2022": False, "provincial_key_overseas_warehouse_2022": False,
        "is_high_tech": False, "is_specialised": True, "penalty_count": 0, "is_dishonest_debtor": False,
        "age_years": 3, "tax_credit_grade": "C", "tax_credit_grade_previous": "D", "tax_grade_cd_years_3": 2,
        "specialised_level": "省级", "penalty_fine_amount_3y": 0, "listed_abnormal_or_seriously_dishonest": False,
    },
    E: {"registered_district": "黄岛区", "registered_capital": 10_000, "cbec_export_amount": 0, "age_years": 0},
}  # fmt: skip


@dataclass
class MiniCity:
    home: Path
    resources: dict[str, str] = field(default_factory=dict)  # table key → resource id


def load(session: Session, key: str, csv: str, resource_id: str, home: Path, tmp: Path) -> int:
    path = tmp / f"{key}.csv"
    path.write_text(csv, encoding="utf-8")
    result = ingest.ingest(session, SYSTEM, resource_id, path, home=home)
    assert result.state == "published" and result.rows_rejected == 0, result
    return result.version


def build_city(session: Session, home: Path, tmp: Path, only: Collection[str] | None = None) -> MiniCity:
    """Every source entry, with its table loaded (all, or those whose table key is in ``only``;
    the others are entries without data)."""
    city = MiniCity(home)
    department = make_org(session, "department")
    titles = {code: s.title for s in SOURCES.values() for code in s.entry_codes}
    for key, (open_type, schema, csv) in TABLES.items():
        code = ENTRY[key]
        entry = make_entry(session, code=code, title=titles[code], open_type=open_type, organisation=department.code)
        if only is not None and key not in only:
            continue
        table = service.create_resource_table(
            session, SYSTEM, entry.resources[0].id, ResourceTableCreate(schema=schema)
        )
        city.resources[key] = table.resource_id
        load(session, key, csv, table.resource_id, home, tmp)
    return city
