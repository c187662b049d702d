"""``pubdata credit …``: credit scoring (以数据变信用) — score every enterprise, show one enterprise's
score and reasons, check a model file, list card versions, fit a scorecard on loan outcomes."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from pubdata.authz import SYSTEM
from pubdata.cli.base import EngineOpt, HomeOpt, JsonOpt, app, emit, fail, use_home
from pubdata.errors import PubdataError

credit_app = typer.Typer(help="Credit scoring (以数据变信用): scorecards, score runs, scores", no_args_is_help=True)
app.add_typer(credit_app, name="credit")
ModelOpt = Annotated[str, typer.Option("--model", help="Scorecard: expert (shipped), a model file, or a fitted id")]


def _run_text(run: dict[str, Any]) -> str:
    what = "沿用" if run["reused"] else "完成"
    grades = "，".join(f"{g} {n:,}" for g, n in run["grades"].items() if n)
    psi = f"；PSI {run['psi']}" if run.get("psi") is not None else ""
    return (
        f"评分卡 {run['model_id']} v{run['model_version']} × 企业档案第 {run['facts_version']} 版："
        f"{what}第 {run['id']} 次评分，{run['enterprises']:,} 个企业，平均 {run['mean_score']} 分"
        f"（{run['seconds']} 秒）\n  等级：{grades or '—'}{psi}"
    )


@credit_app.command("score")
def credit_score(
    model: ModelOpt = "expert",
    force: Annotated[bool, typer.Option("--force", help="Score again even if neither card nor facts changed")] = False,
    engine: EngineOpt = None,
    home: HomeOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Score every enterprise of the current facts table with a scorecard (one pass), store the
    scores per (facts version, card version)."""
    use_home(home)
    from pubdata.db import migrate as run_migrations
    from pubdata.db import session_scope
    from pubdata.finance import service
    from pubdata.settings import get_settings

    run_migrations()

    def progress(message: str) -> None:
        typer.echo(f"… {message}", err=True)

    try:
        with session_scope() as session:
            run = service.run_scoring(
                session,
                SYSTEM,
                home=get_settings().resolved_home,
                model=model,
                force=force,
                progress=progress,
                engine=engine,
            )
            out = run.model_dump(mode="json")
    except PubdataError as exc:
        fail(exc, as_json)
    emit(out, as_json, _run_text(out))


def _score_text(out: dict[str, Any]) -> str:
    m = out["model"]
    lines = [
        f"{out['name'] or ''}（{out['uscc']}）信用评分 {out['score']} 分，等级 {out['grade']}",
        f"  评分卡 {m['title']} v{m['version']}；企业档案第 {out['facts_version']} 版（{out['facts_year']} 年度）；"
        f"分值范围 {out['scale']['min']}—{out['scale']['max']}，基础分 {out['scale']['base']}",
    ]
    if out["reasons_up"]:
        lines.append("  加分因素：" + "；".join(r["text"] for r in out["reasons_up"]))
    if out["reasons_down"]:
        lines.append("  减分因素：" + "；".join(r["text"] for r in out["reasons_down"]))
    for d in out["dimensions"]:
        lines.append(f"  [{d['title']}] {d['points']:+d} 分")
        lines += [f"    {f['text']}：{f['points']:+d} 分" for f in d["features"]]
    return "\n".join(lines)


