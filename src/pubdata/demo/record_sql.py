"""DuckDB SQL building blocks for the demo city's synthetic records.

Every value is a pure function of the row number ``r`` and a salt (seed, dataset, column) through
DuckDB's ``hash``: the same seed gives the same rows, no Python runs per row, and a relation of any
size is one ``SELECT … FROM range(n)``. Identifiers carry real check characters computed in SQL:
unified social credit codes (GB 32100-2015, over a GB 11714 organisation code) and resident ID
numbers (GB 11643-1999, ISO 7064 MOD 11-2, real birth dates, Qingdao division codes).
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Sequence
from typing import TypeVar

from pubdata.catalog import vocab
from pubdata.standards import USCC_ALPHABET

T = TypeVar("T")
DISTRICTS: tuple[str, ...] = tuple(d.label for d in vocab.DISTRICTS)
DIVISIONS: tuple[str, ...] = tuple(d.code for d in vocab.DISTRICTS)
# Where people and places are, roughly by population (市南 … 莱西), same order as DISTRICTS.
DISTRICT_WEIGHTS = (6, 10, 14, 5, 6, 9, 11, 9, 12, 7)

USCC_WEIGHTS = tuple(pow(3, i, 31) for i in range(17))
ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
RID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
RID_CHECK = "10X98765432"

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡姜孙崔薛毕隋曲栾逄宫臧"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍鹏辉波宁欣怡浩然子涵梓轩雨桐一诺建国海燕春梅志强晓东"
ROADS: tuple[tuple[str, ...], ...] = (
    ("香港中路", "山东路", "南京路", "东海西路"),  # 市南区
    ("辽宁路", "延吉路", "敦化路", "福州北路"),  # 市北区
    ("长江中路", "黄河东路", "井冈山路", "珠江路"),  # 黄岛区
    ("海尔路", "松岭路", "株洲路", "深圳路"),  # 崂山区
    ("重庆中路", "四流中路", "九水东路", "巨峰路"),  # 李沧区
    ("正阳路", "春阳路", "长城路", "黑龙江中路"),  # 城阳区
    ("鹤山路", "蓝鳌路", "烟青路", "振华街"),  # 即墨区
    ("福州支路", "扬州路", "兰州东路", "常州路"),  # 胶州市
    ("红旗路", "胜利路", "杭州路", "常州路"),  # 平度市
    ("烟台路", "上海东路", "石岛路", "威海东路"),  # 莱西市
)
MOBILE_PREFIXES = (
    "130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151", "152", "153", "155",
    "156", "157", "158", "159", "177", "180", "181", "182", "183", "185", "186", "187", "188", "189", "199",
)  # fmt: skip


def lit(value: str) -> str:
    """A SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def cat(*parts: str) -> str:
    """SQL text concatenation of SQL expressions."""
    return "(" + " || ".join(parts) + ")"


def when(condition: str, then: str, otherwise: str = "NULL") -> str:
    return f"CASE WHEN {condition} THEN {then} ELSE {otherwise} END"


def text(expr: str) -> str:
    return f"CAST({expr} AS VARCHAR)"


def str_list(values: Sequence[str]) -> str:
    return "[" + ", ".join(lit(v) for v in values) + "]"


def weighted(values: Sequence[T], weights: Sequence[int]) -> list[T]:
    """Values repeated by their (small integer) weights, for ``pick``."""
    return [v for v, w in zip(values, weights, strict=True) for _ in range(w)]


def digit_sum(expr: str, digits: int, weights: Sequence[int]) -> str:
    """SQL for Σ digit_i × weight_i over the ``digits`` decimal digits of an integer expression
    (most significant first), without formatting it as text."""
    terms = []
    for i, w in enumerate(weights):
        power = 10 ** (digits - 1 - i)
        terms.append(f"({expr} // {power} % 10) * {w}")
    return "(" + " + ".join(terms) + ")"


