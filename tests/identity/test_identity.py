from datetime import timedelta

import pytest

from pubdata.authz import SYSTEM, Permission, Role
from pubdata.db import utcnow
from pubdata.errors import Conflict, Forbidden, Invalid
from pubdata.identity import service
from pubdata.identity.errors import InvalidCredentials, InvalidToken
from pubdata.identity.schemas import OrganisationCreate, UserCreate
from pubdata.standards import uscc_with_check
from tests.builders import PASSWORD, actor_of, make_org, make_user


def test_password_is_stored_as_argon2_hash_and_checked(session):
    user = make_user(session, make_org(session))
    assert user.password_hash.startswith("$argon2")
    assert PASSWORD not in user.password_hash
    assert service.authenticate(session, user.username, PASSWORD).id == user.id
    with pytest.raises(InvalidCredentials):
        service.authenticate(session, user.username, "wrong-password")
    with pytest.raises(InvalidCredentials):
        service.authenticate(session, "nobody", PASSWORD)


def test_enterprise_needs_a_valid_credit_code_including_letter_first_codes(session):
    with pytest.raises(Invalid) as exc:
        make_org(session, "enterprise", uscc="91370200MA3C4D5E60")
    assert exc.value.field == "uscc"
    collective = make_org(session, "enterprise", uscc=uscc_with_check("N2370212MA3C4D5E6"))
    assert collective.uscc.startswith("N2")
    with pytest.raises(Invalid):
        service.create_organisation(
            session, SYSTEM, OrganisationCreate(code="e-x", name="无代码企业", kind="enterprise")
        )


def test_duplicate_organisation_and_user_are_conflicts(session):
    org = make_org(session)
    with pytest.raises(Conflict):
        make_org(session, code=org.code)
    user = make_user(session, org)
    with pytest.raises(Conflict):
        make_user(session, org, username=user.username)


def test_roles_must_fit_the_organisation_kind(session):
    bank = make_org(session, "bank")
    with pytest.raises(Invalid) as exc:
        make_user(session, bank, roles=["department"])
    assert exc.value.field == "roles"
    assert make_user(session, bank).role_list == ["bank"]


def test_only_administrators_manage_users(session):
    dept = actor_of(make_user(session, make_org(session)))
    with pytest.raises(Forbidden):
        service.create_user(session, dept, UserCreate(username="x1", display_name="x", password=PASSWORD))


def test_token_secret_is_hashed_shown_once_scoped_and_revocable(session):
    user = make_user(session, make_org(session, "operator"), roles=["operator"])
    actor = actor_of(user)
    token, secret = service.create_token(session, actor, name="ci", scopes=["read"], days=7)
    assert secret.startswith("pd_") and secret not in token.token_hash
    resolved = service.actor_from_token(session, secret)
    assert resolved.user_id == user.id and resolved.via == "token"
    # a read-only token narrows an operator: it may not curate the catalogue
    assert actor.can(Permission.CATALOG_ENTRY_CURATE)
    assert not resolved.can(Permission.CATALOG_ENTRY_CURATE)
    assert resolved.can(Permission.CATALOG_ENTRY_READ)
    service.revoke_token(session, actor, token.id)
    with pytest.raises(InvalidToken) as exc:
        service.actor_from_token(session, secret)
    assert exc.value.code == "identity.token_revoked"


def test_expired_and_unknown_tokens_are_refused(session):
    user = make_user(session, make_org(session))
    token, secret = service.create_token(session, SYSTEM, name="t", scopes=["read"], days=1, username=user.username)
    token.expires_at = utcnow() - timedelta(seconds=1)
    session.flush()
    with pytest.raises(InvalidToken) as exc:
        service.actor_from_token(session, secret)
    assert exc.value.code == "identity.token_expired"
    with pytest.raises(InvalidToken):
        service.actor_from_token(session, "pd_not-a-real-token")


def test_unknown_scope_is_rejected(session):
    user = make_user(session, make_org(session))
    with pytest.raises(Invalid) as exc:
        service.create_token(session, actor_of(user), name="t", scopes=["everything"], days=1)
    assert exc.value.field == "scopes"


def test_users_cannot_revoke_each_others_tokens(session):
    org = make_org(session)
    a, b = make_user(session, org), make_user(session, org)
    token, _ = service.create_token(session, actor_of(a), name="t", scopes=["read"], days=1)
    with pytest.raises(Exception) as exc:
        service.revoke_token(session, actor_of(b), token.id)
    assert getattr(exc.value, "status", None) == 404
    assert token.revoked_at is None


def test_login_sessions_expire_and_end(session):
    user = make_user(session, make_org(session))
    login, secret = service.start_login_session(session, user, hours=1)
    assert service.find_login_session(session, secret).user_id == user.id
    login.expires_at = utcnow() - timedelta(seconds=1)
    session.flush()
    assert service.find_login_session(session, secret) is None
    _, secret2 = service.start_login_session(session, user, hours=1)
    service.end_login_session(session, secret2)
    assert service.find_login_session(session, secret2) is None


def test_actor_roles_come_from_the_user(session):
    user = make_user(session, make_org(session, "regulator"))
    assert actor_of(user).roles == frozenset({Role.REGULATOR})
