"""``pubdata migrate``, ``serve``, ``worker`` and ``demo``: the platform's home, its server, its
background work and the demo city."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from pubdata.authz import SYSTEM
from pubdata.cli.base import HomeOpt, app, use_home
from pubdata.errors import PubdataError


@app.command()
def migrate(home: HomeOpt = None) -> None:
    """Create or upgrade the metadata database schema."""
    use_home(home, need_database=False)
    from pubdata.db import migrate as run

    run()
    typer.echo("数据库已是最新版本")


@app.command()
def serve(
    home: HomeOpt = None,
    host: Annotated[str | None, typer.Option(help="Address to listen on")] = None,
    port: Annotated[int | None, typer.Option(help="Port")] = None,
    no_workers: Annotated[
        bool, typer.Option("--no-workers", help="Leave the background work to `pubdata worker` processes")
    ] = False,
) -> None:
    """Serve the portal and API of an existing home."""
    use_home(home)
    import uvicorn

    from pubdata.app import create_app
    from pubdata.db import migrate as run
    from pubdata.server import Utf8TargetH11Protocol
    from pubdata.settings import get_settings

    # --host/--port override PUBDATA_HOST/PORT, and links follow them unless PUBDATA_BASE_URL is set
    overrides: dict[str, object] = {k: v for k, v in (("host", host), ("port", port)) if v is not None}
    if no_workers:
        overrides["run_workers"] = False
    settings = get_settings().model_copy(update=overrides)
    run()
    typer.echo(f"门户与接口地址：{settings.resolved_base_url}/")
    uvicorn.run(
        create_app(settings), host=settings.host, port=settings.port, http=Utf8TargetH11Protocol, log_level="info"
    )


@app.command()
def worker(home: HomeOpt = None) -> None:
    """Run the background work without serving: queued jobs (retried with backoff when a worker
    dies), and the periodic facts refresh, policy matching and credit scoring (each done by one
    process of the deployment at a time). Run any number beside `pubdata serve --no-workers`;
    stops on SIGTERM or Ctrl-C, finishing running jobs for up to 10 seconds."""
    use_home(home)
    import signal
    import threading

    from pubdata import workers as background
    from pubdata.db import get_engine
    from pubdata.settings import get_settings

    settings = get_settings()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with background.running(get_engine(), settings) as work:
        typer.echo(f"后台任务进程已启动：{work.job_runner.worker}（同时运行 {settings.job_workers} 个任务）")
        try:
            while not stop.wait(1.0):
                pass
        except KeyboardInterrupt:
            pass
    typer.echo("后台任务进程已停止")


def progress_lines(label: str, *, every_percent: float = 5.0, every_seconds: float = 30.0) -> Any:
    """A fill's progress as plain lines, for a log rather than a terminal: one each ``every_percent``
    of the rows or ``every_seconds``, whichever comes first, and one at the end."""
    last = {"percent": -every_percent, "at": time.monotonic()}

    def report(p: Any) -> None:
        percent = 100.0 * p.rows_done / p.rows_total if p.rows_total else 0.0
        now = time.monotonic()
        done = p.entries_done >= p.entries_total and p.stage == "完成"
        if done or percent >= last["percent"] + every_percent or now - last["at"] >= every_seconds:
            last.update(percent=percent, at=now)
            typer.echo(
                f"{label}：{percent:.0f}%，{p.rows_done:,}/{p.rows_total:,} 行，目录 {p.entries_done}/{p.entries_total}"
            )

    return report


def _fill_in_background(home: Path, seed: int, records: int) -> None:
    """The demo's remaining entries, while the server runs: a line every tenth of the way."""
    from pubdata.db import session_scope
    from pubdata.demo import records as demo_records

    step = {"next": 1}

    def report(p: demo_records.FillProgress) -> None:
        if p.stage == "完成" and p.entries_done * 10 >= step["next"] * p.entries_total:
            step["next"] = p.entries_done * 10 // p.entries_total + 1
            typer.echo(f"后台生成数据记录：目录 {p.entries_done}/{p.entries_total}，约 {p.rows_done:,} 行")

    try:
        filled = demo_records.fill(session_scope, home=home, seed=seed, records=records, progress=report)
    except Exception as exc:  # noqa: BLE001 - the server keeps running; say what stopped the fill
        typer.echo(f"后台生成数据记录中止：{exc}（再次运行 pubdata demo 会从中断处继续）", err=True)
        return
    typer.echo(f"全部 {filled['entries']} 条目录的数据记录已就绪（新载入 {filled['loaded']} 个）")


def _demo_facts(home: Path) -> None:
    """The enterprise facts of the demo city's records (a new version only when a source changed)."""
    from pubdata.db import session_scope
    from pubdata.enterprise import service as enterprise

    try:
        with session_scope() as session:
            facts = enterprise.build_facts(session, SYSTEM, home=home, via="demo").version
    except PubdataError as exc:
        typer.echo(f"企业档案未生成：{exc.message}", err=True)
        return
    typer.echo(f"企业档案就绪：第 {facts.number} 版，{facts.year} 年度，{facts.enterprises:,} 个企业")


