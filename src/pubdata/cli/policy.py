"""``pubdata policy …``: check a policy pack, run its test cases on both back ends, evaluate facts.

PACK is a shipped pack's id (``qingdao-cbec-2023``) or the path of a pack file being written; for
``evaluate``, also a family of versioned packs (``miit-tiers``) with ``--on DATE`` choosing the version
in force that day."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import typer

from pubdata.authz import SYSTEM
from pubdata.cli.base import EngineOpt, HomeOpt, JsonOpt, app, emit, fail, use_home
from pubdata.errors import Invalid, PubdataError

policy_app = typer.Typer(help="Policy packs (政策通): check, test, evaluate, match", no_args_is_help=True)
reviewer_app = typer.Typer(help="Reviewers of policy applications, by district", no_args_is_help=True)
app.add_typer(policy_app, name="policy")
policy_app.add_typer(reviewer_app, name="reviewer")
SHANGHAI = ZoneInfo("Asia/Shanghai")
DutyOpt = Annotated[str, typer.Option("--duty", help="The pack's reviewer.department: commerce, industry, tech or sme")]


def _problems_text(exc: PubdataError) -> str:
    if isinstance(exc.details, list) and all(isinstance(d, str) for d in exc.details):
        return exc.message.split("：", 1)[0] + "：\n" + "\n".join(f"  - {d}" for d in exc.details)
    return exc.message


@policy_app.command("list")
def policy_list(as_json: JsonOpt = False) -> None:
    """The policy packs shipped with pubdata."""
    from pubdata.policy import service

    packs = service.list_packs(SYSTEM)
    out = [
        {"id": p.id, "version": p.spec.version, "title": p.spec.title, "clauses": [c.id for c in p.clauses]}
        for p in packs
    ]
    lines = [f"{p.id}  v{p.spec.version}  {p.spec.title}（{len(p.clauses)} 个条款）" for p in packs]
    emit(out, as_json, "\n".join(lines))


@policy_app.command("check")
def policy_check(pack: str, as_json: JsonOpt = False) -> None:
    """Validate a pack: YAML shape, every expression's syntax and types, facts, tiers, caps, test
    cases; exit 1 naming every problem."""
    from pubdata.policy import service

    try:
        compiled, warnings = service.check_pack(pack)
    except PubdataError as exc:
        if not as_json:
            typer.echo(f"错误 ({exc.code})：{_problems_text(exc)}", err=True)
            raise typer.Exit(1) from None
        fail(exc, as_json)
    out = {
        "policy": compiled.id,
        "version": compiled.spec.version,
        "valid": True,
        "clauses": len(compiled.clauses),
        "tests": len(compiled.spec.tests),
        "warnings": warnings,
    }
    text = f"政策包 {compiled.id} v{compiled.spec.version} 有效：{out['clauses']} 个条款，{out['tests']} 个测试用例"
    emit(out, as_json, text + "".join(f"\n  注意：{w}" for w in warnings))


@policy_app.command("test")
def policy_test(pack: str, as_json: JsonOpt = False) -> None:
    """Run the pack's test cases on both back ends (Python and SQL); exit 1 if any fails."""
    from pubdata.policy import service
    from pubdata.policy.packs.cases import run_cases

    try:
        compiled, _ = service.check_pack(pack)
        results = run_cases(compiled)
    except PubdataError as exc:
        fail(exc, as_json)
    failed = [r for r in results if not r.passed]
    out = {
        "policy": compiled.id,
        "passed": len(results) - len(failed),
        "failed": len(failed),
        "cases": [{"name": r.name, "passed": r.passed, "failures": r.failures} for r in results],
    }
    lines = [f"{'✓' if r.passed else '✗'} {r.name}" + "".join(f"\n    {f}" for f in r.failures) for r in results]
    lines.append(f"{out['passed']} 个通过，{out['failed']} 个失败（Python 与 SQL 两种求值）")
    emit(out, as_json, "\n".join(lines))
    if failed:
        raise typer.Exit(1)


def _render(result: dict[str, Any]) -> str:
    lines = [f"《{result['title']}》（{result['policy']}）"]
    if result.get("assessed_on"):
        lines.append(f"评价日期 {result['assessed_on']} 适用的版本")
    for c in result["clauses"]:
        state = {True: "符合", False: "不符合", None: "无法判断"}[c["eligible"]]
        if c.get("score_min") is not None:
            exact = c.get("score")
            state += f"，得分 {exact}" if exact is not None else f"，得分 {c['score_min']}～{c['score_max']}"
        lines.append(f"\n[{c['id']}] {c['title']}：{state}")
        lines += [f"  {t}" for t in c["trace"][1:]]
    lines.append(f"\n合计（已知金额）：{result['total']:,} 元")
    return "\n".join(lines)


