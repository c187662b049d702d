"""Adversarial tests of user SQL (``/api/v1/sql``, CKAN ``datastore_search_sql``): a statement reads
nothing but the resources its caller may read, whatever its shape — each of the three walls
(allow-list, scoped name resolution, the confined DuckDB connection) is tested on its own, and
generated statements (CTEs at every depth, quoted names, paths, globs, table functions, comments,
unicode) are thrown at the whole path. Errors carry no values; every statement is audited."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pubdata.audit.models import AuditRecord
from pubdata.authz import ANONYMOUS
from pubdata.db import write_durable
from pubdata.errors import PubdataError
from pubdata.store import engine, files, service
from pubdata.store.ingest import load as ingest
from pubdata.store.query import sql as store_sql
from pubdata.store.schemas import TableCreate
from tests.access.people import grant, load_people
from tests.builders import make_entry
from tests.store.rows_fixture import load_table

MARK = "SECRET-MARK"  # in every row of the closed table
FILE_MARK = "TOPSECRET"  # in files under the home that are no resource at all


@dataclass
class World:
    open_id: str
    closed_id: str
    closed_path: Path
    store: Path
    planted: list[Path]


@pytest.fixture
def world(session: Session, as_actor, settings, tmp_path) -> World:  # type: ignore[no-untyped-def]
    owner = as_actor("department")
    opened = load_table(session, owner, settings.home, tmp_path, open_type="unconditional")
    entry = make_entry(session, owner, title="门诊诊断明细", open_type="closed", category="medical")
    table = service.create_table(
        session,
        owner,
        entry.code,
        TableCreate(
            name="诊断", schema={"fields": [{"name": "diagnosis", "type": "string"}, {"name": "n", "type": "integer"}]}
        ),
    )
    source = tmp_path / "closed.csv"
    source.write_text("diagnosis,n\n" + "".join(f"{MARK}-{i},{i}\n" for i in range(12)), encoding="utf-8")
    assert ingest.ingest(session, owner, table.resource_id, source, home=settings.home).state == "published"
    planted = [settings.home / "admin_token.json", settings.home / "plain.csv"]
    planted[0].write_text(json.dumps({"token": f"{FILE_MARK}-TOKEN"}), encoding="utf-8")
    planted[1].write_text(f"a\n{FILE_MARK}-CSV\n", encoding="utf-8")
    closed_path = files.version_dir(settings.home, table.resource_id, 1) / files.DATA_FILE
    assert closed_path.exists()
    return World(opened.resource_id, table.resource_id, closed_path, files.store_root(settings.home), planted)


def leaked(text: str) -> bool:
    return MARK in text or FILE_MARK in text


# --- the red team's statement, verbatim, on both SQL surfaces ----------------------------------------


def red_team_sql(w: World) -> str:
    return (
        f'WITH a AS (SELECT * FROM "{w.closed_path}"), "{w.closed_path}" AS (SELECT 1 AS z) '
        f'SELECT a.* FROM a, "{w.open_id}" r LIMIT 1'
    )


def test_the_cte_shadowing_file_read_is_refused_anonymously(client, world):
    for sql in (red_team_sql(world), red_team_sql(world).replace(str(world.closed_path), str(world.planted[0]))):
        native = client.post("/api/v1/sql", json={"sql": sql})
        ckan = client.post("/api/3/action/datastore_search_sql", json={"sql": sql})
        assert native.status_code in (403, 404, 422) and not leaked(native.text), native.text
        assert ckan.status_code in (403, 404, 409) and not ckan.json()["success"] and not leaked(ckan.text)


def test_a_name_is_a_cte_only_where_that_cte_is_visible(world):
    # a later CTE, a CTE of a subquery, a CTE of another CTE: none of them is visible here, so the name
    # is taken as a resource id (and refused as one), never left for DuckDB to read as a file
    for sql in (
        f'WITH a AS (SELECT * FROM "{world.closed_path}"), "{world.closed_path}" AS (SELECT 1) SELECT * FROM a',
        'SELECT * FROM (WITH "x" AS (SELECT 1) SELECT * FROM "x") s, "x"',
        'WITH a AS (WITH "x" AS (SELECT 1) SELECT * FROM "x") SELECT * FROM a, "x"',
    ):
        resolved = store_sql.resolve(store_sql.check(sql))
        assert resolved.resource_ids in ([str(world.closed_path)], ["x"])
        names = {t.name for t in resolved.tree.find_all(store_sql.exp.Table)}
        assert all(n.startswith(("__r", "__c")) for n in names), names


def test_visible_ctes_keep_working(client, world):
    sql = (
        f'WITH big AS (SELECT * FROM "{world.open_id}" WHERE capital > 120), '
        f"per AS (SELECT district, count(*) AS n FROM big GROUP BY district) "
        f'SELECT p.district, p.n FROM per p JOIN (SELECT DISTINCT district FROM "{world.open_id}") d '
        f"ON d.district = p.district ORDER BY p.district"
    )
    r = client.post("/api/v1/sql", json={"sql": sql})
    assert r.status_code == 200, r.text
    assert sum(rec["n"] for rec in r.json()["records"]) == 20  # capitals 120.5 … 139.5


def test_the_confined_connection_opens_only_the_plans_files(world):
    allowed = files.version_dir(world.store.parent, world.open_id, 1) / files.DATA_FILE
    with engine.confined([allowed]) as con:
        assert engine.run(con, f"SELECT count(*) FROM read_parquet('{allowed}')").fetchone() == (40,)
        for probe in (
            f"SELECT * FROM read_parquet('{world.closed_path}')",
            f"SELECT * FROM read_parquet('{world.store}/*/v1/*.parquet')",
            f"SELECT * FROM read_parquet('{allowed.parent}/../../{world.closed_id}/v1/data.parquet')",
            f"SELECT * FROM read_json_auto('{world.planted[0]}')",
            f"SELECT * FROM read_csv('{world.planted[1]}')",
            f"SELECT * FROM read_text('{world.planted[0]}')",
            f"SELECT * FROM glob('{world.store}/*')",
            f"ATTACH '{world.store.parent}/x.duckdb'",
            f"COPY (SELECT 1) TO '{allowed.parent}/out.csv'",
            "SET enable_external_access = true",
            "SET allowed_paths = ['/']",
            "LOAD httpfs",
        ):
            with pytest.raises(engine.QueryFailed) as caught:
                engine.run(con, probe)
            assert not leaked(caught.value.message) and str(world.store) not in caught.value.message


# --- generated statements ---------------------------------------------------------------------------


def _targets(w: World) -> list[str]:
    return [
        str(w.closed_path),
        f"{w.store}/*/v1/*.parquet",
        f"{w.store}/**/*.parquet",
        f"{w.store}/{w.closed_id}/v1/../v1/data.parquet",
        str(w.planted[0]),
        str(w.planted[1]),
        w.closed_id,
        "/etc/passwd",
    ]


_FUNCTIONS = ("read_parquet", "parquet_scan", "read_csv_auto", "read_json_auto", "read_text", "glob", "query_table")


@st.composite
def statements(draw: st.DrawFn, w: World) -> str:
    target = draw(st.sampled_from(_targets(w)))
    ref = draw(
        st.sampled_from(
            [
                f'"{target}"',
                f"'{target}'",
                f'"{target}" AS x',
                *(f"{fn}('{target}')" for fn in _FUNCTIONS),
                f'"{target.upper()}"',
            ]
        )
    )
    inner = f"SELECT * FROM {ref}"
    for _ in range(draw(st.integers(0, 3))):  # wrap it, each time in another shape
        shape = draw(st.integers(0, 8))
        name = draw(st.sampled_from(["a", "b", target, "__r0", "__c0", "数据", "ｔ"]))
        inner = [
            f'WITH "{name}" AS ({inner}), "{target}" AS (SELECT 1 AS z) SELECT * FROM "{name}", "{w.open_id}" r',
            f'WITH q AS (SELECT * FROM "{target}"), "{target}" AS ({inner}) SELECT * FROM q',
            f"SELECT * FROM ({inner}) s",
            f'SELECT * FROM "{w.open_id}" WHERE EXISTS ({inner})',
            f'SELECT (SELECT count(*) FROM ({inner}) z) AS n FROM "{w.open_id}"',
            f'SELECT CAST(name AS VARCHAR) FROM "{w.open_id}" UNION ALL {inner}',
            f'SELECT * FROM "{w.open_id}" r JOIN LATERAL ({inner}) l ON true',
            f'SELECT * FROM (WITH "{name}" AS (SELECT 1 AS z) SELECT * FROM "{name}") s, ({inner}) t',
            f'WITH "{name}" AS (SELECT * FROM "{w.open_id}") {inner}',
        ][shape]
    decorate = draw(st.sampled_from(["", "/* x */ ", "-- c\n", "\u3000", "\t"]))
    tail = draw(st.sampled_from(["", " LIMIT 5", " -- trailing", "; SELECT 1"]))
    text = inner.replace(" FROM ", f" {decorate}FROM{decorate} ", 1) + tail
    return text.lower() if draw(st.booleans()) and target == w.closed_id else text


def _audit_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(AuditRecord)) or 0


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_no_statement_shape_reads_anything_else(session, settings, world, data):
    sql = data.draw(statements(world))
    before = _audit_count(session)
    try:
        result = store_sql.run_sql(session, ANONYMOUS, sql, home=settings.home)
    except PubdataError as exc:
        assert not leaked(exc.message) and not leaked(json.dumps(exc.details, default=str)), sql
        assert str(world.store) not in exc.message or str(world.store) in sql, exc.message
    else:
        assert not leaked(json.dumps(result.table.to_pylist(), default=str)), sql
        assert [p.resource_id for p in result.resources] == [world.open_id]
    write_durable(session)
    assert _audit_count(session) > before, f"not audited: {sql}"


# --- errors carry no values; every statement is audited ---------------------------------------------


@pytest.fixture
def grantee(session, as_actor, settings, tmp_path, token_for):  # type: ignore[no-untyped-def]
    owner = as_actor("department")
    people = load_people(session, owner, settings.home, tmp_path)
    consumer, operator = as_actor("bank"), as_actor("operator")
    grant_id = grant(session, consumer, operator, people, ["name", "district", "amount"])
    return people, grant_id, {"Authorization": f"Bearer {token_for(consumer, scopes=['read'])}"}


def test_conversion_errors_do_not_echo_values_and_are_audited(client, session, grantee):
    people, grant_id, headers = grantee
    for sql in (
        f"SELECT CAST(string_agg(name, '|') AS INTEGER) FROM \"{people.resource_id}\"",
        f'SELECT CAST(district AS DATE) FROM "{people.resource_id}"',
        f'SELECT CAST(max(name) AS DOUBLE) FROM "{people.resource_id}"',
    ):
        r = client.post("/api/v1/sql", json={"sql": sql}, headers=headers)
        assert r.status_code == 422, r.text
        body = r.text
        assert "小明" not in body and "芳" not in body and "区" not in body.replace("地区", ""), body
        assert r.json()["error"]["details"][0]["category"] == "conversion"
    failed = session.scalars(
        select(AuditRecord).where(AuditRecord.action == "sql.read", AuditRecord.result == "failed")
    ).all()
    assert len(failed) == 3 and {f.grant_id for f in failed} == {grant_id}
    assert all("conversion" in f.reason and "小明" not in f.reason for f in failed)


def test_every_statement_is_audited_with_its_resources_open_data_included(client, session, world):
    ok = client.post("/api/v1/sql", json={"sql": f'SELECT count(*) AS n FROM "{world.open_id}"'})
    assert ok.status_code == 200 and ok.json()["records"] == [{"n": 40}]
    bad = client.post("/api/v1/sql", json={"sql": "SELECT * FROM pg_catalog.pg_tables"})
    assert bad.status_code == 422
    reads = session.scalars(select(AuditRecord).order_by(AuditRecord.seq).where(AuditRecord.action == "sql.read")).all()
    assert [(r.resource_id, r.result, r.rows, r.via) for r in reads] == [(world.open_id, "allowed", 1, "anonymous")]
    refused = session.scalars(select(AuditRecord).where(AuditRecord.action == "sql.query")).all()
    assert len(refused) == 1 and refused[0].result == "refused" and refused[0].query_digest


def test_a_statement_is_interrupted_at_the_time_limit(client, world, monkeypatch):
    """The time limit interrupts DuckDB on the confined connection (not a clock read afterwards): a
    statement that would run for minutes comes back as ``store.query_timeout``, audited as failed."""
    from pubdata import settings as settings_module

    quick = settings_module.get_settings().model_copy(update={"query_timeout_s": 0.3})
    monkeypatch.setattr("pubdata.store.engine.get_settings", lambda: quick)
    t = [f'"{world.open_id}" {a}' for a in "abcde"]
    heavy = f"SELECT count(*) FROM {', '.join(t)} WHERE a.name || b.name || c.name || d.name || e.name LIKE '%x%'"
    r = client.post("/api/v1/sql", json={"sql": heavy})
    assert r.status_code == 422 and r.json()["error"]["code"] == "store.query_timeout", r.text


def test_a_store_file_that_cannot_be_read_is_a_server_fault_not_the_callers(client, world):
    """A version file gone missing or corrupt is the server's fault: 500 ``store.fault`` (not a 422
    telling the caller to fix the query), without the engine's text (it names server paths)."""
    path = files.version_dir(world.store.parent, world.open_id, 1) / files.DATA_FILE
    saved = path.read_bytes()
    try:
        for damage in (b"", b"garbage" * 100):
            path.write_bytes(damage)
            r = client.post("/api/v1/sql", json={"sql": f'SELECT count(*) FROM "{world.open_id}"'})
            assert r.status_code == 500 and r.json()["error"]["code"] == "store.fault", r.text
            assert str(world.store) not in r.text
        path.unlink()
        r = client.post("/api/v1/sql", json={"sql": f'SELECT count(*) AS n FROM "{world.open_id}"'})
        assert r.status_code == 500 and r.json()["error"]["code"] == "store.fault", r.text
    finally:
        path.write_bytes(saved)
