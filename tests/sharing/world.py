"""A city for Delta Sharing tests, on a live server: a department's conditionally open table of
personal data granted (masked, filtered) to a bank, another conditional table not granted, an
unconditionally open table, and recipient profiles."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pubdata.identity import service as identity
from pubdata.sharing import profiles
from tests.access.people import People, grant, load_people
from tests.builders import make_org, make_user
from tests.live import LiveServer
from tests.store.rows_fixture import Loaded, load_table

GRANTED = ["name", "id_number", "phone", "district", "birth"]
DEPARTMENT_TERMS = {"fields": GRANTED, "masks": {"birth": "year"}, "row_filter": "district = '崂山区'"}


@dataclass
class World:
    people: People
    other: Loaded  # conditional, not granted to the bank
    open: Loaded
    grant_id: int
    bank_username: str
    bank_org_id: int
    api_token: str  # the bank user's API token (read), to compare with the rows API
    profile_path: Path
    profile_id: int


def write_profile(path: Path, profile: dict[str, Any]) -> Path:
    path.write_text(json.dumps(profile), encoding="utf-8")
    return path


def build(server: LiveServer, tmp: Path, **operator_terms: Any) -> World:
    """The city; ``operator_terms`` (quotas) go into the operator's approval of the bank's grant."""
    with server.session() as s:
        dept_org = make_org(s, "department")
        dept = identity.actor_for(make_user(s, dept_org, roles=["department"]), via="cli")
        operator = identity.actor_for(make_user(s, make_org(s, "operator"), roles=["operator"]), via="cli")
        bank_org = make_org(s, "bank")
        bank_user = make_user(s, bank_org, roles=["bank"])
        bank = identity.actor_for(bank_user, via="session")
        people = load_people(s, dept, server.settings.home, tmp)
        (tmp / "other").mkdir()
        other = load_table(s, dept, server.settings.home, tmp / "other", open_type="conditional", n=5)
        (tmp / "open").mkdir()
        opened = load_table(s, dept, server.settings.home, tmp / "open", n=12)
        grant_id = grant(s, bank, operator, people, GRANTED, department=DEPARTMENT_TERMS, operator_terms=operator_terms)
        _, token = identity.create_token(s, bank, name="rows", scopes=["read"], days=1)
        row, file = profiles.issue_profile(s, bank, name="合作方读取", base_url=server.url)
        profile_id = row.id
        bank_org_id = bank_org.id
    return World(
        people, other, opened, grant_id, bank_user.username, bank_org_id, token,
        write_profile(tmp / "bank.share", file), profile_id,
    )  # fmt: skip
