"""Vectorised semantic-type checks (pubdata.store.ingest.semantic) against python-stdnum and scalar references.

Every oracle test loads thousands of generated values into one DuckDB table and evaluates the SQL
over the whole column in a single query, then compares row by row with the Python verdicts.
"""

from __future__ import annotations

import datetime as dt
import random
import unicodedata
from collections.abc import Iterator

import duckdb
import pyarrow as pa
import pytest
from stdnum.cn import ric, uscc

from pubdata.standards import USCC_ALPHABET, uscc_problem, uscc_with_check
from pubdata.store.ingest.semantic import (
    KINDS,
    Reject,
    check_characters_ok,
    check_relation,
    fast_path,
    normalise_sql,
    problem_sql,
    quote_identifier,
    rejects_sql,
)

FULLWIDTH = str.maketrans({chr(c): chr(c + 0xFEE0) for c in range(0x21, 0x7F)})


@pytest.fixture
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    connection = duckdb.connect()
    yield connection
    connection.close()


def evaluate(
    con: duckdb.DuckDBPyConnection, kind: str, values: list[str | None]
) -> list[tuple[str | None, str | None]]:
    """(canonical value, problem) for each value, computed in one query over one table."""
    arrow_values = pa.table({"i": list(range(len(values))), "v": pa.array(values, type=pa.string())})
    con.register("arrow_values", arrow_values)
    con.execute("CREATE OR REPLACE TABLE sample AS SELECT * FROM arrow_values")
    con.unregister("arrow_values")
    rows = con.execute(f"SELECT {normalise_sql(kind, 'v')}, {problem_sql(kind, 'v')} FROM sample ORDER BY i").fetchall()
    assert len(rows) == len(values)
    # The shortcut ingestion takes for values already canonical and valid must give the same answers.
    for deferred in (False, True):
        fast = fast_path(kind, "v", defer_check_character=deferred)
        if fast is None:
            continue
        cond, canonical = fast.condition, fast.canonical
        got = con.execute(
            f"SELECT v, {cond}, CASE WHEN {cond} THEN {canonical} ELSE {normalise_sql(kind, 'v')} END, "
            f"CASE WHEN {cond} THEN NULL ELSE {problem_sql(kind, 'v')} END FROM sample ORDER BY i"
        ).fetchall()
        shortcut = [(r[2], r[3]) for r in got]
        if fast.check_character:
            # The shortcut left the check character to NumPy: where it fails, the full check answers.
            taken = [r[0] for r in got if r[1]]
            ok = iter(check_characters_ok(fast.check_character, pa.array(taken, type=pa.string())))
            shortcut = [
                s if not r[1] or next(ok) else rows[i] for i, (r, s) in enumerate(zip(got, shortcut, strict=True))
            ]
            wrong = [r[0] for i, r in enumerate(got) if r[1] and rows[i][1] is not None]
            assert all(rows[values.index(w)][1].endswith("校验位错误") for w in wrong)
        assert [(i, values[i], s) for i, s in enumerate(shortcut) if s != rows[i]] == []
    return [(r[0], r[1]) for r in rows]


def nfkc(value: str) -> str:
    return unicodedata.normalize("NFKC", value).strip()


# --- unified social credit code ----------------------------------------------------------------------

REGISTRATION = "1234589ANY"  # authority characters seen in practice, letters included
CATEGORY = "123459"
BODY_ALPHABET = USCC_ALPHABET


def random_uscc(rng: random.Random, *, letter_first: bool | None = None) -> str:
    if letter_first is None:
        first = rng.choice(REGISTRATION)
    else:
        first = rng.choice("ANY") if letter_first else rng.choice("159")
    body = first + rng.choice(CATEGORY) + f"{rng.randrange(110000, 830000):06d}"
    body += "".join(rng.choice(BODY_ALPHABET) for _ in range(9))
    return uscc_with_check(body)


