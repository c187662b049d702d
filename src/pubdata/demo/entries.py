"""Compose the 5,099 demo catalogue entries from the subjects in ``catalogue.py``.

Everything is drawn from one ``random.Random``: the same seed gives the same entries, codes,
titles, fields and times. Anchors come first with fixed codes; generated codes continue each
(department, category) sequence after them.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from pubdata.catalog import vocab
from pubdata.catalog.schemas import EntryCreate, FieldIn, ResourceIn
from pubdata.demo import catalogue, names
from pubdata.demo.catalogue import Anchor
from pubdata.demo.fields import BOOKKEEPING, FIELDS
from pubdata.demo.subjects import SUBJECTS, Subject

YEARS = (2018, 2019, 2020, 2021, 2022)
LICENCES = {
    "unconditional": "青岛市公共数据开放许可协议",
    "conditional": "青岛市公共数据有条件开放授权协议",
    "closed": "不予开放（仅限政务共享）",
}


@dataclass(frozen=True)
class Department:
    code: str
    name: str
    phone: str


def departments() -> dict[str, Department]:
    """Every publishing department (city bureaus and district commerce bureaus) by code."""
    out: dict[str, Department] = {}
    for code, name, _what in names.CITY_DEPARTMENTS:
        out[code] = Department(code, name, _phone(code))
    for district, code in names.DISTRICT_COMMERCE_CODES.items():
        out[code] = Department(code, names.district_commerce_name(district), _phone(code))
    return out


def _phone(code: str) -> str:
    return "0532-8" + "".join(random.Random(f"phone:{code}").choice("0123456789") for _ in range(7))


def dept_abbr(code: str) -> str:
    return code.removeprefix("qd-").replace("-", "").upper()


def epoch(seed: int) -> datetime:
    """The demo city's "now": the platform's launch in December 2022, shifted by the seed."""
    return datetime(2022, 12, 20, tzinfo=UTC) + timedelta(minutes=seed % 1440)


def field_list(keys: list[str]) -> list[FieldIn]:
    out = []
    for key in keys:
        label, type_, kind, description = FIELDS[key]
        out.append(
            FieldIn(
                name=key,
                label=label,
                type=type_,
                description=description,
                is_personal=kind is not None,
                personal_kind=kind,
            )
        )
    return out


def _contact(dept: Department) -> dict[str, str]:
    return {
        "contact_name": f"{dept.name}数据管理员",
        "contact_email": f"data@{dept.code}.qingdao.gov.cn",
        "contact_phone": dept.phone,
    }


class Composer:
    """Draws entries one by one, keeping titles unique and code sequences per department/category."""

    def __init__(self, rng: random.Random, seed: int) -> None:
        self.rng = rng
        self.depts = departments()
        self.titles: set[str] = set()
        self.counters: dict[tuple[str, str], int] = {}
        self.now = epoch(seed)
        self.entries: list[EntryCreate] = []
        self.times: list[datetime] = []

    def _time(self) -> datetime:
        # Registered over the two years before launch, to the second.
        return self.now - timedelta(seconds=self.rng.randint(3600, 2 * 365 * 86400))

    def _code(self, dept: str, category: str) -> str:
        key = (dept_abbr(dept), catalogue.CATEGORY_ABBR[category])
        self.counters[key] = self.counters.get(key, 0) + 1
        return f"QD-{key[0]}-{key[1]}-{self.counters[key]:05d}"

    def add_anchor(self, a: Anchor) -> None:
        dept = self.depts[a.dept]
        prefix, number = a.code.rsplit("-", 1)
        key = (prefix.split("-")[1], prefix.split("-")[2])
        self.counters[key] = max(self.counters.get(key, 0), int(number))
        fields = field_list(a.fields.split())
        assert a.open_type != "unconditional" or not any(f.is_personal for f in fields), a.code
        self.titles.add(a.title)
        self.entries.append(
            EntryCreate(
                code=a.code,
                title=a.title,
                description=a.description,
                category=a.category,
                open_type=a.open_type,
                security_grade=a.grade,
                update_frequency=a.freq,
                district=vocab.CITYWIDE,
                temporal_start=date(2018, 1, 1),
                licence=LICENCES[a.open_type],
                tags=[*a.tags.split(), vocab.CATEGORY_BY_CODE[a.category].label][:5],
                fields=fields,
                organisation=a.dept,
                resources=[ResourceIn(name=a.title, description=f"{a.title}数据表")],
                **_contact(dept),
            )
        )
        self.times.append(self.now - timedelta(days=400))

    def _title(self, subject: Subject, place: str, year: int | None) -> str:
        where = "青岛市" if place == vocab.CITYWIDE and year is None else ("" if place == vocab.CITYWIDE else place)
        when = "" if year is None else (f"{year}年度" if subject.freq == "yearly" else f"{year}年")
        return f"{when}{where}{subject.stem}"

    def try_add(self, category: str, subject: Subject, place: str, year: int | None) -> bool:
        title = self._title(subject, place, year)
        if title in self.titles:
            return False
        self.titles.add(title)
        rng = self.rng
        dept_code = subject.dept
        if dept_code == "@swj":
            dept_code = names.DISTRICT_COMMERCE_CODES.get(place, "qd-swj")
        dept = self.depts[dept_code]

        keys = subject.fields.split()
        if place != vocab.CITYWIDE and "district" not in keys and rng.random() < 0.5:
            keys.append("district")
        extras = [k for k in BOOKKEEPING if k not in keys]
        rng.shuffle(extras)
        width = rng.randint(max(5, len(keys)), min(15, len(keys) + 4))
        keys = keys + extras[: max(0, width - len(keys))]
        fields = field_list(keys)
        personal = [f for f in fields if f.is_personal]

        if personal:
            open_type = rng.choices(("conditional", "closed"), (80, 20))[0]
            sensitive = any(f.personal_kind in ("id_number", "health", "bank_card") for f in personal)
            grade = rng.choices(("important", "core"), (50, 50) if sensitive else (85, 15))[0]
        else:
            open_type = rng.choices(("unconditional", "conditional", "closed"), (72, 21, 7))[0]
            grade = (
                "general"
                if open_type == "unconditional" and rng.random() < 0.9
                else rng.choice(("general", "important", "important"))
            )
        freq = subject.freq if rng.random() < 0.85 else rng.choice(("monthly", "quarterly", "yearly", "irregular"))
        start: date
        end: date | None
        if year is not None:
            start, end = date(year, 1, 1), date(year, 12, 31)
            if freq in ("realtime", "daily", "weekly"):
                freq = "irregular"  # an archived year no longer changes
        else:
            start = date(rng.randint(2010, 2021), rng.choice((1, 1, 1, 4, 7, 10)), 1)
            end = None if rng.random() < 0.6 else date(2022, 12, 31)

        self.entries.append(
            EntryCreate(
                code=self._code(dept_code, category),
                title=title,
                description=self._description(category, subject, dept, place, year, fields, freq, open_type),
                category=category,
                open_type=open_type,
                security_grade=grade,
                update_frequency=freq,
                district=place,
                temporal_start=start,
                temporal_end=end,
                licence=LICENCES[open_type],
                tags=self._tags(category, subject, place, year),
                fields=fields,
                organisation=dept_code,
                resources=[ResourceIn(name=title, description=f"{title}数据表（CSV）")],
                **_contact(dept),
            )
        )
        self.times.append(self._time())
        return True

    def _description(
        self,
        category: str,
        subject: Subject,
        dept: Department,
        place: str,
        year: int | None,
        fields: list[FieldIn],
        freq: str,
        open_type: str,
    ) -> str:
        rng = self.rng
        where = "全市" if place == vocab.CITYWIDE else place
        labels = "、".join(f.label for f in fields[: rng.randint(3, 5)])
        when = f"{year}年" if year else ""
        first = rng.choice(
            (
                f"{when}{where}{subject.stem}，包括{labels}等{len(fields)}项内容。",
                f"本目录由{dept.name}提供，记录{when}{where}{subject.stem}，主要数据项有{labels}。",
                f"汇集{dept.name}业务系统中{when}{where}的{subject.stem}，含{labels}等字段。",
            )
        )
        sentences = [first]
        if freq != "irregular" and rng.random() < 0.7:
            sentences.append(f"数据{vocab.FREQUENCY_BY_CODE[freq].label}更新。")
        if open_type == "conditional" and any(f.is_personal for f in fields):
            sentences.append("含个人信息，经申请授权后以去标识化方式提供。")
        elif open_type == "closed":
            sentences.append("不向社会开放，仅用于政务共享。")
        elif rng.random() < 0.6:
            sentences.append(rng.choice(catalogue.USES[category]))
        return "".join(sentences[:3])

    def _tags(self, category: str, subject: Subject, place: str, year: int | None) -> list[str]:
        tags = subject.tags.split() + [vocab.CATEGORY_BY_CODE[category].label]
        if place != vocab.CITYWIDE and self.rng.random() < 0.7:
            tags.append(place)
        if year is not None and self.rng.random() < 0.5:
            tags.append(f"{year}年")
        out: list[str] = []
        for t in tags:
            if t not in out:
                out.append(t)
        return out[:5]


def compose(seed: int) -> tuple[list[EntryCreate], list[datetime]]:
    """All 5,099 entries and their creation times, in a fixed order."""
    rng = random.Random(seed)
    c = Composer(rng, seed)
    for anchor in catalogue.ANCHORS:
        c.add_anchor(anchor)
    for category, target in catalogue.CATEGORY_SIZES.items():
        have = sum(1 for e in c.entries if e.category == category)
        subjects = SUBJECTS[category]
        for subject in subjects:  # every subject once, city-wide
            if have < target and c.try_add(category, subject, vocab.CITYWIDE, None):
                have += 1
        attempts = 0
        while have < target:
            attempts += 1
            if attempts > target * 50:
                raise RuntimeError(f"not enough distinct titles for category {category}")
            subject = rng.choice(subjects)
            place = rng.choice(vocab.DISTRICT_NAMES) if subject.by_district and rng.random() < 0.75 else vocab.CITYWIDE
            year = rng.choice(YEARS) if subject.yearly and rng.random() < 0.55 else None
            if c.try_add(category, subject, place, year):
                have += 1
    assert len(c.entries) == catalogue.TOTAL_ENTRIES
    return c.entries, c.times


Progress = Callable[[str], None]
