"""What matching found, for those who run and review policies and for the enterprise itself:

- ``reach``: per clause of a pack, how many enterprises are eligible or undecided, the sum of the
  amounts they would be paid (fixed and computed figures; the caps of 最高不超过 figures apart),
  overall and by registered district (operator, departments, regulator);
- ``list_matches``: the enterprises one by one, paged and filtered by clause and district (operator
  and departments; each read is audited);
- ``my_matches``: the clauses the viewer's own enterprise matches ("为我推荐").

Reach and the list read the latest finished run's results file joined with the facts version that
run used (both immutable), so they describe exactly that run. Reach is computed once per run and
kept in memory.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from pubdata.audit import service as audit
from pubdata.authz import Actor, Permission, require
from pubdata.catalog.vocab import DISTRICT_NAMES
from pubdata.enterprise import service as enterprise
from pubdata.errors import Invalid, NotFound
from pubdata.policy import service
from pubdata.policy.matching.match import latest_run, run_read
from pubdata.policy.matching.notices import amount_text, apply_url
from pubdata.policy.matching.schemas import (
    ClauseReach,
    DistrictReach,
    MatchPage,
    MatchRead,
    MyMatchRead,
    ReachRead,
)
from pubdata.policy.models import PolicyMatch, PolicyPackVersion
from pubdata.policy.packs.engine import clause_cap, static_kind
from pubdata.policy.packs.pack import Pack, compile_pack
from pubdata.store import service as store
from pubdata.store.ingest.semantic import sql_literal

UNKNOWN_DISTRICT = "未知"
MAX_PAGE = 200


class ResultsMissing(NotFound):
    code = "policy.match_results_missing"


@lru_cache(maxsize=16)
def _pack_text(digest: str, text: str) -> Pack:
    return compile_pack(text)


def pack_of(version: PolicyPackVersion) -> Pack:
    """The pack as it was when a run used it (its recorded text), for clause titles and order."""
    return _pack_text(version.digest, version.text)


def _files(
    session: Session, actor: Actor, home: Path, results_path: str | None, facts_version: int
) -> tuple[str, str, tuple[int, int]]:
    """The run's results and facts files as DuckDB literals, and the results file's stamp. The facts
    are read through the enterprise domain's one check (every enterprise: the read-any permission)."""
    results = home / (results_path or "")
    facts_file = enterprise.read_facts(session, actor, home=home, number=facts_version).path
    if not results_path or not results.is_file() or not facts_file.is_file():
        raise ResultsMissing("匹配结果文件缺失，请重新运行政策匹配（pubdata policy match --force）")
    stat = results.stat()
    return sql_literal(str(results)), sql_literal(str(facts_file)), (stat.st_mtime_ns, stat.st_size)


