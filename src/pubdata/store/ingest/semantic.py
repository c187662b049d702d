"""Vectorised checks of semantic and base field types, written as DuckDB SQL expressions.

Ingestion loads a file into a relation of VARCHAR columns; every value of a column is then checked
by one SQL expression, so the hot path never runs Python per row. Two builders per kind:

* :func:`normalise_sql` — the canonical value that is checked and stored (trimmed, full-width
  characters made half-width, upper-cased where the standard is, separators removed...). Empty
  after trimming becomes NULL, the one spelling of "missing".
* :func:`problem_sql` — NULL when the value is valid (or missing: required-ness is checked
  elsewhere), otherwise a short Chinese reason that the publisher reads in the rejects file.

Only DuckDB built-ins are used (``regexp_matches``, ``substr``, ``strpos``, ``translate``,
``try_strptime``, ``try_cast``, ``CASE``); check sums are unrolled into plain arithmetic, which
DuckDB evaluates a vector at a time. Ingestion computes the same thing in steps (the cleaned value
once, as :func:`trimmed_sql` of :func:`widened_sql` — :func:`cleaned_sql` in two layers, the trim's
regular expression only where an edge can be a space — then :func:`normalise_cleaned_sql`), may map
full-width characters other than digits with :func:`halfwidth` (NumPy over Arrow buffers, registered
as a DuckDB function) instead of ``translate``, reads the plain spellings of :func:`plain_path`
(as written, and again once cleaned) without the general rules, and skips the full check where
:func:`settled_sql` holds. The rules of each kind, and where they come from:

``uscc`` — unified social credit code, GB 32100-2015 §4: 18 characters over the 31-character
    alphabet ``0-9 A-H J-N P-R T U W-Y`` (no I, O, Z, S, V); characters 3–8 are the registering
    authority's division code (digits); the 18th is the check character
    ``alphabet[(31 − Σ index(cᵢ)·wᵢ mod 31) mod 31]`` with weights wᵢ = 3^(i−1) mod 31
    (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28). The first two characters
    (registration authority, entity category) may be letters — e.g. ``N2…`` farmers' co-operatives
    registered by agriculture departments, ``Y1…`` others — and are accepted (python-stdnum's
    ``uscc.validate`` wrongly demands digits). Reasons match :func:`pubdata.standards.uscc_problem`.
``resident_id`` — citizen identity number, GB 11643-1999: 17 digits and a check character 0–9/X
    (ISO 7064 MOD 11-2, weights 2^(17−i) mod 11 = 7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2;
    check = ``"10X98765432"[Σ mod 11]``); characters 1–2 a real province code (GB/T 2260: 11–15,
    21–23, 31–37, 41–46, 50–54, 61–65, 71, 81–82, plus 83 used by Taiwan residents' residence
    permits since 2018); characters 7–14 a real calendar date, year ≥ 1900, not in the future.
    A lower-case ``x`` is upper-cased; legacy 15-digit numbers (GB 11643-1989) are reported as such.
``mobile`` — mainland mobile number (MIIT numbering plan): 11 digits ``1[3-9]xxxxxxxxx``; an
    optional ``+86``/``0086``/``86`` country prefix, spaces, hyphens, dots and brackets are removed.
``phone`` — a mobile number, or a landline (YD/T 2387 / MIIT numbering plan): optional trunk area
    code (``010``, ``02x`` three digits; ``03xx``–``09xx`` four digits), a 7–8 digit subscriber number
    that starts 2–9, optional extension (``-123``, ``转123``, ``ext 123``, ``#123``); also 400/800
    numbers (10 digits) and short service numbers (``11x``/``12x``, 5-digit ``1xxxx``, ``95xxx(x)``,
    ``96xxx(x)``). Canonical form: digits only, the extension after ``转``.
``postcode`` — postal code (GB/T 2260 postal zoning, China Post): 6 digits, first digit 0–8.
``email`` — pragmatic RFC 5322 subset (the WHATWG/HTML "valid e-mail address" grammar plus a
    letter TLD): dot-atom local part ≤ 64 characters, domain of LDH labels ≤ 63 characters, total
    ≤ 254 (RFC 5321 §4.5.3.1). The domain is lower-cased.
``division_code`` — administrative division code (GB/T 2260, and the National Bureau of
    Statistics' 9-digit township / 12-digit village codes): 6, 9 or 12 digits with a real province
    prefix (same list as ``resident_id``).
``person_name`` — 2–20 characters: Chinese characters (Unicode Han) optionally joined by the
    middle dot ``·`` used in transliterated and minority names (GB/T 15834 / Ministry of Public
    Security practice; ``•``, ``・``, ``．`` are normalised to ``·``), or Latin letters with single
    spaces, hyphens, apostrophes and dots between words.
``address`` — non-empty, at most 200 characters, containing at least one CJK character or digit.
    Only full-width digits and letters are made half-width (Chinese punctuation is kept).
``amount`` — money amount: optional sign, optional ``¥``/``￥`` prefix or ``元`` suffix, digits with
    optional well-formed thousands commas, at most 2 decimals, absolute value ≤ 10¹⁵. Canonical form:
    ``DECIMAL(18,2)`` text (``1,234.5`` → ``1234.50``).
``integer`` — optional sign, digits (thousands commas allowed, an Excel-style ``.0`` tail dropped),
    within BIGINT. ``number`` — decimal or scientific notation, finite. ``boolean`` — true/false,
    是/否, 1/0, Y/N, yes/no, T/F (case-insensitive) → ``true``/``false``. ``date`` — ``YYYY-MM-DD``,
    ``YYYY/MM/DD``, ``YYYY.MM.DD`` (1–2 digit month/day), ``YYYYMMDD``, ``YYYY年M月D日``, optionally
    followed by a midnight time (Excel exports), a real calendar date → ``YYYY-MM-DD``.
    ``datetime`` — ISO 8601 with ``T`` or space, ``/`` separators allowed, optional seconds,
    fraction and offset (``Z``, ``+08:00``); an offset is converted to Beijing time (China has no
    DST since 1991), naive values are taken as Beijing time → ``YYYY-MM-DD HH:MM:SS[.ffffff]``.
    ``year`` — four digits, optional ``年`` suffix. ``string`` — trimmed, never a problem.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

SEMANTIC_KINDS: tuple[str, ...] = (
    "uscc",
    "resident_id",
    "mobile",
    "phone",
    "postcode",
    "email",
    "division_code",
    "person_name",
    "address",
    "amount",
)
BASE_KINDS: tuple[str, ...] = ("string", "integer", "number", "boolean", "date", "datetime", "year")
KINDS: tuple[str, ...] = SEMANTIC_KINDS + BASE_KINDS

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS: tuple[int, ...] = tuple(pow(3, i, 31) for i in range(17))
RESIDENT_ID_WEIGHTS: tuple[int, ...] = tuple(pow(2, 17 - i, 11) for i in range(17))
RESIDENT_ID_CHECK = "10X98765432"
# GB/T 2260 province-level codes; 83 is used by Taiwan residents' residence permits.
PROVINCE_CODES: tuple[str, ...] = tuple(
    f"{c}"
    for c in (
        *range(11, 16),
        *range(21, 24),
        *range(31, 38),
        *range(41, 47),
        *range(50, 55),
        *range(61, 66),
        71,
        81,
        82,
        83,
    )
)
AMOUNT_LIMIT = 1_000_000_000_000_000  # 10^15 yuan
_PROVINCE_RE = "(" + "|".join(PROVINCE_CODES) + ")"

# Full-width forms U+FF01..U+FF5E map one to one onto ASCII U+0021..U+007E; U+3000 is a space.
_FULLWIDTH_ALL = "".join(chr(c) for c in range(0xFF01, 0xFF5F)) + "\u3000"
_HALFWIDTH_ALL = "".join(chr(c) for c in range(0x21, 0x7F)) + " "
_FULLWIDTH_ALNUM = "".join(chr(0xFEE0 + ord(c)) for c in _HALFWIDTH_ALL if c.isascii() and c.isalnum())
_HALFWIDTH_ALNUM = "".join(c for c in _HALFWIDTH_ALL if c.isascii() and c.isalnum())
_SPACE_CLASS = r"\s\x{00A0}\x{1680}\x{2000}-\x{200D}\x{2028}\x{2029}\x{202F}\x{205F}\x{2060}\x{3000}\x{FEFF}"
_FULLWIDTH_PRESENT_RE = r"[\x{FF01}-\x{FF5E}\x{3000}]"
_FULLWIDTH_NOT_DIGIT_RE = r"[\x{FF01}-\x{FF0F}\x{FF1A}-\x{FF5E}\x{3000}]"
_TRIM_RE = rf"^[{_SPACE_CLASS}]+|[{_SPACE_CLASS}]+$"

_EMAIL_LOCAL = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
_EMAIL_LABEL = r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_EMAIL_RE = rf"^{_EMAIL_LOCAL}@({_EMAIL_LABEL}\.)+[a-z]{{2,63}}$"
_AMOUNT_RE = r"^[+-]?(\d{1,3}(,\d{3})+|\d+)(\.\d{1,2})?$"
_AMOUNT_MANY_DECIMALS_RE = r"^[+-]?(\d{1,3}(,\d{3})+|\d+)\.\d{3,}$"
_INTEGER_RE = r"^[+-]?(\d{1,3}(,\d{3})+|\d+)(\.0+)?$"
_NUMBER_RE = r"^[+-]?((\d{1,3}(,\d{3})+|\d+)(\.\d*)?|\.\d+)([eE][+-]?\d+)?$"
_DATE_SEPARATED_RE = r"^\d{4}(-\d{1,2}-\d{1,2}|/\d{1,2}/\d{1,2}|\.\d{1,2}\.\d{1,2}|年\d{1,2}月\d{1,2}日)$"
_MIDNIGHT_RE = r"[ T]0{1,2}:00(:00(\.0+)?)?$"
_DATETIME_RE = r"^\d{4}-\d{1,2}-\d{1,2}([ T]\d{1,2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}(:?\d{2})?)?)?$"
_OFFSET_RE = r"\d:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}(:?\d{2})?)$"
_LANDLINE = r"(010|02\d|0[3-9]\d{2})?[2-9]\d{6,7}"
_PHONE_RE = rf"^(1[3-9]\d{{9}}|{_LANDLINE}|[48]00\d{{7}}|1[12]\d|1\d{{4}}|9[56]\d{{3,4}})(转\d{{1,6}})?$"
_HAN_RE = r"\p{Han}"
_DATE_COMPACT_RE = r"^\d{8}$"
_HAN_NAME_RE = r"^\p{Han}+(·\p{Han}+)*$"
_LATIN_NAME_RE = r"^[A-Za-z]+([ '.-][A-Za-z]+)*\.?$"
_MIDDLE_DOTS = "•・‧･∙⋅．.\u30fb"
# Canonical, valid spellings recognised by one anchored regular expression (see fast_path_sql).
_USCC_SHAPE = rf"[{USCC_ALPHABET}]{{2}}\d{{6}}[{USCC_ALPHABET}]{{10}}"
# A space at either end, as two expressions: RE2 runs the two anchored ones faster than their alternation.
_LEADING_SPACE_RE = rf"^[{_SPACE_CLASS}]"
_TRAILING_SPACE_RE = rf"[{_SPACE_CLASS}]$"
_NOT_SPACE_OR_WIDE = rf"[^{_SPACE_CLASS}\x{{FF10}}-\x{{FF19}}\x{{FF21}}-\x{{FF3A}}\x{{FF41}}-\x{{FF5A}}]"
_HAN_OR_DIGIT_RE = r"[\p{Han}0-9]"
_ADDRESS_FAST_RE = rf"{_NOT_SPACE_OR_WIDE}+( {_NOT_SPACE_OR_WIDE}+)*"
_EMAIL_FAST_RE = rf"{_EMAIL_LOCAL}@([a-z0-9]([a-z0-9-]{{0,61}}[a-z0-9])?\.)+[a-z]{{2,63}}"


# A real month and day of any year (29 February, which needs the year, is left to the full check).
def _month_day(sep: str, *, padded: bool = True) -> str:
    z = "0" if padded else "0?"  # a one-digit month or day, or only the zero-padded one
    return rf"(({z}[1-9]|1[0-2]){sep}({z}[1-9]|1\d|2[0-8])|({z}[13-9]|1[0-2]){sep}(29|30)|({z}[13578]|1[02]){sep}31)"


_MONTH_DAY = _month_day("-")
_FAST_PATTERNS = {
    "mobile": r"1[3-9]\d{9}",
    "phone": _PHONE_RE,
    "postcode": r"[0-8]\d{5}",
    "division_code": rf"{_PROVINCE_RE}(\d{{4}}|\d{{7}}|\d{{10}})",
    "person_name": r"\p{Han}{2,20}",
    "number": r"-?\d{1,15}(\.\d{1,15})?",
    "date": rf"[1-9]\d{{3}}-{_MONTH_DAY}",
    "datetime": rf"[1-9]\d{{3}}-{_MONTH_DAY} ([01]\d|2[0-3]):[0-5]\d:[0-5]\d",
    "year": r"\d{4}",
}
_TRUE_WORDS = ("true", "t", "yes", "y", "1", "是")
_FALSE_WORDS = ("false", "f", "no", "n", "0", "否")


def quote_identifier(name: str) -> str:
    """A column or table name as a DuckDB identifier: double-quoted, inner quotes doubled."""
    if "\x00" in name:
        raise ValueError("identifier contains a NUL character")
    return '"' + name.replace('"', '""') + '"'


def sql_literal(text: str) -> str:
    """A Python string as a DuckDB string literal (single quotes doubled; backslashes are literal)."""
    if "\x00" in text:
        raise ValueError("literal contains a NUL character")
    return "'" + text.replace("'", "''") + "'"


def _lit(text: str) -> str:
    return sql_literal(text)


def _matches(value: str, pattern: str) -> str:
    return f"regexp_matches({value}, {_lit(pattern)})"


def _not_matches(value: str, pattern: str) -> str:
    return "NOT " + _matches(value, pattern)


def _integer_plain(v: str) -> str:
    """``v`` without thousands commas and without an Excel-style ``.0`` tail."""
    return _replace(f"replace({v}, ',', '')", r"\.0+$", "")


def _replace(value: str, pattern: str, replacement: str) -> str:
    return f"regexp_replace({value}, {_lit(pattern)}, {_lit(replacement)}, 'g')"


def _widened(column_sql: str, *, table: tuple[str, str] | None, function: str | None = None) -> str:
    """The value as text, its full-width characters mapped to half-width ones by ``table`` (with
    ``translate`` or ``function``); not trimmed."""
    value = f"CAST({column_sql} AS VARCHAR)"
    if table is not None:
        # translate() is slow on long maps: only pay for it when a full-width character is present.
        if function is not None:
            translated = f"{function}({value})"
        else:
            translated = f"translate({value}, {_lit(table[0])}, {_lit(table[1])})"
        # Full-width digits alone (the common case) need only the ten-character map, ~8× faster; and
        # faster still over the bytes, as hexadecimal text: the digits U+FF10–FF19 are the bytes
        # EF BC 90–99 and become 30–39. "EFBC9" is found nowhere else: at an odd position it would need
        # the byte FB, never in UTF-8, and at an even one it is U+FF10–FF1F, whose last six (：；＜＝＞？)
        # do not get here. The result is translate() with the ten-character map.
        digits = f"decode(unhex(replace(hex({value}), 'EFBC9', '3')))"
        translated = f"CASE WHEN {_matches(value, _FULLWIDTH_NOT_DIGIT_RE)} THEN {translated} ELSE {digits} END"
        # strlen (bytes) = length (characters) means pure ASCII, the common case, and skips the regex.
        present = f"strlen({value}) <> length({value}) AND {_matches(value, _FULLWIDTH_PRESENT_RE)}"
        value = f"CASE WHEN {present} THEN {translated} ELSE {value} END"
    return value


def _trimmed(column_sql: str, *, table: tuple[str, str] | None, function: str | None = None) -> str:
    """Whitespace (including ideographic, no-break and zero-width spaces) trimmed; empty → NULL.
    ``table`` maps full-width characters to half-width ones, with ``translate`` or ``function``."""
    return f"nullif({_replace(_widened(column_sql, table=table, function=function), _TRIM_RE, '')}, '')"


# The characters of _SPACE_CLASS below U+0080 (RE2's \s is [\t\n\f\r ]).
_ASCII_SPACES = ("\t", "\n", "\f", "\r", " ")


def trimmed_sql(v: str) -> str:
    """``v`` trimmed as :func:`cleaned_sql` trims (whitespace of ``_SPACE_CLASS`` at either end), and
    NULL when empty. The regular expression only runs where it can change something: a pure-ASCII
    value (the common case) that neither starts nor ends with an ASCII space comes back as it is.
    ``v`` is referenced several times: give it a column, not an expression."""
    edges = " OR ".join(f"prefix({v}, {_lit(c)}) OR suffix({v}, {_lit(c)})" for c in _ASCII_SPACES)
    plain = f"{v} IS NULL OR (strlen({v}) = length({v}) AND NOT ({edges}))"
    return f"nullif(CASE WHEN {plain} THEN {v} ELSE {_replace(v, _TRIM_RE, '')} END, '')"


_ALL = (_FULLWIDTH_ALL, _HALFWIDTH_ALL)
_ALNUM = (_FULLWIDTH_ALNUM, _HALFWIDTH_ALNUM)
_HALFWIDTH_FUNCTIONS = {_ALL: "pubdata_halfwidth_all", _ALNUM: "pubdata_halfwidth_alnum"}


def normalise_sql(kind: str, column_sql: str) -> str:
    """SQL for the canonical form of ``column_sql`` under ``kind`` (see the module docstring).

    Never raises at query time: a value that cannot be made canonical comes back cleaned but
    otherwise as written, so :func:`problem_sql` can say what is wrong with it. It is
    :func:`normalise_cleaned_sql` applied to :func:`cleaned_sql` (a query may compute the cleaned
    value once, in a layer of its own, as ingestion does).
    """
    return normalise_cleaned_sql(kind, cleaned_sql(kind, column_sql))


def _halfwidth_table(kind: str) -> tuple[str, str] | None:
    if kind == "string":
        return None
    return _ALNUM if kind in ("address", "person_name") else _ALL


def cleaned_sql(kind: str, column_sql: str, *, halfwidth_function: bool = False) -> str:
    """SQL for the first step of :func:`normalise_sql`: the value as text, its full-width characters
    made half-width (all of them, or only letters and digits for addresses and names; none for plain
    text), trimmed, and NULL when empty. Applying it again changes nothing.

    With ``halfwidth_function`` the half-width mapping is the function :func:`register_functions`
    adds to a connection (the same mapping over Arrow buffers: DuckDB's ``translate`` rebuilds its
    map for every value, several microseconds per value with the 95-character map).
    """
    _require_kind(kind)
    table = _halfwidth_table(kind)
    return _trimmed(
        column_sql, table=table, function=_HALFWIDTH_FUNCTIONS[table] if halfwidth_function and table else None
    )


def widened_sql(kind: str, column_sql: str, *, halfwidth_function: bool = False) -> str:
    """The first half of :func:`cleaned_sql`: the value as text with its full-width characters made
    half-width, not trimmed. ``trimmed_sql(widened_sql(kind, x))`` is ``cleaned_sql(kind, x)``
    (ingestion computes the two in layers of their own)."""
    _require_kind(kind)
    table = _halfwidth_table(kind)
    return _widened(
        column_sql, table=table, function=_HALFWIDTH_FUNCTIONS[table] if halfwidth_function and table else None
    )


def normalise_cleaned_sql(kind: str, v: str) -> str:
    """SQL for the canonical form of ``v``, the output of :func:`cleaned_sql` for ``kind``."""
    _require_kind(kind)
    if kind == "string":
        return v
    if kind == "address":
        return _replace(v, rf"[{_SPACE_CLASS}]+", " ")
    if kind == "person_name":
        v = _replace(v, rf"[{_SPACE_CLASS}]+", " ")
        dotted = _replace(v, rf"\s*[{_MIDDLE_DOTS}·]\s*", "·")
        return f"CASE WHEN {_matches(v, _HAN_RE)} THEN {dotted} ELSE {v} END"
    if kind in ("uscc", "resident_id"):
        return "upper(" + _replace(v, r"[\s-]+", "") + ")"
    if kind == "mobile":
        digits = _replace(v, r"[\s().-]+", "")
        return _replace(digits, r"^(?:\+86|0086|86)(1\d{10})$", r"\1")
    if kind == "phone":
        return _phone_normalised(v)
    if kind in ("postcode", "division_code"):
        return _replace(v, r"\s+", "")
    if kind == "email":
        return (
            f"CASE WHEN {_matches(v, '^[^@]+@[^@]+$')} "
            f"THEN split_part({v}, '@', 1) || '@' || lower(split_part({v}, '@', 2)) ELSE {v} END"
        )
    if kind == "amount":
        # The regular expressions only run on values they can change (a currency sign; a final 元).
        stripped = _replace(_replace(v, r"^([+-]?)\s*[¥￥]\s*", r"\1"), r"\s*元$", "")
        marked = f"contains({v}, '¥') OR contains({v}, '￥') OR suffix({v}, '元')"
        cleaned = f"CASE WHEN {marked} THEN {stripped} ELSE {v} END"
        # DECIMAL(18,2) holds 16 integer digits, enough for the 10^15 bound (a wider try_cast is slow).
        number = f"try_cast(replace({cleaned}, ',', '') AS DECIMAL(18,2))"
        return (
            f"CASE WHEN {_matches(cleaned, _AMOUNT_RE)} AND abs({number}) <= {AMOUNT_LIMIT} "
            f"THEN CAST({number} AS VARCHAR) ELSE {cleaned} END"
        )
    if kind == "integer":
        plain = _integer_plain(v)
        return (
            f"CASE WHEN {_matches(v, _INTEGER_RE)} AND try_cast({plain} AS BIGINT) IS NOT NULL "
            f"THEN CAST(CAST({plain} AS BIGINT) AS VARCHAR) ELSE {v} END"
        )
    if kind == "number":
        return f"CASE WHEN {_matches(v, _NUMBER_RE)} THEN ltrim(replace({v}, ',', ''), '+') ELSE {v} END"
    if kind == "boolean":
        low = f"lower({v})"
        trues = ", ".join(_lit(w) for w in _TRUE_WORDS)
        falses = ", ".join(_lit(w) for w in _FALSE_WORDS)
        return f"CASE WHEN {low} IN ({trues}) THEN 'true' WHEN {low} IN ({falses}) THEN 'false' ELSE {v} END"
    if kind == "date":
        parsed = _date_parsed(v)
        return f"coalesce(strftime({parsed}, '%Y-%m-%d'), {v})"
    if kind == "datetime":
        parsed = _datetime_parsed(v)
        return f"coalesce(CAST({parsed} AS VARCHAR), {v})"
    if kind == "year":
        return _replace(v, r"^(\d{4})\s*年$", r"\1")
    raise AssertionError(kind)  # pragma: no cover - _require_kind covers every kind


# A mobile number with an optional +86/86 and spaces or hyphens only, the usual realistic spelling:
# its last 11 digits are what the general rules below make of it, for one match and one replace
# instead of five replaces. (Not 0086: after a leading 0 the general rules may read an area code and
# an extension, "0086 1944013 1703" → "00861944013转1703".)
_PLAIN_MOBILE_RE = r"^(?:\+86|86)?[\s-]*1[3-9](?:[\s-]*\d){9}$"


def _phone_normalised(v: str) -> str:
    plain = f"right(regexp_replace({v}, '[^0-9]', '', 'g'), 11)"
    return f"CASE WHEN {_matches(v, _PLAIN_MOBILE_RE)} THEN {plain} ELSE {_phone_general(v)} END"


def _phone_general(v: str) -> str:
    low = f"lower({v})"
    # An extension written with a marker, or after the last hyphen of "0532-88889999-123".
    marked = _replace(low, r"\s*(?:转|分机|ext\.?|x|#|,)\s*(\d{1,6})$", r"转\1")
    hyphen = _replace(marked, r"^(\(?0\d{2,3}\)?[\s-]?\d{7,8})[\s-](\d{1,6})$", r"\1转\2")
    compact = _replace(hyphen, r"[\s().\-（）]+", "")
    mobile = _replace(compact, r"^(?:\+86|0086|86)(1[3-9]\d{9})$", r"\1")
    return _replace(mobile, r"^(?:\+|00)86(?:\(0\)|0)?([1-9]\d{8,10}(?:转\d{1,6})?)$", r"0\1")


def _date_parsed(v: str) -> str:
    """SQL for ``v`` as a DATE (NULL when it is not one of the accepted spellings or not a real date)."""
    # The midnight time needs a colon: without one the regular expression need not run.
    bare = f"CASE WHEN contains({v}, ':') THEN {_replace(v, _MIDNIGHT_RE, '')} ELSE {v} END"
    # "日$" only matches a final 日 (RE2's $ is the end of the text), which no separator replacement makes
    # or removes: dropping that character first, without a regular expression, is the same.
    unsuffixed = f"CASE WHEN suffix({bare}, '日') THEN left({bare}, length({bare}) - 1) ELSE {bare} END"
    # Where dashed is used (the text matched _DATE_SEPARATED_RE) only the 年 spelling has 年, 月 or 日.
    dashed = (
        f"CASE WHEN contains({bare}, '年') THEN {_replace(unsuffixed, r'[/.年月]', '-')} "
        f"ELSE replace(replace({bare}, '/', '-'), '.', '-') END"
    )
    # dashed is \d{4}-\d{1,2}-\d{1,2} here, where a cast reads the same dates as try_strptime (which is
    # about twice as slow): tests/store/test_ingest_date_amount.py compares the two over such spellings.
    return (
        f"CASE WHEN {_matches(bare, _DATE_SEPARATED_RE)} "
        f"THEN try_cast({dashed} AS DATE) "
        f"WHEN {_matches(bare, _DATE_COMPACT_RE)} THEN CAST(try_strptime({bare}, '%Y%m%d') AS DATE) END"
    )


def _datetime_parsed(v: str) -> str:
    """SQL for ``v`` as a naive Beijing-time TIMESTAMP, or NULL."""
    iso = _replace(f"replace({v}, '/', '-')", r"^(\d{4}-\d{1,2}-\d{1,2})T", r"\1 ")
    # With an offset: the instant in UTC, shifted by +8 h (China has had no DST since 1991).
    with_offset = f"make_timestamp(epoch_us(try_cast({iso} AS TIMESTAMPTZ)) + 28800000000)"
    return (
        f"CASE WHEN NOT {_matches(iso, _DATETIME_RE)} THEN NULL "
        f"WHEN {_matches(iso, _OFFSET_RE)} THEN {with_offset} "
        f"ELSE try_cast({iso} AS TIMESTAMP) END"
    )


@dataclass(frozen=True)
class FastPath:
    """The shortcut for values already written in their canonical, valid form (see :func:`fast_path`).

    ``check_character`` is set (to the kind) when ``condition`` leaves the code's check character
    unverified: the caller then verifies it with :func:`check_characters_ok` over the values."""

    condition: str
    canonical: str
    check_character: str | None = None


def fast_path(
    kind: str, text_sql: str, *, defer_check_character: bool = False, today: date | None = None
) -> FastPath | None:
    """The shortcut for ``kind``, or None when it has none.

    ``text_sql`` must be a VARCHAR expression (the value as written). Wherever ``condition`` is true,
    ``normalise_sql(kind, text_sql)`` equals ``canonical`` and ``problem_sql`` is NULL, so a query can
    test one anchored regular expression per value and run the full normalisation and checks only
    for the rest. Where it is false or NULL nothing is implied.

    With ``defer_check_character`` the condition of codes (``uscc``, ``resident_id``) is their shape
    alone (every rule but the check character); the only problem such a value can still have is a
    wrong check character, which :func:`check_characters_ok` finds over a whole column with NumPy
    several times faster than the SQL arithmetic. ``today`` bounds the birth years accepted without
    the full date check (default: now); the full check still applies to every other year.
    """
    _require_kind(kind)
    v = text_sql
    if kind in ("uscc", "resident_id"):
        if kind == "uscc":
            shape, check = _USCC_SHAPE, f"{uscc_check_sql(v)} = substr({v}, 18, 1)"
        else:
            year = (today or date.today()).year - 1  # strictly before this year whatever DuckDB's time zone
            shape = rf"{_PROVINCE_RE}\d{{4}}{_years_re(1900, year)}{_month_day('')}\d{{3}}[\dX]"
            check = f"{resident_id_check_sql(v)} = substr({v}, 18, 1)"
        if defer_check_character:
            return FastPath(_full_match(v, shape), v, kind)
        return FastPath(f"CASE WHEN {_full_match(v, shape)} THEN {check} ELSE false END", v)
    if kind == "string":
        edge = f"{_matches(v, _LEADING_SPACE_RE)} OR {_matches(v, _TRAILING_SPACE_RE)}"
        return FastPath(f"NOT ({edge}) AND {v} <> ''", v)
    if kind == "address":
        has_han_or_digit = _matches(v, _HAN_OR_DIGIT_RE)
        return FastPath(f"{_full_match(v, _ADDRESS_FAST_RE)} AND length({v}) <= 200 AND {has_han_or_digit}", v)
    if kind == "email":
        return FastPath(f"strlen({v}) <= 64 AND {_full_match(v, _EMAIL_FAST_RE)}", v)
    if kind == "amount":
        return FastPath(_full_match(v, r"[+-]?\d{1,15}(\.\d{1,2})?"), f"CAST(CAST({v} AS DECIMAL(18,2)) AS VARCHAR)")
    if kind == "integer":
        return FastPath(_full_match(v, r"[+-]?\d{1,18}"), f"CAST(CAST({v} AS BIGINT) AS VARCHAR)")
    if kind == "boolean":
        trues = ", ".join(_lit(w) for w in _TRUE_WORDS)
        falses = ", ".join(_lit(w) for w in _FALSE_WORDS)
        return FastPath(f"{v} IN ({trues}, {falses})", f"CASE WHEN {v} IN ({trues}) THEN 'true' ELSE 'false' END")
    pattern = _FAST_PATTERNS.get(kind)
    return None if pattern is None else FastPath(_full_match(v, pattern), v)


def settled_sql(kind: str, normalised_sql: str) -> str | None:
    """A condition on a normalised value (the output of :func:`normalise_sql`) under which
    ``problem_sql(kind, normalised_sql, normalised=True)`` is NULL — with the check character of a
    code left to :func:`check_characters_ok`, as :func:`fast_path` with ``defer_check_character``
    — or None. Most values that missed the shortcut as written are canonical once normalised
    (``+86 139-0000-0000``, ``2000/1/1``, ``1,000``), and one anchored match then replaces the full
    check. It is the shortcut's condition (which implies no problem for any text), for the kinds whose
    shortcut keeps the value as it is, and for amounts and integers, whose shortcut's plain digits
    pass every check of the kind."""
    spec = fast_path(kind, normalised_sql, defer_check_character=True)
    if spec is None or (spec.canonical != normalised_sql and kind not in ("amount", "integer")):
        return None
    return spec.condition


# Spellings real files use for values that are valid, which plain_path reads without the general rules
# (see there): a mobile number after +86/86 and with spaces or hyphens between its digits; an amount with
# thousands commas; a date as YYYY/MM/DD or YYYY年M月D日.
_MOBILE_PLAIN_RE = r"((\+86|86)[ -]*)?1[3-9]([ -]*\d){9}"
_AMOUNT_PLAIN_RE = r"[+-]?(\d{1,3}(,\d{3}){1,4}|\d{1,15})(\.\d{1,2})?"
_DATE_PLAIN_RE = rf"[1-9]\d{{3}}(-{_MONTH_DAY}|/{_month_day('/')}|年{_month_day('月', padded=False)}日)"


def plain_path(kind: str, text_sql: str, *, defer_check_character: bool = False) -> FastPath | None:
    """:func:`fast_path`, taking for mobile numbers, amounts and dates the plain spellings real files
    use as well (``+86 139-1234-5678``, ``139 1234 5678``, ``1,234.5``, ``2000/01/02``,
    ``2000年1月2日``): wherever ``condition`` holds, ``normalise_sql(kind, text_sql)`` equals
    ``canonical`` and ``problem_sql`` is NULL (with the check character of a code left to
    :func:`check_characters_ok` under ``defer_check_character``).

    ``condition`` only holds for texts that :func:`cleaned_sql` leaves as they are (no full-width
    character, no space at either end), and cleaning twice changes nothing, so it applies to cleaned
    values too: ``normalise_cleaned_sql(kind, v)`` is ``canonical`` wherever it holds on a cleaned ``v``.
    Ingestion tests it on the text as written, then on the cleaned text of the values that missed it.
    """
    v = text_sql
    if kind == "mobile":
        # Removing the spaces and hyphens leaves 11 digits, or 86/+86 and 11 digits, whose last 11
        # digits are what the general rules keep (they strip the prefix from exactly these texts).
        compact = f"substr(replace(replace({v}, ' ', ''), '-', ''), -11)"
        return FastPath(_full_match(v, _MOBILE_PLAIN_RE), f"CASE WHEN strlen({v}) = 11 THEN {v} ELSE {compact} END")
    if kind == "amount":
        # Thousands commas are well formed and at most 15 integer digits: the number is in range.
        return FastPath(
            _full_match(v, _AMOUNT_PLAIN_RE),
            f"CAST(CAST(CASE WHEN contains({v}, ',') THEN replace({v}, ',', '') ELSE {v} END "
            "AS DECIMAL(18,2)) AS VARCHAR)",
        )
    if kind == "date":
        # A real month and day (29 February aside) of a year from 1000: the date is valid. The 年 spelling
        # is the one longer than 10 bytes.
        nian = f"strftime(try_strptime({v}, '%Y年%m月%d日'), '%Y-%m-%d')"
        return FastPath(
            _full_match(v, _DATE_PLAIN_RE),
            f"CASE WHEN strlen({v}) > 10 THEN {nian} WHEN contains({v}, '/') THEN replace({v}, '/', '-') ELSE {v} END",
        )
    return fast_path(kind, v, defer_check_character=defer_check_character)


def register_functions(con: Any) -> None:
    """Add the half-width functions :func:`cleaned_sql` calls with ``halfwidth_function`` to a DuckDB
    connection (once; a connection that has them is left as it is). DuckDB refuses to create a
    function twice: that refusal, rather than a look-up in ``duckdb_functions()`` (which lists every
    function, 0.03–0.3 s), tells a connection that has them."""
    for table, name in _HALFWIDTH_FUNCTIONS.items():
        try:
            con.create_function(name, _halfwidth_of(table), ["VARCHAR"], "VARCHAR", type="arrow", side_effects=False)
        except duckdb.NotImplementedException as exc:
            if "already created" not in str(exc):
                raise


def _halfwidth_of(table: tuple[str, str]) -> Any:
    def function(values: pa.Array) -> pa.Array:  # DuckDB reads the parameters off the signature
        return halfwidth(values, table)

    return function


def _halfwidth_lookup(table: tuple[str, str]) -> np.ndarray:
    """Code point (of a three-byte UTF-8 character) → its one-byte replacement, 0 for the others."""
    lookup = np.zeros(0x10000, dtype=np.uint8)
    for wide, narrow in zip(table[0], table[1], strict=True):
        if not (0x800 <= ord(wide) <= 0xFFFF and ord(narrow) < 0x80):
            raise ValueError(f"unsupported mapping {wide!r} → {narrow!r}")
        lookup[ord(wide)] = ord(narrow)
    return lookup


_HALFWIDTH_LOOKUPS = {table: _halfwidth_lookup(table) for table in _HALFWIDTH_FUNCTIONS}


def halfwidth(values: pa.Array | pa.ChunkedArray, table: tuple[str, str]) -> pa.Array:
    """``translate(value, table[0], table[1])`` of every value of an Arrow string array, over its
    UTF-8 bytes: each three-byte character of the table (full-width forms, the ideographic space)
    becomes its one ASCII byte, and the offsets move up by what was removed before them."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if not (pa.types.is_string(values.type) or pa.types.is_large_string(values.type)):
        values = values.cast(pa.large_string())
    if values.null_count:
        done = halfwidth(values.fill_null(""), table)
        return pc.if_else(values.is_null(), pa.scalar(None, done.type), done)
    n = len(values)
    large = pa.types.is_large_string(values.type)
    _, offsets_buffer, data_buffer = values.buffers()
    offsets = np.frombuffer(offsets_buffer, dtype=np.int64 if large else np.int32, count=values.offset + n + 1)
    first = int(offsets[values.offset])
    offsets = offsets[values.offset :].astype(np.int64) - first
    data = (
        np.frombuffer(data_buffer, dtype=np.uint8)[first : first + int(offsets[-1])]
        if data_buffer
        else np.zeros(0, np.uint8)
    )
    # In valid UTF-8 (DuckDB's strings are) a byte 0xE0–0xEF always starts a three-byte character.
    lead = np.flatnonzero((data[:-2] & 0xF0) == 0xE0)
    code_points = (
        ((data[lead].astype(np.int64) & 0x0F) << 12)
        | ((data[lead + 1].astype(np.int64) & 0x3F) << 6)
        | (data[lead + 2].astype(np.int64) & 0x3F)
    )
    narrow = _HALFWIDTH_LOOKUPS[table][code_points]
    mapped = narrow != 0
    if not mapped.any():
        return values
    hits = lead[mapped]
    out = data.copy()
    out[hits] = narrow[mapped]
    keep = np.ones(len(data), dtype=bool)
    keep[hits + 1] = False
    keep[hits + 2] = False
    removed = np.concatenate(([0], np.cumsum(~keep)))
    new_offsets = offsets - removed[offsets]
    kind = pa.large_string() if large else pa.string()
    return pa.Array.from_buffers(
        kind, n, [None, pa.py_buffer(new_offsets.astype(np.int64 if large else np.int32)), pa.py_buffer(out[keep])]
    )