def corrupt_uscc(rng: random.Random, code: str) -> str:
    how = rng.randrange(8)
    if how == 0:  # wrong check character
        return code[:17] + rng.choice([c for c in USCC_ALPHABET if c != code[17]])
    if how == 1:  # wrong length
        return code[:-1] if rng.random() < 0.5 else code + rng.choice("0123456789")
    if how == 2:  # lower case (valid once normalised)
        return code.lower()
    if how == 3:  # full-width (valid once normalised)
        return code.translate(FULLWIDTH)
    if how == 4:  # forbidden letter
        i = rng.randrange(18)
        return code[:i] + rng.choice("IOZSV") + code[i + 1 :]
    if how == 5:  # letter in the division code
        i = rng.randrange(2, 8)
        return code[:i] + rng.choice("ABCDEFGH") + code[i + 1 :]
    if how == 6:  # a changed body character (check no longer matches, except by chance)
        i = rng.randrange(17)
        return code[:i] + rng.choice(USCC_ALPHABET) + code[i + 1 :]
    return "  " + code + "\u3000"  # padded with ASCII and ideographic spaces


def test_uscc_matches_scalar_reference_over_thousands_of_codes(con: duckdb.DuckDBPyConnection) -> None:
    rng = random.Random(32100)
    values = [random_uscc(rng) for _ in range(3000)]
    values += [corrupt_uscc(rng, random_uscc(rng)) for _ in range(5000)]
    results = evaluate(con, "uscc", values)
    mismatches = [
        (value, problem, uscc_problem(nfkc(value)))
        for value, (_, problem) in zip(values, results, strict=True)
        if problem != uscc_problem(nfkc(value))
    ]
    assert mismatches == []
    # The sample really exercises both verdicts and every reason.
    reasons = {problem for _, problem in results}
    assert None in reasons
    assert {
        "统一社会信用代码应为18位",
        "统一社会信用代码校验位错误",
        "统一社会信用代码第3至8位应为行政区划代码",
        "统一社会信用代码含有不允许的字符（不使用 I、O、Z、S、V）",
    } <= reasons


def test_uscc_agrees_with_stdnum_on_digit_first_codes(con: duckdb.DuckDBPyConnection) -> None:
    rng = random.Random(7)
    values = [random_uscc(rng, letter_first=False) for _ in range(1500)]
    values += [corrupt_uscc(rng, random_uscc(rng, letter_first=False)) for _ in range(3000)]
    results = evaluate(con, "uscc", values)
    for value, (_, problem) in zip(values, results, strict=True):
        assert (problem is None) == uscc.is_valid(nfkc(value)), value


def test_letter_first_uscc_accepted_where_stdnum_wrongly_rejects(con: duckdb.DuckDBPyConnection) -> None:
    rng = random.Random(11)
    values = [random_uscc(rng, letter_first=True) for _ in range(500)]
    values += [uscc_with_check("N2370212MA3C0001"[:16] + "1"), uscc_with_check("Y13702000000000AB")]
    results = evaluate(con, "uscc", values)
    assert all(problem is None for _, problem in results)
    # python-stdnum rejects every one of them: this is the difference GB 32100 requires us to fix.
    assert not any(uscc.is_valid(v) for v in values)
    # Letter-first codes still have their check character verified.
    bad = values[0][:17] + ("0" if values[0][17] != "0" else "1")
    assert evaluate(con, "uscc", [bad])[0][1] == "统一社会信用代码校验位错误"


# --- resident ID number ------------------------------------------------------------------------------

PLACES = ["370202", "370203", "370211", "370212", "370213", "370214", "110105", "310101", "440305", "510104"]
TODAY = dt.date.today()


def random_birth(rng: random.Random) -> dt.date:
    start = dt.date(1900, 1, 1).toordinal()
    return dt.date.fromordinal(rng.randrange(start, TODAY.toordinal() + 1))


def with_check(body17: str) -> str:
    return body17 + ric.calc_check_digit(body17 + "0")


def random_ric(rng: random.Random) -> str:
    while True:
        number = with_check(rng.choice(PLACES) + random_birth(rng).strftime("%Y%m%d") + f"{rng.randrange(1000):03d}")
        if ric.is_valid(number):  # stdnum also checks the county existed in the birth year
            return number