@credit_app.command("show")
def credit_show(
    uscc: Annotated[str, typer.Argument(help="The enterprise's unified social credit code")],
    model: ModelOpt = "expert",
    home: HomeOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """One enterprise's score, grade, points and reasons from the latest run (exit 2 when not found)."""
    use_home(home)
    from pubdata.db import migrate as run_migrations
    from pubdata.db import session_scope
    from pubdata.finance import service
    from pubdata.settings import get_settings

    run_migrations()
    try:
        with session_scope() as session:
            out = service.score_enterprise(
                session, SYSTEM, uscc, home=get_settings().resolved_home, model=model
            ).model_dump(mode="json")
    except PubdataError as exc:
        fail(exc, as_json)
    emit(out, as_json, _score_text(out))


@credit_app.command("check")
def credit_check(
    model: Annotated[str, typer.Argument(help="A model file's path, or a shipped card id (expert)")],
    as_json: JsonOpt = False,
) -> None:
    """Validate a scorecard model file against the fact catalogue; exit 1 naming every problem by its path."""
    from pubdata.finance.scorecards.card import load_card

    try:
        card = load_card(model)
    except PubdataError as exc:
        if not as_json and isinstance(exc.details, list):
            typer.echo(f"错误 ({exc.code})：{exc.message.split('：', 1)[0]}：", err=True)
            for d in exc.details:
                typer.echo(f"  - {d['field']}：{d['message']}", err=True)
            raise typer.Exit(1) from None
        fail(exc, as_json)
    out = {
        "model": card.id, "version": card.version, "kind": card.kind, "valid": True, "digest": card.digest,
        "dimensions": len(card.dimensions), "features": [f.fact for f in card.features],
    }  # fmt: skip
    emit(
        out,
        as_json,
        f"评分卡 {card.id} v{card.version} 有效：{len(card.dimensions)} 个维度，{len(card.features)} 个特征",
    )


@credit_app.command("models")
def credit_models(home: HomeOpt = None, as_json: JsonOpt = False) -> None:
    """Every scorecard version (expert and fitted), newest first, with fitted metrics."""
    use_home(home)
    from pubdata.db import migrate as run_migrations
    from pubdata.db import session_scope
    from pubdata.finance import service

    run_migrations()
    with session_scope() as session:
        out = [m.model_dump(mode="json") for m in service.list_models(session, SYSTEM)]
    lines = []
    for m in out:
        metrics = m.get("metrics") or {}
        extra = f"  AUC {metrics['auc']}，KS {metrics['ks']}" if "auc" in metrics else ""
        lines.append(f"#{m['id']} {m['model_id']} v{m['version']}（{m['kind']}）{m['title']}{extra}")
    emit(out, as_json, "\n".join(lines) or "还没有评分卡版本")


def _outcomes(path: Path) -> list[dict[str, Any]]:
    """Outcomes from CSV (uscc, defaulted or status, observed, as_of) or JSON (a list of objects)."""
    import csv
    import json

    from pubdata.errors import Invalid

    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise Invalid(f"无法读取结果文件 {path}：{exc}") from None
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise Invalid(f"结果文件不是有效的 JSON：{exc}") from None
        if not isinstance(data, list):
            raise Invalid("结果文件应为 JSON 数组：[{uscc, defaulted, observed, as_of}]")
        return data
    return list(csv.DictReader(text.splitlines()))


@credit_app.command("fit")
def credit_fit(
    outcomes: Annotated[
        Path | None,
        typer.Argument(help="CSV or JSON: uscc, defaulted (true/false, 1/0) or status, observed, as_of"),
    ] = None,
    from_loans: Annotated[
        bool, typer.Option("--from-loans", help="Add the 银企直通车's closed loans (as of their disbursement)")
    ] = False,
    model_id: Annotated[str, typer.Option("--id", help="The fitted model's id (versions count up)")] = "fitted",
    score: Annotated[bool, typer.Option("--score/--no-score", help="Score every enterprise with it")] = True,
    home: HomeOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Fit a scorecard (optimal binning + logistic regression) on loan outcomes; report AUC, Gini, KS
    and IV per feature on a hold-out; keep it as a new model version beside the expert card."""
    use_home(home)
    from pubdata.db import migrate as run_migrations
    from pubdata.db import session_scope
    from pubdata.finance.scorecards import fit
    from pubdata.settings import get_settings

    run_migrations()
    try:
        if outcomes is None and not from_loans:
            from pubdata.errors import Invalid

            raise Invalid("请给出贷款结果文件，或用 --from-loans 采用银企直通车已结清的贷款")
        rows = _outcomes(outcomes) if outcomes is not None else []
        with session_scope() as session:
            if from_loans:
                rows += fit.loan_rows(session, SYSTEM)
            result = fit.fit_scorecard(
                session, SYSTEM, rows, home=get_settings().resolved_home, model_id=model_id, score=score
            )
            out = result.model_dump(mode="json")
    except PubdataError as exc:
        fail(exc, as_json)
    m = out["model"]
    metrics = m["metrics"]
    lines = [
        f"已拟合评分卡 {m['model_id']} v{m['version']}：留出样本 AUC {metrics['auc']}，"
        f"Gini {metrics['gini']}，KS {metrics['ks']}",
        "  IV：" + "，".join(f"{k} {v}" for k, v in metrics["iv"].items()),
    ]
    if out.get("run"):
        lines.append("  " + _run_text(out["run"]).replace("\n", "\n  "))
    emit(out, as_json, "\n".join(lines))


@credit_app.command("demo-outcomes")
def credit_demo_outcomes(
    out_file: Annotated[Path, typer.Argument(help="Where to write the outcomes (CSV)")],
    sample: Annotated[int, typer.Option("--sample", help="How many enterprises borrowed")] = 20000,
    seed: Annotated[int, typer.Option("--seed")] = 7,
    home: HomeOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Synthetic loan outcomes for the demo city, drawn from the facts with a known logistic signal
    (docs/credit.md), so that a fitted scorecard can be checked."""
    use_home(home)
    from pubdata.db import migrate as run_migrations
    from pubdata.db import session_scope
    from pubdata.finance import demo_outcomes
    from pubdata.settings import get_settings

    run_migrations()
    try:
        with session_scope() as session:
            rows = demo_outcomes.draw_outcomes(
                session, SYSTEM, home=get_settings().resolved_home, sample=sample, seed=seed
            )
    except PubdataError as exc:
        fail(exc, as_json)
    demo_outcomes.write_csv(rows, out_file)
    bad = sum(1 for r in rows if r["defaulted"])
    out = {"file": str(out_file), "outcomes": len(rows), "defaulted": bad}
    emit(out, as_json, f"已写出 {len(rows):,} 条贷款结果（违约 {bad:,} 条）：{out_file}")


@credit_app.command("rebuild")
def credit_rebuild(
    year: Annotated[int | None, typer.Option("--year", help="Facts year (default: as pubdata facts build)")] = None,
    force: Annotated[bool, typer.Option("--force", help="Rebuild each step even if its inputs did not change")] = False,
    engine: EngineOpt = None,
    home: HomeOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """One job for every enterprise: the facts (一企一档), the tiers under both rule versions, the expert
    credit scores — with progress, each step skipped when nothing it reads changed."""
    use_home(home)
    from pubdata.db import migrate as run_migrations
    from pubdata.db import session_scope
    from pubdata.finance import rebuild
    from pubdata.settings import get_settings

    run_migrations()
    try:
        with session_scope() as session:
            done = rebuild.rebuild(
                session, SYSTEM, home=get_settings().resolved_home, year=year, force=force, engine=engine,
                progress=lambda message: typer.echo(f"… {message}", err=True),
            )  # fmt: skip
    except PubdataError as exc:
        fail(exc, as_json)
    out = {
        "facts_version": done.facts_version, "facts_built": done.facts_built, "enterprises": done.enterprises,
        "tiers": [{"pack": t.pack_id, "eligible": t.eligible, "undecided": t.undecided} for t in done.tiers],
        "score_run": done.score_run, "seconds": done.seconds,
    }  # fmt: skip
    emit(out, as_json, f"企业档案第 {done.facts_version} 版、梯度培育与信用评分已就绪（{done.seconds['total']} 秒）")
