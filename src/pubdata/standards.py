"""Chinese identifier standards shared by every domain.

The unified social credit code check follows GB 32100-2015 and uses python-stdnum's check-character
routine, but not its ``validate``: stdnum requires the first eight characters to be digits, which
wrongly rejects lawful codes whose registration-authority and category characters are letters
(e.g. ``N`` for agricultural collectives registered by agriculture departments).
"""

from __future__ import annotations

from stdnum.cn import ric as _ric
from stdnum.cn import uscc as _uscc
from stdnum.exceptions import ValidationError

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def uscc_problem(code: str) -> str | None:
    """Return why ``code`` is not a valid unified social credit code, or None when it is valid."""
    code = code.strip().upper()
    if len(code) != 18:
        return "统一社会信用代码应为18位"
    if any(c not in USCC_ALPHABET for c in code):
        return "统一社会信用代码含有不允许的字符（不使用 I、O、Z、S、V）"
    if not code[2:8].isdigit():
        return "统一社会信用代码第3至8位应为行政区划代码"
    if _uscc.calc_check_digit(code[:17]) != code[17]:
        return "统一社会信用代码校验位错误"
    return None


def uscc_with_check(first17: str) -> str:
    """Complete a 17-character body with its GB 32100-2015 check character."""
    return first17 + _uscc.calc_check_digit(first17)


def resident_id_problem(number: str) -> str | None:
    """Return why ``number`` is not a valid resident ID number (GB 11643-1999), or None."""
    try:
        _ric.validate(number)
    except ValidationError as exc:
        return f"居民身份证号码无效：{exc}"
    return None


# GB/T 4754-2017 国民经济行业分类: the sections (门类), the letter an industry code starts with.
INDUSTRY_SECTIONS: dict[str, str] = {
    "A": "农、林、牧、渔业", "B": "采矿业", "C": "制造业", "D": "电力、热力、燃气及水生产和供应业",
    "E": "建筑业", "F": "批发和零售业", "G": "交通运输、仓储和邮政业", "H": "住宿和餐饮业",
    "I": "信息传输、软件和信息技术服务业", "J": "金融业", "K": "房地产业", "L": "租赁和商务服务业",
    "M": "科学研究和技术服务业", "N": "水利、环境和公共设施管理业", "O": "居民服务、修理和其他服务业",
    "P": "教育", "Q": "卫生和社会工作", "R": "文化、体育和娱乐业", "S": "公共管理、社会保障和社会组织",
    "T": "国际组织",
}  # fmt: skip


def industry_section(code: str | None) -> str | None:
    """The GB/T 4754 section letter of an industry code such as ``C3499`` (None when it has none)."""
    letter = (code or "").strip()[:1].upper()
    return letter if letter in INDUSTRY_SECTIONS else None