def corrupt_ric(rng: random.Random, number: str) -> str:
    how = rng.randrange(9)
    if how == 0:
        return number[:17] + rng.choice([c for c in "0123456789X" if c != number[17]])
    if how == 1:  # an impossible date, check digit recomputed so only the date is wrong
        return with_check(number[:6] + rng.choice(["19990230", "20231301", "20230100", "19000229", "20210931"]) + "123")
    if how == 2:  # before 1900 or in the future
        year = rng.choice([1899, 1850, TODAY.year + 1, TODAY.year + 30])
        return with_check(number[:6] + f"{year}0615" + number[14:17])
    if how == 3:
        return number.lower()
    if how == 4:
        return number.translate(FULLWIDTH)
    if how == 5:
        return number[:-1] if rng.random() < 0.5 else number + "1"
    if how == 6:
        i = rng.randrange(17)
        return number[:i] + "A" + number[i + 1 :]
    if how == 7:  # no such province
        return with_check(rng.choice(["99", "00", "19", "72"]) + number[2:17])
    return number


def birth_ok(number: str) -> bool:
    try:
        born = dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return False
    return dt.date(1900, 1, 1) <= born <= TODAY


def test_resident_id_matches_stdnum_plus_date_range(con: duckdb.DuckDBPyConnection) -> None:
    rng = random.Random(11643)
    values = [random_ric(rng) for _ in range(2000)]
    values += [corrupt_ric(rng, random_ric(rng)) for _ in range(5000)]
    results = evaluate(con, "resident_id", values)
    for value, (canonical, problem) in zip(values, results, strict=True):
        compact = ric.compact(nfkc(value))
        expected_valid = ric.is_valid(compact) and birth_ok(compact)
        assert (problem is None) == expected_valid, (value, problem)
        if problem is None:
            assert canonical == compact
    reasons = {problem for _, problem in results}
    assert {"身份证号码校验位错误", "身份证号码出生日期无效", "身份证号码地址码无效", "身份证号码应为18位"} <= reasons


def test_resident_id_specific_reasons(con: duckdb.DuckDBPyConnection) -> None:
    valid = "11010519491231002X"
    cases = {
        "11010519491231002x": None,  # lower-case check character is normalised
        "１１０１０５１９４９１２３１００２Ｘ": None,
        "110105 1949 1231 002X": None,
        with_check("110105" + "19990230" + "123"): "身份证号码出生日期无效",
        with_check("110105" + "18991231" + "123"): "身份证号码出生日期无效",
        with_check("110105" + f"{TODAY.year + 1}0101" + "123"): "身份证号码出生日期无效",
        valid[:17] + "1": "身份证号码校验位错误",
        "110105491231002": "身份证号码为15位旧号码，应使用18位号码",
        "1101051949123100": "身份证号码应为18位",
        "1101051949A231002X": "身份证号码前17位应为数字，末位应为数字或X",
        with_check("990105" + "19491231" + "002"): "身份证号码地址码无效",
    }
    results = evaluate(con, "resident_id", list(cases))
    assert [p for _, p in results] == list(cases.values())
    assert results[0][0] == valid


# --- every other kind: specific and tricky cases -----------------------------------------------------

