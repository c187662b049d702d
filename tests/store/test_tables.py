import pytest

from pubdata.authz import SYSTEM
from pubdata.catalog import service as catalog
from pubdata.catalog.errors import NotEntryOwner
from pubdata.errors import Forbidden, Invalid, Unauthenticated
from pubdata.store import service
from pubdata.store.errors import TableExists, TableNotFound
from pubdata.store.schemas import ResourceTableCreate, TableCreate
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


# --- the resource an entry declares holds its rows --------------------------------------------------


def _registered(session, actor):
    """An entry registered the way a department does it: with its resource, no table yet."""
    return make_entry(
        session, actor, title="市场主体登记信息", resources=[{"name": "登记信息", "description": "登记在册的市场主体"}]
    )


def _resources(session, entry):
    session.expire_all()
    return [(r.id, r.name, r.description) for r in catalog.get_entry(session, SYSTEM, entry.code).resources]


def test_a_table_named_as_the_declared_resource_is_given_to_it_not_added_beside_it(session, as_actor):
    dept = as_actor("department")
    entry = _registered(session, dept)
    before = _resources(session, entry)
    table = service.create_table(
        session, dept, entry.code, TableCreate(name="登记信息", description="x", schema=SCHEMA)
    )
    assert table.resource_id == before[0][0] and table.name == "登记信息"
    assert _resources(session, entry) == before  # one resource, its catalogue description kept
    assert service.get_table(session, as_actor("anonymous"), before[0][0]).table_schema["primaryKey"] in (
        "uscc",
        ["uscc"],
    )


def test_a_resource_is_given_its_table_by_id_with_the_schema_of_the_entrys_fields(session, as_actor):
    dept = as_actor("department")
    entry = _registered(session, dept)
    (rid, _name, _description), *_ = _resources(session, entry)
    table = service.create_resource_table(session, dept, rid, ResourceTableCreate(reject_threshold=0.1))
    assert table.resource_id == rid and table.entry_code == entry.code and table.reject_threshold == 0.1
    assert [f["name"] for f in table.table_schema["fields"]] == ["name"]
    assert len(_resources(session, entry)) == 1


def test_a_second_table_for_a_resource_is_a_conflict_and_changes_nothing(session, as_actor):
    dept = as_actor("department")
    entry = _registered(session, dept)
    rid = _resources(session, entry)[0][0]
    service.create_resource_table(session, dept, rid, ResourceTableCreate(schema=SCHEMA))
    other = {"fields": [{"name": "a", "type": "string"}]}
    with pytest.raises(TableExists) as by_id:
        service.create_resource_table(session, dept, rid, ResourceTableCreate(schema=other))
    with pytest.raises(TableExists) as by_name:
        service.create_table(session, dept, entry.code, TableCreate(name="登记信息", schema=other))
    for exc in (by_id, by_name):
        assert exc.value.status == 409 and exc.value.code == "store.table_exists"
        assert "登记信息" in exc.value.message and exc.value.details == {"resource_id": rid}
    assert service.get_table(session, dept, rid).table_schema["fields"][0]["name"] == "uscc"
    assert len(_resources(session, entry)) == 1


def test_a_bad_schema_leaves_the_declared_resource_without_a_table(session, as_actor):
    dept = as_actor("department")
    entry = _registered(session, dept)
    rid = _resources(session, entry)[0][0]
    bad = {"fields": [{"name": "a", "type": "string"}], "primaryKey": "missing"}
    with pytest.raises(Invalid):
        service.create_resource_table(session, dept, rid, ResourceTableCreate(schema=bad))
    with pytest.raises(Invalid):
        service.create_table(session, dept, entry.code, TableCreate(name="登记信息", schema=bad))
    with pytest.raises(TableNotFound):
        service.get_table(session, dept, rid)


@pytest.mark.parametrize("role", ["department", "operator", "admin"])
def test_the_entrys_department_and_the_operator_give_a_resource_its_table(session, as_actor, role):
    owner = as_actor("department")
    entry = _registered(session, owner)
    rid = _resources(session, entry)[0][0]
    actor = owner if role == "department" else as_actor(role)
    assert service.create_resource_table(session, actor, rid, ResourceTableCreate(schema=SCHEMA)).resource_id == rid


@pytest.mark.parametrize(
    ("role", "error"),
    [
        ("department", NotEntryOwner),  # another organisation's department
        ("enterprise", Forbidden),
        ("bank", Forbidden),
        ("data_merchant", Forbidden),
        ("appraiser", Forbidden),
        ("regulator", Forbidden),
        ("anonymous", (Forbidden, Unauthenticated)),
    ],
)
def test_no_one_else_gives_a_resource_its_table(session, as_actor, role, error):
    entry = _registered(session, as_actor("department"))
    rid = _resources(session, entry)[0][0]
    actor = as_actor(role)
    with pytest.raises(error):
        service.create_resource_table(session, actor, rid, ResourceTableCreate(schema=SCHEMA))
    with pytest.raises(error):
        service.create_table(session, actor, entry.code, TableCreate(name="登记信息", schema=SCHEMA))
    with pytest.raises(TableNotFound):
        service.get_table(session, SYSTEM, rid)
    assert len(_resources(session, entry)) == 1
