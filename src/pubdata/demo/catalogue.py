"""What the demo catalogue is made of: how many entries each category gets, what each category's
data serves, and the anchor entries that later features rely on (fixed codes, the same in every
build). The per-category subjects are in ``subjects.py``."""

from __future__ import annotations

from dataclasses import dataclass

from pubdata.demo.subjects import SUBJECTS

TOTAL_ENTRIES = 5099

# Short codes used in entry codes: QD-<DEPT>-<CAT>-00001.
CATEGORY_ABBR: dict[str, str] = {
    "business": "GS",
    "medical": "YL",
    "education": "JY",
    "transport": "JT",
    "culture_tourism": "WL",
    "social_security": "SB",
    "finance_tax": "CS",
    "credit": "XY",
    "housing": "ZF",
    "environment": "HJ",
    "agriculture": "NY",
    "ocean": "HY",
    "commerce": "SM",
    "science": "KJ",
    "public_safety": "AQ",
    "livelihood": "MS",
    "energy": "ZY",
    "organisations": "JG",
    "geospatial": "DL",
}

# Entries per category; business, credit, social security and medical are the city's largest.
CATEGORY_SIZES: dict[str, int] = {
    "business": 560,
    "credit": 500,
    "medical": 480,
    "social_security": 440,
    "finance_tax": 300,
    "education": 280,
    "transport": 260,
    "housing": 260,
    "commerce": 250,
    "livelihood": 240,
    "culture_tourism": 200,
    "environment": 200,
    "agriculture": 200,
    "public_safety": 190,
    "science": 180,
    "energy": 170,
    "ocean": 160,
    "organisations": 130,
    "geospatial": 99,
}
assert sum(CATEGORY_SIZES.values()) == TOTAL_ENTRIES

# One sentence per category saying what the data serves (used in descriptions).
USES: dict[str, tuple[str, ...]] = {
    "business": ("可用于企业画像、市场主体分析和营商环境评价。", "支撑“一企一档”企业档案建设。"),
    "medical": ("服务医疗专区的“三医”数据应用。", "可用于医疗资源布局分析和商业健康保险核保理赔。"),
    "education": ("可用于学区查询、教育资源均衡分析。", "服务家长择校与招生政策解读。"),
    "transport": ("可用于出行服务、交通规划与物流调度。", "服务航贸金场景中的物流可视化。"),
    "culture_tourism": ("可用于文旅产品开发和客流预测。", "服务智慧文旅和消费促进活动。"),
    "social_security": ("可用于企业用工稳定性分析和普惠金融增信。", "支撑就业形势监测与人才政策兑现。"),
    "finance_tax": ("可用于银企直通车信用评估。", "支撑以数据变信用的普惠金融服务。"),
    "credit": ("可用于企业信用评价、信用修复和联合奖惩。", "服务金融专区的授信审查。"),
    "housing": ("可用于房地产市场监测和住房保障服务。", "服务城市更新与建设工程监管。"),
    "environment": ("可用于环境质量评价和绿色金融。", "支撑污染防治和生态环境监管。"),
    "agriculture": ("可用于涉农信贷与农业保险。", "服务乡村振兴和农产品质量追溯。"),
    "ocean": ("可用于海洋经济监测和海洋数据交易。", "服务海洋牧场与渔业生产安全。"),
    "commerce": ("可用于跨境电商政策匹配与奖励兑现。", "支撑商贸流通运行监测。"),
    "science": ("可用于科技型企业梯度培育和科技金融。", "支撑专精特新企业认定与政策推送。"),
    "public_safety": ("可用于安全生产风险预警。", "服务应急指挥和灾害防治。"),
    "livelihood": ("可用于便民服务和养老服务供需分析。", "支撑社区治理和精准救助。"),
    "energy": ("可用于企业生产经营活跃度分析。", "服务能耗监测和节能降碳。"),
    "organisations": ("可用于社会组织查询和监管。", "服务政务服务事项办理。"),
    "geospatial": ("可用于地址标准化和空间分析。", "服务国土空间规划和应急选址。"),
}


assert set(SUBJECTS) == set(CATEGORY_SIZES)


@dataclass(frozen=True)
class Anchor:
    """An entry other features need: same code, title and fields in every build."""

    code: str
    title: str
    category: str
    dept: str
    fields: str
    tags: str
    freq: str
    open_type: str
    grade: str = "general"
    description: str = ""