CASES: list[tuple[str, str, str | None, str | None]] = [
    # kind, raw value, canonical value, problem
    ("mobile", "13800138000", "13800138000", None),
    ("mobile", "+86 138-0013-8000", "13800138000", None),
    ("mobile", "8613912345678", "13912345678", None),
    ("mobile", "１３８００１３８０００", "13800138000", None),
    ("mobile", "12800138000", "12800138000", "手机号码号段无效"),
    ("mobile", "1380013800", "1380013800", "手机号码应为11位"),
    ("mobile", "0532-88889999", "053288889999", "手机号码应为11位"),
    ("mobile", "138OO138000", "138OO138000", "手机号码格式错误"),
    ("phone", "0532-88889999", "053288889999", None),
    ("phone", "(0532)88889999", "053288889999", None),
    ("phone", "（0532）8888 9999", "053288889999", None),
    ("phone", "010-62345678", "01062345678", None),
    ("phone", "0532-88889999-8001", "053288889999转8001", None),
    ("phone", "0532-88889999 转 8001", "053288889999转8001", None),
    ("phone", "0532-88889999 ext. 12", "053288889999转12", None),
    ("phone", "+86 532 8888 9999", "053288889999", None),
    ("phone", "+86 138 0013 8000", "13800138000", None),
    ("phone", "88889999", "88889999", None),
    ("phone", "400-123-4567", "4001234567", None),
    ("phone", "12345", "12345", None),
    ("phone", "0532-0888999", "05320888999", "电话号码格式错误"),
    ("phone", "0532-888", "0532888", "电话号码格式错误"),
    ("phone", "电话", "电话", "电话号码格式错误"),
    ("postcode", "266000", "266000", None),
    ("postcode", "２６６０７１", "266071", None),
    ("postcode", "966000", "966000", "邮政编码首位无效"),
    ("postcode", "26600", "26600", "邮政编码应为6位数字"),
    ("email", "Zhang.San@Example.COM", "Zhang.San@example.com", None),
    ("email", "data+open@qingdao.gov.cn", "data+open@qingdao.gov.cn", None),
    ("email", "zhang＠qd.gov.cn", "zhang@qd.gov.cn", None),
    ("email", "a@b", "a@b", "电子邮箱格式错误"),
    ("email", "a@@b.cn", "a@@b.cn", "电子邮箱格式错误"),
    ("email", "a..b@qd.cn", "a..b@qd.cn", "电子邮箱格式错误"),
    ("email", "a@-qd.cn", "a@-qd.cn", "电子邮箱格式错误"),
    ("email", "x" * 65 + "@qd.cn", "x" * 65 + "@qd.cn", "电子邮箱地址过长"),
    ("division_code", "370202", "370202", None),
    ("division_code", "370202001", "370202001", None),
    ("division_code", "370202001001", "370202001001", None),
    ("division_code", "990202", "990202", "行政区划代码省级代码无效"),
    ("division_code", "3702020", "3702020", "行政区划代码应为6、9或12位数字"),
    ("person_name", "张三", "张三", None),
    ("person_name", "阿卜杜 • 热合曼", "阿卜杜·热合曼", None),
    ("person_name", "买买提．艾力", "买买提·艾力", None),
    ("person_name", "John  Smith", "John Smith", None),
    ("person_name", "张", "张", "姓名长度应为2至20个字符"),
    ("person_name", "张" * 21, "张" * 21, "姓名长度应为2至20个字符"),
    ("person_name", "张3", "张3", "姓名含有不允许的字符"),
    ("person_name", "·张三", "·张三", "姓名含有不允许的字符"),
    ("address", "山东省青岛市市南区香港中路１２号", "山东省青岛市市南区香港中路12号", None),
    ("address", "Building 7", "Building 7", None),
    ("address", "---", "---", "地址应包含汉字或数字"),
    ("address", "路" * 201, "路" * 201, "地址过长（超过200个字符）"),
    ("amount", "1,234.50", "1234.50", None),
    ("amount", "1234.5", "1234.50", None),
    ("amount", "-12", "-12.00", None),
    ("amount", "+0.01", "0.01", None),
    ("amount", "￥1,000元", "1000.00", None),
    ("amount", "1000000000000000", "1000000000000000.00", None),
    ("amount", "1.234", "1.234", "金额最多保留两位小数"),
    ("amount", "1,23", "1,23", "金额格式错误"),
    ("amount", "12,3456.00", "12,3456.00", "金额格式错误"),
    ("amount", "1e3", "1e3", "金额格式错误"),
    ("amount", "1000000000000000.01", "1000000000000000.01", "金额超出范围"),
    ("amount", "99999999999999999999", "99999999999999999999", "金额超出范围"),
    ("integer", "1,234", "1234", None),
    ("integer", "-42", "-42", None),
    ("integer", "12.0", "12", None),
    ("integer", "12.5", "12.5", "整数格式错误"),
    ("integer", "99999999999999999999", "99999999999999999999", "整数超出范围"),
    ("number", "1.5e3", "1.5e3", None),
    ("number", "1,234.5", "1234.5", None),
    ("number", "-.5", "-.5", None),
    ("number", "inf", "inf", "数值格式错误"),
    ("number", "1.2.3", "1.2.3", "数值格式错误"),
    ("number", "1e999", "1e999", "数值超出范围"),
    ("boolean", "是", "true", None),
    ("boolean", "否", "false", None),
    ("boolean", "TRUE", "true", None),
    ("boolean", "n", "false", None),
    ("boolean", "1", "true", None),
    ("boolean", "可能", "可能", "布尔值应为 是/否、true/false、1/0 或 Y/N"),
    ("date", "2023年3月6日", "2023-03-06", None),
    ("date", "2023-03-06", "2023-03-06", None),
    ("date", "2023/3/6", "2023-03-06", None),
    ("date", "2023.03.06", "2023-03-06", None),
    ("date", "20230306", "2023-03-06", None),
    ("date", "2023-03-06 00:00:00", "2023-03-06", None),
    ("date", "2024-02-29", "2024-02-29", None),
    ("date", "2024-02-30", "2024-02-30", "日期无效"),
    ("date", "2023-02-29", "2023-02-29", "日期无效"),
    ("date", "20231301", "20231301", "日期无效"),
    ("date", "2023-03/06", "2023-03/06", "日期格式错误，应为 YYYY-MM-DD、YYYYMMDD 或 YYYY年M月D日"),
    ("date", "06/03/2023", "06/03/2023", "日期格式错误，应为 YYYY-MM-DD、YYYYMMDD 或 YYYY年M月D日"),
    ("date", "2023-03-06 12:00", "2023-03-06 12:00", "日期格式错误，应为 YYYY-MM-DD、YYYYMMDD 或 YYYY年M月D日"),
    ("datetime", "2023-03-06 12:30:00", "2023-03-06 12:30:00", None),
    ("datetime", "2023-03-06T12:30", "2023-03-06 12:30:00", None),
    ("datetime", "2023/03/06 12:30:05", "2023-03-06 12:30:05", None),
    ("datetime", "2023-03-06T04:30:00Z", "2023-03-06 12:30:00", None),
    ("datetime", "2023-03-06T12:30:00+08:00", "2023-03-06 12:30:00", None),
    ("datetime", "2023-03-06", "2023-03-06 00:00:00", None),
    ("datetime", "2023-02-30 12:00", "2023-02-30 12:00", "日期时间无效"),
    ("datetime", "2023-03-06 25:00", "2023-03-06 25:00", "日期时间无效"),
    ("datetime", "中午", "中午", "日期时间格式错误，应为 YYYY-MM-DD HH:MM:SS"),
    ("year", "2023", "2023", None),
    ("year", "2023年", "2023", None),
    ("year", "23", "23", "年份应为4位数字"),
    ("string", "  任意文本 ", "任意文本", None),
    ("uscc", "91370200163562681g", "91370200163562681G", None),
    ("uscc", "91370200-163562681G", "91370200163562681G", None),
]


