"""Synthetic values for every column of the demo field library, and the relation that puts them
together for one dataset.

A ``Dataset`` is a row count and one SQL expression per column over helper columns computed from
the row number ``r``:

- ``_ei`` and the ``e_*`` columns: the enterprise a row belongs to (a join with the enterprise key
  table, ``records.enterprise_table``), so codes, names and districts agree across datasets;
- ``_pi`` and ``_pd``/``_pbirth``/``_pseq``/``_pid``/``_pname``: a synthetic person (district, birth
  date, sequence, resident ID number, name) drawn from the person index, so a patient is the same
  person in every medical dataset (``person_sql``; a large dataset joins them from the person table
  written once, ``records.person_table``, instead of computing them for every row);
- ``_d``: the row's district index (the enterprise's, the entry's own district, or drawn).

``Dataset.sql`` returns one self-contained DuckDB ``SELECT`` whose columns are all text, named as the
table's fields — what ``store.ingest.load_relation`` checks and loads.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from pubdata.demo import record_sql as q
from pubdata.demo.fields import UNITS
from pubdata.demo.record_sql import Gen, lit

DEMO_ENTERPRISES = 300  # enterprises 0..299 are the demo city's organisations: never spoiled
# One row in every DIRTY_EVERY gets one bad value (0.5%), so quality reports and rejects have
# something to show; evenly spread (not drawn), so a small table never gets enough to be refused.
DIRTY_EVERY = 200

# Semantic types of the field library's columns (the store checks values against them).
SEMANTIC: dict[str, str] = {
    "uscc": "uscc",
    "legal_rep_id": "resident_id",
    "id_number": "resident_id",
    "patient_id": "resident_id",
    "legal_rep": "person_name",
    "contact_person": "person_name",
    "person_name": "person_name",
    "patient_name": "person_name",
    "doctor_name": "person_name",
    "student_name": "person_name",
    "driver_name": "person_name",
    "elderly_name": "person_name",
    "owner_name": "person_name",
    "inventor": "person_name",
    "mobile": "mobile",
    "contact_phone": "phone",
    "division_code": "division_code",
    "ent_address": "address",
    "home_address": "address",
    "address": "address",
    "reg_capital": "amount",
    "fine_amount": "amount",
    "tax_amount": "amount",
    "amount": "amount",
    "contribution_base": "amount",
    "paid_amount": "amount",
    "total_cost": "amount",
    "fund_paid": "amount",
    "self_paid": "amount",
    "revenue": "amount",
    "export_amount": "amount",
    "import_amount": "amount",
    "retail_sales": "amount",
    "funding": "amount",
    "contract_amount": "amount",
    "bill_amount": "amount",
    "subsidy_amount": "amount",
    "bid_amount": "amount",
    "site_investment": "amount",
    "exec_amount": "amount",
}
ENTERPRISE_FIELDS = {"uscc", "ent_name", "ent_type", "industry_code", "industry_name", "reg_capital", "found_date"}
ENTERPRISE_FIELDS |= {"status", "ent_address", "legal_rep", "reg_authority", "business_scope"}
PERSON_FIELDS = {"person_name", "id_number", "gender", "birth_date", "mobile", "home_address", "bank_account"}
PERSON_FIELDS |= {"patient_name", "patient_id", "legal_rep_id", "elderly_name", "student_name"}


@dataclass
class Ctx:
    """What a column expression may use: the dataset's random source, the persons' one, its period."""

    g: Gen
    p: Gen  # persons: salted by the seed only, keyed by _pi
    start: date
    end: date

    @property
    def days(self) -> int:
        return max(1, (self.end - self.start).days + 1)

    def day(self, key: str) -> str:
        return f"strftime({self.g.date(key, self.start.isoformat(), self.days)}, '%Y-%m-%d')"

    def year(self, key: str) -> str:
        return f"CAST({self.g.integer(key, self.start.year, self.end.year)} AS VARCHAR)"


def _code(prefix: str, digits: int) -> Callable[[Ctx], str]:
    return lambda c: f"({lit(prefix)} || {c.g.digits(prefix, digits)})"


def _pick(*values: str) -> Callable[[Ctx], str]:
    return lambda c: c.g.pick("v:" + values[0], values)


def _amount(lo: float, hi: float) -> Callable[[Ctx], str]:
    return lambda c: c.g.log_amount(f"a:{lo}:{hi}", lo, hi)


def _count(lo: int, hi: int) -> Callable[[Ctx], str]:
    return lambda c: f"CAST({c.g.integer(f'n:{lo}:{hi}', lo, hi)} AS VARCHAR)"


def _num(lo: float, hi: float, decimals: int = 2) -> Callable[[Ctx], str]:
    return lambda c: c.g.number(f"x:{lo}:{hi}", lo, hi, decimals)


def _person_name(_c: Ctx) -> str:
    return "_pname"


def _named(key: str) -> Callable[[Ctx], str]:
    return lambda c: c.g.person_name(key)


HOSPITALS = (
    "青岛大学附属医院", "青岛市市立医院", "青岛市中心医院", "青岛市海慈医疗集团", "青岛市妇女儿童医院",
    "青岛市第八人民医院", "青岛市第三人民医院", "青岛市胸科医院", "青岛市精神卫生中心", "青岛市口腔医院",
    "青岛市黄岛区人民医院", "青岛市城阳区人民医院", "青岛市即墨区人民医院", "胶州市人民医院", "平度市人民医院",
    "莱西市人民医院", "青岛市崂山区社区卫生服务中心", "青岛市李沧区中心医院", "青岛市市北区人民医院",
    "青岛西海岸新区中心医院", "青岛市第六人民医院", "青岛阜外心血管病医院",
)  # fmt: skip
DIAGNOSES = (
    ("J06.9", "急性上呼吸道感染"), ("I10", "原发性高血压"), ("E11.9", "2型糖尿病"), ("K29.7", "胃炎"),
    ("J20.9", "急性支气管炎"), ("M54.5", "腰痛"), ("I25.1", "动脉硬化性心脏病"), ("J45.9", "哮喘"),
    ("N39.0", "泌尿道感染"), ("K52.9", "非感染性胃肠炎"), ("H10.9", "结膜炎"), ("L30.9", "皮炎"),
    ("R51", "头痛"), ("E78.5", "高脂血症"), ("K02.9", "龋病"), ("F41.9", "焦虑障碍"),
)  # fmt: skip
STATUSES = ("存续", "存续", "存续", "存续", "存续", "存续", "存续", "存续", "在业", "吊销", "注销", "迁出")


def _diagnosis(c: Ctx, part: int) -> str:
    return c.g.pick("diag", [d[part] for d in DIAGNOSES])


def _sql(expr: str) -> Callable[[Ctx], str]:
    """A fixed SQL expression (over the helper columns)."""
    return lambda _c: expr


def _join(*parts: str | Callable[[Ctx], str]) -> Callable[[Ctx], str]:
    """Text concatenated from literal words (str) and values (callables)."""
    return lambda c: "(" + " || ".join(lit(p) if isinstance(p, str) else p(c) for p in parts) + ")"


def _digits(key: str, n: int) -> Callable[[Ctx], str]:
    return lambda c: c.g.digits(key, n)


def _datetime(key: str) -> Callable[[Ctx], str]:
    return lambda c: (
        f"strftime({c.g.date(key, c.start.isoformat(), c.days)} + INTERVAL ({c.g.integer(key + 's', 0, 86399)}) "
        "SECOND, '%Y-%m-%d %H:%M:%S')"
    )


def _year(key: str) -> Callable[[Ctx], str]:
    return lambda c: c.year(key)


_DISTRICT = _sql(q.district_of("_d"))
_SERIAL = _sql("CAST(r + 1 AS VARCHAR)")

# Column name → SQL of its value. Columns not listed get a value by their type (``_by_type``).
VALUES: dict[str, Callable[[Ctx], str]] = {
    # enterprises (from the enterprise key table)
    "uscc": _sql("e_uscc"),
    "ent_name": _sql("e_name"),
    "org_name": _join(
        "青岛市",
        _pick("软件行业", "跨境电商", "海洋经济", "物流", "餐饮", "律师", "志愿服务", "慈善", "养老服务", "科技创新"),
        _pick("协会", "商会", "促进会", "联合会", "服务中心", "基金会"),
    ),
    "ent_type": _sql("e_type"),
    "industry_code": _sql("e_industry_code"),
    "industry_name": _sql("e_industry_name"),
    "reg_capital": _sql("CAST(e_capital AS VARCHAR)"),
    "found_date": _sql("strftime(e_found, '%Y-%m-%d')"),
    "status": _sql("e_status"),
    "ent_address": _sql("e_address"),
    "legal_rep": _sql("e_legal_rep"),
    "business_scope": _sql("e_industry_name || '；技术服务；货物进出口'"),
    "reg_authority": _sql("'青岛市' || e_district || '市场监督管理局'"),
    "district": _DISTRICT,
    "division_code": _sql(q.division_of("_d")),
    "street": _join(_DISTRICT, _pick("中心", "东部", "西部", "北部", "南部"), "街道"),
    "contact_person": _named("contact"),
    "contact_phone": lambda c: (
        f"CASE WHEN {c.g.chance('landline', 400)} THEN {c.g.landline('tel')} ELSE {c.g.mobile('mob')} END"
    ),
    # natural persons (drawn from the person index)
    "person_name": _person_name,
    "patient_name": _person_name,
    "elderly_name": _person_name,
    "student_name": _person_name,
    "id_number": _sql("_pid"),
    "patient_id": _sql("_pid"),
    "legal_rep_id": _sql("_pid"),
    "gender": _sql("CASE WHEN _pseq % 2 = 1 THEN '男' ELSE '女' END"),
    "birth_date": _sql("strftime(_pbirth, '%Y-%m-%d')"),
    "mobile": lambda c: c.p.mobile("mobile", row="_pi"),
    "home_address": lambda c: (
        f"({q.address(c.p, 'home', '_pd', row='_pi')} || {c.p.integer('room', 101, 2806, row='_pi')} || '室')"
    ),
    "bank_account": lambda c: f"('6217' || {c.p.digits('card', 15, row='_pi')})",
    "doctor_name": _named("doctor"),
    "driver_name": _named("driver"),
    "owner_name": _named("owner"),
    "inventor": _named("inventor"),
    # licences, acts, courts
    "licence_no": _join("鲁", _pick("食", "药", "卫", "建", "环", "交"), _digits("lic", 10)),
    "licence_name": _pick(
        "食品经营许可", "药品经营许可", "医疗机构执业许可", "建筑工程施工许可", "排污许可", "道路运输经营许可"
    ),
    "licence_scope": _pick("预包装食品销售", "热食类食品制售", "中西药品零售", "普通货物运输", "房屋建筑工程施工"),
    "issuing_authority": _join("青岛市", _DISTRICT, "行政审批服务局"),
    "decision_no": _join("青", _DISTRICT, "市监罚〔", _year("dy"), "〕", _count(1, 9999), "号"),
    "violation": _pick(
        "未按规定公示年度报告", "销售不合格产品", "虚假宣传", "无证经营", "未落实食品安全管理制度", "价格违法"
    ),
    "legal_basis": _pick(
        "《中华人民共和国食品安全法》第一百二十二条",
        "《中华人民共和国反不正当竞争法》第二十条",
        "《中华人民共和国产品质量法》第四十九条",
        "《企业信息公示暂行条例》第十八条",
    ),
    "penalty": _pick("警告", "罚款", "没收违法所得并处罚款", "警告并处罚款"),
    "fine_amount": _amount(0.1, 50),
    "case_no": _join("（", _year("cy"), "）鲁02执", _count(1, 9999), "号"),
    "court": _pick(
        "青岛市中级人民法院",
        "青岛市市南区人民法院",
        "青岛市市北区人民法院",
        "青岛市黄岛区人民法院",
        "青岛市崂山区人民法院",
        "青岛市城阳区人民法院",
        "青岛市即墨区人民法院",
        "胶州市人民法院",
    ),
    "obligation": _pick("支付货款及利息", "偿还借款本金及利息", "支付工程款", "支付劳动报酬", "赔偿经济损失"),
    "performance": _pick("全部未履行", "全部未履行", "部分履行"),
    "listed_reason": _pick(
        "未按规定报送年度报告",
        "通过登记的住所或者经营场所无法联系",
        "公示企业信息隐瞒真实情况、弄虚作假",
        "未在责令期限内公示有关企业信息",
    ),
    "removed_reason": _pick("补报年度报告", "申请移出并经核实", "依法办理住所变更登记"),
    # credit and tax
    "credit_grade": lambda c: c.g.pick("grade", q.weighted(("A", "B", "M", "C", "D"), (18, 45, 25, 8, 4))),
    "credit_score": _count(350, 980),
    "tax_amount": _amount(0.5, 5000),
    "invoice_count": _count(1, 20000),
    "taxpayer_type": _pick("一般纳税人", "小规模纳税人", "小规模纳税人"),
    "honour": _pick("专精特新中小企业", "高新技术企业", "瞪羚企业", "科技型中小企业", "制造业单项冠军"),
    "honour_level": _pick("市级", "市级", "省级", "国家级"),
    "cert_no": _join("GR", _year("cert"), "3702", _digits("cert", 4)),
    # periods and statistics
    "period": lambda c: f"strftime({c.g.date('period', c.start.isoformat(), c.days)}, '%Y-%m')",
    "stat_month": lambda c: f"strftime({c.g.date('month', c.start.isoformat(), c.days)}, '%Y-%m')",
    "amount": _amount(10, 500000),
    "count": _count(1, 5000),
    "yoy": _num(-30, 60),
    "unit": _pick("万元", "人", "件", "吨", "人次", "户"),
    "indicator": _pick(
        "地区生产总值", "规模以上工业增加值", "社会消费品零售总额", "固定资产投资", "进出口总额", "常住人口"
    ),
    "value": _num(0, 100000),
    # social security
    "insured_total": _count(1, 3000),
    "contribution_base": _amount(3500, 30000),
    "paid_amount": _amount(300, 200000),
    "job_title": _pick("软件工程师", "销售经理", "会计", "操作工", "质检员", "外贸业务员", "物流专员", "行政助理"),
    "salary_range": _pick("3000-5000", "5000-8000", "8000-12000", "12000-20000", "20000以上"),
    "education_level": _pick("初中", "高中", "中专", "大专", "本科", "本科", "硕士研究生", "博士研究生"),
    # medical
    "hospital_name": lambda c: c.g.pick("hospital", HOSPITALS),
    "hospital_level": _pick("三级甲等", "三级乙等", "二级甲等", "二级乙等", "一级", "未定级"),
    "departments": _pick(
        "内科；外科；妇产科；儿科", "内科；中医科", "全科医疗科；预防保健科", "口腔科", "眼科；耳鼻咽喉科"
    ),
    "beds": _count(0, 3000),
    "diagnosis": lambda c: _diagnosis(c, 1),
    "diagnosis_code": lambda c: _diagnosis(c, 0),
    "drug_name": _pick(
        "阿莫西林胶囊", "二甲双胍片", "硝苯地平缓释片", "布洛芬缓释胶囊", "奥美拉唑肠溶胶囊", "阿托伐他汀钙片"
    ),
    "drug_code": _join("XA", _digits("drug", 12)),
    "total_cost": _amount(20, 30000),
    "insurance_type": _pick("职工医保", "职工医保", "居民医保"),
    "practice_cert": _join("1103702", _digits("cert", 8)),
    "vaccine": _pick("乙肝疫苗", "麻腮风疫苗", "流感疫苗", "百白破疫苗", "脊灰疫苗", "HPV疫苗"),
    "care_level": _pick("轻度失能", "中度失能", "重度失能"),
    # education
    "school_name": _join(
        _DISTRICT,
        _pick("实验", "第一", "第二", "育才", "新华", "海滨", "金湾", "振华"),
        _pick("小学", "中学", "初级中学", "高级中学"),
    ),
    "school_type": _pick("小学", "初级中学", "高级中学", "九年一贯制学校", "完全中学"),
    "school_nature": _pick("公办", "公办", "公办", "民办"),
    "students": _count(80, 4000),
    "teachers": _count(10, 300),
    "enrol_plan": _count(20, 800),
    # transport
    "route_no": _join(_count(1, 999), "路"),
    "route_name": _join(_count(1, 999), "路（", _DISTRICT, "）"),
    "stop_name": _join(_pick(*q.ROADS[0], *q.ROADS[2], *q.ROADS[3]), _pick("站", "东站", "西站", "北站", "路口站")),
    "longitude": _num(119.5, 121.0, 6),
    "latitude": _num(35.6, 37.1, 6),
    "plate_no": _join("鲁", _pick("B", "U"), _digits("plate", 5)),
    "vehicle_type": _pick("小型普通客车", "大型普通客车", "重型半挂牵引车", "轻型厢式货车", "纯电动公交车"),
    "throughput": _num(1, 5000),
    "teu": _num(0.1, 200),
    "ship_name": _join("鲁青渔", _digits("ship", 5)),
    "flow_count": _count(100, 500000),
    # culture and tourism
    "scenic_name": _pick(
        "崂山风景区",
        "栈桥",
        "八大关景区",
        "小青岛公园",
        "青岛啤酒博物馆",
        "金沙滩景区",
        "琅琊台风景区",
        "大珠山风景区",
        "藏马山旅游度假区",
        "青岛海昌极地海洋公园",
    ),
    "scenic_level": _pick("5A", "4A", "4A", "3A", "3A", "2A"),
    "visitors": _count(100, 800000),
    "revenue": _amount(1, 80000),
    "venue_name": _pick(
        "青岛市图书馆", "青岛市博物馆", "青岛市美术馆", "青岛大剧院", "青岛市文化馆", "青岛市群众艺术馆"
    ),
    "open_hours": _pick("08:30-17:00", "09:00-17:30", "08:00-18:00", "全天开放"),
    "event_name": _pick("青岛国际啤酒节", "青岛国际帆船周", "海洋节", "市民文化节", "非遗展演"),
    "address": lambda c: q.address(c.g, "addr", "_d"),
    # commerce and cross-border e-commerce
    "export_amount": _amount(10, 50000),
    "import_amount": _amount(5, 20000),
    "trade_mode": _pick("9610", "9710", "9810", "1210"),
    "site_url": _join(
        "https://www.", _pick("ocean", "qdshop", "seabuy", "haina", "bluewave"), _digits("site", 4), ".com"
    ),
    "overseas_warehouse": _join(_pick("洛杉矶", "汉堡", "东京", "首尔", "迪拜", "圣保罗", "莫斯科", "悉尼"), "海外仓"),
    "warehouse_country": _pick("美国", "德国", "日本", "韩国", "阿联酋", "巴西", "俄罗斯", "澳大利亚"),
    "warehouse_area": _num(500, 50000, 1),
    "served_enterprises": _count(5, 800),
    "declarations": _count(1, 200000),
    "hs_code": _digits("hs", 10),
    "destination": _pick("美国", "日本", "韩国", "德国", "英国", "俄罗斯", "越南", "马来西亚", "澳大利亚", "巴西"),
    "retail_sales": _amount(10, 100000),
    # science
    "patent_no": _join("ZL", _year("py"), _pick("1", "2", "3"), _digits("pn", 7), ".", _count(0, 9)),
    "patent_name": _join(
        _pick("一种", "一种新型", "基于深度学习的", "一种智能"),
        _pick("海洋生物提取装置", "冷链温控系统", "轮胎硫化模具", "数据脱敏方法", "船舶防污涂层", "家电控制电路"),
    ),
    "patent_type": _pick("发明", "实用新型", "实用新型", "外观设计"),
    "legal_status": _pick("有效", "有效", "有效", "失效", "审中"),
    "project_name": _join(
        _pick("海洋装备", "工业互联网", "生物医药", "新能源", "数字经济", "智慧港口"),
        _pick("关键技术研发", "示范应用", "产业化", "平台建设"),
        "项目",
    ),
    "funding": _amount(5, 2000),
    "platform_name": _join(
        "青岛市",
        _pick("海洋生物", "智能制造", "工业互联网", "新材料", "数据要素"),
        _pick("工程技术研究中心", "重点实验室", "公共服务平台"),
    ),
    "contract_amount": _amount(1, 10000),
    # housing, land, environment, energy
    "project_code": _join("2022-370200-", _digits("pc1", 2), "-01-", _digits("pc2", 6)),
    "land_area": _num(200, 200000, 1),
    "building_area": _num(100, 500000, 1),
    "parcel_no": _join(_sql(q.division_of("_d")), _digits("parcel", 6), "GB", _digits("parcel2", 5)),
    "property_cert": _join("鲁（", _year("pcy"), "）青岛市不动产权第", _digits("pcn", 7), "号"),
    "monitor_site": _pick("市南区东部", "李沧区", "崂山区", "黄岛区", "城阳区", "仰口", "西海岸新区"),
    "pollutant": _pick("PM2.5", "PM10", "SO2", "NO2", "O3", "CO"),
    "concentration": _num(1, 150),
    "aqi": _count(15, 220),
    "account_no": _digits("acct", 10),
    "water_volume": _num(1, 20000),
    "power_kwh": _num(10, 2000000),
    "gas_volume": _num(1, 50000),
    "bill_amount": _amount(10, 1000000),
    # agriculture and ocean
    "crop": _pick("小麦", "玉米", "花生", "大姜", "马铃薯", "蓝莓", "葡萄", "茶叶"),
    "planting_area": _num(1, 5000, 1),
    "output": _num(1, 20000),
    "vessel_no": _join("3702", _digits("vessel", 8)),
    "vessel_power": _num(8, 900, 1),
    "sea_area": _num(0.5, 2000),
    "ranch_name": _join(_pick("崂山湾", "灵山湾", "鳌山湾", "胶州湾", "琅琊台", "斋堂岛"), "海洋牧场"),
    "species": _pick("海参", "鲍鱼", "扇贝", "牡蛎", "许氏平鲉", "大泷六线鱼", "海带", "对虾"),
    "catch_ton": _num(0.1, 500),
    "sea_temp": _num(2, 28, 1),
    "wave_height": _num(0.1, 5, 1),
    # safety, livelihood, organisations, geography
    "hazard_type": _pick("消防安全", "危险化学品", "特种设备", "建筑施工", "燃气安全", "交通安全"),
    "shelter_name": _join(_DISTRICT, _pick("中心广场", "体育中心", "公园", "学校操场"), "应急避难场所"),
    "capacity": _count(500, 50000),
    "subsidy_amount": _amount(50, 50000),
    "community": _join(_pick("海岸", "金门路", "浮山所", "湛山", "八大峡", "洛阳路", "辛家庄", "书院"), "社区"),
    "service_item": _pick("企业设立登记", "食品经营许可", "社保参保登记", "不动产登记", "公积金提取", "居住证办理"),
    "handle_dept": _pick("市行政审批服务局", "市人力资源和社会保障局", "市自然资源和规划局", "市住房公积金管理中心"),
    "time_limit": _count(1, 20),
    "social_org_type": _pick("社会团体", "民办非企业单位", "基金会"),
    "place_name": _pick(*q.ROADS[1], *q.ROADS[4], *q.ROADS[5]),
    "place_type": _pick("道路", "街巷", "小区", "自然村", "桥梁"),
    "map_scale": _pick("1:500", "1:2000", "1:10000", "1:50000"),
    "bid_project": _join(_DISTRICT, _pick("道路改造工程", "学校建设项目", "信息化平台采购", "绿化养护服务")),
    "bid_amount": _amount(5, 50000),
    "winner": _sql("e_name"),
    # bookkeeping
    "record_id": lambda c: f"({lit(c.g.salt.split(':', 1)[1][:24])} || '-' || lpad(CAST(r + 1 AS VARCHAR), 9, '0'))",
    "data_source": _pick("政务数据共享交换平台", "部门业务系统", "一网通办平台", "市级数据资源池"),
    "update_time": _datetime("upd"),
    "remark": lambda c: (
        f"CASE WHEN {c.g.chance('remark', 900)} THEN NULL ELSE {c.g.pick('rm', ('已核实', '待复核', '数据已更正'))} END"
    ),
    "category_name": _pick("一类", "二类", "三类"),
    "is_valid": lambda c: f"CASE WHEN {c.g.chance('valid', 950)} THEN 'true' ELSE 'false' END",
}


def _by_type(name: str, ftype: str, c: Ctx) -> str:
    if ftype == "integer":
        return f"CAST({c.g.integer(name, 0, 1000)} AS VARCHAR)"
    if ftype == "number":
        return c.g.number(name, 0, 10000)
    if ftype == "boolean":
        return f"CASE WHEN {c.g.chance(name, 500)} THEN 'true' ELSE 'false' END"
    if ftype == "date":
        return c.day(name)
    if ftype == "datetime":
        return _datetime(name)(c)
    if ftype == "year":
        return c.year(name)
    return f"({lit(name)} || '-' || {c.g.digits(name, 6)})"


def value_sql(name: str, ftype: str, c: Ctx) -> str:
    """The SQL of a column's synthetic value in a generic dataset."""
    make = VALUES.get(name)
    return make(c) if make else _by_type(name, ftype, c)


