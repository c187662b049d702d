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
