"""catalog.bulk.import_entries stores what create_entry would, many entries at a time."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from pubdata.authz import SYSTEM
from pubdata.catalog import bulk
from pubdata.catalog import service as catalog
from pubdata.catalog.errors import DuplicateEntryCode, NotEntryOwner
from pubdata.catalog.models import SearchTerm
from pubdata.catalog.schemas import EntryCreate
from pubdata.catalog.service import SearchQuery
from pubdata.errors import Forbidden
from tests import builders


def _data(code: str, org: str, **overrides: Any) -> EntryCreate:
    data: dict[str, Any] = {
        "code": code,
        "title": "崂山区医疗机构执业许可信息",
        "description": "记录崂山区医疗机构的执业许可信息。",
        "category": "医疗",
        "open_type": "有条件开放",
        "security_grade": "important",
        "update_frequency": "monthly",
        "district": "崂山区",
        "temporal_start": "2020-01-01",
        "tags": ["医疗机构", "许可"],
        "fields": [
            {"name": "hospital_name", "label": "医疗机构名称", "type": "string"},
            {"name": "contact_phone", "label": "联系电话", "type": "string", "personal_kind": "phone"},
        ],
        "organisation": org,
    }
    data.update(overrides)
    return EntryCreate(**data)


def _terms(session: Session, entry_id: int) -> dict[str, int]:
    rows = session.execute(select(SearchTerm.term, SearchTerm.weight).where(SearchTerm.entry_id == entry_id))
    return {t: w for t, w in rows}


def test_bulk_import_stores_what_create_entry_stores(session: Session, as_actor: Any) -> None:
    org = builders.make_org(session, "department")
    actor = as_actor("department", org=org)
    one = catalog.create_entry(session, actor, _data("B-ONE", org.code))
    assert bulk.import_entries(session, actor, [_data("B-TWO", org.code)]) == 1
    two = catalog.get_entry(session, actor, "B-TWO")

    for attr in (
        "title",
        "description",
        "category",
        "open_type",
        "security_grade",
        "update_frequency",
        "district",
        "temporal_start",
        "temporal_end",
        "licence",
        "contact_name",
        "state",
    ):
        assert getattr(one, attr) == getattr(two, attr), attr
    assert two.name == "b-two" and two.organisation.code == org.code
    assert two.tag_names == one.tag_names
    assert [(f.name, f.label, f.is_personal, f.personal_kind) for f in two.fields] == [
        (f.name, f.label, f.is_personal, f.personal_kind) for f in one.fields
    ]
    assert [r.name for r in two.resources] == [one.title]
    assert two.resources[0].id == bulk.resource_id("B-TWO", 0)

    rev_one, rev_two = (catalog.list_revisions(session, actor, e.id) for e in (one, two))
    assert [(r.number, r.action, r.actor_name) for r in rev_two] == [(1, "create", actor.username)]
    assert rev_two[0].changes == rev_one[0].changes

    def without_code(terms: dict[str, int], code: str) -> dict[str, int]:
        code_terms = catalog.search_weights(
            title="", tags=[], category="", organisation_name="", district="", code=code, description="", fields=[]
        )
        return {t: w for t, w in terms.items() if t not in code_terms}

    assert without_code(_terms(session, two.id), "b-two") == without_code(_terms(session, one.id), "b-one")
    found = catalog.search_entries(session, actor, SearchQuery(q="医疗 许可", filters={"organisation": [org.code]}))
    assert {e.code for e in found.entries} == {"B-ONE", "B-TWO"}


def test_bulk_import_refuses_duplicates_unless_asked_to_skip(session: Session) -> None:
    org = builders.make_org(session, "department")
    bulk.import_entries(session, SYSTEM, [_data("B-DUP", org.code)])
    with pytest.raises(DuplicateEntryCode):
        bulk.import_entries(session, SYSTEM, [_data("B-DUP", org.code)])
    with pytest.raises(DuplicateEntryCode):
        bulk.import_entries(session, SYSTEM, [_data("B-X", org.code), _data("B-X", org.code, title="另一个标题")])
    created = bulk.import_entries(
        session, SYSTEM, [_data("B-DUP", org.code), _data("B-NEW", org.code)], skip_existing=True
    )
    assert created == 1
    assert catalog.get_entry(session, SYSTEM, "B-NEW").title == "崂山区医疗机构执业许可信息"
    assert len(catalog.list_revisions(session, SYSTEM, "B-DUP")) == 1


def test_bulk_import_checks_permissions_like_create_entry(session: Session, as_actor: Any) -> None:
    own = builders.make_org(session, "department")
    other = builders.make_org(session, "department")
    with pytest.raises(Forbidden):
        bulk.import_entries(session, as_actor("enterprise"), [_data("B-E", own.code)])
    department = as_actor("department", org=own)
    with pytest.raises(NotEntryOwner):
        bulk.import_entries(session, department, [_data("B-O", other.code)])
    assert bulk.import_entries(session, department, [_data("B-OWN", own.code)]) == 1