def spoiled(name: str, ftype: str, semantic: str | None, v: str) -> str | None:
    """A wrong version of value ``v`` that the store should reject, or None for free text."""
    if semantic in ("uscc", "resident_id"):
        return q.spoil_check(v)
    if semantic == "mobile":
        return f"left({v}, 10)"
    if semantic == "division_code":
        return "'3702'"
    if semantic == "amount":
        return "'约' || " + v
    if ftype == "date":
        return "'2021-02-30'"
    if ftype in ("integer", "number"):
        return "'不详'"
    if ftype == "year":
        return "'二〇二二'"
    if ftype == "boolean":
        return "'待定'"
    return None


PERSON_COLUMNS = ("_pd", "_pbirth", "_pseq", "_pid", "_pname")


def person_sql(inner: str, p: Gen) -> str:
    """``inner`` (a query with the person index ``_pi``) with the person's ``PERSON_COLUMNS`` added."""
    inner = (
        f"SELECT *, {p.district_index('pd', row='_pi')} AS _pd, "
        f"{p.date('birth', f'{q.BIRTH_FIRST_YEAR}-01-01', 30315, row='_pi')} AS _pbirth, "
        f"{p.integer('seq', 0, 999, row='_pi')} AS _pseq FROM ({inner})"
    )
    inner = f"SELECT *, {q.id_division('_pd', '_pbirth')} AS _pcode FROM ({inner})"
    resident = q.resident_id("_pd", "_pbirth", "_pseq", code="_pcode")
    return f"SELECT *, {resident} AS _pid, {p.person_name('name', row='_pi')} AS _pname FROM ({inner})"


