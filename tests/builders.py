"""Plain builder functions, one per thing, for tests. Each takes overrides."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from pubdata.authz import SYSTEM, Actor
from pubdata.catalog import service as catalog
from pubdata.catalog.models import CatalogEntry
from pubdata.catalog.schemas import EntryCreate
from pubdata.identity import service as identity
from pubdata.identity.models import Organisation, User
from pubdata.identity.schemas import OrganisationCreate, OrganisationKind, UserCreate
from pubdata.settings import Settings
from pubdata.standards import uscc_with_check

_seq = itertools.count(1)
PASSWORD = "correct-horse-42"


def make_org(session: Session, kind: str = "department", **overrides: Any) -> Organisation:
    n = next(_seq)
    data: dict[str, Any] = {
        "code": f"org-{kind.replace('_', '-')}-{n}",
        "name": f"测试机构{kind}{n}",
        "kind": kind,
    }
    if kind == OrganisationKind.ENTERPRISE:
        data["uscc"] = uscc_with_check(f"91370200MA{n:07d}")
    data.update(overrides)
    return identity.create_organisation(session, SYSTEM, OrganisationCreate(**data))


def make_user(session: Session, org: Organisation | None = None, **overrides: Any) -> User:
    n = next(_seq)
    data: dict[str, Any] = {
        "username": f"user{n}",
        "display_name": f"测试用户{n}",
        "password": PASSWORD,
        "organisation_code": org.code if org else None,
    }
    data.update(overrides)
    return identity.create_user(session, SYSTEM, UserCreate(**data))


def actor_of(user: User) -> Actor:
    return identity.actor_for(user, via="session")


def make_entry(session: Session, actor: Actor | None = None, **overrides: Any) -> CatalogEntry:
    n = next(_seq)
    data: dict[str, Any] = {
        "code": f"T-{n:05d}",
        "title": f"测试数据目录{n}",
        "description": "用于测试的数据目录",
        "category": "business",
        "open_type": "unconditional",
        "tags": ["测试"],
        "fields": [{"name": "name", "label": "名称", "type": "string"}],
    }
    data.update(overrides)
    if actor is None:
        if "organisation" not in data:
            data["organisation"] = make_org(session).code
        actor = SYSTEM
    return catalog.create_entry(session, actor, EntryCreate(**data))


def settings_for(home: Path, **overrides: Any) -> Settings:
    """The test settings with ``home`` as the data directory (a test that writes facts files wants a
    home of its own: a facts file is immutable once read, readers cache it by path)."""
    return Settings(home=home, secret_key="test-secret", base_url="http://testserver", search_warmup=False, **overrides)
