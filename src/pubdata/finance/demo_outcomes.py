"""Synthetic loan outcomes for the demo city, with a known signal, so that a fitted scorecard can be
checked (docs/credit.md, "Synthetic outcomes").

A sample of enterprises (chosen by a hash of the credit code and the seed) "borrowed"; each defaulted
with probability p = 1 / (1 + e^−z), drawn with a second hash, where z is the documented logistic
model below over the current facts (``COEFFICIENTS``; unknown facts as stated). The AUC of p itself
on the draws (``oracle_auc``) is the best any scorecard can do; a fitted card on a few thousand
outcomes lands a little below it. On the synthetic facts of the tests and the benchmark, the oracle
AUC is about 0.80 and a fit on 4,000 outcomes gets a hold-out AUC in 0.70–0.86 (tests/finance).

Deterministic: the same facts, sample and seed give the same outcomes."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from pubdata.authz import Actor, Permission, require
from pubdata.enterprise import service as enterprise
from pubdata.errors import Invalid
from pubdata.finance import service
from pubdata.store import service as store

# the logistic model's coefficients, on the facts as the facts table holds them: only facts the expert
# card (v2) scores, so a card fitted on the card's features can find the whole signal (v1 of this model
# read `founded` and `is_high_tech`; `age_years` and `high_tech_enterprise_valid` are the same facts)
COEFFICIENTS: dict[str, Any] = {
    "intercept": -1.5,
    "tax_credit_grade": {"A": -0.9, "B": -0.3, "M": 0.0, "C": 0.9, "D": 1.8, None: 0.4},
    "penalty_count": 0.3,  # per penalty in three years, counted up to 5
    "is_dishonest_debtor": 1.8,
    "is_abnormal_operation": 0.9,
    "status_revoked": 1.2,  # 吊销、注销、迁出
    "insured_headcount_log": -0.25,  # × ln(1 + headcount)
    "insured_headcount_unknown": 0.3,
    "high_tech_enterprise_valid": -0.5,
    "age_years": -0.04,  # per complete year in business, counted up to 20
}


def logit_sql() -> str:
    """z for one facts row, in DuckDB SQL (unknown facts count as stated in ``COEFFICIENTS``)."""
    c = COEFFICIENTS
    tax = " ".join(f"WHEN '{g}' THEN {w}" for g, w in c["tax_credit_grade"].items() if g is not None)
    return (
        f"({c['intercept']} + CASE tax_credit_grade {tax} ELSE {c['tax_credit_grade'][None]} END"
        f" + {c['penalty_count']} * least(coalesce(penalty_count, 0), 5)"
        f" + {c['is_dishonest_debtor']} * CAST(coalesce(is_dishonest_debtor, FALSE) AS INTEGER)"
        f" + {c['is_abnormal_operation']} * CAST(coalesce(is_abnormal_operation, FALSE) AS INTEGER)"
        f" + {c['status_revoked']} * CAST(coalesce(status IN ('吊销', '注销', '迁出'), FALSE) AS INTEGER)"
        f" + CASE WHEN insured_headcount IS NULL THEN {c['insured_headcount_unknown']}"
        f" ELSE {c['insured_headcount_log']} * ln(1 + greatest(insured_headcount, 0)) END"
        f" + {c['high_tech_enterprise_valid']} * CAST(coalesce(high_tech_enterprise_valid, FALSE) AS INTEGER)"
        f" + {c['age_years']} * least(greatest(coalesce(age_years, 0), 0), 20))"
    )


def draw_outcomes(
    session: Session, actor: Actor, *, home: Path, sample: int = 20_000, seed: int = 7
) -> list[dict[str, Any]]:
    """Outcomes for ``sample`` enterprises of the current facts: ``uscc``, ``defaulted``, ``observed``
    (a year after the facts year's end) and ``probability`` (the true p). The operator's right."""
    require(actor, Permission.FINANCE_MODEL_FIT)
    if not 1 <= sample <= 5_000_000:
        raise Invalid(f"样本量应在 1 至 5,000,000 之间：{sample}", field="sample")
    facts = enterprise.read_facts(session, actor, home=home)
    year = service.facts_year_of(session, facts.version)
    observed = f"{year + 1}-12-31"
    z = logit_sql()
    _, rows = store.analytic_query(
        f"SELECT uscc, ((hash(uscc, 'default', {int(seed)}) % 1000000) / 1000000.0) < p AS defaulted, p "
        f"FROM (SELECT uscc, 1 / (1 + exp(-{z})) AS p FROM {facts.relation} "
        f"ORDER BY hash(uscc, 'borrower', {int(seed)}), uscc LIMIT {int(sample)}) ORDER BY uscc"
    )
    return [
        {"uscc": u, "defaulted": bool(d), "observed": observed, "probability": round(float(p), 6)} for u, d, p in rows
    ]


def oracle_auc(outcomes: list[dict[str, Any]]) -> float:
    """The AUC of the true probabilities on the drawn outcomes (Mann–Whitney, ties counted half)."""
    pairs = sorted((o["probability"], o["defaulted"]) for o in outcomes)
    bads = sum(1 for _, d in pairs if d)
    goods = len(pairs) - bads
    if not bads or not goods:
        return float("nan")
    rank_sum, i = 0.0, 0
    while i < len(pairs):
        j = i
        while j < len(pairs) and pairs[j][0] == pairs[i][0]:
            j += 1
        mid = (i + 1 + j) / 2  # the average rank of the tie group (1-based)
        rank_sum += mid * sum(1 for k in range(i, j) if pairs[k][1])
        i = j
    return round((rank_sum - bads * (bads + 1) / 2) / (bads * goods), 4)


def write_csv(outcomes: list[dict[str, Any]], path: Path) -> None:
    """The outcomes as a bank would supply them: uscc, defaulted (1/0), observed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["uscc", "defaulted", "observed"])
        for o in outcomes:
            writer.writerow([o["uscc"], 1 if o["defaulted"] else 0, o["observed"]])