@dataclass
class Dataset:
    """One table's synthetic records: ``rows`` generated rows (a ``where`` may drop some), one SQL
    expression per field, and the Table Schema they are loaded under."""

    code: str
    rows: int
    columns: list[tuple[str, str]]
    schema: dict[str, Any]
    enterprise: str | None = None  # SQL of _ei over r; joins the enterprise key table
    enterprises: tuple[int, int] | None = None  # the _ei range it draws from, when not every enterprise
    person: str | None = None  # SQL of _pi over r; adds a synthetic person
    district: str | None = None  # SQL of _d; default: the enterprise's, else drawn
    helpers: list[tuple[str, str]] = field(default_factory=list)  # more stage-one columns over r
    where: str | None = None
    dirty: str | None = None  # the column that gets the ~0.5% bad values
    salt: str = ""

    def sql(self, seed: int, enterprises_file: str, persons: Gen, persons_file: str | None = None) -> str:
        """The dataset's query; ``persons_file``: the person table to join (``records.person_table``,
        the same values as computing them per row)."""
        g = Gen(seed, self.salt or self.code)
        stage1 = ["range AS r"]
        if self.enterprise:
            stage1.append(f"{self.enterprise} AS _ei")
        if self.person:
            stage1.append(f"{self.person} AS _pi")
        stage1 += [f"{expr} AS {name}" for name, expr in self.helpers]
        inner = f"SELECT {', '.join(stage1)} FROM range({int(self.rows)})"
        if self.person and persons_file:
            columns = ", ".join(f"p.{c}" for c in PERSON_COLUMNS)
            inner = f"SELECT g.*, {columns} FROM ({inner}) g JOIN read_parquet({lit(persons_file)}) p ON p._pi = g._pi"
        elif self.person:
            inner = person_sql(inner, persons)
        if self.enterprise:
            table = f"read_parquet({lit(enterprises_file)})"
            if self.enterprises:  # read only the row groups that hold them (the file is sorted by e_idx)
                table = f"(SELECT * FROM {table} WHERE e_idx BETWEEN {self.enterprises[0]} AND {self.enterprises[1]})"
            inner = f"SELECT g.*, e.* FROM ({inner}) g JOIN {table} e ON e.e_idx = g._ei"
        district = self.district or ("e_dindex" if self.enterprise else g.district_index("district"))
        demo = f"_ei < {DEMO_ENTERPRISES}" if self.enterprise else "false"
        inner = (
            f"SELECT *, {district} AS _d, "
            f"((r * 7919 + {int(g.salt_number)}) % {DIRTY_EVERY} = 0 AND NOT {demo}) AS _dirty FROM ({inner})"
        )
        outputs = []
        fields = {f["name"]: f for f in self.schema["fields"]}
        for name, expr in self.columns:
            f = fields[name]
            if name == self.dirty:
                bad = spoiled(name, f.get("type", "string"), f.get("semanticType"), expr)
                if bad is not None:
                    expr = f"CASE WHEN _dirty THEN {bad} ELSE {expr} END"
            outputs.append(f'CAST({expr} AS VARCHAR) AS "{name}"')
        where = f" WHERE {self.where}" if self.where else ""
        return f"SELECT {', '.join(outputs)} FROM ({inner}){where}"


