"""The ``pubdata`` command line. It acts as the machine's administrator (the ``system`` actor):
whoever can run it can already read the database files."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Annotated, Any

import typer

from pubdata.authz import SYSTEM
from pubdata.errors import PubdataError

app = typer.Typer(help="pubdata — 公共数据运营平台", no_args_is_help=True, add_completion=False)
user_app = typer.Typer(help="Users", no_args_is_help=True)
token_app = typer.Typer(help="API tokens", no_args_is_help=True)
org_app = typer.Typer(help="Organisations", no_args_is_help=True)
resource_app = typer.Typer(help="Resources (tables) of catalogue entries", no_args_is_help=True)
audit_app = typer.Typer(help="The tamper-evident audit trail", no_args_is_help=True)
client_app = typer.Typer(help="OAuth2 clients of consumer systems", no_args_is_help=True)
facts_app = typer.Typer(help="Enterprise facts (一企一档): build, show, the fact catalogue", no_args_is_help=True)
app.add_typer(user_app, name="user")
app.add_typer(token_app, name="token")
app.add_typer(org_app, name="org")
app.add_typer(resource_app, name="resource")
app.add_typer(audit_app, name="audit")
app.add_typer(client_app, name="client")
app.add_typer(facts_app, name="facts")

HomeOpt = Annotated[Path | None, typer.Option("--home", help="Data directory (PUBDATA_HOME)")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for scripts")]


def _use_home(home: Path | None, *, need_database: bool = True) -> None:
    """Point this process at ``home`` (``--home``, else PUBDATA_HOME, else ./pubdata-home). Only
    ``migrate`` and ``demo`` may start a new home: any other command run in the wrong directory
    would otherwise work on a new, empty database there without a word."""
    if home is not None:
        os.environ["PUBDATA_HOME"] = str(home)
    from pubdata.db import get_engine
    from pubdata.settings import get_settings

    get_settings.cache_clear()
    get_engine.cache_clear()
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


def _fail(exc: PubdataError, as_json: bool) -> None:
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


def _emit(data: Any, as_json: bool, text: str) -> None:
    typer.echo(json.dumps(data, ensure_ascii=False, default=str) if as_json else text)


@app.command()
def migrate(home: HomeOpt = None) -> None:
    """Create or upgrade the metadata database schema."""
    _use_home(home, need_database=False)
    from pubdata.db import migrate as run

    run()
    typer.echo("数据库已是最新版本")


@app.command()
def serve(
    home: HomeOpt = None,
    host: Annotated[str | None, typer.Option(help="Address to listen on")] = None,
    port: Annotated[int | None, typer.Option(help="Port")] = None,
) -> None:
    """Serve the portal and API of an existing home."""
    _use_home(home)
    import uvicorn

    from pubdata.app import create_app
    from pubdata.db import migrate as run
    from pubdata.server import Utf8TargetH11Protocol
    from pubdata.settings import get_settings

    # --host/--port override PUBDATA_HOST/PORT, and links follow them unless PUBDATA_BASE_URL is set
    overrides = {k: v for k, v in (("host", host), ("port", port)) if v is not None}
    settings = get_settings().model_copy(update=overrides)
    run()
    typer.echo(f"门户与接口地址：{settings.resolved_base_url}/")
    uvicorn.run(
        create_app(settings), host=settings.host, port=settings.port, http=Utf8TargetH11Protocol, log_level="info"
    )


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
    from pubdata.policy import match

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
    _use_home(home, need_database=False)
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
        with Progress(*columns, transient=False) as bar:
            task = bar.add_task(f"生成数据记录（约 {records:,} 条）", total=None, entries="")

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
        typer.echo(
            f"数据记录就绪：{filled['entries']} 条目录，新载入 {filled['loaded']} 个、复用 {filled['skipped']} 个，"
            f"入库 {filled['rows_loaded']:,} 行，拒绝 {filled['rows_rejected']:,} 行（{filled['seconds']} 秒）"
        )
        with session_scope() as session:
            governed = demo_governance.apply(session)
        typer.echo(f"授权运营示例就绪：{governed['requests']} 个数据申请，{governed['members']} 个专区成员")
        _demo_facts(home_dir)
        _demo_match(home_dir)
        if first is not None:
            threading.Thread(
                target=_fill_in_background, args=(home_dir, seed, records), name="demo-records", daemon=True
            ).start()
    typer.echo("演示账号（密码见 docs/demo.md）：" + "、".join(summary["demo_users"]))
    if serve_after:
        serve(home=None, host=None, port=port)


@org_app.command("create")
def org_create(
    code: str,
    name: str,
    kind: Annotated[
        str,
        typer.Option(help="department, operator, enterprise, bank, data_merchant, appraisal_agency, regulator"),
    ],
    uscc: Annotated[str | None, typer.Option(help="Unified social credit code (enterprises)")] = None,
    district: Annotated[str | None, typer.Option()] = None,
    home: HomeOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Register an organisation."""
    _use_home(home)
    from pydantic import ValidationError

    from pubdata.db import migrate as run
    from pubdata.db import session_scope
    from pubdata.identity import service
    from pubdata.identity.schemas import OrganisationCreate, OrganisationRead

    run()
    try:
        data = OrganisationCreate(code=code, name=name, kind=kind, uscc=uscc, district=district)  # type: ignore[arg-type]
    except ValidationError as exc:
        _fail(_invalid(exc), as_json)
    try:
        with session_scope() as session:
            org = service.create_organisation(session, SYSTEM, data)
            out = OrganisationRead.model_validate(org).model_dump(mode="json")
    except PubdataError as exc:
        _fail(exc, as_json)
    _emit(out, as_json, f"已创建机构 {out['code']}（{out['name']}）")


