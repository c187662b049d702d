"""Controlled vocabularies of the catalogue: the 19 categories, open types, security grades,
update frequencies, Qingdao's districts, personal-information kinds. Codes are English and stable;
labels are what users read."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class Term:
    code: str
    label: str
    description: str = ""
    uri: str = ""  # a standard vocabulary URI where one exists (DCAT export)


CATEGORIES: tuple[Term, ...] = (
    Term("business", "工商", "市场主体登记、年报、经营异常等工商数据"),
    Term("medical", "医疗", "医疗机构、医保、医药等“三医”数据"),
    Term("education", "教育", "学校、招生、教育资源数据"),
    Term("transport", "交通", "道路、公交、港口、航运数据"),
    Term("culture_tourism", "文旅", "文化场馆、旅游景区、节庆活动数据"),
    Term("social_security", "社保就业", "社会保险、就业创业、人才数据"),
    Term("finance_tax", "财税金融", "财政、税务、金融服务数据"),
    Term("credit", "信用", "公共信用信息、红黑名单、信用评价数据"),
    Term("housing", "城建住房", "城乡建设、住房保障、不动产数据"),
    Term("environment", "生态环境", "空气、水、噪声、污染源数据"),
    Term("agriculture", "农业农村", "农业生产、农村集体经济数据"),
    Term("ocean", "海洋", "海洋经济、渔业、海洋环境数据"),
    Term("commerce", "商贸流通", "商贸、外贸、跨境电商数据"),
    Term("science", "科技创新", "科技企业、专利、研发平台数据"),
    Term("public_safety", "公共安全", "应急管理、安全生产、消防数据"),
    Term("livelihood", "民生服务", "社区、养老、民政服务数据"),
    Term("energy", "资源能源", "水电气热、自然资源数据"),
    Term("organisations", "机构团体", "社会组织、事业单位、机关数据"),
    Term("geospatial", "地理空间", "地名地址、测绘、空间规划数据"),
)

_EU_ACCESS = "http://publications.europa.eu/resource/authority/access-right/"
OPEN_TYPES: tuple[Term, ...] = (
    Term("unconditional", "无条件开放", "任何人可直接获取", _EU_ACCESS + "PUBLIC"),
    Term("conditional", "有条件开放", "经申请批准并签订协议后按约定使用", _EU_ACCESS + "RESTRICTED"),
    Term("closed", "不予开放", "不向社会开放", _EU_ACCESS + "NON_PUBLIC"),
)

SECURITY_GRADES: tuple[Term, ...] = (
    Term("general", "一般"),
    Term("important", "重要"),
    Term("core", "核心"),
)

_EU_FREQ = "http://publications.europa.eu/resource/authority/frequency/"
UPDATE_FREQUENCIES: tuple[Term, ...] = (
    Term("realtime", "实时", uri=_EU_FREQ + "CONT"),
    Term("daily", "每日", uri=_EU_FREQ + "DAILY"),
    Term("weekly", "每周", uri=_EU_FREQ + "WEEKLY"),
    Term("monthly", "每月", uri=_EU_FREQ + "MONTHLY"),
    Term("quarterly", "每季度", uri=_EU_FREQ + "QUARTERLY"),
    Term("yearly", "每年", uri=_EU_FREQ + "ANNUAL"),
    Term("irregular", "不定期", uri=_EU_FREQ + "IRREG"),
)

CITYWIDE = "全市"
DISTRICTS: tuple[Term, ...] = (
    Term("370202", "市南区"),
    Term("370203", "市北区"),
    Term("370211", "黄岛区"),
    Term("370212", "崂山区"),
    Term("370213", "李沧区"),
    Term("370214", "城阳区"),
    Term("370215", "即墨区"),
    Term("370281", "胶州市"),
    Term("370283", "平度市"),
    Term("370285", "莱西市"),
)
DISTRICT_NAMES: tuple[str, ...] = tuple(d.label for d in DISTRICTS)
SPATIAL_COVERAGES: tuple[str, ...] = (CITYWIDE, *DISTRICT_NAMES)

# --- standard vocabularies of the DCAT export (docs/dcat.md) ---------------------------------

_EU = "http://publications.europa.eu/resource/authority/"

# Formats with a term in the EU file-type vocabulary (``{_EU}file-type/<code>``) and their IANA
# media types (None: no registered type).
FILE_TYPES: dict[str, str | None] = {
    "CSV": "text/csv",
    "JSON": "application/json",
    "XML": "application/xml",
    "XLS": "application/vnd.ms-excel",
    "XLSX": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "PARQUET": "application/vnd.apache.parquet",
    "PDF": "application/pdf",
    "ZIP": "application/zip",
    "GEOJSON": "application/geo+json",
    "SHP": None,
    "TXT": "text/plain",
    "RDF_TURTLE": "text/turtle",
}

# Planned availability, the EU vocabulary DCAT-AP 3 recommends for dcatap:availability: the platform
# keeps every registered resource and every published table version, so all are STABLE.
AVAILABILITY_SCHEME = _EU + "planned-availability"
AVAILABILITY_STABLE = Term("STABLE", "长期可用", uri=AVAILABILITY_SCHEME + "/STABLE")

# ADMS publisher types (dct:type of a publisher, recommended by DCAT-AP): the city's departments and
# its regulator are local government; the operator (state-owned) and every other party a company.
_ADMS = "http://purl.org/adms/publishertype/"
PUBLISHER_TYPE_SCHEME = _ADMS + "1.0"
PUBLISHER_TYPES: tuple[Term, ...] = (
    Term("LocalAuthority", "地方政府部门", uri=_ADMS + "LocalAuthority"),
    Term("Company", "企业", uri=_ADMS + "Company"),
)
_PUBLISHER_TYPE_OF_KIND = {"department": "LocalAuthority", "regulator": "LocalAuthority"}


def publisher_type(organisation_kind: str) -> Term:
    """The ADMS publisher type of an organisation of this kind (identity's OrganisationKind)."""
    code = _PUBLISHER_TYPE_OF_KIND.get(organisation_kind, "Company")
    return next(t for t in PUBLISHER_TYPES if t.code == code)


# the application scenarios the operator drives (the seed article: 医疗、航贸金、商贸、海洋、工业、交通、
# 文旅、社会) — data products and data registrations are classified by them
SCENARIOS: dict[str, str] = {
    "medical": "医疗健康",
    "shipping_trade_finance": "航贸金融",
    "commerce": "商贸流通",
    "ocean": "海洋经济",
    "industry": "工业制造",
    "transport": "交通出行",
    "culture_tourism": "文化旅游",
    "society": "社会民生",
}
Scenario = Literal[
    "medical", "shipping_trade_finance", "commerce", "ocean", "industry", "transport", "culture_tourism", "society"
]  # the keys of SCENARIOS (tests/catalog keeps them equal)

FIELD_TYPES: tuple[str, ...] = ("string", "integer", "number", "boolean", "date", "datetime", "year")

PERSONAL_KINDS: tuple[Term, ...] = (
    Term("name", "姓名"),
    Term("id_number", "身份证号"),
    Term("phone", "电话号码"),
    Term("address", "住址"),
    Term("bank_card", "银行卡号"),
    Term("health", "健康信息"),
    Term("other", "其他个人信息"),
)


def by_code(terms: tuple[Term, ...]) -> dict[str, Term]:
    return {t.code: t for t in terms}


CATEGORY_BY_CODE = by_code(CATEGORIES)
OPEN_TYPE_BY_CODE = by_code(OPEN_TYPES)
GRADE_BY_CODE = by_code(SECURITY_GRADES)
FREQUENCY_BY_CODE = by_code(UPDATE_FREQUENCIES)
PERSONAL_KIND_BY_CODE = by_code(PERSONAL_KINDS)


def resolve(terms: tuple[Term, ...], value: str) -> str | None:
    """Accept a term by its code or its Chinese label; return the code, or None if unknown."""
    for t in terms:
        if value in (t.code, t.label):
            return t.code
    return None
