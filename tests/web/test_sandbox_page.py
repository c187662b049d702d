"""The sandbox page: a consumer with a sandbox grant runs an aggregate and sees only groups' noisy
statistics (masked keys stay masked), estimates the ε a query spends, and is told why a query is
refused."""

from __future__ import annotations

import pytest

from pubdata.access.schemas import Decision
from pubdata.authz import SYSTEM
from pubdata.catalog import service as catalog
from pubdata.identity import service as identity
from pubdata.store import contracts
from tests.builders import make_org, make_user
from tests.store.test_sandbox import (
    DIAGNOSES,
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
    # the publisher masks the diagnosis (a sandbox request leaves it unmasked by default)
    contracts.review_access(session, owner, made.id, Decision(action="approve", masks={"diagnosis": "all"}))
    contracts.review_access(session, as_actor("operator"), made.id, Decision(action="approve", privacy_budget=2.0))
    login(client, user.username)
    entry_name = made.entry_id

    name = catalog.get_entry(session, SYSTEM, entry_name).name
    return f"/dataset/{name}/resource/{rid}/sandbox"


def test_run_an_aggregate_and_see_noisy_groups_only(client, signed_in):
    page = client.get(signed_in).text
    assert "隐私计算沙箱" in page and 'name="g1"' in page
    token = hidden_field(page, "csrf_token")
    form = {"csrf_token": token, "fn": "avg", "field": "cost", "g1": "district", "action": "run"}
    html = client.post(signed_in, data=form | {"low": "0", "high": "1000"}).text
    assert 'id="sandbox-table"' in html and "市南区" in html and "370212" not in html
    assert "差分隐私（OpenDP）" in html and "剩余隐私预算" in html  # no ε given: the default one was spent
    html = client.post(
        signed_in, data={"csrf_token": token, "fn": "count", "g1": "district", "g2": "diagnosis", "action": "run"}
    ).text
    # diagnosis is masked (all) under the grant: the groups are by its masked value
    assert "sandbox-chart" in html and "***" in html and not any(d in html for d in DIAGNOSES)


def test_estimate_and_refusals(client, signed_in):
    token = hidden_field(client.get(signed_in).text, "csrf_token")
    html = client.post(
        signed_in, data={"csrf_token": token, "fn": "count", "epsilon": "0.5", "action": "estimate"}
    ).text
    assert 'id="sandbox-cost">0.5<' in html
    html = client.post(signed_in, data={"csrf_token": token, "fn": "count", "action": "estimate"}).text
    assert 'id="sandbox-cost">0.5<' in html and "未指定 ε 时按默认 ε=0.5" in html  # no ε given: the default one
    assert "剩余隐私预算 ε = 2.00" in html  # an estimate spends nothing
    refused = client.post(
        signed_in, data={"csrf_token": token, "fn": "sum", "field": "cost", "epsilon": "0.5", "action": "run"}
    )
    assert refused.status_code == 422 and "bounds" in refused.text
    assert client.post(signed_in, data={"fn": "count"}).status_code == 403  # no CSRF token