def _demo_match(home: Path) -> None:
    """Match the packs in force against the demo facts, so demo enterprises have their notices
    (nothing new when neither the packs nor the facts changed)."""
    from pubdata.db import session_scope
    from pubdata.policy.matching import match

    try:
        with session_scope() as session:
            runs = match.match_all(session, SYSTEM, home=home)
    except PubdataError as exc:
        typer.echo(f"政策匹配未运行：{exc.message}", err=True)
        return
    for run in runs:
        typer.echo(
            f"政策匹配就绪：{run.pack_id}，符合 {run.eligible:,} 项，新推送 {run.newly_eligible:,} 条"
            + ("（沿用已有结果）" if run.reused else "")
        )


def _demo_scores(home: Path) -> None:
    """Tiers under both rule versions and credit scores of every demo enterprise with the expert card
    (scores reused when neither the facts nor the card changed)."""
    from pubdata.db import session_scope
    from pubdata.finance import service as finance
    from pubdata.policy.matching import tiers

    try:
        with session_scope() as session:
            passes = tiers.build_tiers(session, SYSTEM, home=home)
            run = finance.run_scoring(session, SYSTEM, home=home, via="demo")
    except PubdataError as exc:
        typer.echo(f"梯度培育与信用评分未运行：{exc.message}", err=True)
        return
    typer.echo("梯度培育就绪：" + "；".join(f"{t.pack_id} 待补充信息 {t.undecided:,} 项" for t in passes))
    typer.echo(f"信用评分就绪：{run.enterprises:,} 个企业（评分卡 {run.model_id} 第 {run.model_version} 版）")


@app.command()
def demo(
    home: HomeOpt = None,
    port: Annotated[int | None, typer.Option(help="Port to serve on")] = None,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed builds the same city")] = 20230306,
    records: Annotated[
        int,
        typer.Option(
            "--records",
            min=0,
            max=120_000_000,
            help="Synthetic records to generate across all 5,099 entries (0: catalogue only)",
        ),
    ] = 1_000_000,
    serve_after: Annotated[bool, typer.Option("--serve/--no-serve", help="Serve after building")] = True,
) -> None:
    """Build the synthetic Qingdao demo city (reusing what is there), fill its entries with
    records, and serve it."""
    use_home(home, need_database=False)
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from pubdata.db import migrate as run
    from pubdata.db import session_scope
    from pubdata.demo import city
    from pubdata.demo import governance as demo_governance
    from pubdata.demo import records as demo_records
    from pubdata.demo.catalogue import ANCHOR_CODES
    from pubdata.settings import get_settings

    run()
    with session_scope() as session:
        summary = city.build(session, seed=seed, progress=lambda msg: typer.echo(msg))
    typer.echo(
        f"示范城市就绪：{summary['organisations']} 个机构，{summary['users']} 个用户，{summary['entries']} 条数据目录"
    )
    if records:
        # With the server, the anchor entries (what later features read) are filled first and the
        # others in the background while it serves, so the portal is up in about a minute; reruns
        # skip what is already current.
        home_dir = get_settings().resolved_home
        first = set(ANCHOR_CODES.values()) if serve_after else None
        columns = (
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[entries]}"),
            TimeElapsedColumn(),
        )
        label = f"生成数据记录（约 {records:,} 条）"
        if Console().is_terminal:
            with Progress(*columns, transient=False) as bar:
                task = bar.add_task(label, total=None, entries="")

                def report(p: demo_records.FillProgress) -> None:
                    bar.update(
                        task,
                        completed=p.rows_done,
                        total=p.rows_total or None,
                        entries=f"目录 {p.entries_done}/{p.entries_total} {p.current} {p.stage}",
                    )

                filled = demo_records.fill(
                    session_scope, home=home_dir, seed=seed, records=records, progress=report, only=first
                )
        else:  # a log, not a terminal: a bar would show nothing until the end
            filled = demo_records.fill(
                session_scope, home=home_dir, seed=seed, records=records, progress=progress_lines(label), only=first
            )
        typer.echo(
            f"数据记录就绪：{filled['entries']} 条目录，新载入 {filled['loaded']} 个、复用 {filled['skipped']} 个，"
            f"入库 {filled['rows_loaded']:,} 行，拒绝 {filled['rows_rejected']:,} 行（{filled['seconds']} 秒）"
        )
        with session_scope() as session:
            governed = demo_governance.apply(session, home=home_dir)
        typer.echo(
            f"授权运营示例就绪：{governed['requests']} 个数据申请，{governed['members']} 个专区成员，"
            f"{governed['products']} 个贷款产品，{governed['market_products']} 个上架数据产品，"
            f"{len(governed['registrations'])} 个已登记数据资产，{governed['settled_months']} 个已结算月份"
        )
        _demo_facts(home_dir)
        _demo_match(home_dir)
        _demo_scores(home_dir)
        if first is not None:
            threading.Thread(
                target=_fill_in_background, args=(home_dir, seed, records), name="demo-records", daemon=True
            ).start()
    typer.echo("演示账号（密码见 docs/demo.md）：" + "、".join(summary["demo_users"]))
    if serve_after:
        serve(home=None, host=None, port=port)