@pytest.mark.parametrize("kind", sorted({c[0] for c in CASES}))
def test_specific_cases(con: duckdb.DuckDBPyConnection, kind: str) -> None:
    cases = [c for c in CASES if c[0] == kind]
    results = evaluate(con, kind, [c[1] for c in cases])
    assert results == [(c[2], c[3]) for c in cases]


@pytest.mark.parametrize("kind", KINDS)
def test_missing_values_are_not_problems(con: duckdb.DuckDBPyConnection, kind: str) -> None:
    # Required-ness is checked elsewhere: NULL, empty and blank values are simply missing.
    assert evaluate(con, kind, [None, "", "   ", "\u3000"]) == [(None, None)] * 4


def test_date_matches_python_calendar(con: duckdb.DuckDBPyConnection) -> None:
    rng = random.Random(2023)
    values = []
    for _ in range(3000):
        y, m, d = rng.randrange(1000, 2200), rng.randrange(0, 14), rng.randrange(0, 33)
        values.append(rng.choice([f"{y}-{m:02d}-{d:02d}", f"{y}/{m}/{d}", f"{y}{m:02d}{d:02d}", f"{y}年{m}月{d}日"]))
    results = evaluate(con, "date", values)
    for value, (canonical, problem) in zip(values, results, strict=True):
        y, m, d = (int(p) for p in ([value[:4], value[4:6], value[6:]] if value.isdigit() else _split_date(value)))
        try:
            expected: str | None = dt.date(y, m, d).isoformat()
        except ValueError:
            expected = None
        assert (problem is None) == (expected is not None), value
        if expected:
            assert canonical == expected