# "code | title | category | department", then "frequency open-type grade | tags", the fields and
# the description, each anchor followed by a blank line.
ANCHOR_TABLE = """
QD-SCJGJ-GS-00001 | 青岛市市场主体登记信息 | business | qd-scjgj
    daily unconditional general | 市场主体 登记 企业
    uscc ent_name ent_type district division_code industry_code industry_name reg_capital found_date status ent_address
    全市企业的登记信息：名称、统一社会信用代码、区市、行业代码（GB/T 4754）、注册资本、成立日期、状态。每日更新。

QD-TAX-CS-00001 | 企业纳税信用等级评价结果 | finance_tax | qd-tax
    yearly conditional important | 纳税信用 信用评价
    uscc ent_name eval_year credit_grade taxpayer_type district
    按年度发布的企业纳税信用等级（A、B、M、C、D）。

QD-TAX-XY-00001 | 2022年度纳税信用A级纳税人名单 | credit | qd-tax
    yearly unconditional general | 纳税信用 红名单
    uscc ent_name eval_year credit_grade district
    2022年度纳税信用评价为A级的纳税人名单，依法向社会公布。

QD-RSJ-SB-00001 | 企业社会保险参保人数信息 | social_security | qd-rsj
    monthly conditional important | 社保 参保 用工
    uscc ent_name period insured_total pension_insured medical_insured unemployment_insured injury_insured
    企业按月的社会保险参保人数，反映用工规模和稳定性。

QD-SWGLJ-ZY-00001 | 企业用水缴费信息 | energy | qd-swglj
    monthly conditional general | 用水 缴费
    uscc ent_name account_no period water_volume bill_amount paid_date arrears
    企业按月的用水量和缴费情况，可反映生产经营活跃度。

QD-GXJ-ZY-00001 | 企业用电缴费信息 | energy | qd-gxj
    monthly conditional general | 用电 缴费
    uscc ent_name account_no period power_kwh bill_amount paid_date arrears
    企业按月的用电量和缴费情况，可反映生产经营活跃度。

QD-SCJGJ-KJ-00001 | 企业专利授权信息 | science | qd-scjgj
    monthly unconditional general | 专利 知识产权
    patent_no patent_name patent_type uscc ent_name apply_date grant_date legal_status
    本市企业获得授权的发明、实用新型和外观设计专利。

QD-SCJGJ-XY-00001 | 行政处罚信息 | credit | qd-scjgj
    daily unconditional general | 行政处罚 信用 双公示
    decision_no uscc ent_name violation legal_basis penalty fine_amount decision_date issuing_authority
    对企业作出的行政处罚决定，按“双公示”要求公开。

QD-ZY-XY-00001 | 失信被执行人名单 | credit | qd-zy
    daily unconditional general | 失信被执行人 黑名单
    case_no uscc ent_name court obligation performance publish_date
    法人及其他组织失信被执行人名单（不含自然人）。

QD-ZY-XY-00002 | 被执行人信息 | credit | qd-zy
    daily unconditional general | 被执行人 执行案件
    case_no uscc ent_name court filing_date exec_amount performance closed_date
    以法人及其他组织为被执行人的执行案件：立案日期、执行标的、履行情况和结案日期（未结案为空）。

QD-SCJGJ-XY-00002 | 经营异常名录 | credit | qd-scjgj
    daily unconditional general | 经营异常 信用
    uscc ent_name listed_reason listed_date removed_date removed_reason
    被列入经营异常名录的企业，以及移出情况。

QD-KJJ-KJ-00001 | 高新技术企业认定名单 | science | qd-kjj
    yearly unconditional general | 高新技术企业 认定 荣誉
    uscc ent_name cert_no recognised_year valid_to district
    经认定的高新技术企业及证书有效期。

QD-GXJ-KJ-00001 | 专精特新中小企业名单 | science | qd-gxj
    yearly unconditional general | 专精特新 荣誉
    uscc ent_name honour honour_level recognised_year district
    国家级专精特新“小巨人”、省级和市级专精特新中小企业名单。

QD-SWJ-SM-00001 | 跨境电商企业进出口额统计 | commerce | qd-swj
    monthly conditional important | 跨境电商 进出口 独立站
    uscc ent_name district stat_year export_amount import_amount trade_mode independent_site site_url
    跨境电商企业年度进出口额、出口独立站情况，用于跨境电商政策奖励的核验。

QD-SWJ-SM-00002 | 跨境电商公共海外仓名单 | commerce | qd-swj
    yearly unconditional general | 海外仓 跨境电商
    uscc ent_name overseas_warehouse warehouse_country warehouse_area honour_level recognised_year export_amount
    获评省级重点培育的公共海外仓及其建设主体企业。

QD-SWJ-SM-00003 | 省级重点培育跨境电商平台和产业园名单 | commerce | qd-swj
    yearly unconditional general | 跨境电商 平台 产业园
    uscc ent_name category_name honour_level recognised_year import_amount export_amount
    获评省重点培育的跨境电商平台、产业园主体名单。

QD-SWJ-SM-00004 | 跨境电商公用型仓库运营信息 | commerce | qd-swj
    yearly conditional general | 公用型仓库 跨境电商
    uscc ent_name warehouse_area served_enterprises import_amount export_amount found_date
    跨境电商公用型仓库的运营时间、年度服务企业数和贸易额。

QD-WJW-YL-00001 | 青岛市医疗机构执业登记信息 | medical | qd-wjw
    monthly unconditional general | 医疗机构 医疗专区
    hospital_name uscc hospital_level departments beds licence_no district address
    全市医疗机构的执业登记、等级、诊疗科目和床位。

QD-WJW-YL-00002 | 门诊就诊记录 | medical | qd-wjw
    daily conditional core | 门诊 就诊 医疗专区
    patient_name patient_id hospital_name visit_date diagnosis diagnosis_code total_cost
    医疗专区的门诊就诊记录（合成患者），仅经授权在医疗专区内按去标识化要求使用。

QD-YBJ-YL-00001 | 医保定点医药机构名单 | medical | qd-ybj
    monthly unconditional general | 医保 定点机构 医疗专区
    hospital_name uscc hospital_level insurance_type valid_from district address
    全市医保定点医疗机构和定点零售药店。

QD-YBJ-YL-00002 | 医保结算明细 | medical | qd-ybj
    daily conditional core | 医保 结算 医疗专区
    patient_name patient_id hospital_name visit_date total_cost fund_paid self_paid insurance_type
    医保基金结算明细（合成数据），医疗专区授权使用。

QD-JYJ-JY-00001 | 青岛市中小学校名录 | education | qd-jyj
    yearly unconditional general | 学校 名录
    school_name uscc school_type school_nature students teachers district address
    全市中小学校的名称、办学类型与性质、规模和地址。

QD-JTYSJ-JT-00001 | 青岛市公交线路及站点信息 | transport | qd-jtysj
    weekly unconditional general | 公交 线路
    route_no route_name stop_name longitude latitude open_hours
    全市公交线路、站点及坐标。

QD-HYFZJ-HY-00001 | 青岛市海洋渔船信息 | ocean | qd-hyfzj
    monthly unconditional general | 渔船 渔业 海洋
    vessel_no ship_name vessel_power ent_name district valid_to
    本市登记的海洋渔船及其主机功率、所属企业。

QD-WHLYJ-WL-00001 | 青岛市A级旅游景区名录 | culture_tourism | qd-whlyj
    quarterly unconditional general | 景区 旅游
    scenic_name scenic_level district address longitude latitude open_hours
    全市A级旅游景区名称、等级、地址与开放时间。
"""


