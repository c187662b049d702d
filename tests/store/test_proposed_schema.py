"""The Table Schema the store proposes for a declared resource's new table, from the entry's fields."""

from __future__ import annotations

import pytest

from pubdata.catalog.errors import NotEntryOwner
from pubdata.errors import Forbidden, Unauthenticated
from pubdata.store import service, table_schema
from pubdata.store.errors import TableExists
from pubdata.store.schemas import ResourceTableCreate
from tests.builders import make_entry

FIELDS = [
    {"name": "uscc", "label": "统一社会信用代码", "type": "string"},
    {"name": "legal_rep", "label": "法定代表人姓名", "type": "string", "personal_kind": "name"},
    {"name": "id_no", "label": "法定代表人证件号", "type": "string", "is_personal": True, "personal_kind": "id_number"},
    {"name": "note", "label": "备注", "type": "string", "is_personal": True, "description": "含个人情况说明"},
    {"name": "staff", "label": "从业人数", "type": "integer"},
    {"name": "capital", "label": "注册资本（万元）", "type": "number"},
    {"name": "founded", "label": "成立日期", "type": "date"},
    {"name": "checked_at", "label": "核查时间", "type": "datetime"},
    {"name": "year", "label": "年度", "type": "year"},
    {"name": "active", "label": "是否存续", "type": "boolean"},
]


def _entry(session, actor, fields=FIELDS):
    return make_entry(session, actor, fields=fields, resources=[{"name": "登记信息"}])


def test_the_proposal_is_one_table_schema_field_per_declared_field(session, as_actor):
    dept = as_actor("department")
    rid = _entry(session, dept).resources[0].id
    proposal = service.proposed_schema(session, dept, rid)
    assert proposal == {
        "fields": [
            {"name": "uscc", "type": "string", "title": "统一社会信用代码", "semanticType": "uscc"},
            {
                "name": "legal_rep",
                "type": "string",
                "title": "法定代表人姓名",
                "semanticType": "person_name",
                "personalKind": "name",
            },
            {
                "name": "id_no",
                "type": "string",
                "title": "法定代表人证件号",
                "semanticType": "resident_id",
                "personalKind": "id_number",
            },
            {
                "name": "note",
                "type": "string",
                "title": "备注",
                "description": "含个人情况说明",
                "personalKind": "other",
            },
            {"name": "staff", "type": "integer", "title": "从业人数"},
            {"name": "capital", "type": "number", "title": "注册资本（万元）", "semanticType": "amount"},
            {"name": "founded", "type": "date", "title": "成立日期"},
            {"name": "checked_at", "type": "datetime", "title": "核查时间"},
            {"name": "year", "type": "year", "title": "年度"},
            {"name": "active", "type": "boolean", "title": "是否存续"},
        ]
    }
    # accepted as it is, it becomes the table's schema unchanged
    table = service.create_resource_table(session, dept, rid, ResourceTableCreate(schema=proposal))
    assert table.table_schema == table_schema.to_json(table_schema.parse_schema(proposal))
    assert [f["personalKind"] for f in table.table_schema["fields"] if "personalKind" in f] == [
        "name",
        "id_number",
        "other",
    ]


def test_the_operator_is_offered_it_too_and_no_one_once_the_table_exists(session, as_actor):
    dept = as_actor("department")
    rid = _entry(session, dept).resources[0].id
    assert service.proposed_schema(session, as_actor("operator"), rid)["fields"][0]["name"] == "uscc"
    service.create_resource_table(session, dept, rid, ResourceTableCreate())
    with pytest.raises(TableExists):
        service.proposed_schema(session, dept, rid)


@pytest.mark.parametrize(
    ("role", "error"),
    [
        ("department", NotEntryOwner),  # another organisation's department
        ("enterprise", Forbidden),
        ("regulator", Forbidden),
        ("anonymous", (Forbidden, Unauthenticated)),
    ],
)
def test_no_one_else_is_offered_a_schema(session, as_actor, role, error):
    rid = _entry(session, as_actor("department")).resources[0].id
    with pytest.raises(error):
        service.proposed_schema(session, as_actor(role), rid)


def test_an_entry_without_declared_fields_proposes_an_empty_list_to_fill_in(session, as_actor):
    dept = as_actor("department")
    rid = _entry(session, dept, fields=[]).resources[0].id
    assert service.proposed_schema(session, dept, rid) == {"fields": []}
