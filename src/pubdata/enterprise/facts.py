"""The fact catalogue of the enterprise facts table (一企一档): every fact's name, Chinese title,
meaning, unit, type, source entry and the rule for an enterprise the source has no record of.

Other domains import this as data: the policy engine checks the facts a policy pack names, and their
types, against ``FACTS``; the facts builder (``enterprise/build.py``) writes one column per fact.

Types: ``string``, ``district`` (one of Qingdao's ten districts), ``integer``, ``money`` (integer
yuan, 元), ``boolean``, ``date``. Every fact may be null (unknown); when a fact's source table has no
published data at all, the fact is null for every enterprise whatever its own rule says.

The facts describe the **facts year** (统计年度, default the latest full year of the cross-border
e-commerce statistics): figures are that year's, states are as of its last day (31 December).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pubdata.catalog import vocab

FactType = Literal["string", "district", "integer", "money", "boolean", "date"]

DISTRICTS: tuple[str, ...] = vocab.DISTRICT_NAMES  # Qingdao's ten districts (区、市)
TAX_GRADES: tuple[str, ...] = ("A", "B", "M", "C", "D")

_DUCKDB_TYPES: dict[str, str] = {
    "string": "VARCHAR",
    "district": "VARCHAR",
    "integer": "BIGINT",
    "money": "BIGINT",
    "boolean": "BOOLEAN",
    "date": "DATE",
}
TYPE_LABELS: dict[str, str] = {
    "string": "文本",
    "district": "区（市）",
    "integer": "整数",
    "money": "金额（元）",
    "boolean": "是/否",
    "date": "日期",
}


@dataclass(frozen=True)
class SourceDef:
    """A catalogue entry the facts are built from, and the columns of its table they read."""

    key: str
    entry_code: str
    title: str
    columns: tuple[str, ...]
    covers: str  # whom the source covers, in Chinese (decides null versus zero/false)


@dataclass(frozen=True)
class FactDef:
    """One fact: a column of the facts table."""

    name: str
    title: str
    meaning: str
    type: FactType
    source: str  # a key of SOURCES
    missing: str  # the value when the source holds no record of the enterprise, and why
    unit: str = ""
    values: tuple[str, ...] | None = None  # the allowed values of a string fact

    @property
    def duckdb_type(self) -> str:
        return _DUCKDB_TYPES[self.type]

    @property
    def entry_code(self) -> str:
        return SOURCES[self.source].entry_code

    @property
    def source_title(self) -> str:
        return SOURCES[self.source].title


SOURCES: dict[str, SourceDef] = {
    s.key: s
    for s in (
        SourceDef(
            "enterprise_registry", "QD-SCJGJ-GS-00001", "青岛市市场主体登记信息",
            ("uscc", "ent_name", "district", "division_code", "industry_code", "reg_capital", "found_date", "status"),
            "全市登记的市场主体（档案的企业范围即本表的企业）",
        ),
        SourceDef(
            "tax_credit", "QD-TAX-CS-00001", "企业纳税信用等级评价结果",
            ("uscc", "eval_year", "credit_grade"),
            "参加纳税信用评价的纳税人",
        ),
        SourceDef(
            "social_insurance", "QD-RSJ-SB-00001", "企业社会保险参保人数信息",
            ("uscc", "period", "insured_total"),
            "在本市办理社会保险登记的单位",
        ),
        SourceDef(
            "patents", "QD-SCJGJ-KJ-00001", "企业专利授权信息",
            ("uscc", "grant_date", "legal_status"),
            "本市企业获得授权的全部专利",
        ),
        SourceDef(
            "penalties", "QD-SCJGJ-XY-00001", "行政处罚信息",
            ("uscc", "decision_date"),
            "按“双公示”公开的全部行政处罚决定",
        ),
        SourceDef(
            "dishonest_debtors", "QD-ZY-XY-00001", "失信被执行人名单",
            ("uscc", "publish_date"),
            "全部法人失信被执行人",
        ),
        SourceDef(
            "abnormal_operations", "QD-SCJGJ-XY-00002", "经营异常名录",
            ("uscc", "listed_date", "removed_date"),
            "全部列入经营异常名录的市场主体",
        ),
        SourceDef(
            "high_tech", "QD-KJJ-KJ-00001", "高新技术企业认定名单",
            ("uscc", "recognised_year", "valid_to"),
            "全部经认定的高新技术企业",
        ),
        SourceDef(
            "specialised", "QD-GXJ-KJ-00001", "专精特新中小企业名单",
            ("uscc", "recognised_year"),
            "全部国家级、省级、市级专精特新企业",
        ),
        SourceDef(
            "cbec_trade", "QD-SWJ-SM-00001", "跨境电商企业进出口额统计",
            ("uscc", "stat_year", "export_amount", "import_amount", "independent_site", "site_investment"),
            "全市开展跨境电商业务的企业（进出口额按年度统计）",
        ),
        SourceDef(
            "cbec_overseas_warehouses", "QD-SWJ-SM-00002", "跨境电商公共海外仓名单",
            ("uscc", "honour_level", "recognised_year"),
            "全部获评的公共海外仓建设主体",
        ),
        SourceDef(
            "cbec_key_platforms", "QD-SWJ-SM-00003", "省级重点培育跨境电商平台和产业园名单",
            ("uscc", "category_name", "honour_level", "recognised_year", "import_amount", "export_amount"),
            "全部获评的跨境电商平台和产业园运营主体",
        ),
        SourceDef(
            "cbec_public_warehouses", "QD-SWJ-SM-00004", "跨境电商公用型仓库运营信息",
            ("uscc", "found_date", "import_amount", "export_amount"),
            "设立跨境电商公用型仓库的企业和园区运营主体",
        ),
    )
}  # fmt: skip

_ALL_HAVE = "每个企业都有（为空表示登记信息未填）"
_LISTED = "名单覆盖全部{who}：不在名单上的为“否”"
_COUNTED = "{what}：没有记录的为 0"
_TRADE_ZERO = (
    "跨境电商统计覆盖全市开展跨境电商业务的企业：统计年度有数据而没有该企业记录的为 0；统计没有该年度数据的为空（未知）"
)

FACTS: dict[str, FactDef] = {
    f.name: f
    for f in (
        FactDef(
            name="uscc",
            title="统一社会信用代码",
            meaning="企业的统一社会信用代码，档案的主键",
            type="string",
            source="enterprise_registry",
            missing=_ALL_HAVE,
        ),
        FactDef(
            name="name",
            title="企业名称",
            meaning="登记的企业名称",
            type="string",
            source="enterprise_registry",
            missing=_ALL_HAVE,
        ),
        FactDef(
            name="registered_district",
            title="注册地",
            meaning="企业登记的区（市），青岛十个区市之一；登记的区市名称不规范时，按行政区划代码、再按统一社会信用代码第3—8位（登记机关行政区划码）判定",
            type="district",
            source="enterprise_registry",
            missing="都不能判定为青岛十个区市之一的为空",
            values=DISTRICTS,
        ),
        FactDef(
            name="industry_code",
            title="行业代码",
            meaning="国民经济行业分类（GB/T 4754）代码",
            type="string",
            source="enterprise_registry",
            missing=_ALL_HAVE,
        ),
        FactDef(
            name="registered_capital",
            title="注册资本",
            meaning="登记的注册资本（登记表以万元计，换算为元）",
            type="money",
            source="enterprise_registry",
            missing=_ALL_HAVE,
            unit="元",
        ),
        FactDef(
            name="founded",
            title="成立日期",
            meaning="企业成立日期",
            type="date",
            source="enterprise_registry",
            missing=_ALL_HAVE,
        ),
        FactDef(
            name="status",
            title="登记状态",
            meaning="存续、在业、吊销、注销、迁出",
            type="string",
            source="enterprise_registry",
            missing=_ALL_HAVE,
            values=("存续", "在业", "吊销", "注销", "迁出"),
        ),
        FactDef(
            name="cbec_export_amount",
            title="跨境电商出口额",
            meaning="统计年度跨境电商出口额",
            type="money",
            source="cbec_trade",
            missing=_TRADE_ZERO,
            unit="元",
        ),
        FactDef(
            name="cbec_import_export_amount",
            title="跨境电商进出口额",
            meaning="统计年度跨境电商进口额与出口额之和",
            type="money",
            source="cbec_trade",
            missing=_TRADE_ZERO,
            unit="元",
        ),
        FactDef(
            name="has_independent_site",
            title="开设出口独立站",
            meaning="统计年度在跨境电商统计中申报开设境外子网站或独立页面（面向境外消费者的网站）",
            type="boolean",
            source="cbec_trade",
            missing="独立站情况随跨境电商统计申报：没有该企业统计年度记录的为空（未知）",
        ),
        FactDef(
            name="independent_site_investment",
            title="独立站投入",
            meaning="统计年度出口独立站建设、运维、研发等资金投入",
            type="money",
            source="cbec_trade",
            missing="申报没有独立站的为 0；有独立站但未填报投入、或没有该企业统计年度记录的为空（未知）",
            unit="元",
        ),
        FactDef(
            name="provincial_key_platform_2022",
            title="2022年省级重点培育跨境电商平台",
            meaning="获评2022年省重点培育的跨境电商平台",
            type="boolean",
            source="cbec_key_platforms",
            missing=_LISTED.format(who="获评主体"),
        ),
        FactDef(
            name="provincial_key_park_2022",
            title="2022年省级重点培育跨境电商产业园",
            meaning="获评2022年省重点培育的跨境电商产业园运营主体",
            type="boolean",
            source="cbec_key_platforms",
            missing=_LISTED.format(who="获评主体"),
        ),
        FactDef(
            name="park_import_export_amount",
            title="园区跨境电商进出口额",
            meaning="产业园内注册的法人企业跨境电商进出口额合计（名单所载数据）",
            type="money",
            source="cbec_key_platforms",
            missing="只有名单上的产业园运营主体才有此数据，其他企业为空",
            unit="元",
        ),
        FactDef(
            name="provincial_key_overseas_warehouse_2022",
            title="2022年省级重点培育公共海外仓",
            meaning="获评2022年省级重点培育公共海外仓的建设主体企业",
            type="boolean",
            source="cbec_overseas_warehouses",
            missing=_LISTED.format(who="获评主体"),
        ),
        FactDef(
            name="public_warehouse_operating_months",
            title="公用型仓库运营月数",
            meaning="跨境电商公用型仓库自投入运营至统计年度末的整月数（统计年度末尚未运营的为 0）",
            type="integer",
            source="cbec_public_warehouses",
            missing="名单包括全部公用型仓库：不在名单上的企业没有公用型仓库，为 0",
            unit="月",
        ),
        FactDef(
            name="public_warehouse_trade_amount",
            title="公用型仓库年度贸易额",
            meaning="跨境电商公用型仓库年度进口额与出口额之和（名单所载数据）",
            type="money",
            source="cbec_public_warehouses",
            missing="名单包括全部公用型仓库：不在名单上的企业没有公用型仓库，为 0",
            unit="元",
        ),
        FactDef(
            name="tax_credit_grade",
            title="纳税信用等级",
            meaning="统计年度及以前最近一次纳税信用评价的等级（A、B、M、C、D）",
            type="string",
            source="tax_credit",
            missing="未参加评价的为空",
            values=TAX_GRADES,
        ),
        FactDef(
            name="insured_headcount",
            title="参保人数",
            meaning="统计年度末及以前最近一个月的社会保险参保总人数",
            type="integer",
            source="social_insurance",
            missing="参保信息只含已办理社保登记的单位：没有记录的为空（未知，不按 0 计）",
            unit="人",
        ),
        FactDef(
            name="is_high_tech",
            title="高新技术企业",
            meaning="统计年度末持有有效的高新技术企业证书",
            type="boolean",
            source="high_tech",
            missing=_LISTED.format(who="认定企业"),
        ),
        FactDef(
            name="is_specialised",
            title="专精特新企业",
            meaning="统计年度及以前获评国家级、省级或市级专精特新中小企业（含“小巨人”）",
            type="boolean",
            source="specialised",
            missing=_LISTED.format(who="获评企业"),
        ),
        FactDef(
            name="patent_count",
            title="有效专利数",
            meaning="截至统计年度末已授权、法律状态为有效的专利件数",
            type="integer",
            source="patents",
            missing=_COUNTED.format(what="专利授权信息覆盖本市企业的全部授权专利"),
            unit="件",
        ),
        FactDef(
            name="penalty_count",
            title="近三年行政处罚次数",
            meaning="统计年度及前两年作出的行政处罚决定数",
            type="integer",
            source="penalties",
            missing=_COUNTED.format(what="行政处罚决定按“双公示”全部公开"),
            unit="次",
        ),
        FactDef(
            name="is_dishonest_debtor",
            title="失信被执行人",
            meaning="截至统计年度末被列入失信被执行人名单",
            type="boolean",
            source="dishonest_debtors",
            missing=_LISTED.format(who="法人失信被执行人"),
        ),
        FactDef(
            name="is_abnormal_operation",
            title="经营异常",
            meaning="统计年度末仍在经营异常名录中（已列入、尚未移出）",
            type="boolean",
            source="abnormal_operations",
            missing=_LISTED.format(who="列入企业"),
        ),
    )
}

KEY = "uscc"
assert all(f.source in SOURCES for f in FACTS.values())


def fact(name: str) -> FactDef:
    """The fact called ``name``; KeyError for a name the catalogue does not have."""
    return FACTS[name]
