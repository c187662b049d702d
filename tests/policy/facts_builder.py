"""A small facts table registered as the current facts version, for matching tests: rows of the
pack's inputs (``policy.cases.facts_table``) plus ``name``, written where the enterprise domain
keeps a version's Parquet file, with the version row."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pubdata.enterprise import files
from pubdata.enterprise.models import EnterpriseFactsVersion
from pubdata.policy.packs.cases import facts_table
from pubdata.policy.packs.pack import load_pack
from pubdata.standards import uscc_with_check

PACK = "qingdao-cbec-2023"

# Facts every enterprise starts from (as the pack's test defaults): a 崂山区 enterprise with nothing else.
BASE: dict[str, Any] = dict(load_pack(PACK).spec.test_defaults)


def code(n: int, district: str = "370212") -> str:
    """A valid credit code for test enterprise ``n``."""
    return uscc_with_check(f"91{district}MA{n:07d}")


def publish_facts(session: Session, home: Path, rows: list[dict[str, Any]], *, year: int = 2022) -> int:
    """Write ``rows`` (each: ``uscc``, optional ``name``, facts over ``BASE``) as a new facts version
    under ``home``; returns its number."""
    pack = load_pack(PACK)
    full = [{**BASE, **r} for r in rows]
    table = facts_table(pack, full)
    table = table.append_column("name", pa.array([r.get("name", f"测试企业{i}") for i, r in enumerate(full)]))
    number = (session.scalar(select(func.max(EnterpriseFactsVersion.number))) or 0) + 1
    target = files.facts_file(home, number)
    target.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, target)
    session.add(EnterpriseFactsVersion(number=number, year=year, enterprises=len(rows), sources={}, built_via="test"))
    session.flush()
    return number
