"""``pubdata policy reviewer …``: which department reviews policy applications of a district
(政策通 routing: "the commerce department of the district where the enterprise is registered")."""

from __future__ import annotations

from typing import Annotated

import typer

from pubdata.authz import SYSTEM
from pubdata.cli import HomeOpt, JsonOpt, _emit, _fail, _use_home
from pubdata.errors import PubdataError

reviewer_app = typer.Typer(help="Reviewers of policy applications, by district", no_args_is_help=True)
DutyOpt = Annotated[str, typer.Option("--duty", help="The pack's reviewer.department (commerce)")]


@reviewer_app.command("set")
def reviewer_set(
    district: str, organisation: str, duty: DutyOpt = "commerce", home: HomeOpt = None, as_json: JsonOpt = False
) -> None:
    """Route DISTRICT's applications to the department ORGANISATION (its code); applications made
    from now on go there."""
    _use_home(home)
    from pubdata.db import migrate as run_migrations
    from pubdata.db import session_scope
    from pubdata.policy import reviewers

    run_migrations()
    try:
        with session_scope() as session:
            row = reviewers.set_reviewer(session, SYSTEM, district, organisation, duty=duty)
    except PubdataError as exc:
        _fail(exc, as_json)
    text = f"{row.district}的{row.duty_label}：{row.organisation_name}（{row.organisation_code}）"
    _emit(row.model_dump(mode="json"), as_json, text)


@reviewer_app.command("list")
def reviewer_list(home: HomeOpt = None, as_json: JsonOpt = False) -> None:
    """Every district's reviewer."""
    _use_home(home)
    from pubdata.db import migrate as run_migrations
    from pubdata.db import session_scope
    from pubdata.policy import reviewers

    run_migrations()
    with session_scope() as session:
        rows = reviewers.list_reviewers(session, SYSTEM)
    out = [r.model_dump(mode="json") for r in rows]
    lines = [f"{r.district}  {r.duty_label}  {r.organisation_name}（{r.organisation_code}）" for r in rows]
    _emit(out, as_json, "\n".join(lines) or "尚未配置任何审核部门")
