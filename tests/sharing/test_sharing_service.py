"""Recipient profiles (issue, list, revoke, authenticate) and who sees what through the sharing
service, per role: only the grantee reads the granted table, and only as its grant shows it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from pubdata.audit.models import AuditRecord
from pubdata.db import utcnow, write_durable
from pubdata.errors import Forbidden, Unauthenticated
from pubdata.sharing import profiles
from pubdata.sharing import service as sharing
from pubdata.sharing.errors import InvalidProfileInput, InvalidRecipientToken, ProfileNotFound, ShareNotFound
from pubdata.sharing.models import SharingProfile
from tests.access.people import grant, load_people
from tests.sharing.world import DEPARTMENT_TERMS, GRANTED
from tests.store.rows_fixture import load_table

BASE = "http://testserver"


def _issue(session, actor, **kw):
    return profiles.issue_profile(session, actor, name=kw.pop("name", "合作方"), base_url=BASE, **kw)


def test_a_profile_file_is_shown_once_and_only_its_hash_is_kept(session, as_actor, settings):
    bank = as_actor("bank")
    row, file = _issue(session, bank)
    assert file["shareCredentialsVersion"] == 1 and file["endpoint"] == BASE + "/delta-sharing"
    assert file["bearerToken"].startswith("pds_") and file["expirationTime"].endswith("Z")
    stored = session.get(SharingProfile, row.id)
    assert file["bearerToken"] not in (stored.token_hash, stored.prefix) and len(stored.token_hash) == 64
    assert timedelta(days=29) < stored.expires_at - utcnow() <= timedelta(days=30)  # the default
    assert profiles.recipient_from_token(session, file["bearerToken"]).actor.user_id == bank.user_id
    issued = session.scalars(
        select(AuditRecord).order_by(AuditRecord.seq).where(AuditRecord.action == "sharing.profile_issue")
    ).all()
    assert [r.details["profile_id"] for r in issued if r.actor_user_id == bank.user_id] == [row.id]


def test_lifetime_bounds_and_names(session, as_actor, settings):
    bank = as_actor("bank")
    with pytest.raises(InvalidProfileInput):
        _issue(session, bank, days=settings.sharing_token_max_days + 1)
    with pytest.raises(InvalidProfileInput):
        _issue(session, bank, days=0)
    with pytest.raises(InvalidProfileInput):
        _issue(session, bank, name="  ")
    with pytest.raises(Unauthenticated):  # the public has no profile
        _issue(session, as_actor("anonymous"))


def test_a_token_without_read_cannot_issue_a_profile(session, as_actor):
    from dataclasses import replace

    bank = as_actor("bank")
    with pytest.raises(Forbidden):
        _issue(session, replace(bank, scopes=frozenset({"tokens"})))
    row, _ = _issue(session, replace(bank, scopes=frozenset({"tokens", "read"})))
    assert row.user_id == bank.user_id


def test_revoking_by_the_holder_the_operator_and_nobody_else(session, as_actor):
    bank = as_actor("bank")
    row, file = _issue(session, bank)
    with pytest.raises(ProfileNotFound):  # another user may not even see it
        profiles.revoke_profile(session, as_actor("enterprise"), row.id)
    with pytest.raises(Forbidden):
        profiles.list_profiles(session, bank, everyone=True)
    operator = as_actor("operator")
    assert row.id in {p.id for p in profiles.list_profiles(session, operator, everyone=True)}
    revoked = profiles.revoke_profile(session, operator, row.id, "合作结束")
    assert revoked.status == "revoked" and revoked.revoke_reason == "合作结束"
    with pytest.raises(InvalidRecipientToken):
        profiles.recipient_from_token(session, file["bearerToken"])
    other, _ = _issue(session, bank)
    assert profiles.revoke_profile(session, bank, other.id).status == "revoked"
    assert [p.status for p in profiles.list_profiles(session, bank)] == ["revoked", "revoked"]
    write_durable(session)
    actions = session.scalars(
        select(AuditRecord.action).where(AuditRecord.action.startswith("sharing.")).order_by(AuditRecord.seq)
    ).all()
    assert actions.count("sharing.profile_revoke") == 2 and "sharing.auth" in actions


@pytest.fixture
def city(session, as_actor, settings, tmp_path):
    dept = as_actor("department")
    people = load_people(session, dept, settings.home, tmp_path)
    (tmp_path / "open").mkdir()
    opened = load_table(session, dept, settings.home, tmp_path / "open", n=3)
    bank = as_actor("bank")
    grant_id = grant(session, bank, as_actor("operator"), people, GRANTED, department=DEPARTMENT_TERMS)
    return {"dept": dept, "people": people, "open": opened, "bank": bank, "grant_id": grant_id}


ROLES = ["department", "operator", "enterprise", "regulator", "data_merchant", "admin"]


@pytest.mark.parametrize("role", ["grantee", *ROLES])
def test_every_role_sees_the_granted_table_only_under_its_own_grant(session, as_actor, settings, city, role):
    actor = city["bank"] if role == "grantee" else (city["dept"] if role == "department" else as_actor(role))
    row, file = _issue(session, actor)
    who = profiles.recipient_from_token(session, file["bearerToken"])
    people, opened = city["people"], city["open"]
    granted = [(r.schema, r.name) for r in sharing.tables_of(session, who, "granted")]
    assert (opened.entry_name, opened.resource_id) in [
        (r.schema, r.name) for r in sharing.tables_of(session, who, "open_data")
    ]
    if role != "grantee":
        assert granted == []
        with pytest.raises(ShareNotFound):
            sharing.query_table(
                session, who, "granted", people.entry_name, people.resource_id, {}, home=settings.home,
                base_url=BASE, delta=False,
            )  # fmt: skip
        with pytest.raises(ShareNotFound):  # a governed table is never in the open share
            sharing.table_metadata(
                session, who, "open_data", people.entry_name, people.resource_id, home=settings.home, delta=False
            )
        return
    assert granted == [(people.entry_name, people.resource_id)]
    version, lines = sharing.query_table(
        session, who, "granted", people.entry_name, people.resource_id, {}, home=settings.home, base_url=BASE,
        delta=False,
    )  # fmt: skip
    import json

    import pyarrow.parquet as pq

    from pubdata.sharing import files

    key = json.loads(lines[2])["file"]["id"]
    table = pq.read_table(files.file_path(settings.home, key))
    assert table.column_names == GRANTED and table.num_rows == 10
    assert set(table.column("district").to_pylist()) == {"崂山区"}
    assert all(len(str(b)) == 4 for b in table.column("birth").to_pylist())  # masked to the year


def test_the_same_grant_and_version_share_one_file(session, as_actor, settings, city):
    people = city["people"]
    keys = []
    for _ in range(2):
        _, file = _issue(session, city["bank"])
        who = profiles.recipient_from_token(session, file["bearerToken"])
        _, lines = sharing.query_table(
            session, who, "granted", people.entry_name, people.resource_id, {}, home=settings.home, base_url=BASE,
            delta=False,
        )  # fmt: skip
        keys.append(lines[2])
    import json

    assert json.loads(keys[0])["file"]["id"] == json.loads(keys[1])["file"]["id"]
    _, file = _issue(session, city["dept"])  # the publisher reads open data through another view
    who = profiles.recipient_from_token(session, file["bearerToken"])
    opened = city["open"]
    _, lines = sharing.query_table(
        session, who, "open_data", opened.entry_name, opened.resource_id, {}, home=settings.home, base_url=BASE,
        delta=False,
    )  # fmt: skip
    assert json.loads(lines[2])["file"]["id"] != json.loads(keys[0])["file"]["id"]


def test_page_tokens_are_checked(session, as_actor):
    _, file = _issue(session, as_actor("bank"))
    who = profiles.recipient_from_token(session, file["bearerToken"])
    first = sharing.list_shares(session, who, 1, None)
    assert first.next_page_token
    from pubdata.sharing.errors import InvalidSharingRequest

    with pytest.raises(InvalidSharingRequest):
        sharing.list_shares(session, who, 1, "1.0000000000000000")
    with pytest.raises(InvalidSharingRequest):  # a token of another listing
        sharing.list_schemas(session, who, "open_data", 1, first.next_page_token)