def _query(sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    return store.analytic_query(sql, params or [])[1]


_REACH_SQL = """
SELECT r.clause, coalesce(f.registered_district, '{unknown}') AS district,
       count(*) FILTER (WHERE r.eligible) AS eligible,
       count(*) FILTER (WHERE r.eligible IS NULL) AS undecided,
       coalesce(sum(r.amount) FILTER (WHERE r.eligible AND r.amount_kind IN ('fixed', 'formula')), 0) AS amount,
       coalesce(sum(r.amount) FILTER (WHERE r.eligible AND r.amount_kind = 'up_to'), 0) AS up_to,
       count(*) FILTER (WHERE r.eligible AND r.amount IS NULL) AS pending
FROM read_parquet({results}) r LEFT JOIN read_parquet({facts}) f ON f.uscc = r.enterprise
WHERE r.eligible IS NOT FALSE
GROUP BY ALL
"""


@lru_cache(maxsize=32)
def _reach_rows(results: str, facts: str, stamp: tuple[int, int]) -> tuple[list[tuple[Any, ...]], int]:
    """(rows by clause and district, enterprises eligible for at least one clause) of one run
    (``stamp``, the results file's mtime and size, keys the cache with the file's identity)."""
    rows = _query(_REACH_SQL.format(unknown=UNKNOWN_DISTRICT, results=results, facts=facts))
    distinct = _query(f"SELECT count(DISTINCT enterprise) FROM read_parquet({results}) WHERE eligible")
    return rows, int(distinct[0][0])


def _district_order() -> list[str]:
    return [*DISTRICT_NAMES, UNKNOWN_DISTRICT]


def reach(session: Session, actor: Actor, pack_id: str, *, home: Path) -> ReachRead:
    """Per clause of the pack: eligible and undecided enterprises, the amounts they would be paid,
    overall and by registered district, from the pack's latest match run (all zero before one).
    For the operator, departments and the regulator."""
    require(actor, Permission.POLICY_REACH_READ)
    current = service.get_pack(actor, pack_id)
    latest = latest_run(session, pack_id)
    pack = pack_of(latest[1]) if latest else current
    rows: list[tuple[Any, ...]] = []
    eligible_enterprises = 0
    if latest is not None:
        run, _version = latest
        rows, eligible_enterprises = _reach_rows(*_files(session, actor, home, run.results_path, run.facts_version))
    by_clause: dict[str, dict[str, DistrictReach]] = {}
    for clause, district, eligible, undecided, amount, up_to, pending in rows:
        by_clause.setdefault(clause, {})[district] = DistrictReach(
            district=district, eligible=eligible, undecided=undecided, amount=int(amount), up_to=int(up_to),
            pending=pending,
        )  # fmt: skip
    clauses = []
    for c in pack.clauses:
        found = by_clause.get(c.id, {})
        districts = [
            found.get(d) or DistrictReach(district=d, eligible=0, undecided=0, amount=0, up_to=0, pending=0)
            for d in _district_order()
            if d != UNKNOWN_DISTRICT or d in found
        ]
        clauses.append(
            ClauseReach(
                clause_id=c.id,
                title=c.title,
                article=c.article,
                amount_kind=static_kind(c.amount),
                cap=clause_cap(c.amount),
                district="全市",
                eligible=sum(d.eligible for d in districts),
                undecided=sum(d.undecided for d in districts),
                amount=sum(d.amount for d in districts),
                up_to=sum(d.up_to for d in districts),
                pending=sum(d.pending for d in districts),
                by_district=districts,
            )
        )
    return ReachRead(
        policy=pack.id,
        title=pack.spec.title,
        run=run_read(*latest) if latest else None,
        enterprises=latest[0].enterprises if latest else 0,
        eligible_enterprises=eligible_enterprises,
        amount=sum(c.amount for c in clauses),
        up_to=sum(c.up_to for c in clauses),
        clauses=clauses,
    )


def list_matches(
    session: Session,
    actor: Actor,
    pack_id: str,
    *,
    home: Path,
    clause: str | None = None,
    district: str | None = None,
    eligible: bool | None = None,
    offset: int = 0,
    limit: int = 50,
) -> MatchPage:
    """The enterprises the pack's latest run found eligible or undecided, ordered by clause and
    credit code, ``limit`` from ``offset``; filtered by clause, registered district (``未知`` for
    none) and eligibility (true: eligible, false: undecided). Operator and departments; audited."""
    require(actor, Permission.POLICY_MATCH_READ)
    service.get_pack(actor, pack_id)
    if district is not None and district not in _district_order():
        raise Invalid(f"未知的区（市）：{district}（可选：{'、'.join(_district_order())}）", field="district")
    if offset < 0 or not 1 <= limit <= MAX_PAGE:
        raise Invalid(f"分页参数无效：offset ≥ 0，limit 为 1 至 {MAX_PAGE}", field="limit")
    latest = latest_run(session, pack_id)
    if latest is None:
        return MatchPage(policy=pack_id, run_id=None, total=0, offset=offset, limit=limit, items=[])
    run, version = latest
    pack = pack_of(version)
    if clause is not None:
        pack.clause(clause)  # "no such clause" names it
    results, facts, _ = _files(session, actor, home, run.results_path, run.facts_version)
    where = ["r.eligible IS NOT FALSE"]
    params: list[Any] = []
    if clause is not None:
        where.append("r.clause = ?")
        params.append(clause)
    if district == UNKNOWN_DISTRICT:
        where.append("f.registered_district IS NULL")
    elif district is not None:
        where.append("f.registered_district = ?")
        params.append(district)
    if eligible is not None:
        where.append("r.eligible" if eligible else "r.eligible IS NULL")
    order = ", ".join(f"'{c.id}'" for c in pack.clauses)
    base = (
        f"FROM read_parquet({results}) r LEFT JOIN read_parquet({facts}) f ON f.uscc = r.enterprise "
        f"WHERE {' AND '.join(where)}"
    )
    total = _query(f"SELECT count(*) {base}", params)[0][0]
    rows = _query(
        f"SELECT r.enterprise, f.name, f.registered_district, r.clause, r.eligible, r.amount, r.amount_kind {base} "
        f"ORDER BY list_position([{order}], r.clause), r.enterprise LIMIT {int(limit)} OFFSET {int(offset)}",
        params,
    )
    titles = {c.id: c.title for c in pack.clauses}
    items = [
        MatchRead(uscc=r[0], name=r[1], district=r[2], clause_id=r[3], clause_title=titles.get(r[3], r[3]),
                  eligible=r[4], amount=r[5], amount_kind=r[6])
        for r in rows
    ]  # fmt: skip
    audit.record_later(
        session,
        actor,
        audit.Event(
            "policy.matches_read",
            version=run.facts_version,
            rows=len(items),
            details={"pack": pack_id, "run": run.id, "clause": clause, "district": district, "offset": offset},
        ),
    )
    return MatchPage(policy=pack_id, run_id=run.id, total=int(total), offset=offset, limit=limit, items=items)


def my_matches(session: Session, actor: Actor) -> list[MyMatchRead]:
    """The clauses the viewer's enterprise matches in the latest results of every pack: eligible
    ones first (largest amount first), then those facts are missing to decide."""
    require(actor, Permission.POLICY_NOTICE_READ)
    uscc = enterprise.own_uscc(session, actor)
    if uscc is None:
        return []
    rows = session.execute(
        select(PolicyMatch, PolicyPackVersion)
        .join(PolicyPackVersion, PolicyPackVersion.id == PolicyMatch.pack_version_id)
        .where(PolicyMatch.uscc == uscc)
    ).all()
    out = []
    for m, version in rows:
        pack = pack_of(version)
        try:
            c = pack.clause(m.clause_id)
        except NotFound:
            continue
        out.append(
            MyMatchRead(
                pack_id=version.pack_id,
                pack_title=version.title,
                clause_id=m.clause_id,
                clause_title=c.title,
                article=c.article,
                eligible=m.eligible,
                amount=m.amount,
                amount_kind=m.amount_kind,
                amount_text=amount_text(m.amount, m.amount_kind) if m.eligible else "待补充信息后判断",
                materials=list(c.materials),
                apply_url=apply_url(version.pack_id, m.clause_id),
                updated_at=m.updated_at,
            )
        )
    out.sort(key=lambda r: (r.eligible is not True, -(r.amount or 0), r.pack_id, r.clause_id))
    return out
