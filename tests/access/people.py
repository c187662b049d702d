"""A conditionally open table of personal data, loaded through the real ingest pipeline, and the
two-step approval that grants a consumer part of it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from pubdata.access.schemas import Decision, RequestCreate
from pubdata.access.service import beijing_today
from pubdata.authz import Actor
from pubdata.store import contracts, service
from pubdata.store.ingest import load as ingest
from pubdata.store.schemas import TableCreate
from tests.builders import make_entry

SCHEMA = {
    "fields": [
        {"name": "name", "type": "string", "semanticType": "person_name", "personalKind": "name", "title": "姓名"},
        {"name": "id_number", "type": "string", "semanticType": "resident_id", "personalKind": "id_number"},
        {"name": "phone", "type": "string", "semanticType": "mobile", "personalKind": "phone"},
        {"name": "address", "type": "string", "semanticType": "address", "personalKind": "address"},
        {"name": "district", "type": "string"},
        {"name": "birth", "type": "date"},
        {"name": "amount", "type": "number", "semanticType": "amount"},
    ]
}
DISTRICTS = ["市南区", "崂山区", "黄岛区"]
SURNAMES = "张王李赵刘陈杨黄"


def resident_id(i: int) -> str:
    body = f"370212{1960 + i % 40}{1 + i % 12:02d}{1 + i % 28:02d}{i % 1000:03d}"
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    return body + "10X98765432"[sum(int(c) * w for c, w in zip(body, weights, strict=True)) % 11]


def person(i: int) -> dict[str, Any]:
    return {
        "name": SURNAMES[i % 8] + "小明" if i % 2 else SURNAMES[i % 8] + "芳",
        "id_number": resident_id(i),
        "phone": f"138{i:08d}",
        "address": f"山东省青岛市{DISTRICTS[i % 3]}海尔路{i + 1}号",
        "district": DISTRICTS[i % 3],
        "birth": f"{1960 + i % 40}-{1 + i % 12:02d}-{1 + i % 28:02d}",
        "amount": f"{100 + i}.25",
    }


@dataclass
class People:
    owner: Actor
    resource_id: str
    entry_code: str
    entry_name: str


def load_people(session: Session, owner: Actor, home: Path, tmp_path: Path, n: int = 30) -> People:
    entry = make_entry(session, owner, title="居民医保缴费信息", open_type="conditional", category="medical")
    table = service.create_table(session, owner, entry.code, TableCreate(name="缴费明细", schema=SCHEMA))
    path = tmp_path / "people.csv"
    rows = [",".join(person(i).values()) for i in range(n)]
    path.write_text(",".join(SCHEMA_NAMES) + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    result = ingest.ingest(session, owner, table.resource_id, path, home=home)
    assert result.state == "published" and result.rows_loaded == n, result
    return People(owner, table.resource_id, entry.code, entry.name)


SCHEMA_NAMES = [f["name"] for f in SCHEMA["fields"]]


def ask(session: Session, consumer: Actor, people: People, fields: list[str], days: int = 30) -> int:
    today = beijing_today()
    data = RequestCreate(
        scenario="普惠金融授信",
        purpose="核验借款人身份与缴费情况，用于小微企业主信用贷款审批",
        fields=fields,
        period_start=today,
        period_end=today + timedelta(days=days),
        expected_rows=1000,
    )
    return contracts.request_access(session, consumer, people.resource_id, data).id


def grant(
    session: Session,
    consumer: Actor,
    operator: Actor,
    people: People,
    fields: list[str],
    *,
    department: dict[str, Any] | None = None,
    operator_terms: dict[str, Any] | None = None,
) -> int:
    """Request, department approval (with ``department`` narrowing), operator approval; the grant id."""
    request_id = ask(session, consumer, people, fields)
    contracts.review_access(session, people.owner, request_id, Decision(action="approve", **(department or {})))
    read = contracts.review_access(session, operator, request_id, Decision(action="approve", **(operator_terms or {})))
    assert read.state == "granted" and read.grant is not None
    return read.grant.id
