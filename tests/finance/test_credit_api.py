"""The credit API and CLI: the operator runs scoring; an enterprise reads its own score; banks, other
enterprises and the public get nothing."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from pubdata.cli import app as cli_app
from tests.finance.builders import publish_facts
from tests.finance.test_scoring import E1, E2, ROWS, enterprise_actor


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_score_runs_and_scores_over_the_api(client, session, settings, as_actor, token_for):
    publish_facts(session, settings.home, ROWS)
    operator = token_for(as_actor("operator"), scopes=["read", "operate"])
    mine = token_for(enterprise_actor(session, E2), scopes=["read"])
    bank = token_for(as_actor("bank"), scopes=["read"])
    department = token_for(as_actor("department"), scopes=["read"])

    assert client.post("/api/v1/credit/score-runs").status_code == 401
    assert client.post("/api/v1/credit/score-runs", headers=bearer(department)).status_code == 403
    assert client.post("/api/v1/credit/score-runs", headers=bearer(mine)).status_code == 403
    r = client.post("/api/v1/credit/score-runs", headers=bearer(operator), json={"model": "expert"})
    assert r.status_code == 200, r.text
    run = r.json()
    assert run["enterprises"] == 3 and run["reused"] is False and run["grades"]["AAA"] == 1
    assert client.post("/api/v1/credit/score-runs", headers=bearer(operator)).json()["reused"] is True
    r = client.post("/api/v1/credit/score-runs", headers=bearer(operator), json={"model": "nothing"})
    assert r.status_code == 404 and r.json()["error"]["code"] == "finance.model_not_found"
    assert [x["id"] for x in client.get("/api/v1/credit/score-runs", headers=bearer(operator)).json()] == [run["id"]]
    assert client.get("/api/v1/credit/score-runs", headers=bearer(bank)).status_code == 403
    models = client.get("/api/v1/credit/models", headers=bearer(operator)).json()
    assert [m["model_id"] for m in models] == ["expert"]

    r = client.get(f"/api/v1/credit/{E2}", headers=bearer(mine))
    assert r.status_code == 200, r.text
    score = r.json()
    assert (score["score"], score["grade"]) == (345, "C") and score["model"]["version"] == 2
    assert score["reasons_down"][0]["text"] == "在经营异常名录中（−80 分）"
    assert client.get(f"/api/v1/credit/{E1}", headers=bearer(operator)).json()["grade"] == "AAA"
    # the first version of the card stays available by its versioned id, with its own run
    r = client.post("/api/v1/credit/score-runs", headers=bearer(operator), json={"model": "expert-v1"})
    assert r.status_code == 200 and r.json()["model_version"] == 1 and r.json()["reused"] is False
    old = client.get(f"/api/v1/credit/{E1}", params={"model": "expert-v1"}, headers=bearer(operator)).json()
    assert (old["score"], old["model"]["version"]) == (850, 1)
    assert client.get(f"/api/v1/credit/{E1}", headers=bearer(operator)).json()["score"] == 885
    for token in (bank, department):
        r = client.get(f"/api/v1/credit/{E2}", headers=bearer(token))
        assert r.status_code == 404 and r.json()["error"]["code"] == "finance.score_not_found"
    assert client.get(f"/api/v1/credit/{E1}", headers=bearer(mine)).status_code == 404
    assert client.get(f"/api/v1/credit/{E2}").status_code == 404


def test_credit_cli_scores_and_shows(tmp_path, monkeypatch):
    from pubdata.db import make_engine, migrate, session_scope

    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("PUBDATA_HOME", str(home))
    monkeypatch.delenv("PUBDATA_DATABASE_URL", raising=False)
    engine = make_engine(f"sqlite:///{home / 'pubdata.sqlite3'}")
    migrate(engine)
    with session_scope(engine) as s:
        publish_facts(s, home, ROWS)
    engine.dispose()
    runner = CliRunner()
    result = runner.invoke(cli_app, ["credit", "score", "--json"])
    assert result.exit_code == 0, result.output
    run = json.loads(result.stdout.strip().splitlines()[-1])
    assert run["enterprises"] == 3 and run["model_id"] == "expert"
    result = runner.invoke(cli_app, ["credit", "show", E1])
    assert result.exit_code == 0, result.output
    assert "信用评分 885 分，等级 AAA" in result.stdout and "纳税信用等级为 A（+60 分）" in result.stdout
    result = runner.invoke(cli_app, ["credit", "score", "--model", "expert-v1", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout.strip().splitlines()[-1])["model_version"] == 1
    result = runner.invoke(cli_app, ["credit", "show", E1, "--model", "expert-v1"])
    assert result.exit_code == 0 and "信用评分 850 分" in result.stdout, result.output
    result = runner.invoke(cli_app, ["credit", "show", "91370200MA00000000", "--json"])
    assert result.exit_code == 2
    assert json.loads(result.stdout)["error"]["code"] == "finance.score_not_found"
    # fitting wants a file of outcomes or --from-loans (the channel's closed loans: none yet)
    result = runner.invoke(cli_app, ["credit", "fit", "--json"])
    assert result.exit_code == 1 and "--from-loans" in json.loads(result.stdout)["error"]["message"]
    result = runner.invoke(cli_app, ["credit", "fit", "--from-loans", "--json"])
    assert result.exit_code == 1 and "只有一类" in json.loads(result.stdout)["error"]["message"]


def test_fitting_over_the_api_refuses_one_class_and_banks(client, session, settings, as_actor, token_for):
    publish_facts(session, settings.home, ROWS)
    operator = token_for(as_actor("operator"), scopes=["read", "operate"])
    bank = token_for(as_actor("bank"), scopes=["read"])
    body = {"outcomes": [{"uscc": r["uscc"], "defaulted": False} for r in ROWS]}
    r = client.post("/api/v1/credit/models/fit", headers=bearer(bank), json=body)
    assert r.status_code == 403
    r = client.post("/api/v1/credit/models/fit", headers=bearer(operator), json=body)
    assert r.status_code == 422 and r.json()["error"]["code"] == "finance.invalid_outcomes"
    assert "只有一类" in r.json()["error"]["message"]
    # the channel's closed loans are added on request (none here: still one class); a bad as_of is named
    r = client.post("/api/v1/credit/models/fit", headers=bearer(operator), json={**body, "include_loans": True})
    assert r.status_code == 422 and "只有一类" in r.json()["error"]["message"]
    bad_day = {"outcomes": [{"uscc": ROWS[0]["uscc"], "defaulted": True, "as_of": "2025-02-30"}]}
    r = client.post("/api/v1/credit/models/fit", headers=bearer(operator), json=bad_day)
    assert r.status_code == 422 and "outcomes[0].as_of" in r.json()["error"]["message"]
    assert client.get("/api/v1/credit/models", headers=bearer(operator)).json() == []
