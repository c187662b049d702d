"""A loaded table for the row-query, SQL and download tests: 40 enterprises across four districts,
loaded through the real ingest pipeline into the app's data home."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from pubdata.authz import Actor
from pubdata.standards import uscc_with_check
from pubdata.store import service
from pubdata.store.ingest import load as ingest
from pubdata.store.schemas import TableCreate
from tests.builders import make_entry

SCHEMA = {
    "fields": [
        {"name": "uscc", "type": "string", "semanticType": "uscc", "title": "统一社会信用代码"},
        {"name": "name", "type": "string", "title": "企业名称"},
        {"name": "district", "type": "string", "title": "所属区"},
        {"name": "capital", "type": "number", "semanticType": "amount", "title": "注册资本"},
        {"name": "staff", "type": "integer", "title": "参保人数"},
        {"name": "founded", "type": "date", "title": "成立日期"},
    ],
    "primaryKey": "uscc",
}
DISTRICTS = ["市南区", "市北区", "崂山区", "黄岛区"]
CODES = [uscc_with_check(f"91370200MA{i:07d}") for i in range(40)]


def csv_text(n: int = 40) -> str:
    lines = ["uscc,name,district,capital,staff,founded"]
    for i in range(n):
        staff = "" if i % 10 == 9 else str(i * 3)
        name = f"青岛{'海洋' if i % 2 else '港湾'}科技有限公司{i}"
        lines.append(f"{CODES[i]},{name},{DISTRICTS[i % 4]},{100 + i}.50,{staff},2020-01-{1 + i % 28:02d}")
    return "\n".join(lines) + "\n"


@dataclass
class Loaded:
    owner: Actor
    resource_id: str
    entry_code: str
    entry_name: str


def load_table(
    session: Session, owner: Actor, home: Path, tmp_path: Path, *, open_type: str = "unconditional", n: int = 40
) -> Loaded:
    entry = make_entry(session, owner, title="市场主体登记信息", open_type=open_type)
    table = service.create_table(session, owner, entry.code, TableCreate(name="登记信息", schema=SCHEMA))
    path = tmp_path / "registry.csv"
    path.write_text(csv_text(n), encoding="utf-8")
    result = ingest.ingest(session, owner, table.resource_id, path, home=home)
    assert result.state == "published" and result.rows_loaded == n
    return Loaded(owner, table.resource_id, entry.code, entry.name)