def _parse_anchors(table: str) -> tuple[Anchor, ...]:
    out = []
    for block in table.strip().split("\n\n"):
        head, terms, fields, description = (line.strip() for line in block.splitlines())
        code, title, category, dept = (p.strip() for p in head.split("|"))
        kinds, tags = (p.strip() for p in terms.split("|"))
        freq, open_type, grade = kinds.split()
        out.append(Anchor(code, title, category, dept, fields, tags, freq, open_type, grade, description))
    return tuple(out)


ANCHORS = _parse_anchors(ANCHOR_TABLE)
# What later issues look entries up by.
ANCHOR_CODES: dict[str, str] = {
    "enterprise_registry": "QD-SCJGJ-GS-00001",
    "tax_credit": "QD-TAX-CS-00001",
    "tax_a_list": "QD-TAX-XY-00001",
    "social_insurance": "QD-RSJ-SB-00001",
    "water": "QD-SWGLJ-ZY-00001",
    "electricity": "QD-GXJ-ZY-00001",
    "patents": "QD-SCJGJ-KJ-00001",
    "penalties": "QD-SCJGJ-XY-00001",
    "dishonest_debtors": "QD-ZY-XY-00001",
    "enforcement_cases": "QD-ZY-XY-00002",
    "abnormal_operations": "QD-SCJGJ-XY-00002",
    "high_tech": "QD-KJJ-KJ-00001",
    "specialised": "QD-GXJ-KJ-00001",
    "cbec_trade": "QD-SWJ-SM-00001",
    "cbec_overseas_warehouses": "QD-SWJ-SM-00002",
    "cbec_key_platforms": "QD-SWJ-SM-00003",
    "cbec_public_warehouses": "QD-SWJ-SM-00004",
    "medical_institutions": "QD-WJW-YL-00001",
    "outpatient_visits": "QD-WJW-YL-00002",
    "insurance_designated": "QD-YBJ-YL-00001",
    "insurance_settlements": "QD-YBJ-YL-00002",
    "schools": "QD-JYJ-JY-00001",
    "bus_routes": "QD-JTYSJ-JT-00001",
    "fishing_vessels": "QD-HYFZJ-HY-00001",
    "scenic_spots": "QD-WHLYJ-WL-00001",
}
assert set(ANCHOR_CODES.values()) == {a.code for a in ANCHORS}
