"""CKAN/Solr search syntax, translated to the catalogue service's search query.

``fq`` accepts clauses ``field:value``, ``field:"quoted value"``, ``field:(a OR b)``, each optionally
prefixed with ``+``, separated by spaces or ``AND``. ``q`` is free text in Chinese or English; any
``field:value`` clause in it is treated as a filter. ``sort`` takes CKAN's ``field direction`` list.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from pubdata.api.ckan.errors import SearchQueryError
from pubdata.catalog import vocab

# CKAN field name (and our own names) → the service's filter / facet name.
FIELD_MAP: dict[str, str] = {
    "organization": "organisation",
    "organisation": "organisation",
    "groups": "category",
    "category": "category",
    "tags": "tags",
    "open_type": "open_type",
    "security_grade": "security_grade",
    "update_frequency": "update_frequency",
    "district": "district",
}
# Fields every entry has with a fixed value: a clause on them is a no-op when it names that value
# and matches nothing otherwise (CKAN front-ends send ``+dataset_type:dataset``, ``capacity:public``).
CONSTANT_FIELDS: dict[str, str] = {
    "dataset_type": "dataset",
    "type": "dataset",
    "capacity": "public",
    "state": "active",
    "private": "false",
}
# Fields of ``q`` that search text: their value joins the free-text query.
TEXT_FIELDS = ("text", "title", "notes", "name", "title_string", "code")
_VOCABS: dict[str, tuple[vocab.Term, ...]] = {
    "category": vocab.CATEGORIES,
    "open_type": vocab.OPEN_TYPES,
    "security_grade": vocab.SECURITY_GRADES,
    "update_frequency": vocab.UPDATE_FREQUENCIES,
}
_DISTRICT_BY_CODE = {d.code: d.label for d in vocab.DISTRICTS}
SUPPORTED = "、".join([*FIELD_MAP, *CONSTANT_FIELDS])
# Longest q and fq (each) package_search takes: words and a few field clauses, not bulk lists.
MAX_Q_LENGTH = 1000
MAX_FQ_LENGTH = 2000


def _bounded(text: str, what: str, limit: int) -> str:
    if len(text) > limit:
        raise SearchQueryError(f"{what} 过长：最多 {limit} 个字符，实有 {len(text)} 个")
    return text


@dataclass
class Filters:
    """Filters for the service; ``impossible`` when the clauses exclude every entry."""

    values: dict[str, list[str]] = field(default_factory=dict)
    impossible: bool = False


# --- fq ------------------------------------------------------------------------------------------

_FIELD = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


class _Lexer:
    def __init__(self, text: str, what: str) -> None:
        self.text = text
        self.pos = 0
        self.what = what

    def fail(self, reason: str) -> SearchQueryError:
        return SearchQueryError(f"无法解析 {self.what}（{reason}）：{self.text}")

    def skip_space(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def done(self) -> bool:
        self.skip_space()
        return self.pos >= len(self.text)

    def peek_word(self) -> str:
        m = re.compile(r"\S+").match(self.text, self.pos)
        return m.group(0) if m else ""

    def quoted(self) -> str:
        assert self.text[self.pos] == '"'
        end = self.pos + 1
        while end < len(self.text) and self.text[end] != '"':
            end += 2 if self.text[end] == "\\" else 1
        if end >= len(self.text):
            raise self.fail("引号未闭合")
        value = _unescape(self.text[self.pos + 1 : end])
        self.pos = end + 1
        return value

    def bare(self, stop: str = "") -> str:
        start = self.pos
        while self.pos < len(self.text):
            ch = self.text[self.pos]
            if ch == "\\" and self.pos + 1 < len(self.text):
                self.pos += 2
                continue
            if ch.isspace() or ch in stop:
                break
            self.pos += 1
        return _unescape(self.text[start : self.pos])

    def value(self) -> list[str]:
        if self.pos >= len(self.text):
            raise self.fail("缺少取值")
        ch = self.text[self.pos]
        if ch == '"':
            return [self.quoted()]
        if ch == "(":
            return self.group()
        value = self.bare()
        if not value:
            raise self.fail("缺少取值")
        return [value]

    def group(self) -> list[str]:
        self.pos += 1  # "("
        values: list[str] = []
        expect_value = True
        while True:
            self.skip_space()
            if self.pos >= len(self.text):
                raise self.fail("括号未闭合")
            ch = self.text[self.pos]
            if ch == ")":
                if expect_value:
                    raise self.fail("括号内缺少取值")
                self.pos += 1
                return values
            if not expect_value:
                word = self.bare(stop=")")
                if word not in ("OR", "||"):
                    raise self.fail(f"括号内只支持 OR，而不是 {word!r}")
                expect_value = True
                continue
            values.append(self.quoted() if ch == '"' else self.bare(stop=")"))
            expect_value = False


def parse_fq(text: str) -> list[tuple[str, list[str]]]:
    """The clauses of an ``fq`` string as (field, values); values of one clause are alternatives."""
    lexer = _Lexer(_bounded(text, "fq", MAX_FQ_LENGTH), "fq")
    clauses: list[tuple[str, list[str]]] = []
    while not lexer.done():
        word = lexer.peek_word()
        if word in ("AND", "&&"):
            lexer.pos += len(word)
            continue
        if word in ("OR", "||", "NOT") or word.startswith(("-", "!")):
            raise lexer.fail(f"不支持 {word.split(':')[0]}，多个条件之间只支持 AND")
        if word == "*:*":
            lexer.pos += 3
            continue
        if lexer.text[lexer.pos] == "+":
            lexer.pos += 1
        m = _FIELD.match(lexer.text, lexer.pos)
        if m is None or m.end() >= len(lexer.text) or lexer.text[m.end()] != ":":
            raise lexer.fail(f"应为 字段:取值，而不是 {word!r}")
        lexer.pos = m.end() + 1
        clauses.append((m.group(0), lexer.value()))
    return clauses


def _resolve(name: str, value: str) -> str:
    if name in _VOCABS:
        code = vocab.resolve(_VOCABS[name], value)
        if code is None:
            allowed = "、".join(f"{t.code}（{t.label}）" for t in _VOCABS[name])
            raise SearchQueryError(f"{name} 的取值未知：{value}（可选：{allowed}）")
        return code
    if name == "district":
        return _DISTRICT_BY_CODE.get(value, value)
    return value


def add_clauses(filters: Filters, clauses: list[tuple[str, list[str]]]) -> None:
    """AND the clauses into ``filters``: a field given twice keeps the values both allow."""
    for ckan_field, values in clauses:
        if ckan_field in CONSTANT_FIELDS:
            if CONSTANT_FIELDS[ckan_field] not in [v.lower() for v in values]:
                filters.impossible = True
            continue
        name = FIELD_MAP.get(ckan_field)
        if name is None:
            raise SearchQueryError(f"不支持按字段 {ckan_field} 筛选（可用：{SUPPORTED}）")
        codes = list(dict.fromkeys(_resolve(name, v) for v in values))
        if name == "tags":
            if len(codes) > 1:
                raise SearchQueryError("标签条件不支持 OR：请分别写成多个 tags:值 条件（同时具有）")
            filters.values.setdefault("tags", [])
            filters.values["tags"] += [c for c in codes if c not in filters.values["tags"]]
        elif name in filters.values:
            kept = [c for c in filters.values[name] if c in codes]
            filters.values[name] = kept
            if not kept:
                filters.impossible = True
        else:
            filters.values[name] = codes


# --- q -------------------------------------------------------------------------------------------

_Q_CLAUSE = re.compile(r'(?:(?<=\s)|^)\+?([A-Za-z_][A-Za-z0-9_.]*):("(?:[^"\\]|\\.)*"|\([^)]*\)|[^\s/][^\s]*)')


def split_q(q: str, filters: Filters) -> str:
    """The free text of ``q``; its ``field:value`` clauses become filters (text fields stay text)."""
    q = _bounded(q, "q", MAX_Q_LENGTH).strip()
    if q in ("", "*:*", "*"):
        return ""
    words: list[str] = []

    def clause(m: re.Match[str]) -> str:
        name, raw = m.group(1), m.group(2)
        if name in TEXT_FIELDS:
            words.append(_unescape(raw.strip('"')))
            return " "
        if name not in FIELD_MAP and name not in CONSTANT_FIELDS:
            raise SearchQueryError(f"q 中不支持字段 {name}（可用：{SUPPORTED}、{'、'.join(TEXT_FIELDS)}）")
        add_clauses(filters, parse_fq(f"{name}:{raw}"))
        return " "

    rest = _Q_CLAUSE.sub(clause, q)
    tokens = [t for t in rest.split() if t not in ("AND", "&&", "+", "*", "*:*")]
    return " ".join([*words, *(t.strip('"') for t in tokens)]).strip()


# --- sort ----------------------------------------------------------------------------------------

DEFAULT_SORT = "score desc, metadata_modified desc"
_SORT_KEYS = {
    "score": "relevance",
    "metadata_modified": "modified",
    "metadata_created": "created",
    "title_string": "title",
    "title": "title",
    "name": "code",
    "code": "code",
}


def parse_sort(text: str) -> str:
    """The service sort name for a CKAN sort. The first clause decides; the rest must be valid but
    the service breaks ties its own way (modification time, then code)."""
    clauses = [c.strip() for c in text.split(",") if c.strip()]
    if not clauses:
        return ""
    names: list[str] = []
    for clause in clauses:
        parts = clause.split()
        key = parts[0]
        direction = parts[1].lower() if len(parts) > 1 else "asc"
        if len(parts) > 2 or key not in _SORT_KEYS or direction not in ("asc", "desc"):
            raise SearchQueryError(f"不支持的排序：{clause}（可用字段：{'、'.join(_SORT_KEYS)}，方向 asc 或 desc）")
        if key == "score":
            if direction != "desc":
                raise SearchQueryError("按相关度排序只支持 score desc")
            names.append("relevance")
        else:
            names.append(f"{_SORT_KEYS[key]}_{direction}")
    return names[0]


def facet_name(ckan_field: str) -> str:
    name = FIELD_MAP.get(ckan_field)
    if name is None:
        raise SearchQueryError(f"不支持的分面字段：{ckan_field}（可用：{'、'.join(FIELD_MAP)}）")
    return name
