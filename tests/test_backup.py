"""``pubdata backup`` / ``pubdata restore``: a platform with a catalogue, a published table version, a
grant, ledger entries and an audit trail is backed up *while another thread keeps writing audit
records*, and restored into a fresh home and an empty database (SQLite, or PostgreSQL schemas when
PUBDATA_TEST_DATABASE_URL is set): the catalogue, the version's rows, the grant, the balanced ledger
and the audit chain are all there and verify, and the restored platform goes on writing. Bad archives
and non-empty targets are refused by name."""

from __future__ import annotations

import json
import tarfile
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from typer.testing import CliRunner

from pubdata import backup as ops
from pubdata.access import service as access
from pubdata.access.schemas import Decision, RequestCreate
from pubdata.access.service import beijing_today
from pubdata.audit import service as audit
from pubdata.audit.models import AuditRecord
from pubdata.authz import SYSTEM
from pubdata.catalog.models import CatalogEntry
from pubdata.cli import app
from pubdata.db import make_engine, migrate, session_scope
from pubdata.identity import service as identity
from pubdata.ledger import service as ledger
from pubdata.ledger.models import LedgerEntry
from pubdata.ledger.schemas import Posting
from pubdata.store import contracts
from pubdata.store.ingest import load as ingest
from pubdata.store.models import StoreJob
from pubdata.store.query.rows import RowQuery, read_rows
from tests import builders
from tests.conftest import database_url
from tests.market.builders import tax_table
from tests.store.test_jobs import queue_file

ROWS = ["91370200MA00000011,海川科技,市南区,A,1200.5,13800000001",
        "91370200MA00000022,北岸物流,黄岛区,B,800.0,13800000002"]  # fmt: skip


def platform(tmp_path: Path, name: str) -> tuple[Engine, Path]:
    home = tmp_path / f"{name}-home"
    home.mkdir()
    return make_engine(database_url(tmp_path / name, f"bk_{name}")), home


def build(engine: Engine, home: Path, tmp_path: Path) -> dict[str, object]:
    migrate(engine)
    with session_scope(engine) as s:
        department = builders.actor_of(builders.make_user(s, builders.make_org(s, "department"), roles=["department"]))
        operator = builders.actor_of(builders.make_user(s, builders.make_org(s, "operator"), roles=["operator"]))
        buyer_user = builders.make_user(s, builders.make_org(s, "enterprise"), roles=["enterprise"])
        buyer = builders.actor_of(buyer_user)
        rid = tax_table(s, department, open_type="conditional")
        csv = tmp_path / "tax.csv"
        csv.write_text("uscc,name,district,tax_credit_grade,revenue,legal_phone\n" + "\n".join(ROWS) + "\n",
                       encoding="utf-8")  # fmt: skip
        assert ingest.ingest(s, department, rid, csv, home=home).state == "published"
        asked = contracts.request_access(s, buyer, rid, RequestCreate(
            scenario="信贷审批", purpose="核验借款企业的纳税信用等级，用于小微企业信用贷款审批",
            fields=["uscc", "tax_credit_grade"], period_start=beijing_today(),
            period_end=beijing_today() + timedelta(days=90), expected_rows=100,
        ))  # fmt: skip
        contracts.review_access(s, department, asked.id, Decision(action="approve"))
        assert contracts.review_access(s, operator, asked.id, Decision(action="approve")).state == "granted"
        cash = ledger.account_for(s, operator, None, "cash").code
        clearing = ledger.account_for(s, operator, None, "clearing").code
        ledger.post(s, operator, Posting("payment:backup-1", "payment", [(cash, 12_000), (clearing, -12_000)]))
        waiting = queue_file(s, department, rid, home, "uscc\n")  # its upload is not in a backup
    with session_scope(engine) as s:  # an audited read under the grant
        assert read_rows(s, buyer, rid, RowQuery(limit=10), home=home).table.num_rows == 2
    return {"rid": rid, "buyer": buyer_user.username, "waiting": waiting}