# --- check characters over whole columns ------------------------------------------------------------
# DuckDB evaluates the SQL check sums as ~85 vector operations per code (a substr and a strpos per
# character); NumPy over the Arrow buffers of a large batch does the same in a few array operations.

# Weighted sums stay below 2^24 (17 × 30 × 30), exact in float32, whose matrix product is fastest;
# over all 18 columns (the 18th weighs 0), so the codes need no copy of their first 17 first, and the
# alphabet indexes looked up as bytes (a quarter of the memory a float32 look-up moves).
_USCC_WEIGHT_VECTOR = np.array([*USCC_WEIGHTS, 0], dtype=np.float32)
_RESIDENT_ID_WEIGHT_VECTOR = np.array([*RESIDENT_ID_WEIGHTS, 0], dtype=np.float32)
_ZERO_OFFSET = 48 * sum(RESIDENT_ID_WEIGHTS)  # Σ (byte − 48)·w = Σ byte·w − 48·Σ w
_USCC_INDEX = np.zeros(256, dtype=np.uint8)
_USCC_INDEX[np.frombuffer(USCC_ALPHABET.encode(), dtype=np.uint8)] = np.arange(31, dtype=np.uint8)
# alphabet[(31 − Σ mod 31) mod 31] is _USCC_CHECKS[Σ mod 31].
_USCC_CHECKS = np.frombuffer(USCC_ALPHABET.encode(), dtype=np.uint8)[(31 - np.arange(31)) % 31]
_RESIDENT_ID_CHECKS = np.frombuffer(RESIDENT_ID_CHECK.encode(), dtype=np.uint8)