def _invalid(exc: Any) -> PubdataError:
    from pubdata.api.errors import pydantic_message
    from pubdata.errors import Invalid

    first = exc.errors()[0]
    field = ".".join(str(p) for p in first["loc"])
    return Invalid(f"{field}：{pydantic_message(first)}", field=field)


@user_app.command("create")
def user_create(
    username: str,
    org: Annotated[str | None, typer.Option("--org", help="Organisation code")] = None,
    role: Annotated[
        list[str] | None,
        typer.Option("--role", help="Role (repeatable); defaults to the organisation kind's"),
    ] = None,
    display_name: Annotated[str | None, typer.Option("--name", help="Display name")] = None,
    password: Annotated[
        str | None, typer.Option(help="Password; prompted when omitted", envvar="PUBDATA_NEW_PASSWORD")
    ] = None,
    home: HomeOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Create a user (password hashed with argon2)."""
    _use_home(home)
    from pydantic import ValidationError

    from pubdata.db import migrate as run
    from pubdata.db import session_scope
    from pubdata.identity import service
    from pubdata.identity.schemas import UserCreate, UserRead

    run()
    if password is None:
        password = typer.prompt("密码", hide_input=True, confirmation_prompt=True)
    try:
        data = UserCreate(
            username=username,
            display_name=display_name or username,
            password=password,
            organisation_code=org,
            roles=role or [],
        )
    except ValidationError as exc:
        _fail(_invalid(exc), as_json)
    try:
        with session_scope() as session:
            user = service.create_user(session, SYSTEM, data)
            out = UserRead.model_validate(user).model_dump(mode="json")
    except PubdataError as exc:
        _fail(exc, as_json)
    _emit(out, as_json, f"已创建用户 {out['username']}，角色：{', '.join(out['roles']) or '无'}")


@token_app.command("create")
def token_create(
    username: str,
    name: Annotated[str, typer.Option(help="What the token is for")] = "cli",
    scope: Annotated[
        list[str] | None, typer.Option("--scope", help="read, catalog:write, tokens, access, policy, operate, admin")
    ] = None,
    days: Annotated[
        int | None, typer.Option(help="Days until it expires (PUBDATA_TOKEN_DAYS; at most PUBDATA_TOKEN_MAX_DAYS)")
    ] = None,
    home: HomeOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Issue an API token for a user. The token is printed once; only its hash is stored."""
    _use_home(home)
    from pubdata.db import migrate as run
    from pubdata.db import session_scope
    from pubdata.identity import service

    run()
    try:
        with session_scope() as session:
            token, secret = service.create_token(
                session, SYSTEM, name=name, scopes=scope or ["read"], days=days, username=username
            )
            out = {
                "id": token.id,
                "token": secret,
                "scopes": token.scopes.split(),
                "expires_at": token.expires_at.isoformat(),
            }
    except PubdataError as exc:
        _fail(exc, as_json)
    _emit(out, as_json, f"{secret}\n（令牌只显示这一次；有效期至 {out['expires_at']}，范围：{token.scopes}）")


@client_app.command("create")
def client_create(
    username: str,
    name: Annotated[str, typer.Option(help="The consumer system's name")],
    scope: Annotated[list[str] | None, typer.Option("--scope", help="read, access, … (repeatable)")] = None,
    rate: Annotated[int | None, typer.Option(help="Calls per minute of its tokens")] = None,
    minutes: Annotated[int, typer.Option(help="Lifetime of the access tokens it gets")] = 60,
    home: HomeOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Register an OAuth2 client acting as USERNAME; the secret is printed once."""
    _use_home(home)
    from pubdata.db import migrate as run
    from pubdata.db import session_scope
    from pubdata.identity import machines

    run()
    try:
        with session_scope() as session:
            client, secret = machines.create_client(
                session, SYSTEM, name=name, scopes=scope or ["read"], rate_per_minute=rate, token_minutes=minutes,
                username=username,
            )  # fmt: skip
            out = {"client_id": client.client_id, "client_secret": secret, "scopes": client.scopes.split()}
    except PubdataError as exc:
        _fail(exc, as_json)
    _emit(out, as_json, f"client_id: {out['client_id']}\nclient_secret: {secret}\n（密钥只显示这一次）")


@client_app.command("revoke")
def client_revoke(client_id: str, home: HomeOpt = None, as_json: JsonOpt = False) -> None:
    """Revoke an OAuth2 client and every access token it was issued."""
    _use_home(home)
    from pubdata.db import session_scope
    from pubdata.identity import machines

    try:
        with session_scope() as session:
            client = machines.revoke_client(session, SYSTEM, client_id)
            out = {"client_id": client.client_id, "revoked": True}
    except PubdataError as exc:
        _fail(exc, as_json)
    _emit(out, as_json, f"已吊销客户端 {client_id} 及其访问令牌")


@token_app.command("revoke")
def token_revoke(token_id: int, home: HomeOpt = None, as_json: JsonOpt = False) -> None:
    """Revoke an API token at once."""
    _use_home(home)
    from pubdata.db import session_scope
    from pubdata.identity import service

    try:
        with session_scope() as session:
            service.revoke_token(session, SYSTEM, token_id)
    except PubdataError as exc:
        _fail(exc, as_json)
    _emit({"id": token_id, "revoked": True}, as_json, f"令牌 {token_id} 已吊销")


@resource_app.command("create")
def resource_create(
    entry: Annotated[str, typer.Argument(help="The entry's code or name")],
    name: Annotated[str, typer.Argument(help="The resource's name")],
    schema: Annotated[Path | None, typer.Option("--schema", help="Frictionless Table Schema (JSON)")] = None,
    description: Annotated[str, typer.Option(help="What the table holds")] = "",
    home: HomeOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Add a table to a catalogue entry; prints the new resource's id. Without --schema the schema is
    derived from the entry's declared fields."""
    _use_home(home)
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
        _fail(exc, as_json)
    _emit(out, as_json, out["resource_id"])


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
    _use_home(home)
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

    from pubdata.db import get_engine, session_scope
    from pubdata.db import migrate as run
    from pubdata.settings import get_settings
    from pubdata.store import job_runner, jobs

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
        _fail(exc, as_json)

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
        _fail(PubdataError(error["message"], code=error["code"], details=error.get("details")), as_json)
        return
    _emit(
        out,
        as_json,
        f"版本 {out['version']}（{'已发布' if out['state'] == 'published' else '已拒绝'}）："
        f"载入 {out['rows_loaded']} 行，拒绝 {out['rows_rejected']} 行，"
        f"质量得分 {'无法评分' if out['quality']['score'] is None else out['quality']['score']}"
        + (f"\n拒绝明细：{out['rejects_file']}" if out["rejects_file"] else ""),
    )
    if out["state"] != "published":
        raise typer.Exit(code=3)


def main() -> None:  # pragma: no cover
    app(prog_name="pubdata")


if __name__ == "__main__":  # pragma: no cover
    main()


@audit_app.command("verify")
def audit_verify(
    against: Annotated[
        list[Path] | None,
        typer.Option(
            "--against",
            exists=True,
            dir_okay=False,
            help="Signed checkpoint file (from `audit anchor --out`) the chain must extend; repeatable",
        ),
    ] = None,
    public_key: Annotated[
        str | None,
        typer.Option(
            "--public-key",
            help="Verify checkpoints with this public key (PEM file, or base64) instead of the local key",
        ),
    ] = None,
    trail: Annotated[
        Path | None,
        typer.Option(
            "--trail",
            exists=True,
            dir_okay=False,
            help="Verify this exported trail (`audit export FILE.jsonl`) instead of the database",
        ),
    ] = None,
    home: HomeOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Walk the hash chain, recomputing every hash; exit 4 and say where when a record was changed,
    inserted or deleted, or when the chain does not extend a checkpoint given with --against (or the
    checkpoint's signature fails)."""
    _use_home(home, need_database=trail is None)
    from pubdata.audit import service
    from pubdata.db import session_scope

    key_text = public_key
    if public_key is not None and Path(public_key).is_file():
        key_text = Path(public_key).read_text(encoding="utf-8", errors="replace")
    points = [p.read_bytes() for p in against or []]
    try:
        if trail is not None:
            with open(trail, encoding="utf-8") as lines:
                result = service.verify_trail(SYSTEM, lines, against=points, public_key=key_text)
        else:
            with session_scope() as session:
                result = service.verify(session, SYSTEM, against=points, public_key=key_text)
    except PubdataError as exc:
        _fail(exc, as_json)
    _emit(result.as_json(), as_json, result.message)
    if not result.ok:
        raise typer.Exit(code=4)


@audit_app.command("anchor")
def audit_anchor(
    out: Annotated[
        Path | None,
        typer.Option("--out", dir_okay=False, help="Also write a signed checkpoint to this file, to keep elsewhere"),
    ] = None,
    home: HomeOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Write an anchor of the chain now and print it. With --out, verify the chain and write a signed
    checkpoint (JSON) for safekeeping outside the platform; exit 4 if the chain is broken."""
    _use_home(home)
    from pubdata.audit import service
    from pubdata.audit.errors import ChainBroken
    from pubdata.db import session_scope

    if out is None:
        with session_scope() as session:
            made = service.anchor(session, SYSTEM)
            data = {"length": made.length, "head_hash": made.head_hash, "at": made.at} if made else None
        _emit(data, as_json, f"锚点：第 {data['length']} 条，{data['head_hash']}" if data else "审计链为空，未写锚点")
        return
    try:
        with session_scope() as session:
            point = service.checkpoint(session, SYSTEM, record_anchor=True)
    except ChainBroken as exc:
        _emit({"error": {"code": exc.code, "message": exc.message, "details": exc.details}}, as_json, exc.message)
        raise typer.Exit(code=4) from None
    except PubdataError as exc:
        _fail(exc, as_json)
    staging = out.with_name(f".{out.name}.tmp{os.getpid()}")
    staging.write_text(point.dumps(), encoding="utf-8")
    staging.replace(out)  # never a half-written checkpoint
    _emit(
        point.as_json(),
        as_json,
        f"已签署检查点：第 {point.length} 条，{point.head_hash}，{point.at}（密钥标识 {point.key_id[:16]}…）→ {out}",
    )


@audit_app.command("public-key")
def audit_public_key(
    out: Annotated[Path | None, typer.Option("--out", dir_okay=False, help="Write the PEM to this file")] = None,
    home: HomeOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Print the public key that verifies signed checkpoints (PEM), for the regulator to pin; the
    signing key is created on first use."""
    _use_home(home)
    from pubdata.audit import service

    try:
        key = service.public_key()
    except PubdataError as exc:
        _fail(exc, as_json)
    if out is not None:
        out.write_text(key["pem"], encoding="ascii")
        _emit(key, as_json, f"公钥已写入 {out}（密钥标识 {key['key_id']}）")
    else:
        _emit(key, as_json, key["pem"].rstrip("\n"))


@audit_app.command("export")
def audit_export(
    output: Annotated[Path, typer.Argument(help="File to write (.csv or .jsonl)")],
    home: HomeOpt = None,
) -> None:
    """Export the whole trail, oldest first, with each record's hashes (for the regulator)."""
    _use_home(home)
    from pubdata.audit import service
    from pubdata.db import session_scope

    with (
        session_scope() as session,
        open(output, "w", encoding="utf-8-sig" if output.suffix == ".csv" else "utf-8") as fh,
    ):
        count = service.export(session, SYSTEM, fh, "csv" if output.suffix == ".csv" else "jsonl")
    typer.echo(f"已导出 {count} 条审计记录到 {output}")


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
    home: HomeOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Build the enterprise facts table from the current source tables (nothing new when no source
    changed, unless --force)."""
    _use_home(home)
    from pubdata.db import migrate as run
    from pubdata.db import session_scope
    from pubdata.enterprise import service
    from pubdata.settings import get_settings

    run()
    try:
        with session_scope() as session:
            result = service.build_facts(
                session, SYSTEM, home=get_settings().resolved_home, year=year, force=force, via="cli"
            )
            out = result.model_dump(mode="json")
    except PubdataError as exc:
        _fail(exc, as_json)
    _emit(out, as_json, _facts_build_text(out))


def _fact_text(value: Any, unit: str) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, int):
        return f"{value:,} {unit}".rstrip()
    return str(value)


@facts_app.command("show")
def facts_show(
    uscc: Annotated[str, typer.Argument(help="The enterprise's unified social credit code")],
    home: HomeOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """One enterprise's facts in the current version (exit 2 when not found)."""
    _use_home(home)
    from pubdata.db import migrate as run
    from pubdata.db import session_scope
    from pubdata.enterprise import service
    from pubdata.settings import get_settings

    run()
    try:
        with session_scope() as session:
            out = service.get_facts(session, SYSTEM, uscc, home=get_settings().resolved_home).model_dump(mode="json")
    except PubdataError as exc:
        _fail(exc, as_json)
    v = out["version"]
    lines = [f"{out['name']}（{out['uscc']}）· 企业档案第 {v['number']} 版，{v['year']} 年度"]
    lines += [f"  {f['title']}：{_fact_text(f['value'], f['unit'])}" for f in out["facts"]]
    _emit(out, as_json, "\n".join(lines))


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
    _emit(out, as_json, "\n".join(lines))


# Sub-commands kept in their own modules (they import the helpers above).
from pubdata.cli_policy import policy_app  # noqa: E402

app.add_typer(policy_app, name="policy")