def writing(engine: Engine, stop: threading.Event) -> threading.Thread:
    """Another process's writes meanwhile: audit records appended as fast as they go."""

    def run() -> None:
        while not stop.is_set():
            with session_scope(engine) as s:
                audit.record(s, SYSTEM, audit.Event("system.backup_probe"))

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_a_platform_backed_up_while_writing_restores_whole_into_a_fresh_home(tmp_path: Path) -> None:
    engine, home = platform(tmp_path, "source")
    world = build(engine, home, tmp_path)
    stop = threading.Event()
    writer = writing(engine, stop)
    try:
        summary = ops.backup(engine, home, tmp_path / "city.tar")
    finally:
        stop.set()
        writer.join()
    assert summary.files >= 2 and summary.tables["catalog_entry"] == 1 and summary.tables["ledger_entry"] == 1
    assert (tmp_path / "city.tar").stat().st_mode & 0o777 == 0o600  # it holds the home's keys
    with tarfile.open(tmp_path / "city.tar") as tar:
        names = tar.getnames()
    assert not any(n.endswith(("pubdata.sqlite3", "-wal")) for n in names) and "manifest.json" in names

    target, new_home = platform(tmp_path, "target")
    restored = ops.restore(target, new_home, tmp_path / "city.tar")
    assert restored.tables == summary.tables
    with session_scope(target) as s:
        assert s.scalar(select(func.count()).select_from(CatalogEntry)) == 1
        buyer = identity.actor_for(identity.get_user(s, str(world["buyer"])), via="cli")
        grant = access.active_grant(s, buyer, str(world["rid"]))
        assert grant is not None and set(grant.fields) == {"uscc", "tax_credit_grade"}
        page = read_rows(s, buyer, str(world["rid"]), RowQuery(limit=10), home=new_home)  # the version's files
        assert sorted(page.table.column("uscc").to_pylist()) == ["91370200MA00000011", "91370200MA00000022"]
        assert s.scalar(select(func.count()).select_from(LedgerEntry)) == 1
        assert ledger.trial_balance(s, SYSTEM).total_fen == 0
        job = s.get(StoreJob, str(world["waiting"]))
        assert job is not None and job.state == "failed" and job.error["code"] == "store.job_not_restored"
        checked = audit.verify(s, SYSTEM)
        assert checked.ok and checked.length == summary.tables["audit_record"]
    with session_scope(target) as s:  # the restored platform goes on: new ids, new records, same chain
        builders.make_org(s, "enterprise")
        audit.record(s, SYSTEM, audit.Event("system.after_restore"))
    with session_scope(target) as s:
        assert audit.verify(s, SYSTEM).ok
        assert s.scalar(select(func.max(AuditRecord.seq))) == summary.tables["audit_record"] + 2


def test_bad_archives_and_occupied_targets_are_refused(tmp_path: Path) -> None:
    engine, home = platform(tmp_path, "src2")
    migrate(engine)
    archive = tmp_path / "one.tar"
    ops.backup(engine, home, archive)
    with pytest.raises(ops.BackupError, match="已存在"):
        ops.backup(engine, home, archive)
    with pytest.raises(ops.BackupError, match="数据目录之内"):
        ops.backup(engine, home, home / "inside.tar")
    with session_scope(engine) as s:
        builders.make_org(s, "department")
    with pytest.raises(ops.RestoreRefused, match="只能恢复到空数据库"):
        ops.restore(engine, tmp_path / "elsewhere", archive)  # the source database holds its rows
    target, new_home = platform(tmp_path, "dst2")
    (new_home / "leftover.txt").write_text("x")
    with pytest.raises(ops.RestoreRefused, match="数据目录不是空的"):
        ops.restore(target, new_home, archive)
    (new_home / "leftover.txt").unlink()
    not_tar = tmp_path / "x.tar"
    not_tar.write_bytes(b"not a tar")
    with pytest.raises(ops.BackupError, match="无法读取备份文件"):
        ops.restore(target, new_home, not_tar)
    other = tmp_path / "other.tar"
    with tarfile.open(archive) as src, tarfile.open(other, "w") as dst:
        for member in src.getmembers():
            data = src.extractfile(member).read()
            if member.name == "manifest.json":
                manifest = json.loads(data)
                data = json.dumps({**manifest, "revision": "0001"}).encode()
                member.size = len(data)
            dst.addfile(member, __import__("io").BytesIO(data))
    with pytest.raises(ops.RestoreRefused, match="结构版本为 0001"):
        ops.restore(target, new_home, other)


def test_the_commands_back_up_and_restore(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "cli-home"
    url = database_url(tmp_path / "cli", "bk_cli")
    monkeypatch.setenv("PUBDATA_DATABASE_URL", url)
    runner = CliRunner()
    assert runner.invoke(app, ["migrate", "--home", str(home)]).exit_code == 0
    with session_scope(make_engine(url)) as s:
        builders.make_org(s, "department")
    done = runner.invoke(app, ["backup", str(tmp_path / "c.tar"), "--home", str(home), "--json"])
    assert done.exit_code == 0, done.output
    assert json.loads(done.output)["tables"]["audit_head"] >= 0
    monkeypatch.setenv("PUBDATA_DATABASE_URL", database_url(tmp_path / "cli2", "bk_cli2"))
    back = runner.invoke(app, ["restore", str(tmp_path / "c.tar"), "--home", str(tmp_path / "new-home")])
    assert back.exit_code == 0 and "已恢复" in back.output, back.output
    again = runner.invoke(app, ["restore", str(tmp_path / "c.tar"), "--home", str(tmp_path / "new-home")])
    assert again.exit_code == 1 and "backup.restore_refused" in again.output