def _codes_of_18_bytes(values: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """(the bytes of each value as an (n, 18) array, mask of the values that are exactly 18 bytes)."""
    if not (pa.types.is_string(values.type) or pa.types.is_large_string(values.type)):
        values = values.cast(pa.large_string())
    n = len(values)
    width = np.int64 if pa.types.is_large_string(values.type) else np.int32
    _, offsets_buffer, data_buffer = values.buffers()
    offsets = np.frombuffer(offsets_buffer, dtype=width, count=values.offset + n + 1)[values.offset :].astype(np.int64)
    data = np.frombuffer(data_buffer, dtype=np.uint8) if data_buffer is not None else np.zeros(1, np.uint8)
    starts = offsets[:-1]
    sized = (offsets[1:] - starts) == 18
    if n and bool(sized.all()) and offsets[-1] - offsets[0] == 18 * n:
        return data[offsets[0] : offsets[-1]].reshape(n, 18), sized
    picks = np.where(sized, starts, 0)[:, None] + np.arange(18)[None, :]
    return np.take(data, picks, mode="clip"), sized


def check_characters_ok(kind: str, values: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """For each value of an Arrow string array: does its 18th character equal the check character of
    its first 17 (GB 32100-2015 for ``uscc``, GB 11643-1999 for ``resident_id``)? False for values
    that are not 18 bytes; meaningful for values of the code's shape (see :func:`fast_path`). Missing
    values count as correct (there is nothing to check)."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    codes, sized = _codes_of_18_bytes(values)
    if kind == "uscc":
        index = _USCC_INDEX[codes]  # each character's index in the alphabet
        ok = codes[:, 17] == _USCC_CHECKS[(index.astype(np.float32) @ _USCC_WEIGHT_VECTOR).astype(np.int32) % 31]
    elif kind == "resident_id":
        total = (codes.astype(np.float32) @ _RESIDENT_ID_WEIGHT_VECTOR).astype(np.int32) - _ZERO_OFFSET
        ok = codes[:, 17] == _RESIDENT_ID_CHECKS[total % 11]
    else:
        raise ValueError(f"{kind!r} has no check character")
    ok &= sized
    if values.null_count:
        ok |= values.is_null().to_numpy(zero_copy_only=False)
    return ok


def _full_match(value: str, pattern: str) -> str:
    return f"regexp_full_match({value}, {_lit(pattern)})"


def _years_re(first: int, last: int) -> str:
    """A regular expression matching the four-digit years ``first``..``last`` (whole decades as ``\\d``)."""
    parts: list[str] = []
    year = first
    while year <= last:
        if year % 10 == 0 and year + 9 <= last:
            parts.append(f"{year // 10}\\d")
            year += 10
        else:
            parts.append(str(year))
            year += 1
    if not parts:
        raise ValueError(f"no years between {first} and {last}")
    return "(" + "|".join(parts) + ")"


def problem_sql(kind: str, column_sql: str, *, normalised: bool = False) -> str:
    """SQL that is NULL when the value is valid or missing, else a Chinese reason.

    The value is normalised first (see :func:`normalise_sql`) unless ``normalised`` says
    ``column_sql`` already holds the output of ``normalise_sql(kind, ...)`` — the cheaper form when
    a query computes the canonical column anyway (DuckDB does not share subexpressions inside CASE
    branches, so computing the canonical value in a subquery first, as :func:`check_relation` does,
    avoids evaluating it more than once).
    """
    _require_kind(kind)
    value = column_sql if normalised else f"({normalise_sql(kind, column_sql)})"
    return _problem_on(kind, value)


def _case(v: str, *branches: tuple[str, str]) -> str:
    whens = " ".join(f"WHEN {cond} THEN {_lit(reason)}" for cond, reason in branches)
    return f"CASE WHEN {v} IS NULL OR {v} = '' THEN NULL {whens} END"


def _problem_on(kind: str, v: str) -> str:
    if kind == "string":
        return "CAST(NULL AS VARCHAR)"
    if kind == "uscc":
        return _case(
            v,
            (f"length({v}) <> 18", "统一社会信用代码应为18位"),
            (
                f"NOT {_matches(v, f'^[{USCC_ALPHABET}]{{18}}$')}",
                "统一社会信用代码含有不允许的字符（不使用 I、O、Z、S、V）",
            ),
            (_not_matches(v, r"^..\d{6}"), "统一社会信用代码第3至8位应为行政区划代码"),
            (f"{uscc_check_sql(v)} <> substr({v}, 18, 1)", "统一社会信用代码校验位错误"),
        )
    if kind == "resident_id":
        birth = f"try_strptime(substr({v}, 7, 8), '%Y%m%d')"
        return _case(
            v,
            (_matches(v, r"^\d{15}$"), "身份证号码为15位旧号码，应使用18位号码"),
            (f"length({v}) <> 18", "身份证号码应为18位"),
            (_not_matches(v, r"^\d{17}[\dX]$"), "身份证号码前17位应为数字，末位应为数字或X"),
            (f"NOT {_matches(v, '^' + _PROVINCE_RE)}", "身份证号码地址码无效"),
            (
                f"NOT coalesce(CAST({birth} AS DATE) BETWEEN DATE '1900-01-01' AND current_date, false)",
                "身份证号码出生日期无效",
            ),
            (f"{resident_id_check_sql(v)} <> substr({v}, 18, 1)", "身份证号码校验位错误"),
        )
    if kind == "mobile":
        return _case(
            v,
            (_not_matches(v, r"^\d+$"), "手机号码格式错误"),
            (f"length({v}) <> 11", "手机号码应为11位"),
            (_not_matches(v, r"^1[3-9]"), "手机号码号段无效"),
        )
    if kind == "phone":
        return _case(v, (f"NOT {_matches(v, _PHONE_RE)}", "电话号码格式错误"))
    if kind == "postcode":
        return _case(
            v,
            (_not_matches(v, r"^\d{6}$"), "邮政编码应为6位数字"),
            (_not_matches(v, r"^[0-8]"), "邮政编码首位无效"),
        )
    if kind == "email":
        return _case(
            v,
            (f"length({v}) > 254 OR length(split_part({v}, '@', 1)) > 64", "电子邮箱地址过长"),
            (f"NOT {_matches(v, _EMAIL_RE)}", "电子邮箱格式错误"),
        )
    if kind == "division_code":
        return _case(
            v,
            (_not_matches(v, r"^(\d{6}|\d{9}|\d{12})$"), "行政区划代码应为6、9或12位数字"),
            (f"NOT {_matches(v, '^' + _PROVINCE_RE)}", "行政区划代码省级代码无效"),
        )
    if kind == "person_name":
        return _case(
            v,
            (f"length({v}) < 2 OR length({v}) > 20", "姓名长度应为2至20个字符"),
            (f"NOT ({_matches(v, _HAN_NAME_RE)} OR {_matches(v, _LATIN_NAME_RE)})", "姓名含有不允许的字符"),
        )
    if kind == "address":
        return _case(
            v,
            (f"length({v}) > 200", "地址过长（超过200个字符）"),
            (_not_matches(v, _HAN_OR_DIGIT_RE), "地址应包含汉字或数字"),
        )
    if kind == "amount":
        return _case(
            v,
            (_matches(v, _AMOUNT_MANY_DECIMALS_RE), "金额最多保留两位小数"),
            (f"NOT {_matches(v, _AMOUNT_RE)}", "金额格式错误"),
            (
                f"NOT coalesce(abs(try_cast(replace({v}, ',', '') AS DECIMAL(18,2))) <= {AMOUNT_LIMIT}, false)",
                "金额超出范围",
            ),
        )
    if kind == "integer":
        return _case(
            v,
            (f"NOT {_matches(v, _INTEGER_RE)}", "整数格式错误"),
            (f"try_cast({_integer_plain(v)} AS BIGINT) IS NULL", "整数超出范围"),
        )
    if kind == "number":
        return _case(
            v,
            (f"NOT {_matches(v, _NUMBER_RE)}", "数值格式错误"),
            (f"NOT isfinite(try_cast(replace({v}, ',', '') AS DOUBLE))", "数值超出范围"),
        )
    if kind == "boolean":
        return _case(v, (f"{v} NOT IN ('true', 'false')", "布尔值应为 是/否、true/false、1/0 或 Y/N"))
    if kind == "date":
        spelled = f"({_matches(v, _DATE_SEPARATED_RE)} OR {_matches(v, _DATE_COMPACT_RE)})"
        return _case(
            v,
            (f"NOT {spelled}", "日期格式错误，应为 YYYY-MM-DD、YYYYMMDD 或 YYYY年M月D日"),
            (f"{_date_parsed(v)} IS NULL", "日期无效"),
        )
    if kind == "datetime":
        return _case(
            v,
            (f"NOT {_matches(v, _DATETIME_RE)}", "日期时间格式错误，应为 YYYY-MM-DD HH:MM:SS"),
            (f"{_datetime_parsed(v)} IS NULL", "日期时间无效"),
        )
    if kind == "year":
        return _case(v, (_not_matches(v, r"^\d{4}$"), "年份应为4位数字"))
    raise AssertionError(kind)  # pragma: no cover


def uscc_check_sql(v: str) -> str:
    """SQL for the GB 32100-2015 check character of the first 17 characters of ``v``."""
    alphabet = _lit(USCC_ALPHABET)
    terms = " + ".join(f"(strpos({alphabet}, substr({v}, {i + 1}, 1)) - 1) * {w}" for i, w in enumerate(USCC_WEIGHTS))
    return f"substr({alphabet}, (31 - ({terms}) % 31) % 31 + 1, 1)"


def resident_id_check_sql(v: str) -> str:
    """SQL for the GB 11643-1999 (ISO 7064 MOD 11-2) check character of the first 17 digits of ``v``.

    The digits are taken arithmetically from the 17-digit number (about twice as fast as 17
    substrings). The number is written out once per digit rather than bound through a one-element
    list: DuckDB evaluates list comprehensions over the whole vector even inside a CASE branch
    taken by a few rows, which made this several times slower where it matters (the values the
    shortcut did not clear). ``v`` must start with 17 ASCII digits.
    """
    n = f"CAST(left({v}, 17) AS BIGINT)"
    terms = " + ".join(f"(({n} // {10 ** (16 - i)}) % 10) * {w}" for i, w in enumerate(RESIDENT_ID_WEIGHTS))
    return f"substr({_lit(RESIDENT_ID_CHECK)}, CAST(({terms}) % 11 AS INTEGER) + 1, 1)"


def _require_kind(kind: str) -> None:
    if kind not in KINDS:
        raise ValueError(f"unknown semantic type {kind!r}; expected one of {', '.join(KINDS)}")


# --- checking a whole relation ------------------------------------------------------------------------


@dataclass(frozen=True)
class Reject:
    row_number: int
    column: str
    value: str | None
    reason: str


@dataclass(frozen=True)
class RelationCheck:
    rows: int
    invalid: dict[str, int] = field(default_factory=dict)
    examples: list[Reject] = field(default_factory=list)

    @property
    def rows_with_problems_upper_bound(self) -> int:
        return min(self.rows, sum(self.invalid.values()))


def _checked_sql(relation_sql: str, columns: Mapping[str, str], row_number_column: str | None) -> str:
    """One pass: raw value and problem of each checked column, with the row number as ``__row``."""
    if not columns:
        raise ValueError("no columns to check")
    for kind in columns.values():
        _require_kind(kind)
    rn = quote_identifier(row_number_column) if row_number_column else "row_number() OVER ()"
    raw = ", ".join(f"{quote_identifier(c)} AS __r{i}" for i, c in enumerate(columns))
    norm = ", ".join(f"__r{i}, {normalise_sql(kind, f'__r{i}')} AS __n{i}" for i, kind in enumerate(columns.values()))
    probs = ", ".join(
        f"__r{i}, {problem_sql(kind, f'__n{i}', normalised=True)} AS __p{i}" for i, kind in enumerate(columns.values())
    )
    return (
        f"SELECT __row, {probs} FROM (SELECT __row, {norm} FROM "
        f"(SELECT {rn} AS __row, {raw} FROM {_relation(relation_sql)} AS __src) AS __raw) AS __norm"
    )


_QUERY_STARTS = ("SELECT", "WITH", "FROM", "VALUES", "TABLE", "PIVOT", "UNPIVOT", "(")


def _relation(relation_sql: str) -> str:
    """A query in brackets; a table name or table function (``read_csv(...)``) as written."""
    if relation_sql.lstrip().upper().startswith(_QUERY_STARTS):
        return f"({relation_sql})"
    return relation_sql


def rejects_sql(relation_sql: str, columns: Mapping[str, str], *, row_number_column: str | None = None) -> str:
    """SQL listing every invalid value as ``(row_number, column, value, reason)``, in row order.

    ``relation_sql`` is a table name or a ``SELECT``; ``columns`` maps column names to kinds. Rows are
    numbered from 1 in scan order unless ``row_number_column`` names a column that numbers them.
    Suitable for ``COPY (...) TO 'rejects.csv'``.
    """
    items = ", ".join(f"{{'col': {_lit(c)}, 'val': __r{i}, 'why': __p{i}}}" for i, c in enumerate(columns))
    return (
        'SELECT __row AS row_number, __item.col AS "column", __item.val AS "value", __item.why AS reason '
        f"FROM (SELECT __row, unnest([__x FOR __x IN [{items}] IF __x.why IS NOT NULL]) AS __item "
        f"FROM ({_checked_sql(relation_sql, columns, row_number_column)}) AS __checked) AS __long "
        f'ORDER BY row_number, list_position({_lit_list(list(columns))}, "column")'
    )


def _lit_list(values: list[str]) -> str:
    return "[" + ", ".join(_lit(v) for v in values) + "]"


def check_relation(
    con: Any,
    relation_sql: str,
    columns: Mapping[str, str],
    *,
    examples: int = 20,
    row_number_column: str | None = None,
) -> RelationCheck:
    """Check every value of ``columns`` (name → kind) of ``relation_sql`` in one vectorised query.

    Returns the number of rows, the number of invalid values per column, and the first
    ``examples`` rejects in row order. ``con`` is a DuckDB connection or cursor.
    """
    names = list(columns)
    aggregates = ", ".join(
        f"count(__p{i}), min_by({{'row': __row, 'value': __r{i}, 'reason': __p{i}}}, __row, {int(examples)}) "
        f"FILTER (WHERE __p{i} IS NOT NULL)"
        for i in range(len(names))
    )
    sql = f"SELECT count(*), {aggregates} FROM ({_checked_sql(relation_sql, columns, row_number_column)}) AS __c"
    result = con.execute(sql).fetchone()
    assert result is not None
    invalid: dict[str, int] = {}
    found: list[Reject] = []
    for i, name in enumerate(names):
        invalid[name] = int(result[1 + 2 * i])
        for item in result[2 + 2 * i] or []:
            found.append(Reject(int(item["row"]), name, item["value"], item["reason"]))
    order = {name: i for i, name in enumerate(names)}
    found.sort(key=lambda r: (r.row_number, order[r.column]))
    return RelationCheck(rows=int(result[0]), invalid=invalid, examples=found[: max(examples, 0)])
