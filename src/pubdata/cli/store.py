"""``pubdata resource`` and ``ingest``: tables of catalogue entries and loading their records."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from pubdata.authz import SYSTEM
from pubdata.cli.base import HomeOpt, JsonOpt, app, emit, fail, use_home
from pubdata.errors import PubdataError

resource_app = typer.Typer(help="Resources (tables) of catalogue entries", no_args_is_help=True)
app.add_typer(resource_app, name="resource")


@resource_app.command("create")
def resource_create(
    entry: Annotated[str, typer.Argument(help="The entry's code or name")],
    name: Annotated[str, typer.Argument(help="The resource's name")],
    schema: Annotated[Path | None, typer.Option("--schema", help="Frictionless Table Schema (JSON)")] = None,
    description: Annotated[str, typer.Option(help="What the table holds")] = "",
    home: HomeOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Give a catalogue entry a table; prints its resource's id. The resource the entry declares under
    NAME gets it (so the entry keeps one resource, holding the rows); a new resource is added only
    when the entry has none of that name. Without --schema the schema is derived from the entry's
    declared fields."""
    use_home(home)
    from pubdata.db import migrate as run
    from pubdata.db import session_scope
    from pubdata.errors import Invalid
    from pubdata.store import service
    from pubdata.store.schemas import TableCreate

    run()
    try:
        schema_data = None
        if schema is not None:
            try:
                schema_data = json.loads(schema.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise Invalid(f"无法读取表结构文件 {schema}：{exc}", field="schema") from None
        with session_scope() as session:
            table = service.create_table(
                session, SYSTEM, entry, TableCreate(name=name, description=description, schema=schema_data)
            )
            out = table.model_dump(mode="json", by_alias=True)
    except PubdataError as exc:
        fail(exc, as_json)
    emit(out, as_json, out["resource_id"])


@app.command()
def ingest(
    resource: Annotated[str, typer.Argument(help="The resource (table) id")],
    file: Annotated[Path, typer.Argument(help="CSV (UTF-8 or GBK), JSON Lines, Parquet or XLSX")],
    home: HomeOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Load a file as the next version of a table: validate, reject bad rows, publish atomically.

    Runs as an ingest job in the foreground, so it is visible in the API and the portal while it runs,
    with a progress bar on stderr (stage, percentage, rows read so far). Exit code 3 when the version
    is refused (too many rejected rows), 1 when the file cannot be loaded, 2 when the resource is not
    found."""
    use_home(home)
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

    from pubdata.db import get_engine, session_scope
    from pubdata.db import migrate as run
    from pubdata.settings import get_settings
    from pubdata.store.jobs import queue as jobs
    from pubdata.store.jobs import runner as job_runner

    run()
    try:
        with session_scope() as session:
            job = jobs.start_foreground_ingest(
                session,
                SYSTEM,
                resource,
                file,
                worker=jobs.worker_name(),
                stale_seconds=get_settings().job_stale_seconds,
            )
    except PubdataError as exc:
        fail(exc, as_json)

    console = Console(stderr=True)
    bar = (
        Progress(
            TextColumn("{task.description:<4}"),
            BarColumn(),
            TaskProgressColumn(),
            TextColumn("{task.fields[rows]}"),
            TimeElapsedColumn(),
            console=console,
        )
        if console.is_terminal and not as_json
        else None
    )
    task = bar.add_task("开始", total=100, rows="") if bar is not None else None
    last_stage = ""

    def progress(stage: str, pct: int, rows: int | None) -> None:
        nonlocal last_stage
        rows_text = f"已读 {rows:,} 行" if rows is not None else ""
        if bar is not None and task is not None:
            bar.update(task, description=stage, completed=pct, rows=rows_text)
        elif not as_json and stage != last_stage:
            typer.echo(f"  [{pct:3d}%] {stage}" + (f"  {rows_text}" if rows_text else ""), err=True)
        last_stage = stage

    if bar is not None:
        with bar:
            done = job_runner.run_job(get_engine(), job.id, home=get_settings().resolved_home, on_progress=progress)
    else:
        done = job_runner.run_job(get_engine(), job.id, home=get_settings().resolved_home, on_progress=progress)
    out = done.result
    if done.state != "succeeded" or out is None:
        error = done.error or {"code": "store.job_failed", "message": "导入失败", "details": None}
        fail(PubdataError(error["message"], code=error["code"], details=error.get("details")), as_json)
        return
    emit(
        out,
        as_json,
        f"版本 {out['version']}（{'已发布' if out['state'] == 'published' else '已拒绝'}）："
        f"载入 {out['rows_loaded']} 行，拒绝 {out['rows_rejected']} 行，"
        f"质量得分 {'无法评分' if out['quality']['score'] is None else out['quality']['score']}"
        + (f"\n拒绝明细：{out['rejects_file']}" if out["rejects_file"] else ""),
    )
    if out["state"] != "published":
        raise typer.Exit(code=3)
