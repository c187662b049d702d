"""Access requests: what may be asked, the two-step review with narrowing, decisions recorded,
withdrawal and revocation."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from pubdata.access import service as access
from pubdata.access.schemas import Decision, RequestCreate
from pubdata.audit.models import AuditRecord
from pubdata.errors import Conflict, Forbidden, Invalid, NotFound
from pubdata.store import contracts
from tests.access.people import ask, grant, load_people
from tests.store.rows_fixture import load_table


@pytest.fixture
def people(session, as_actor, settings, tmp_path):
    return load_people(session, as_actor("department"), settings.home, tmp_path)


def request_data(**overrides):
    today = access.beijing_today()
    data = {
        "scenario": "普惠金融授信",
        "purpose": "核验借款人身份与缴费情况",
        "fields": ["name", "district"],
        "period_start": today,
        "period_end": today + timedelta(days=90),
    }
    data.update(overrides)
    return RequestCreate(**data)


@pytest.mark.parametrize(
    ("overrides", "field", "says"),
    [
        ({"fields": ["name", "salary"]}, "fields", "salary"),
        ({"period_start": access.beijing_today() - timedelta(days=1)}, "period_start", "已过"),
        ({"period_end": access.beijing_today() - timedelta(days=1)}, "period_end", "早于"),
        ({"period_end": access.beijing_today() + timedelta(days=2000)}, "period_end", "三年"),
    ],
)
def test_bad_requests_name_the_problem(session, as_actor, people, overrides, field, says):
    with pytest.raises(Invalid) as exc:
        contracts.request_access(session, as_actor("bank"), people.resource_id, request_data(**overrides))
    assert exc.value.field == field and says in exc.value.message


def test_open_closed_and_own_data_cannot_be_requested(session, as_actor, settings, tmp_path):
    owner = as_actor("department")
    opened = load_table(session, owner, settings.home, tmp_path)
    closed = load_table(session, owner, settings.home, tmp_path, open_type="closed")
    fields = {"fields": ["uscc"]}
    with pytest.raises(Invalid, match="无需申请"):
        contracts.request_access(session, as_actor("bank"), opened.resource_id, request_data(**fields))
    with pytest.raises(Invalid, match="不予开放"):
        contracts.request_access(session, as_actor("bank"), closed.resource_id, request_data(**fields))
    conditional = load_table(session, owner, settings.home, tmp_path, open_type="conditional")
    with pytest.raises(Invalid, match="本机构"):
        contracts.request_access(session, owner, conditional.resource_id, request_data(**fields))
    with pytest.raises(Forbidden):
        contracts.request_access(session, as_actor("regulator"), conditional.resource_id, request_data(**fields))


def test_two_step_review_narrows_and_records_every_decision(session, as_actor, people):
    bank, operator = as_actor("bank"), as_actor("operator")
    request_id = ask(session, bank, people, ["name", "id_number", "district", "amount"])
    read = access.get_request(session, bank, request_id)
    assert read.state == "requested" and read.masks == {"name": "name", "id_number": "id_number"}
    # the operator cannot take the department's step; another department does not even see the request
    with pytest.raises(Forbidden):
        contracts.review_access(session, as_actor("operator"), request_id, Decision(action="approve"))
    with pytest.raises(NotFound):
        contracts.review_access(session, as_actor("department"), request_id, Decision(action="approve"))
    assert access.pending_count(session, people.owner) == 1
    read = contracts.review_access(
        session,
        people.owner,
        request_id,
        Decision(
            action="approve",
            fields=["name", "id_number", "district"],
            masks={"name": "all"},
            row_filter="district = '崂山区'",
            reason="金额不在用途范围内",
        ),  # fmt: skip
    )
    assert read.state == "department_approved" and read.fields == ["name", "id_number", "district"]
    assert read.masks == {"name": "all", "id_number": "id_number"} and read.row_filter == "district = '崂山区'"
    with pytest.raises(Forbidden):
        contracts.review_access(session, bank, request_id, Decision(action="approve"))
    read = contracts.review_access(
        session, operator, request_id, Decision(action="approve", daily_call_quota=500, rate_per_minute=30)
    )
    assert read.state == "granted" and read.grant.fields == ["name", "id_number", "district"]
    assert read.grant.daily_call_quota == 500 and read.grant.status == "active"
    steps = [(d.step, d.action, d.to_state) for d in read.decisions]
    assert steps == [
        ("consumer", "submit", "requested"),
        ("department", "narrow", "department_approved"),
        ("operator", "approve", "granted"),
    ]
    assert read.decisions[1].changes["fields"][1] == ["name", "id_number", "district"]
    actions = [a for (a,) in session.execute(select(AuditRecord.action).order_by(AuditRecord.seq))]
    assert actions == ["access.request", "access.narrow", "access.approve"]
    with pytest.raises(Conflict):
        contracts.review_access(session, operator, request_id, Decision(action="approve"))


@pytest.mark.parametrize(
    ("decision", "field"),
    [
        ({"fields": ["name", "phone"]}, "fields"),  # phone was not asked for
        ({"masks": {"name": "first:9"}}, "masks.name"),  # looser than the default 张*
        ({"masks": {"district": "sometimes"}}, "masks.district"),
        ({"row_filter": "salary > 1"}, "row_filter"),
        ({"row_filter": "district = (SELECT 1)"}, "row_filter"),
        ({"period_end": access.beijing_today() + timedelta(days=400)}, "period_end"),
        ({"daily_call_quota": 10}, "daily_call_quota"),  # quotas are the operator's
    ],
)
def test_reviews_can_only_narrow(session, as_actor, people, decision, field):
    request_id = ask(session, as_actor("bank"), people, ["name", "district"])
    with pytest.raises(Invalid) as exc:
        contracts.review_access(session, people.owner, request_id, Decision(action="approve", **decision))
    assert exc.value.field == field


def test_rejection_needs_a_reason_and_ends_the_request(session, as_actor, people):
    request_id = ask(session, as_actor("bank"), people, ["district"])
    with pytest.raises(Invalid):
        contracts.review_access(session, people.owner, request_id, Decision(action="reject"))
    read = contracts.review_access(session, people.owner, request_id, Decision(action="reject", reason="用途不明确"))
    assert read.state == "rejected" and read.decisions[-1].reason == "用途不明确" and read.grant is None


def test_withdraw_and_revoke(session, as_actor, people):
    bank, operator = as_actor("bank"), as_actor("operator")
    request_id = ask(session, bank, people, ["district"])
    assert access.withdraw_request(session, bank, request_id).state == "withdrawn"
    grant_id = grant(session, bank, operator, people, ["district"])
    with pytest.raises(Forbidden):
        access.revoke_grant(session, bank, grant_id, "不再需要")
    revoked = access.revoke_grant(session, people.owner, grant_id, "发现超范围使用")
    assert revoked.state == "revoked" and access.grant_status(revoked) == "revoked"
    assert access.active_grant(session, bank, people.resource_id) is None


def test_request_lists_by_box(session, as_actor, people):
    bank = as_actor("bank")
    ask(session, bank, people, ["district"])
    assert len(access.list_requests(session, bank, "mine")) == 1
    assert len(access.list_requests(session, people.owner, "review")) == 1
    assert len(access.list_requests(session, people.owner, "publisher")) == 1
    assert access.list_requests(session, as_actor("operator"), "review") == []  # nothing past the department yet
    assert access.list_requests(session, as_actor("enterprise"), "mine") == []


def test_refused_requests_and_reviews_are_audited(session, as_actor, people):
    from pubdata.db import write_durable

    bank = as_actor("bank")
    with pytest.raises(Invalid):
        contracts.request_access(session, bank, people.resource_id, request_data(fields=["salary"]))
    request_id = ask(session, bank, people, ["district"])
    with pytest.raises(Invalid):
        contracts.review_access(session, people.owner, request_id, Decision(action="approve", row_filter="x ="))
    write_durable(session)  # as the request boundary does after the rollback
    refused = session.scalars(select(AuditRecord).where(AuditRecord.result == "refused").order_by(AuditRecord.seq))
    got = [(r.action, r.details["code"]) for r in refused]
    assert got == [("access.request", "access.invalid_request"), ("access.review", "access.invalid_row_filter")]
