"""``pubdata facts``: enterprise facts (一企一档) — build, show, the fact catalogue, and checking a
fact-sources file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from pubdata.authz import SYSTEM
from pubdata.cli.base import EngineOpt, HomeOpt, JsonOpt, app, emit, fail, use_home
from pubdata.errors import PubdataError

facts_app = typer.Typer(help="Enterprise facts (一企一档): build, show, the fact catalogue", no_args_is_help=True)
app.add_typer(facts_app, name="facts")


def _facts_build_text(out: dict[str, Any]) -> str:
    v = out["version"]
    what = "已生成" if out["built"] else "数据源无变化，沿用"
    return f"企业档案{what}第 {v['number']} 版：{v['year']} 年度，{v['enterprises']:,} 个企业（{v['seconds']} 秒）"


@facts_app.command("build")
def facts_build(
    year: Annotated[
        int | None, typer.Option("--year", help="Facts year (default: latest full year of trade data)")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Build even if no source changed")] = False,
    engine: EngineOpt = None,
    home: HomeOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Build the enterprise facts table from the current source tables (nothing new when no source
    changed, unless --force)."""
    use_home(home)
    from pubdata.db import migrate as run
    from pubdata.db import session_scope
    from pubdata.enterprise import service
    from pubdata.settings import get_settings

    run()
    try:
        with session_scope() as session:
            result = service.build_facts(
                session, SYSTEM, home=get_settings().resolved_home, year=year, force=force, via="cli", engine=engine
            )
            out = result.model_dump(mode="json")
    except PubdataError as exc:
        fail(exc, as_json)
    emit(out, as_json, _facts_build_text(out))


def _fact_text(value: Any, unit: str) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, int):
        return f"{value:,} {unit}".rstrip()
    if isinstance(value, float):  # a number fact (two decimals), e.g. a percentage
        return f"{value:,.2f} {unit}".rstrip()
    return str(value)


@facts_app.command("show")
def facts_show(
    uscc: Annotated[str, typer.Argument(help="The enterprise's unified social credit code")],
    home: HomeOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """One enterprise's facts in the current version (exit 2 when not found)."""
    use_home(home)
    from pubdata.db import migrate as run
    from pubdata.db import session_scope
    from pubdata.enterprise import service
    from pubdata.settings import get_settings

    run()
    try:
        with session_scope() as session:
            out = service.get_facts(session, SYSTEM, uscc, home=get_settings().resolved_home).model_dump(mode="json")
    except PubdataError as exc:
        fail(exc, as_json)
    v = out["version"]
    lines = [f"{out['name']}（{out['uscc']}）· 企业档案第 {v['number']} 版，{v['year']} 年度"]
    lines += [f"  {f['title']}：{_fact_text(f['value'], f['unit'])}" for f in out["facts"]]
    emit(out, as_json, "\n".join(lines))


@facts_app.command("catalogue")
def facts_catalogue(as_json: JsonOpt = False) -> None:
    """Every fact: name, title, type, unit, source entry, and the rule when the source has no record."""
    from pubdata.enterprise import service

    out = [f.model_dump(mode="json") for f in service.fact_catalogue()]
    lines = [
        f"{f['name']}  {f['title']}（{f['type']}{'，' + f['unit'] if f['unit'] else ''}）"
        f"  来源 {f['source']['entry_code']} {f['source']['title']}\n    {f['meaning']}；{f['missing']}"
        for f in out
    ]
    emit(out, as_json, "\n".join(lines))


@facts_app.command("check-sources")
def facts_check_sources(
    file: Annotated[
        Path | None, typer.Argument(help="The fact-sources file (YAML); default: the configured one")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Check a fact-sources file: every problem is listed by its path (exit 1 when there is any)."""
    from pubdata.enterprise import config

    path = file or config.configured_path()
    try:
        checked = config.load_sources(path)
    except PubdataError as exc:
        fail(exc, as_json)
    kinds: dict[str, int] = {}
    for f in checked.facts.values():
        kind = f.aggregate.kind if f.aggregate else checked.sources[f.source].kind
        kinds[kind] = kinds.get(kind, 0) + 1
    out = {
        "file": str(path),
        "version": checked.version,
        "digest": checked.digest,
        "sources": len(checked.sources),
        "facts": len(checked.facts),
        "supplied": sum(1 for f in checked.facts.values() if checked.sources[f.source].kind == "enterprise_supplied"),
        "aggregates": kinds,
    }
    emit(
        out,
        as_json,
        f"{path}：版本 {checked.version}，{out['sources']} 个数据来源、{out['facts']} 个事实"
        f"（其中企业填报 {out['supplied']} 个），检查通过",
    )
