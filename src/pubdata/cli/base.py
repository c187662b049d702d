"""What every command module shares: the ``pubdata`` Typer app, the ``--home``/``--json`` options,
pointing the process at a home, and printing results and errors."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any

import typer

from pubdata.errors import PubdataError

app = typer.Typer(help="pubdata — 公共数据运营平台", no_args_is_help=True, add_completion=False)

HomeOpt = Annotated[Path | None, typer.Option("--home", help="Data directory (PUBDATA_HOME)")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for scripts")]
EngineOpt = Annotated[
    str | None,
    typer.Option("--engine", help="Batch engine: duckdb or spark (default PUBDATA_BATCH_ENGINE; see docs/spark.md)"),
]


def use_home(home: Path | None, *, need_database: bool = True) -> None:
    """Point this process at ``home`` (``--home``, else PUBDATA_HOME, else ./pubdata-home). Only
    ``migrate`` and ``demo`` may start a new home: any other command run in the wrong directory
    would otherwise work on a new, empty database there without a word."""
    if home is not None:
        os.environ["PUBDATA_HOME"] = str(home)
    from pubdata.db import forget_engine
    from pubdata.settings import get_settings

    forget_engine()
    get_settings.cache_clear()
    settings = get_settings()
    if need_database and not settings.database_url:
        database = Path(settings.resolved_database_url.removeprefix("sqlite:///"))
        if not database.is_file():
            typer.echo(
                f"错误：数据目录 {settings.resolved_home} 中没有数据库（{database.name}）。"
                "请用 --home 或环境变量 PUBDATA_HOME 指向已有的数据目录，"
                "或先运行 pubdata migrate / pubdata demo 创建。",
                err=True,
            )
            raise typer.Exit(code=1)


def fail(exc: PubdataError, as_json: bool) -> None:
    if as_json:
        typer.echo(
            json.dumps(
                {"error": {"code": exc.code, "message": exc.message, "details": exc.details}},
                ensure_ascii=False,
            )
        )
    else:
        typer.echo(f"错误 ({exc.code})：{exc.message}", err=True)
    raise typer.Exit(code=1 if exc.status != 404 else 2)


def emit(data: Any, as_json: bool, text: str) -> None:
    typer.echo(json.dumps(data, ensure_ascii=False, default=str) if as_json else text)