class Gen:
    """Random values for one dataset: ``h(key)`` is a 64-bit hash of the row and the salt."""

    def __init__(self, seed: int, dataset: str, row: str = "r") -> None:
        self.salt = f"{seed}:{dataset}"
        self.row = row

    @property
    def salt_number(self) -> int:
        """A number from the salt (for offsets that must differ between datasets)."""
        return zlib.crc32(self.salt.encode())

    def h(self, key: str, row: str | None = None) -> str:
        return f"hash({row or self.row}, {lit(self.salt + ':' + key)})"

    def integer(self, key: str, lo: int, hi: int, row: str | None = None) -> str:
        """Uniform integer in [lo, hi]."""
        return f"({lo} + CAST({self.h(key, row)} % {hi - lo + 1} AS BIGINT))"

    def unit(self, key: str, row: str | None = None) -> str:
        """Uniform number in [0, 1)."""
        return f"(CAST({self.h(key, row)} % 1000000 AS DOUBLE) / 1000000.0)"

    def chance(self, key: str, per_mille: int, row: str | None = None) -> str:
        return f"({self.h(key, row)} % 1000 < {per_mille})"

    def pick(self, key: str, values: Sequence[str], row: str | None = None) -> str:
        return f"{str_list(values)}[1 + CAST({self.h(key, row)} % {len(values)} AS BIGINT)]"

    def log_amount(self, key: str, lo: float, hi: float, decimals: int = 2, row: str | None = None) -> str:
        """A positive amount spread log-uniformly over [lo, hi] (many small, few large), as text."""
        u = self.unit(key, row)
        return f"CAST(round(exp(ln({lo}) + {u} * (ln({hi}) - ln({lo}))), {decimals}) AS VARCHAR)"

    def number(self, key: str, lo: float, hi: float, decimals: int = 2, row: str | None = None) -> str:
        u = self.unit(key, row)
        return f"CAST(round({lo} + {u} * {hi - lo}, {decimals}) AS VARCHAR)"

    def date(self, key: str, start: str, days: int, row: str | None = None) -> str:
        """A DATE in [start, start + days)."""
        return f"(DATE {lit(start)} + CAST({self.h(key, row)} % {days} AS INTEGER))"

    def digits(self, key: str, n: int, row: str | None = None) -> str:
        return f"lpad(CAST({self.h(key, row)} % {10**n} AS VARCHAR), {n}, '0')"

    def person_name(self, key: str, row: str | None = None) -> str:
        surname = f"substr({lit(SURNAMES)}, {self.integer(key + ':s', 1, len(SURNAMES), row)}, 1)"
        first = f"substr({lit(GIVEN)}, {self.integer(key + ':g1', 1, len(GIVEN), row)}, 1)"
        second = f"substr({lit(GIVEN)}, {self.integer(key + ':g2', 1, len(GIVEN), row)}, 1)"
        return f"({surname} || {first} || CASE WHEN {self.chance(key + ':two', 700, row)} THEN {second} ELSE '' END)"

    def mobile(self, key: str, row: str | None = None) -> str:
        return f"({self.pick(key + ':p', MOBILE_PREFIXES, row)} || {self.digits(key + ':n', 8, row)})"

    def landline(self, key: str, row: str | None = None) -> str:
        return f"('0532-8' || {self.digits(key, 7, row)})"

    def district_index(self, key: str, row: str | None = None) -> str:
        """0-based index into DISTRICTS, weighted by population."""
        table = _int_list(weighted(list(range(10)), DISTRICT_WEIGHTS))
        return f"{table}[1 + CAST({self.h(key, row)} % {sum(DISTRICT_WEIGHTS)} AS BIGINT)]"


def _int_list(values: Sequence[int] | Sequence[str] | range) -> str:
    return "[" + ", ".join(str(v) for v in values) + "]"


def district_of(index: str) -> str:
    return f"{str_list(DISTRICTS)}[{index} + 1]"


def division_of(index: str) -> str:
    return f"{str_list(DIVISIONS)}[{index} + 1]"


def address(g: Gen, key: str, district_index: str, row: str | None = None) -> str:
    roads = "[" + ", ".join(str_list(r) for r in ROADS) + "]"
    road = f"{roads}[{district_index} + 1][{g.integer(key + ':road', 1, 4, row)}]"
    return (
        f"({district_of(district_index)} || {road} || CAST({g.integer(key + ':no', 1, 399, row)} AS VARCHAR) || '号')"
    )


# --- identifiers with check characters ----------------------------------------------------------


BIRTH_FIRST_YEAR, BIRTH_LAST_YEAR = 1940, 2022
# A district's resident ID address codes, newest first: the code a person gets is the one in force
# in their birth year (python-stdnum checks this), e.g. 即墨区 370215 since 2017, 即墨市 370282 in
# 1989–2016, 即墨县 370222 before.
ID_DIVISIONS: tuple[tuple[str, ...], ...] = (
    ("370202", "370220"),  # 市南区
    ("370203", "370220"),  # 市北区
    ("370211", "370223"),  # 黄岛区
    ("370212", "370221"),  # 崂山区
    ("370213", "370206", "370220"),  # 李沧区
    ("370214", "370212", "370221"),  # 城阳区
    ("370215", "370282", "370222"),  # 即墨区
    ("370281", "370224"),  # 胶州市
    ("370283", "370226"),  # 平度市
    ("370285", "370225"),  # 莱西市
)