def _split_date(value: str) -> list[str]:
    for sep in "-/年月日":
        value = value.replace(sep, " ")
    return value.split()


def test_unknown_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown semantic type"):
        problem_sql("iban", "v")
    with pytest.raises(ValueError, match="unknown semantic type"):
        normalise_sql("iban", "v")


def test_quote_identifier_escapes(con: duckdb.DuckDBPyConnection) -> None:
    assert quote_identifier('a"b') == '"a""b"'
    name = 'weird "列" name; DROP TABLE x'
    con.execute(f"CREATE TABLE t ({quote_identifier(name)} VARCHAR)")
    con.execute("INSERT INTO t VALUES ('13800138000'), ('123')")
    rows = con.execute(f"SELECT {problem_sql('mobile', quote_identifier(name))} FROM t").fetchall()
    assert rows == [(None,), ("手机号码应为11位",)]


# --- whole relations -------------------------------------------------------------------------------------


def make_registry(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        'CREATE TABLE registry ("统一社会信用代码" VARCHAR, "法人身份证" VARCHAR, "注册资本" VARCHAR, note VARCHAR)'
    )
    con.executemany(
        "INSERT INTO registry VALUES (?, ?, ?, ?)",
        [
            ("91370200163562681G", "11010519491231002X", "1,000.00", "ok"),
            ("91370200163562681H", "11010519491231002X", "12.345", "two problems"),
            (None, "110105199902300020", "", "bad birth date"),
            ("N2370200MA3C0001X0", "11010519491231002x", "5", "bad check char"),
        ],
    )


def test_check_relation_counts_and_examples(con: duckdb.DuckDBPyConnection) -> None:
    make_registry(con)
    columns = {"统一社会信用代码": "uscc", "法人身份证": "resident_id", "注册资本": "amount", "note": "string"}
    result = check_relation(con, "SELECT * FROM registry", columns, examples=3)
    assert result.rows == 4
    assert result.invalid == {"统一社会信用代码": 2, "法人身份证": 1, "注册资本": 1, "note": 0}
    assert result.examples == [
        Reject(2, "统一社会信用代码", "91370200163562681H", "统一社会信用代码校验位错误"),
        Reject(2, "注册资本", "12.345", "金额最多保留两位小数"),
        Reject(3, "法人身份证", "110105199902300020", "身份证号码出生日期无效"),
    ]


def test_rejects_sql_lists_every_invalid_value(con: duckdb.DuckDBPyConnection) -> None:
    make_registry(con)
    columns = {"统一社会信用代码": "uscc", "法人身份证": "resident_id", "注册资本": "amount"}
    rows = con.execute(rejects_sql("registry", columns)).fetchall()
    assert rows == [
        (2, "统一社会信用代码", "91370200163562681H", "统一社会信用代码校验位错误"),
        (2, "注册资本", "12.345", "金额最多保留两位小数"),
        (3, "法人身份证", "110105199902300020", "身份证号码出生日期无效"),
        (4, "统一社会信用代码", "N2370200MA3C0001X0", "统一社会信用代码校验位错误"),
    ]


def test_check_relation_uses_given_row_numbers(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("CREATE TABLE upload AS SELECT * FROM (VALUES (10, '266000'), (11, '96600')) t(line, zip)")
    result = check_relation(con, "upload", {"zip": "postcode"}, row_number_column="line")
    assert result.examples == [Reject(11, "zip", "96600", "邮政编码应为6位数字")]
