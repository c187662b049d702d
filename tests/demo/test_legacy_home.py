"""A demo home made before entries' rows moved into their declared resource: migration 0013 merges
the ``数据明细`` resource that held the rows into the entry's declared (empty) resource, keeping the
rows' resource id and its versions, and leaves every other entry as it is."""

from __future__ import annotations

from pathlib import Path

from alembic import command

from pubdata.authz import SYSTEM
from pubdata.catalog import service as catalog
from pubdata.db import alembic_config, migrate, session_scope
from pubdata.standards import uscc_with_check
from pubdata.store import service as store
from pubdata.store.ingest import load as ingest
from pubdata.store.schemas import TableCreate
from tests.builders import make_entry, make_org
from tests.conftest import fresh_engine

SCHEMA = {"fields": [{"name": "uscc", "type": "string", "semanticType": "uscc"}]}


def _resources(engine, code: str) -> list[tuple[str, str, str, int]]:  # type: ignore[no-untyped-def]
    with session_scope(engine) as s:
        entry = catalog.get_entry(s, SYSTEM, code)
        return [(r.id, r.name, r.description, r.position) for r in sorted(entry.resources, key=lambda r: r.position)]


def test_an_older_demo_homes_rows_resource_becomes_the_declared_one(tmp_path: Path) -> None:
    engine = fresh_engine(tmp_path, name="legacy_home")
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0012")
    csv = tmp_path / "rows.csv"
    csv.write_text(f"uscc\n{uscc_with_check('91370200MA0000001')}\n", encoding="utf-8")
    with session_scope(engine) as s:
        org = make_org(s, "department")
        old = make_entry(s, title="旧版示范目录", organisation=org.code)  # declared: a resource named as its title
        own = make_entry(s, title="部门自建目录", organisation=org.code)
        # what older demo fills did: a second resource holding the rows
        legacy = TableCreate(name="数据明细", description="示范城市合成数据", schema=SCHEMA)
        rows_id = store.create_table(s, SYSTEM, old.code, legacy).resource_id
        assert ingest.ingest(s, SYSTEM, rows_id, csv, home=tmp_path / "home").state == "published"
        # a department's own table of that name is its own choice: left alone
        store.create_table(s, SYSTEM, own.code, TableCreate(name="数据明细", description="部门自建", schema=SCHEMA))
    declared = _resources(engine, old.code)[0]
    own_before = _resources(engine, own.code)
    assert len(_resources(engine, old.code)) == 2

    migrate(engine)

    assert _resources(engine, old.code) == [(rows_id, *declared[1:])]
    with session_scope(engine) as s:
        (version,) = store.list_versions(s, SYSTEM, rows_id)
        assert version.current and version.rows_loaded == 1
    assert _resources(engine, own.code) == own_before
    migrate(engine)  # at head: nothing more happens
    assert _resources(engine, old.code) == [(rows_id, *declared[1:])]
    engine.dispose()
