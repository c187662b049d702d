"""``pubdata backup`` and ``pubdata restore``: one archive of the metadata database and the home's
files, taken while the platform runs, restored into a new home (docs/deployment.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from pubdata.cli.base import HomeOpt, JsonOpt, app, emit, fail, use_home
from pubdata.errors import PubdataError

ArchiveArg = Annotated[Path, typer.Argument(help="The archive file (.tar)")]


def _report(summary: object, as_json: bool, verb: str) -> None:
    from pubdata.backup import Summary

    assert isinstance(summary, Summary)
    rows = sum(summary.tables.values())
    emit(
        {"archive": str(summary.path), "revision": summary.revision, "database": summary.database,
         "tables": summary.tables, "rows": rows, "files": summary.files, "bytes": summary.bytes},
        as_json,
        f"{verb}：{summary.path}（数据库 {summary.database}，结构版本 {summary.revision}，"
        f"{len(summary.tables)} 张表 {rows:,} 行，{summary.files:,} 个文件）",
    )  # fmt: skip


@app.command()
def backup(archive: ArchiveArg, home: HomeOpt = None, as_json: JsonOpt = False) -> None:
    """Back up the metadata database (one consistent snapshot) and the home's files to ARCHIVE, while
    the platform keeps serving and writing. The archive holds the home's keys: keep it safe."""
    use_home(home)
    from pubdata import backup as ops
    from pubdata.db import get_engine
    from pubdata.settings import get_settings

    try:
        summary = ops.backup(get_engine(), get_settings().resolved_home, archive)
    except PubdataError as exc:
        fail(exc, as_json)
    _report(summary, as_json, "已备份")


@app.command()
def restore(archive: ArchiveArg, home: HomeOpt = None, as_json: JsonOpt = False) -> None:
    """Restore ARCHIVE into a new, empty home and an empty database (PUBDATA_DATABASE_URL, else the
    home's SQLite file); refused when either already holds data."""
    use_home(home, need_database=False)
    from pubdata import backup as ops
    from pubdata.db import get_engine
    from pubdata.settings import get_settings

    try:
        summary = ops.restore(get_engine(), get_settings().resolved_home, archive)
    except PubdataError as exc:
        fail(exc, as_json)
    _report(summary, as_json, "已恢复")
