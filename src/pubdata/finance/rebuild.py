"""One job rebuilds what credit stands on, for every enterprise: the facts (一企一档, from the current
version of every source table), the tiers under both rule versions, and the expert credit scores —
each step skipped when its inputs did not change, each reported as it goes. ``pubdata credit
rebuild`` runs it."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.orm import Session

from pubdata.authz import Actor
from pubdata.enterprise import service as enterprise
from pubdata.finance import service as finance
from pubdata.policy.matching import tiers


@dataclass
class Rebuild:
    facts_version: int = 0
    facts_built: bool = False
    enterprises: int = 0
    tiers: list[tiers.TierPass] = field(default_factory=list)
    score_run: int = 0
    seconds: dict[str, float] = field(default_factory=dict)


def rebuild(
    session: Session,
    actor: Actor,
    *,
    home: Path,
    year: int | None = None,
    force: bool = False,
    progress: Callable[[str], None] | None = None,
    engine: str | None = None,
) -> Rebuild:
    """Facts → tiers → scores for every enterprise (the operator's or the system's rights for each
    step), each computed on the batch ``engine`` (default ``PUBDATA_BATCH_ENGINE``)."""
    say = progress or (lambda _message: None)
    out = Rebuild()
    started = time.perf_counter()
    say("企业档案：按各数据来源的当前版本生成")
    built = enterprise.build_facts(session, actor, home=home, year=year, force=force, via="job", engine=engine)
    out.facts_version, out.facts_built = built.version.number, built.built
    out.enterprises = built.version.enterprises
    out.seconds["facts"] = round(time.perf_counter() - started, 3)
    say(f"企业档案：第 {out.facts_version} 版，{out.enterprises:,} 个企业（{'新生成' if built.built else '沿用'}）")

    mark = time.perf_counter()
    say("梯度培育：按 2022 与 2026 两版认定标准评价全部企业")
    out.tiers = tiers.build_tiers(session, actor, home=home, engine=engine)
    out.seconds["tiers"] = round(time.perf_counter() - mark, 3)
    for t in out.tiers:
        say(f"梯度培育：{t.pack_id}，符合 {t.eligible:,} 项，待补充信息 {t.undecided:,} 项")

    mark = time.perf_counter()
    say("信用评分：专家评分卡评分")
    run = finance.run_scoring(session, actor, home=home, force=force, via="job", engine=engine)
    out.score_run = run.id
    out.seconds["scores"] = round(time.perf_counter() - mark, 3)
    out.seconds["total"] = round(time.perf_counter() - started, 3)
    say(f"信用评分：{run.enterprises:,} 个企业，平均 {run.mean_score or 0:.0f} 分；共用时 {out.seconds['total']} 秒")
    return out
