import pytest

from pubdata.catalog.errors import NotEntryOwner
from pubdata.errors import Invalid
from pubdata.store import service
from pubdata.store.errors import TableNotFound
from pubdata.store.schemas import TableCreate
from tests.builders import make_entry

SCHEMA = {
    "fields": [
        {
            "name": "uscc",
            "type": "string",
            "title": "统一社会信用代码",
            "semanticType": "uscc",
            "constraints": {"required": True, "unique": True},
        },
        {"name": "name", "type": "string", "title": "企业名称"},
        {"name": "capital", "type": "number", "semanticType": "amount"},
    ],
    "primaryKey": "uscc",
}


def test_owner_creates_a_table_with_its_schema(session, as_actor):
    dept = as_actor("department")
    entry = make_entry(session, dept, title="市场主体登记信息")
    table = service.create_table(session, dept, entry.code, TableCreate(name="登记信息", schema=SCHEMA))
    assert table.entry_code == entry.code and table.current_version is None
    assert table.table_schema["primaryKey"] == ["uscc"] or table.table_schema["primaryKey"] == "uscc"
    assert (
        service.get_table(session, as_actor("anonymous"), table.resource_id).table_schema["fields"][0]["semanticType"]
        == "uscc"
    )


def test_schema_defaults_to_the_entrys_declared_fields(session, as_actor):
    dept = as_actor("department")
    entry = make_entry(
        session,
        dept,
        fields=[
            {"name": "credit_code", "label": "统一社会信用代码"},
            {"name": "phone", "label": "联系电话", "personal_kind": "phone"},
        ],
    )
    table = service.create_table(session, dept, entry.code, TableCreate(name="明细"))
    fields = {f["name"]: f for f in table.table_schema["fields"]}
    assert fields["credit_code"]["semanticType"] == "uscc"
    assert fields["phone"]["personalKind"] == "phone"


def test_bad_schema_is_refused_and_no_resource_is_added(session, as_actor):
    dept = as_actor("department")
    entry = make_entry(session, dept)
    before = len(entry.resources)
    bad = {"fields": [{"name": "a", "type": "string"}], "primaryKey": "missing"}
    with pytest.raises(Invalid) as exc:
        service.create_table(session, dept, entry.code, TableCreate(name="坏表", schema=bad))
    assert exc.value.code == "store.invalid_schema"
    session.expire_all()
    assert len(entry.resources) == before


def test_only_the_owner_or_operator_creates_tables(session, as_actor):
    entry = make_entry(session, as_actor("department"))
    with pytest.raises(NotEntryOwner):
        service.create_table(session, as_actor("department"), entry.code, TableCreate(name="x", schema=SCHEMA))
    assert service.create_table(session, as_actor("operator"), entry.code, TableCreate(name="x", schema=SCHEMA))


def test_a_resource_without_a_table_is_not_found(session, as_actor):
    entry = make_entry(session, as_actor("department"))
    with pytest.raises(TableNotFound):
        service.get_table(session, as_actor("anonymous"), entry.resources[0].id)