@policy_app.command("evaluate")
def policy_evaluate(
    pack: str,
    facts: Annotated[Path | None, typer.Option("--facts", help="A JSON file of facts: {name: value}")] = None,
    enterprise: Annotated[
        str | None, typer.Option("--enterprise", help="An enterprise's credit code: use its facts-table row")
    ] = None,
    on: Annotated[
        str | None,
        typer.Option(
            "--on",
            help="Assessment date (YYYY-MM-DD): use the version in force that day; PACK may then be a family "
            "of versioned packs, e.g. miit-tiers (a family alone means today)",
        ),
    ] = None,
    home: HomeOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Evaluate a pack for one enterprise, with the explanation of every clause."""
    from pubdata.policy import service
    from pubdata.policy.packs.pack import shipped_packs

    try:
        if (facts is None) == (enterprise is None):
            raise Invalid("请给出 --facts FILE.json 或 --enterprise 统一社会信用代码（二选一）")
        day = None
        if not Path(pack).suffix and (on is not None or pack not in shipped_packs()):
            try:
                day = date.fromisoformat(on) if on is not None else datetime.now(SHANGHAI).date()
            except ValueError:
                raise Invalid(f"--on 应为日期 YYYY-MM-DD：{on}") from None
            pack = service.pack_in_force(SYSTEM, pack, day).id
        elif on is not None:
            raise Invalid("--on 只用于已发布的政策或政策系列，不用于政策包文件")
        if facts is not None:
            try:
                data = json.loads(facts.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise Invalid(f"无法读取事实文件 {facts}：{exc}") from None
            if isinstance(data, dict) and isinstance(data.get("facts"), dict):
                data = data["facts"]
            if not isinstance(data, dict):
                raise Invalid("事实文件应为 JSON 对象：{事实名: 取值}")
            if Path(pack).suffix:
                compiled, _ = service.check_pack(pack)
                from pubdata.policy.packs.engine import check_facts, evaluate_pack

                result = evaluate_pack(compiled, check_facts(compiled, data))
            else:
                result = service.evaluate_facts(SYSTEM, pack, data)
        else:
            use_home(home)
            from pubdata.db import session_scope
            from pubdata.settings import get_settings

            with session_scope() as session:
                result = service.evaluate_enterprise(
                    session, SYSTEM, pack, enterprise or "", home=get_settings().resolved_home
                )
    except PubdataError as exc:
        fail(exc, as_json)
    if day is not None:
        result["assessed_on"] = day.isoformat()  # the date whose rules were applied
    emit(result, as_json, _render(result))


def _match_text(run: dict[str, Any]) -> str:
    what = "沿用已有结果" if run["reused"] else f"用时 {run['seconds']} 秒"
    return (
        f"{run['pack_id']} v{run['pack_version']}（第 {run['id']} 次匹配，企业档案第 {run['facts_version']} 版）："
        f"{run['enterprises']:,} 个企业，符合 {run['eligible']:,} 项，待补充信息 {run['undecided']:,} 项，"
        f"新推送 {run['newly_eligible']:,} 条，已知金额合计 {run['total_amount']:,} 元（{what}）"
    )


@policy_app.command("match")
def policy_match(
    pack: Annotated[str | None, typer.Argument(help="A shipped pack's id (default: every pack in force today)")] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Match again even if neither the pack nor the facts changed")
    ] = False,
    engine: EngineOpt = None,
    home: HomeOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Match packs against every enterprise of the facts table (one vectorised pass per pack), store
    the results and send proactive notices to newly eligible enterprises."""
    use_home(home)
    from pubdata.db import migrate as run_migrations
    from pubdata.db import session_scope
    from pubdata.policy.matching import match
    from pubdata.settings import get_settings

    run_migrations()

    def progress(message: str) -> None:
        typer.echo(f"… {message}", err=True)

    try:
        with session_scope() as session:
            home_dir = get_settings().resolved_home
            if pack is None:
                runs = match.match_all(session, SYSTEM, home=home_dir, force=force, progress=progress, engine=engine)
            else:
                runs = [
                    match.match_pack(
                        session, SYSTEM, pack, home=home_dir, force=force, progress=progress, engine=engine
                    )
                ]
            out = [r.model_dump(mode="json") for r in runs]
    except PubdataError as exc:
        fail(exc, as_json)
    text = "\n".join(_match_text(r) for r in out) if out else "今天没有生效的政策"
    emit(out if pack is None else out[0], as_json, text)


@reviewer_app.command("set")
def reviewer_set(
    district: str, organisation: str, duty: DutyOpt = "commerce", home: HomeOpt = None, as_json: JsonOpt = False
) -> None:
    """Route DISTRICT's applications to the department ORGANISATION (its code); applications made
    from now on go there."""
    use_home(home)
    from pubdata.db import migrate as run_migrations
    from pubdata.db import session_scope
    from pubdata.policy.applications import reviewers

    run_migrations()
    try:
        with session_scope() as session:
            row = reviewers.set_reviewer(session, SYSTEM, district, organisation, duty=duty)
    except PubdataError as exc:
        fail(exc, as_json)
    text = f"{row.district}的{row.duty_label}：{row.organisation_name}（{row.organisation_code}）"
    emit(row.model_dump(mode="json"), as_json, text)


@reviewer_app.command("list")
def reviewer_list(home: HomeOpt = None, as_json: JsonOpt = False) -> None:
    """Every district's reviewer."""
    use_home(home)
    from pubdata.db import migrate as run_migrations
    from pubdata.db import session_scope
    from pubdata.policy.applications import reviewers

    run_migrations()
    with session_scope() as session:
        rows = reviewers.list_reviewers(session, SYSTEM)
    out = [r.model_dump(mode="json") for r in rows]
    lines = [f"{r.district}  {r.duty_label}  {r.organisation_name}（{r.organisation_code}）" for r in rows]
    emit(out, as_json, "\n".join(lines) or "尚未配置任何审核部门")
