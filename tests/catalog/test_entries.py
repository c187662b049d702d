import pytest

from pubdata.catalog import service
from pubdata.catalog.errors import DuplicateEntryCode, EntryNotFound, NotEntryOwner
from pubdata.catalog.schemas import EntryCreate, EntryUpdate
from pubdata.errors import Unauthenticated
from tests.builders import make_entry, make_org


def entry_data(**overrides):
    data = {
        "code": "QD-TEST-0001",
        "title": "青岛市医疗机构名录",
        "category": "医疗",
        "open_type": "无条件开放",
        "fields": [
            {"name": "org_name", "label": "机构名称"},
            {"name": "legal_person", "label": "法定代表人", "personal_kind": "name"},
        ],
    }
    data.update(overrides)
    return EntryCreate(**data)


def test_department_registers_its_own_entry_with_labels_resolved(session, as_actor):
    dept = as_actor("department")
    entry = service.create_entry(session, dept, entry_data())
    assert entry.organisation_id == dept.organisation_id
    assert (entry.category, entry.open_type, entry.district) == ("medical", "unconditional", "全市")
    assert entry.fields[1].is_personal and entry.fields[1].personal_kind == "name"
    assert [r.action for r in service.list_revisions(session, dept, entry.code)] == ["create"]


def test_department_cannot_register_for_another_department(session, as_actor):
    dept = as_actor("department")
    other = make_org(session)
    with pytest.raises(NotEntryOwner):
        service.create_entry(session, dept, entry_data(organisation=other.code))


def test_department_edits_only_its_own_entries_and_operator_curates_all(session, as_actor):
    owner, stranger, operator = as_actor("department"), as_actor("department"), as_actor("operator")
    entry = service.create_entry(session, owner, entry_data())
    with pytest.raises(NotEntryOwner):
        service.update_entry(session, stranger, entry.code, EntryUpdate(title="被篡改的标题"))
    assert entry.title == "青岛市医疗机构名录"
    service.update_entry(session, operator, entry.code, EntryUpdate(title="青岛市医疗卫生机构名录", tags=["卫生"]))
    service.update_entry(session, owner, entry.code, EntryUpdate(open_type="conditional"))
    revs = service.list_revisions(session, owner, entry.code)
    assert [r.action for r in revs] == ["update", "update", "create"]
    assert revs[1].changes["title"] == ["青岛市医疗机构名录", "青岛市医疗卫生机构名录"]
    assert revs[1].changes["tags"] == [[], ["卫生"]]
    assert revs[1].actor_name == operator.username
    assert revs[0].changes == {"open_type": ["unconditional", "conditional"]}


def test_edit_reindexes_search(session, as_actor):
    dept = as_actor("department")
    entry = service.create_entry(session, dept, entry_data())
    anon = as_actor("anonymous")
    assert service.search_entries(session, anon, service.SearchQuery(q="海洋")).count == 0
    service.update_entry(session, dept, entry.code, EntryUpdate(title="海洋牧场监测数据"))
    assert [e.code for e in service.search_entries(session, anon, service.SearchQuery(q="海洋")).entries] == [
        entry.code
    ]


def test_duplicate_code_is_a_conflict_and_nothing_changes(session, as_actor):
    dept = as_actor("department")
    service.create_entry(session, dept, entry_data())
    with pytest.raises(DuplicateEntryCode):
        service.create_entry(session, dept, entry_data(title="另一条"))
    assert service.get_entry(session, dept, "QD-TEST-0001").title == "青岛市医疗机构名录"


@pytest.mark.parametrize(
    "bad",
    [
        {"category": "天文"},
        {"open_type": "半开放"},
        {"district": "北京市"},
        {"title": "长" * 201},
        {"code": "bad code!"},
        {"temporal_start": "2023-01-02", "temporal_end": "2023-01-01"},
        {"fields": [{"name": "a", "label": "甲"}, {"name": "a", "label": "乙"}]},
    ],
)
def test_bad_input_is_refused_naming_the_problem(bad):
    with pytest.raises(ValueError) as exc:
        entry_data(**bad)
    assert list(bad)[0] in str(exc.value) or "日期" in str(exc.value) or "重复" in str(exc.value)


def test_anonymous_cannot_write(session, as_actor):
    with pytest.raises(Unauthenticated):
        service.create_entry(session, as_actor("anonymous"), entry_data())


def test_withdrawn_entry_disappears_but_keeps_revisions(session, as_actor):
    dept = as_actor("department")
    entry = make_entry(session, dept, title="待撤回的目录")
    service.delete_entry(session, dept, entry.code)
    with pytest.raises(EntryNotFound):
        service.get_entry(session, dept, entry.code)
    assert service.search_entries(session, dept, service.SearchQuery(q="撤回")).count == 0


def test_fields_can_be_edited_keeping_names(session, as_actor):
    dept = as_actor("department")
    entry = service.create_entry(session, dept, entry_data())
    service.update_entry(
        session,
        dept,
        entry.code,
        EntryUpdate(
            fields=[
                {"name": "legal_person", "label": "法人姓名", "personal_kind": "name"},
                {"name": "uscc", "label": "统一社会信用代码"},
            ]
        ),
    )
    session.expire_all()
    fields = service.get_entry(session, dept, entry.code).fields
    assert [(f.name, f.label, f.position) for f in fields] == [
        ("legal_person", "法人姓名", 0),
        ("uscc", "统一社会信用代码", 1),
    ]
    changes = service.list_revisions(session, dept, entry.code)[0].changes
    assert [f["name"] for f in changes["fields"][1]] == ["legal_person", "uscc"]


def test_owner_adds_a_resource_others_cannot(session, as_actor):
    from pubdata.catalog.errors import DuplicateResourceName
    from pubdata.catalog.schemas import ResourceIn

    owner, other = as_actor("department"), as_actor("department")
    entry = service.create_entry(session, owner, entry_data())
    res = service.add_resource(session, owner, entry.code, ResourceIn(name="2023年明细"))
    assert [r.name for r in service.get_entry(session, owner, entry.code).resources][-1] == "2023年明细"
    assert service.get_resource(session, owner, res.id).entry_id == entry.id
    with pytest.raises(DuplicateResourceName):
        service.add_resource(session, owner, entry.code, ResourceIn(name="2023年明细"))
    with pytest.raises(NotEntryOwner):
        service.add_resource(session, other, entry.code, ResourceIn(name="别人的表"))
    assert service.list_revisions(session, owner, entry.code)[0].changes == {"resources": [None, "2023年明细"]}


def test_the_scenario_codes_are_one_list():
    """Products and registrations validate scenarios with the Literal, pages label them with the dict."""
    from typing import get_args

    from pubdata.catalog.vocab import SCENARIOS, Scenario

    assert list(get_args(Scenario)) == list(SCENARIOS)
