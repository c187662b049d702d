"""The sandbox page: a consumer with a sandbox grant runs an aggregate and sees only groups'
statistics (small ones hidden), estimates the ε of a differentially private query, and is told why
a query is refused."""

from __future__ import annotations

import pytest

from pubdata.access.schemas import Decision
from pubdata.authz import SYSTEM
from pubdata.catalog import service as catalog
from pubdata.identity import service as identity
from pubdata.store import contracts
from tests.builders import make_org, make_user
from tests.store.test_sandbox import (
    medical,  # noqa: F401
    request,  # noqa: F401  (the medical fixture's request)
)
from tests.web.helpers import hidden_field, login


@pytest.fixture
def signed_in(client, session, as_actor, medical):  # noqa: F811
    owner, rid = medical
    user = make_user(session, make_org(session, "data_merchant"), roles=["data_merchant"])
    consumer = identity.actor_for(user, via="session")
    made = contracts.request_access(session, consumer, rid, request())
    contracts.review_access(session, owner, made.id, Decision(action="approve"))
    contracts.review_access(session, as_actor("operator"), made.id, Decision(action="approve", privacy_budget=2.0))
    login(client, user.username)
    entry_name = made.entry_id

    name = catalog.get_entry(session, SYSTEM, entry_name).name
    return f"/dataset/{name}/resource/{rid}/sandbox"


def test_run_an_aggregate_and_see_groups_only(client, signed_in):
    page = client.get(signed_in).text
    assert "隐私计算沙箱" in page and 'name="g1"' in page
    token = hidden_field(page, "csrf_token")
    html = client.post(
        signed_in, data={"csrf_token": token, "fn": "avg", "field": "cost", "g1": "district", "action": "run"}
    ).text
    assert 'id="sandbox-table"' in html and "市南区" in html and "370212" not in html
    html = client.post(
        signed_in, data={"csrf_token": token, "fn": "count", "g1": "district", "g2": "diagnosis", "action": "run"}
    ).text
    assert "已隐藏" in html and "sandbox-chart" in html


def test_estimate_and_refusals(client, signed_in):
    token = hidden_field(client.get(signed_in).text, "csrf_token")
    html = client.post(
        signed_in, data={"csrf_token": token, "fn": "count", "epsilon": "0.5", "action": "estimate"}
    ).text
    assert 'id="sandbox-cost">0.5<' in html
    refused = client.post(
        signed_in, data={"csrf_token": token, "fn": "sum", "field": "cost", "epsilon": "0.5", "action": "run"}
    )
    assert refused.status_code == 422 and "bounds" in refused.text
    assert client.post(signed_in, data={"fn": "count"}).status_code == 403  # no CSRF token
