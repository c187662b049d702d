"""``pubdata jobs``: the platform's background jobs from the command line (as the system): list them
(``--state dead``: the dead-letter jobs), re-queue a dead or failed one, queue a long job. A worker
or a server of the deployment runs what is queued (docs/architecture.md, "Jobs")."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from pubdata.cli.base import HomeOpt, JsonOpt, app, emit, fail, use_home
from pubdata.errors import PubdataError

jobs_app = typer.Typer(help="Background jobs: list, re-queue, queue", no_args_is_help=True)
app.add_typer(jobs_app, name="jobs")


def _line(job: Any) -> str:
    error = f"  {job.error['message']}" if job.error else ""
    what = job.key or job.source_name
    return f"{job.id}  {job.title}  {what}  {job.state}  {job.stage} {job.percent}%  尝试 {job.attempts}{error}"


@jobs_app.command("list")
def list_jobs(
    state: Annotated[str | None, typer.Option("--state", help="queued | running | succeeded | failed | dead")] = None,
    kind: Annotated[str | None, typer.Option("--kind", help="e.g. market.settle")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=500)] = 50,
    home: HomeOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Jobs of every kind, newest first."""
    use_home(home)
    from pubdata import workers  # noqa: F401 - the kinds' titles
    from pubdata.authz import SYSTEM
    from pubdata.db import get_engine, session_scope
    from pubdata.jobs import service

    try:
        with session_scope(get_engine()) as session:
            found = service.list_jobs(session, SYSTEM, state=state, kind=kind, limit=limit)
    except PubdataError as exc:
        fail(exc, as_json)
    emit([j.model_dump(mode="json") for j in found], as_json, "\n".join(map(_line, found)) or "没有任务")


@jobs_app.command("requeue")
def requeue(job_id: str, home: HomeOpt = None, as_json: JsonOpt = False) -> None:
    """Put a dead (or failed) job back in the queue with a fresh count of attempts (audited)."""
    use_home(home)
    from pubdata import workers  # noqa: F401 - registers every kind
    from pubdata.authz import SYSTEM
    from pubdata.db import get_engine, session_scope
    from pubdata.jobs import service
    from pubdata.settings import get_settings

    try:
        with session_scope(get_engine()) as session:
            job = service.requeue(session, SYSTEM, job_id, home=get_settings().resolved_home)
    except PubdataError as exc:
        fail(exc, as_json)
    emit(job.model_dump(mode="json"), as_json, f"已重新排队：{_line(job)}")


@jobs_app.command("queue")
def queue_job(
    kind: Annotated[str, typer.Argument(help="facts.build | credit.score | policy.match | market.settle | backup")],
    month: Annotated[str | None, typer.Option("--month", help="market.settle: the month (YYYY-MM)")] = None,
    pack: Annotated[str | None, typer.Option("--pack", help="policy.match: one pack (default: the stale ones)")] = None,
    home: HomeOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Queue a long job (an identical job already queued or running is shown instead)."""
    use_home(home)
    from pubdata import workers  # noqa: F401 - registers every kind
    from pubdata.authz import SYSTEM
    from pubdata.db import get_engine, session_scope
    from pubdata.jobs import service

    params: dict[str, Any] = {}
    if month is not None:
        params["month"] = month
    if pack is not None:
        params["pack_id"] = pack
    try:
        with session_scope(get_engine()) as session:
            job, new = service.enqueue(session, SYSTEM, kind, params=params, via="cli")
    except PubdataError as exc:
        fail(exc, as_json)
    emit(job.model_dump(mode="json"), as_json, f"{'已排队' if new else '同样的任务已在排队或运行'}：{_line(job)}")