def _in_force(code: str, year: int) -> bool:
    from stdnum import numdb

    county = dict(numdb.get("cn/loc").info(code)[-1][1]).get("county", "")
    match = re.match(r"\[(\d*)-(\d*)\]", county)
    if not county:
        return False
    if not match:
        return True
    start, end = match.groups()
    return (not start or year >= int(start)) and (not end or year <= int(end))


def _id_division_table() -> list[str]:
    out = []
    for codes in ID_DIVISIONS:
        for year in range(BIRTH_FIRST_YEAR, BIRTH_LAST_YEAR + 1):
            usable = [c for c in (*codes, "370220", "370201") if _in_force(c, year)]
            out.append(usable[0])
    return out


_ID_DIVISION_TABLE = _id_division_table()


def id_division(district_index: str, birth: str) -> str:
    """The resident ID address code in force in the birth year (a DATE) for the district (index into
    DISTRICTS)."""
    years = BIRTH_LAST_YEAR - BIRTH_FIRST_YEAR + 1
    # the 830 six-digit codes as one string constant: a list of 830 literals, repeated in each term of
    # the check digit's sum, made a person dataset's query take ~40 ms to plan
    at = f"({district_index} * {years} + year({birth}) - {BIRTH_FIRST_YEAR}) * 6 + 1"
    return f"substr({lit(''.join(_ID_DIVISION_TABLE))}, CAST({at} AS BIGINT), 6)"


def resident_id(district_index: str, birth: str, seq: str, code: str | None = None) -> str:
    """A GB 11643-1999 resident ID number: the address code in force in the birth year for the
    district (index into DISTRICTS), the birth DATE (1940–2022) and a 0–999 sequence (odd for men),
    with its ISO 7064 MOD 11-2 check digit. ``code``: a column already holding ``id_division`` (the
    expression is used seven times: as a column it is computed, and planned, once)."""
    code = code or id_division(district_index, birth)
    ymd = f"(year({birth}) * 10000 + month({birth}) * 100 + day({birth}))"
    total = (
        f"({digit_sum(f'CAST({code} AS BIGINT)', 6, RID_WEIGHTS[:6])} + {digit_sum(ymd, 8, RID_WEIGHTS[6:14])} "
        f"+ {digit_sum(seq, 3, RID_WEIGHTS[14:])})"
    )
    check = f"substr({lit(RID_CHECK)}, CAST({total} % 11 AS INTEGER) + 1, 1)"
    return f"({code} || strftime({birth}, '%Y%m%d') || lpad(CAST({seq} AS VARCHAR), 3, '0') || {check})"


def uscc(division: str, org8: str, prefix: str = "91") -> str:
    """A GB 32100-2015 code: ``prefix`` (two digits), a division code (SQL text of six digits), a
    GB 11714 organisation code from an 8-digit integer ``org8`` and its check character, and the
    code's own check character."""
    assert prefix.isdigit() and len(prefix) == 2
    org_check = f"(11 - {digit_sum(org8, 8, ORG_WEIGHTS)} % 11)"
    # the organisation check character: 10 → X, 11 → 0; as a value in the USCC alphabet (X = 29)
    org_value = f"(CASE {org_check} WHEN 10 THEN {USCC_ALPHABET.index('X')} WHEN 11 THEN 0 ELSE {org_check} END)"
    org_char = f"(CASE {org_check} WHEN 10 THEN 'X' WHEN 11 THEN '0' ELSE CAST({org_check} AS VARCHAR) END)"
    div_int = f"CAST({division} AS BIGINT)"
    head = int(prefix[0]) * USCC_WEIGHTS[0] + int(prefix[1]) * USCC_WEIGHTS[1]
    total = (
        f"({head} + {digit_sum(div_int, 6, USCC_WEIGHTS[2:8])} + {digit_sum(org8, 8, USCC_WEIGHTS[8:16])} "
        f"+ {org_value} * {USCC_WEIGHTS[16]})"
    )
    check = f"substr({lit(USCC_ALPHABET)}, CAST((31 - {total} % 31) % 31 AS INTEGER) + 1, 1)"
    return f"({lit(prefix)} || {division} || lpad(CAST({org8} AS VARCHAR), 8, '0') || {org_char} || {check})"


def spoil_check(expr: str) -> str:
    """The identifier with a wrong final check character (a typical keying error)."""
    return f"(left({expr}, length({expr}) - 1) || CASE WHEN right({expr}, 1) = '1' THEN '2' ELSE '1' END)"
