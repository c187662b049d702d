"""Organisations of the demo city and the word lists its enterprise names are drawn from.

Government bodies, the operator, banks and the other fixed parties are the same whatever the seed;
only the enterprises are drawn at random. Unified social credit codes (GB 32100-2015) are built
here: registration authority + category, a Qingdao division code, a GB 11714 organisation code, and
the check character from ``pubdata.standards``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from pubdata.catalog import vocab
from pubdata.standards import USCC_ALPHABET, uscc_with_check

QINGDAO = "370200"  # the city's own division code
DIVISION = {d.label: d.code for d in vocab.DISTRICTS}


def words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


@dataclass(frozen=True)
class OrgSpec:
    code: str
    name: str
    kind: str
    district: str | None = None
    description: str = ""
    uscc: str | None = None


# --- government departments (数据提供方) ------------------------------------------------------
# (code, name, what it publishes). Codes are stable: entry codes and later issues refer to them.
CITY_DEPARTMENTS: tuple[tuple[str, str, str], ...] = (
    ("qd-scjgj", "青岛市市场监督管理局", "市场主体登记、许可、知识产权、产品质量与食品药品监管"),
    ("qd-tax", "国家税务总局青岛市税务局", "税收征管、纳税信用评价、发票与税收统计"),
    ("qd-rsj", "青岛市人力资源和社会保障局", "社会保险、就业创业、人才与劳动关系"),
    ("qd-wjw", "青岛市卫生健康委员会", "医疗机构、医务人员、公共卫生与健康服务"),
    ("qd-ybj", "青岛市医疗保障局", "医保参保、定点医药机构、医保结算与药品集采"),
    ("qd-jyj", "青岛市教育局", "学校、招生、教育资源与学生资助"),
    ("qd-swj", "青岛市商务局", "商贸流通、对外贸易、跨境电商与外资"),
    ("qd-hyfzj", "青岛市海洋发展局", "海洋经济、渔业渔船、海域与海洋牧场"),
    ("qd-jtysj", "青岛市交通运输局", "道路、公交、出租、港航与交通运输经营许可"),
    ("qd-whlyj", "青岛市文化和旅游局", "文化场馆、旅游景区、旅行社与文旅活动"),
    ("qd-gaj", "青岛市公安局", "户籍人口、交通管理、出入境与治安管理"),
    ("qd-mzj", "青岛市民政局", "社会组织、养老服务、社会救助与婚姻登记"),
    ("qd-zrzyj", "青岛市自然资源和规划局", "国土空间规划、不动产登记、测绘地理信息"),
    ("qd-zjj", "青岛市住房和城乡建设局", "建设工程、房地产市场、住房保障与建筑业企业"),
    ("qd-sthjj", "青岛市生态环境局", "环境质量监测、污染源监管与环评审批"),
    ("qd-nyncj", "青岛市农业农村局", "农业生产、农产品质量、农村集体经济与农民合作社"),
    ("qd-kjj", "青岛市科学技术局", "科技企业、研发平台、科技计划项目与技术合同"),
    ("qd-czj", "青岛市财政局", "财政预决算、政府采购与惠企资金"),
    ("qd-yjj", "青岛市应急管理局", "安全生产、危险化学品、应急资源与自然灾害"),
    ("qd-cgj", "青岛市城市管理局", "市容环卫、城市照明、燃气供热与城市管理执法"),
    ("qd-swglj", "青岛市水务管理局", "供水排水、用水缴费、水资源与防汛"),
    ("qd-tjj", "青岛市统计局", "国民经济统计、规模以上企业统计与普查"),
    ("qd-gxj", "青岛市工业和信息化局", "工业运行、电力运行、专精特新与数字经济"),
    ("qd-hg", "青岛海关", "进出口申报、跨境电商监管与企业信用管理"),
    ("qd-jrj", "青岛市地方金融监督管理局", "地方金融组织、融资担保、普惠金融与企业上市"),
    ("qd-ggzy", "青岛市公共资源交易中心", "工程建设招投标、政府采购与产权交易"),
    ("qd-gjj", "青岛市住房公积金管理中心", "公积金缴存、提取与贷款"),
    ("qd-kab", "青岛市人民政府口岸办公室", "口岸通关、港口吞吐量与航线信息"),
    ("qd-fgw", "青岛市发展和改革委员会", "公共信用信息、项目审批、价格与能源"),
    ("qd-sfj", "青岛市司法局", "律师、公证、法律援助与行政执法监督"),
    ("qd-zy", "青岛市中级人民法院", "审判执行、失信被执行人与司法公开"),
    ("qd-xzsp", "青岛市行政审批服务局", "行政许可、政务服务事项与审批结果"),
    ("qd-tyj", "青岛市体育局", "体育场馆、全民健身与体育赛事"),
    ("qd-tyjrj", "青岛市退役军人事务局", "退役军人服务保障与优抚"),
)

# City bureaus that receive every district's applications of a duty (the loan-related packs name
# the districts' 科技 / 民营经济（中小企业） departments; the demo city routes them to the city bureaus,
# which the operator may change): duty → organisation code.
CITY_WIDE_REVIEWERS: dict[str, str] = {"industry": "qd-gxj", "tech": "qd-kjj", "sme": "qd-gxj"}

# District commerce bureaus (区/市商务主管部门) review cross-border e-commerce reward applications.
DISTRICT_COMMERCE_CODES: dict[str, str] = {
    "市南区": "sn-swj",
    "市北区": "sb-swj",
    "黄岛区": "hd-swj",
    "崂山区": "ls-swj",
    "李沧区": "lc-swj",
    "城阳区": "cy-swj",
    "即墨区": "jm-swj",
    "胶州市": "jz-swj",
    "平度市": "pd-swj",
    "莱西市": "lx-swj",
}


def district_commerce_name(district: str) -> str:
    # County-level cities' bureaus carry the city's own name, the urban districts carry 青岛市.
    return f"{district}商务局" if district.endswith("市") else f"青岛市{district}商务局"


OPERATOR_CODE = "huatong"
REGULATOR_CODE = "qd-dsj"
DEMO_ENTERPRISE_CODE = "ent-haianxian"  # the demo enterprise user's company

FIXED_PARTIES: tuple[OrgSpec, ...] = (
    OrgSpec(
        OPERATOR_CODE,
        "华通智能科技研究院有限公司",
        "operator",
        "市南区",
        "青岛华通集团所属，受市政府授权开展公共数据运营，建设运营青岛市公共数据运营平台（含金融专区、医疗专区）。",
    ),
    OrgSpec(
        REGULATOR_CODE,
        "青岛市大数据发展管理局",
        "regulator",
        None,
        "公共数据运营的主管部门：统筹数据汇聚、开放与运营的监督管理。",
    ),
    OrgSpec("bank-qdbank", "青岛银行股份有限公司", "bank", "崂山区", "总部位于青岛的城市商业银行。"),
    OrgSpec("bank-icbc", "中国工商银行股份有限公司青岛市分行", "bank", "市南区", "国有大型商业银行青岛分行。"),
    OrgSpec("bank-ccb", "中国建设银行股份有限公司青岛市分行", "bank", "市南区", "国有大型商业银行青岛分行。"),
    OrgSpec("bank-abc", "中国农业银行股份有限公司青岛分行", "bank", "市南区", "国有大型商业银行青岛分行。"),
    OrgSpec("bank-boc", "中国银行股份有限公司青岛市分行", "bank", "市南区", "国有大型商业银行青岛分行。"),
    OrgSpec("bank-qrcb", "青岛农村商业银行股份有限公司", "bank", "崂山区", "服务三农与小微企业的地方法人银行。"),
    OrgSpec(
        "appraisal-tianhe",
        "青岛天和资产评估有限公司",
        "appraisal_agency",
        "市南区",
        "具有证券期货相关业务评估资格的资产评估机构，开展数据资产评估。",
    ),
    OrgSpec(
        "merchant-yifang",
        "翼方健数（山东）信息科技有限公司",
        "data_merchant",
        "城阳区",
        "参与城阳区区域医疗数据运营试点的数商，提供医疗数据隐私计算服务。",
    ),
    OrgSpec(
        "merchant-haishu",
        "青岛海数通数据服务有限公司",
        "data_merchant",
        "黄岛区",
        "海洋与航贸数据产品开发商。",
    ),
    OrgSpec(
        "merchant-shuzhi",
        "青岛数智港科技有限公司",
        "data_merchant",
        "崂山区",
        "企业信用与普惠金融数据产品开发商。",
    ),
)


# --- enterprises -----------------------------------------------------------------------------
# Trade names (字号) and industries (with GB/T 4754-2017 codes) of the generated enterprises.
TRADE_NAMES = words(
    """
    海岸线 海纳 琴岛 崂峰 金沙滩 蓝海 鲁信 瑞丰 宏达 恒泰 海润 东方海韵 德盛 华润达 汇通 振华 海之星 青联 胶澳
    嘉禾 远洋 海晟 鑫源 润泽 泰和 博远 中联 海川 明德 诚信达 新航 正阳 聚福 盛隆 丰华 海天 云帆 星火 海鸥
    凯达 华信 利群 福瑞 天诚 海信达 金海岸 百川 汇丰源 鸿运 佳和 安泰 锦程 海洋之心 昊天 融通 万象 同舟 启航
    鼎盛 和瑞 卓越 海蓝 德润 宝丰 源丰 兴华 康达 海博 众诚 长青 晨光 恒丰 蓝鲸 海尚 鲁青 正元 华海 立德
    成远 金港 银沙 珠山 大珠山 小珠山 浮山 太平角 八大关 栈桥 石老人 灵山湾 鳌山 北岸 即发 汇泉
    """
)

INDUSTRIES: tuple[tuple[str, str, str], ...] = (
    # (name part, industry label, GB/T 4754 code)
    ("跨境电子商务", "互联网零售", "F5292"),
    ("国际贸易", "贸易代理", "F5181"),
    ("供应链管理", "供应链管理服务", "L7224"),
    ("海洋生物科技", "生物药品制品制造", "C2761"),
    ("智能装备", "其他通用设备制造", "C3499"),
    ("软件科技", "软件开发", "I6511"),
    ("信息技术", "信息系统集成服务", "I6531"),
    ("网络科技", "互联网信息服务", "I6421"),
    ("食品", "其他未列明食品制造", "C1499"),
    ("国际物流", "国际货物运输代理", "G5821"),
    ("冷链物流", "低温仓储", "G5961"),
    ("橡胶制品", "轮胎制造", "C2911"),
    ("家电科技", "家用制冷电器具制造", "C3851"),
    ("纺织服饰", "机织服装制造", "C1811"),
    ("精密机械", "金属切削机床制造", "C3421"),
    ("新材料科技", "其他合成材料制造", "C2659"),
    ("医疗器械", "医疗诊断监护及治疗设备制造", "C3581"),
    ("生物医药", "化学药品制剂制造", "C2720"),
    ("建筑工程", "房屋建筑业", "E4790"),
    ("港口服务", "港口货物装卸搬运", "G5532"),
    ("水产", "水产品冷冻加工", "C1361"),
    ("海洋工程", "海洋工程建筑", "E4823"),
    ("船舶配套", "船用配套设备制造", "C3734"),
    ("电子科技", "其他电子设备制造", "C3990"),
    ("新能源科技", "太阳能发电", "D4416"),
    ("文化传媒", "文艺创作与表演", "R8810"),
    ("旅游发展", "旅行社服务", "L7271"),
    ("餐饮管理", "正餐服务", "H6210"),
    ("啤酒饮料", "啤酒制造", "C1513"),
    ("检测技术", "检测服务", "M7452"),
    ("环保科技", "环境保护监测", "N7461"),
    ("农业发展", "蔬菜种植", "A0141"),
    ("汽车零部件", "汽车零部件及配件制造", "C3670"),
    ("轨道交通装备", "高铁车组制造", "C3711"),
    ("数据科技", "数据处理和存储支持服务", "I6550"),
)

COMPANY_FORMS = ("有限公司", "有限公司", "有限公司", "股份有限公司", "集团有限公司")

# Towns and villages for co-operatives (93…) and village collectives (N2…), by district.
RURAL_PLACES: dict[str, tuple[str, ...]] = {
    "即墨区": ("灵山街道", "鳌山卫街道", "移风店镇", "段泊岚镇"),
    "胶州市": ("里岔镇", "胶莱街道", "洋河镇", "铺集镇"),
    "平度市": ("大泽山镇", "店子镇", "明村镇", "南村镇"),
    "莱西市": ("店埠镇", "马连庄镇", "南墅镇", "院上镇"),
    "黄岛区": ("宝山镇", "大村镇", "六汪镇", "海青镇"),
    "城阳区": ("惜福镇街道", "夏庄街道", "上马街道"),
}
VILLAGES = words("东庄头 西河 南岚 北埠 前店 后屯 大王 小李家 孙家 姜家庄 河崖 官庄 岚西 山后 东沟")
COOP_PRODUCTS = ("葡萄", "蓝莓", "果蔬", "茶叶", "大姜", "马铃薯", "花生", "生猪养殖", "海参养殖", "樱桃")

# Weights of where enterprises are registered.
ENTERPRISE_DISTRICT_WEIGHTS: dict[str, int] = {
    "市南区": 14,
    "市北区": 11,
    "黄岛区": 18,
    "崂山区": 12,
    "李沧区": 7,
    "城阳区": 12,
    "即墨区": 9,
    "胶州市": 8,
    "平度市": 5,
    "莱西市": 4,
}


# --- identifiers -----------------------------------------------------------------------------


def organisation_code(body8: str) -> str:
    """A GB 11714 organisation code: eight characters and their check character."""
    weights = (3, 7, 9, 10, 5, 8, 4, 2)
    total = sum((int(c) if c.isdigit() else ord(c) - 55) * w for c, w in zip(body8, weights, strict=True))
    check = 11 - total % 11
    return body8 + ("X" if check == 10 else "0" if check == 11 else str(check))


_LETTERS_DIGITS = USCC_ALPHABET  # the USCC alphabet avoids I, O, Z, S, V


def uscc(rng: random.Random, prefix2: str, division: str, style: str = "MA") -> str:
    """A valid unified social credit code: ``prefix2`` (e.g. 91, 93, N2, 11), a division code, an
    organisation code in the given style (``MA``/``MF`` new-style or ``old`` all-digit)."""
    if style == "old":
        body = "".join(rng.choice("0123456789") for _ in range(8))
    else:
        body = style + "".join(rng.choice(_LETTERS_DIGITS) for _ in range(6))
    return uscc_with_check(prefix2 + division + organisation_code(body))


def fixed_uscc(key: str, prefix2: str, division: str = QINGDAO, style: str = "MA") -> str:
    """A code that is the same whatever the seed (``random.Random(str)`` hashes with SHA-512)."""
    return uscc(random.Random(f"uscc:{key}"), prefix2, division, style)