def schema_of(
    fields: list[Any], *, primary_key: list[str] | None = None, extra: dict[str, dict[str, Any]] | None = None
) -> dict[str, Any]:
    """A Table Schema for catalogue fields (objects with name, label, type, description,
    personal_kind): semantic types from ``SEMANTIC``, units from ``fields.UNITS``, personal kinds as
    declared; ``extra`` adds
    properties (constraints) per field."""
    out = []
    for f in fields:
        item: dict[str, Any] = {"name": f.name, "type": f.type, "title": f.label}
        if f.description:
            item["description"] = f.description
        semantic = SEMANTIC.get(f.name)
        if semantic:
            item["semanticType"] = semantic
        if f.personal_kind:
            item["personalKind"] = f.personal_kind
        unit = UNITS.get(f.name)
        if unit and f.type in ("integer", "number"):
            item["unit"] = unit
        item.update((extra or {}).get(f.name, {}))
        out.append(item)
    schema: dict[str, Any] = {"fields": out}
    if primary_key:
        schema["primaryKey"] = primary_key
    return schema


def dirty_column(fields: list[Any]) -> str | None:
    """The column whose values get spoiled: a coded identifier first, then any checkable type."""
    order = ("uscc", "resident_id", "mobile", "division_code", "amount")
    for semantic in order:
        for f in fields:
            if SEMANTIC.get(f.name) == semantic:
                return str(f.name)
    for f in fields:
        if f.type in ("date", "integer", "number", "year", "boolean") and f.name not in ("longitude", "latitude"):
            return str(f.name)
    return None
