"""Fitted scorecards: optimal binning + logistic regression on loan outcomes a bank supplies
(performing / defaulted), with optbinning's ``BinningProcess`` and ``Scorecard`` and scikit-learn's
``LogisticRegression``.

``fit_scorecard``:

1. checks the outcomes — every row an enterprise of the facts table, no enterprise twice on the
   same decision day, both
   classes present with at least ``MIN_PER_CLASS`` each — and refuses them otherwise, naming the
   problems, recording the refusal and storing nothing;
2. reads the features (by default the expert card's facts) of those enterprises **as the platform
   knew them at the decision**: a row with ``as_of`` (the date the loan was decided or disbursed)
   is read from the newest facts version built on or before that day (Beijing date), so that what
   happened after the decision — a default's own court enforcement — does not leak into the fit; a
   row without ``as_of``, or older than every facts version, or whose enterprise that version does
   not hold, is read from the current version (the training record counts each kind). Dates as age
   in complete years, yes/no as 1/0, text as categories. Outcomes may come from the bank (API, CLI)
   and from the 银企直通车's own closed loans (``loan_rows``: ``as_of`` = disbursement day);
3. splits 70 % / 30 % stratified (fixed seed), fits on the 70 % and reports on the 30 % hold-out:
   AUC, Gini = 2·AUC − 1, KS = max |cumulative bad rate − cumulative good rate|, and IV per feature
   (IV = Σ (%good − %bad) · ln(%good / %bad) over the bins, on the hold-out and on the training part);
4. writes the fitted card in the model-file format — the bins optbinning found, points scaled
   ``min_max`` to 300–900 (higher is better), the expert card's grade cut-offs, each feature's neutral
   points = its average points over the training population — validates it like any model file and
   keeps it as a new version of ``model_id`` beside the expert card, with the metrics and the chart
   data (hold-out score distribution, ROC and KS curves, the training score deciles for PSI);
5. optionally scores every enterprise with it at once (``service.run_scoring``): the run's PSI against
   the training population starts the model's PSI history.

The same SQL scores expert and fitted cards, so a fitted card's score in the facts equals
``Scorecard.score`` on the same values (tests check it)."""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pyarrow.parquet as pq
import yaml
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pubdata import duck
from pubdata import files as core_files
from pubdata.audit import service as audit
from pubdata.authz import Actor, Permission, require
from pubdata.enterprise import service as enterprise
from pubdata.enterprise.facts import FACTS
from pubdata.errors import PubdataError
from pubdata.finance import files, service
from pubdata.finance.errors import FitFailed, InvalidOutcomes
from pubdata.finance.loans import service as loans
from pubdata.finance.models import FinanceModelVersion
from pubdata.finance.schemas import FitRead, ModelVersionRead
from pubdata.finance.scorecards import card as cards
from pubdata.finance.scorecards.sql import quote, value_sql
from pubdata.store.ingest.semantic import sql_literal

MIN_PER_CLASS = 20
MIN_BIN_SHARE = 0.01
HOLDOUT = 0.3
SEED = 20261205
SCALE = (300, 900)
CURVE_POINTS = 101
DEFAULTED = {"1", "true", "yes", "y", "defaulted", "default", "违约", "是"}
PERFORMING = {"0", "false", "no", "n", "performing", "正常", "否"}
SHANGHAI = ZoneInfo("Asia/Shanghai")


# --- outcomes ---------------------------------------------------------------------------------------


def _flag(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        text = value.strip().lower()
        if text in DEFAULTED:
            return True
        if text in PERFORMING:
            return False
    return None


@dataclass(frozen=True)
class OutcomeRow:
    uscc: str
    defaulted: bool
    observed: str | None  # when the outcome was observed (YYYY-MM-DD)
    as_of: date | None  # the decision day: the features are read as known then


def _day(value: Any) -> date | None:
    """A YYYY-MM-DD date or empty (None); ``ValueError`` otherwise."""
    if value in (None, ""):
        return None
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def check_outcomes(rows: Iterable[Any]) -> list[OutcomeRow]:
    """Each row's outcome; ``InvalidOutcomes`` naming every bad row by its index. An enterprise may
    appear once per decision day (``as_of``): two loans of one enterprise are two outcomes."""
    out: list[OutcomeRow] = []
    problems: list[dict[str, str]] = []
    seen: dict[tuple[str, date | None], int] = {}
    for i, row in enumerate(rows):
        where = f"outcomes[{i}]"
        if not isinstance(row, dict):
            problems.append({"field": where, "message": "应为对象：{uscc, defaulted, observed, as_of}"})
            continue
        code = row.get("uscc")
        if not isinstance(code, str) or not code.strip():
            problems.append({"field": f"{where}.uscc", "message": "必须提供统一社会信用代码"})
            continue
        code = code.strip().upper()
        raw = row.get("defaulted", row.get("status"))
        flag = _flag(raw)
        if flag is None:
            problems.append(
                {"field": f"{where}.defaulted", "message": f"应为 true/false、1/0 或 performing/defaulted：{raw!r}"}
            )
            continue
        days: dict[str, date | None] = {}
        for name in ("observed", "as_of"):
            try:
                days[name] = _day(row.get(name))
            except (TypeError, ValueError):
                problems.append({"field": f"{where}.{name}", "message": f"应为日期 YYYY-MM-DD：{row.get(name)!r}"})
        if len(days) < 2:
            continue
        key = (code, days["as_of"])
        if key in seen:
            on = f"（决策日 {days['as_of']}）" if days["as_of"] else ""
            problems.append({"field": f"{where}.uscc", "message": f"企业 {code}{on} 已在 outcomes[{seen[key]}] 出现"})
            continue
        seen[key] = i
        observed = days["observed"]
        out.append(OutcomeRow(code, flag, observed.isoformat() if observed else None, days["as_of"]))
    if problems:
        raise InvalidOutcomes(f"贷款结果有 {len(problems)} 处错误：" + "；".join(
            f"{p['field']}：{p['message']}" for p in problems[:20]
        ), details=problems)  # fmt: skip
    bad = sum(1 for o in out if o.defaulted)
    good = len(out) - bad
    if bad == 0 or good == 0:
        only = "全部为正常" if bad == 0 else "全部为违约"
        raise InvalidOutcomes(f"贷款结果只有一类（{only}，共 {len(out)} 条）：无法拟合评分卡，需要正常与违约两类")
    if min(bad, good) < MIN_PER_CLASS:
        raise InvalidOutcomes(
            f"贷款结果太少：正常 {good} 条、违约 {bad} 条；拟合与留出检验每类至少需要 {MIN_PER_CLASS} 条"
        )
    return out


def loan_rows(session: Session, actor: Actor) -> list[dict[str, Any]]:
    """The 银企直通车's closed loans as outcome rows (repaid: performing; defaulted), each read as of
    its disbursement day: the actor's own bank's, or every bank's for the operator."""
    return [
        {"uscc": o.uscc, "defaulted": o.defaulted, "observed": o.closed_on.isoformat(), "as_of": o.disbursed_on}
        for o in loans.loan_outcomes(session, actor)
    ]


# --- the fit ----------------------------------------------------------------------------------------


def _features_sql(features: list[cards.Feature], facts_year: int) -> str:
    cols = []
    for f in features:
        value = value_sql(f, facts_year)
        kind = "DOUBLE" if f.type == "boolean" or f.type in cards.NUMERIC_TYPES else "VARCHAR"
        cols.append(f"CAST({value} AS {kind}) AS {quote(f.fact)}")
    return ", ".join(cols)


def _frame(con: Any, features: list[cards.Feature], versions: dict[int, tuple[Path, int]]) -> Any:
    """The features of the outcome rows (registered as ``outcomes``: ``i, uscc, defaulted, v``), each
    from its facts version ``v`` (``versions``: number → file and year), as a pandas frame in row order."""
    parts = [
        f"SELECT o.i, o.uscc, o.defaulted, {_features_sql(features, year)} FROM outcomes o "
        f"JOIN read_parquet({sql_literal(str(path))}) USING (uscc) WHERE o.v = {number}"
        for number, (path, year) in sorted(versions.items())
    ]
    return con.execute(" UNION ALL ".join(parts) + " ORDER BY i").df()


def _unknown(con: Any, facts_file: Path, version: int | None = None) -> list[str]:
    """Outcome enterprises (of version ``version``'s rows, or all) the facts file does not hold."""
    where = f"WHERE o.v = {version} " if version is not None else ""
    rows = con.execute(
        f"SELECT DISTINCT o.uscc FROM outcomes o ANTI JOIN read_parquet({sql_literal(str(facts_file))}) f "
        f"USING (uscc) {where}ORDER BY o.uscc"
    ).fetchall()
    return [r[0] for r in rows]


def _beijing_day(at: datetime) -> date:
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(SHANGHAI).date()


def _decision_versions(
    session: Session, actor: Actor, rows: list[OutcomeRow], names: list[str], *, home: Path, current: int
) -> tuple[list[int], dict[int, tuple[Path, int]]]:
    """Per row, the facts version it is read from — the newest built on or before its ``as_of``
    (Beijing date) that holds every feature — else ``current``; and each version used: file, year."""
    usable: list[tuple[date, int, Path, int]] = []
    for v in enterprise.list_versions(session, actor):
        path = enterprise.read_facts(session, actor, home=home, number=v.number).path
        if v.number == current or not path.is_file():
            continue
        if set(names) <= set(pq.read_schema(path).names):  # an older file may lack newer facts
            usable.append((_beijing_day(v.built_at), v.number, path, v.year))
    chosen = []
    for row in rows:
        earlier = [u for u in usable if row.as_of is not None and u[0] <= row.as_of]
        chosen.append(max(earlier, key=lambda u: u[1])[1] if earlier else current)
    versions = {number: (path, year) for _, number, path, year in usable if number in set(chosen)}
    return chosen, versions


def _threshold(split: float, fact_type: str) -> int | Decimal:
    # an integer value x is below s exactly when it is below ceil(s)
    if fact_type in ("integer", "money", "date", "boolean"):
        return int(math.ceil(split))
    return Decimal(repr(float(split)))


def _card_feature(feature: cards.Feature, table: Any, binned: Any) -> dict[str, Any]:
    """The model-file entry of one fitted feature: optbinning's bins and points as our bins."""
    rows = table[table["Variable"] == feature.fact]
    points = [int(round(float(p))) for p in rows["Points"]]
    counts = [int(c) for c in rows["Count"]]
    labels = [str(b) for b in rows["Bin"]]
    missing = points[labels.index("Missing")]
    regular = [
        (p, c) for p, c, label in zip(points, counts, labels, strict=True) if label not in ("Special", "Missing")
    ]
    total = sum(counts) or 1
    neutral = int(round(sum(p * c for p, c in zip(points, counts, strict=True)) / total))
    entry: dict[str, Any] = {"fact": feature.fact, "label": feature.label, "neutral": neutral}
    if feature.unit:
        entry["unit"] = feature.unit
    splits = list(binned.splits)
    if feature.type in cards.CATEGORICAL_TYPES:
        allowed = set(FACTS[feature.fact].values or ())
        bins: list[dict[str, Any]] = []
        for (p, _c), group in zip(regular, splits, strict=True):
            values = [str(v) for v in group if not allowed or str(v) in allowed]
            if values:
                bins.append({"values": values, "points": p})
        bins.append({"other": True, "points": missing})
        entry["bins"] = bins
    elif feature.type == "boolean":
        # 0/1 values: a split (at 0.5) parts false from true; without one both share the bin
        false_points = regular[0][0]
        true_points = regular[1][0] if splits and len(regular) > 1 else false_points
        entry["bins"] = [{"value": True, "points": true_points}, {"value": False, "points": false_points}]
    else:
        edges = [_threshold(s, feature.type) for s in splits]
        bins = []
        lower: int | Decimal | None = None
        for i, (p, _c) in enumerate(regular):
            upper = edges[i] if i < len(edges) else None
            if upper is not None and lower is not None and upper <= lower:
                continue  # an interval no integer falls in
            b: dict[str, Any] = {}
            if lower is not None:
                b["from"] = float(lower) if isinstance(lower, Decimal) else lower
            if upper is not None:
                b["below"] = float(upper) if isinstance(upper, Decimal) else upper
            b["points"] = p
            bins.append(b)
            lower = upper
        entry["bins"] = bins
    entry["missing"] = {"points": missing}
    return entry


def _iv(bins: Any, y: Any) -> float:
    """IV over bin labels (``bins``) and outcomes ``y`` (1 = defaulted), with a 0.5 floor per cell."""
    import numpy as np

    labels = np.asarray(bins)
    target = np.asarray(y)
    goods_total = max(int((target == 0).sum()), 1)
    bads_total = max(int((target == 1).sum()), 1)
    total = 0.0
    for label in np.unique(labels):
        mask = labels == label
        good = max(float(((target == 0) & mask).sum()), 0.5) / goods_total
        bad = max(float(((target == 1) & mask).sum()), 0.5) / bads_total
        total += (good - bad) * math.log(good / bad)
    return round(total, 4)


def _column(data: Any, name: str, index: int) -> Any:
    """One variable of a transform's output (a DataFrame for DataFrame input, else an array)."""
    return data[name].to_numpy() if hasattr(data, "columns") else data[:, index]


def _python_value(feature: cards.Feature, value: Any) -> Any:
    """A frame cell back to the value type the card's bins test (NaN/None: unknown)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if feature.type == "boolean":
        return bool(value)
    if feature.type in ("integer", "money", "date"):
        return int(value)
    if feature.type == "number":
        return Decimal(repr(float(value)))
    return str(value)


def card_agreement(card: cards.Card, frame: Any, scores: Any) -> float:
    """The share of rows whose score by the written card (the bins and points the SQL uses) equals
    the fitted model's own score: 1.0 unless the translation lost something."""
    features = card.features
    same = 0
    for i, (_, row) in enumerate(frame.iterrows()):
        raw = card.base + sum(f.bin_of(_python_value(f, row[f.fact])).points for f in features)
        same += int(min(max(raw, card.min), card.max) == int(round(float(scores[i]))))
    return round(same / max(len(frame), 1), 6)


def _downsample(xs: list[float], ys: list[float]) -> list[list[float]]:
    if len(xs) <= CURVE_POINTS:
        return [[round(x, 4), round(y, 4)] for x, y in zip(xs, ys, strict=True)]
    step = (len(xs) - 1) / (CURVE_POINTS - 1)
    picks = sorted({round(i * step) for i in range(CURVE_POINTS)})
    return [[round(xs[i], 4), round(ys[i], 4)] for i in picks]


def _charts(scores: Any, y: Any, proba: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """Hold-out metrics and chart data: AUC, Gini, KS; ROC curve, KS curve, score distribution."""
    import numpy as np
    from sklearn.metrics import roc_auc_score, roc_curve

    y = np.asarray(y)
    auc = float(roc_auc_score(y, proba))
    fpr, tpr, _ = roc_curve(y, proba)
    ks = float(np.max(tpr - fpr))
    low, high = SCALE
    buckets = list(range(low, high, 20))
    distribution = []
    for b in buckets:
        mask = (scores >= b) & (scores < b + 20) if b + 20 < high else (scores >= b)
        distribution.append({"from": b, "good": int(((y == 0) & mask).sum()), "bad": int(((y == 1) & mask).sum())})
    # KS curve over the score: cumulative shares of bad and good enterprises at or below each score
    order = np.sort(np.unique(scores))
    bads, goods = max(int((y == 1).sum()), 1), max(int((y == 0).sum()), 1)
    cum_bad = [float(((y == 1) & (scores <= s)).sum()) / bads for s in order]
    cum_good = [float(((y == 0) & (scores <= s)).sum()) / goods for s in order]
    gaps = [b - g for b, g in zip(cum_bad, cum_good, strict=True)]
    at = int(np.argmax(gaps)) if gaps else 0
    metrics = {"auc": round(auc, 4), "gini": round(2 * auc - 1, 4), "ks": round(ks, 4)}
    charts = {
        "roc": _downsample([float(v) for v in fpr], [float(v) for v in tpr]),
        "ks": {
            "score": [float(s) for s in order][:: max(1, len(order) // CURVE_POINTS)],
            "bad": cum_bad[:: max(1, len(order) // CURVE_POINTS)],
            "good": cum_good[:: max(1, len(order) // CURVE_POINTS)],
            "max": round(max(gaps) if gaps else 0.0, 4),
            "at_score": float(order[at]) if len(order) else None,
        },
        "distribution": {"bucket": 20, "buckets": distribution},
        "psi": [],
    }
    return metrics, charts


def fit_scorecard(
    session: Session,
    actor: Actor,
    outcomes: Iterable[Any],
    *,
    home: Path,
    model_id: str = "fitted",
    features: list[str] | None = None,
    supplied_by: str | None = None,
    score: bool = True,
) -> FitRead:
    """Fit a scorecard on outcomes (see the module's description); the new model version, and the
    score run over every enterprise when ``score``. The operator's right (for a bank that supplied the
    outcomes: ``supplied_by``). Refusals (bad, unknown or one-class outcomes) are audited and store
    nothing."""
    require(actor, Permission.FINANCE_MODEL_FIT)
    try:
        return _fit(session, actor, outcomes, home=home, model_id=model_id, features=features,
                    supplied_by=supplied_by, score=score)  # fmt: skip
    except PubdataError as exc:
        if exc.status in (404, 409, 422):
            event = audit.Event("credit.fit", reason=exc.message[:500], details={"model": model_id, "code": exc.code})
            audit.refuse(session, actor, event)
        raise


def _fit(
    session: Session,
    actor: Actor,
    outcomes: Iterable[Any],
    *,
    home: Path,
    model_id: str,
    features: list[str] | None,
    supplied_by: str | None,
    score: bool,
) -> FitRead:
    import numpy as np
    import pyarrow as pa
    from optbinning import BinningProcess, Scorecard
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split

    rows = check_outcomes(outcomes)
    expert = cards.load_card("expert")
    chosen = [f for f in expert.features if features is None or f.fact in features]
    if features is not None:
        unknown = [name for name in features if name not in {f.fact for f in expert.features}]
        if unknown:
            raise InvalidOutcomes(f"只能用专家评分卡的特征拟合：{'、'.join(unknown)} 不在其中")
    if not cards._ID.match(model_id) or model_id == expert.id:
        raise InvalidOutcomes(f"拟合模型的 id 应为小写标识且不能是 {expert.id}：{model_id}", field="model_id")
    facts = enterprise.read_facts(session, actor, home=home)
    facts_year = service.facts_year_of(session, facts.version)
    service.register_card(session, expert)  # the card a fitted one stands beside and takes its features from
    observed = [o.observed for o in rows if o.observed]
    chosen_versions, versions = _decision_versions(
        session, actor, rows, [f.fact for f in chosen], home=home, current=facts.version
    )
    versions[facts.version] = (facts.path, facts_year)
    table = pa.table({
        "i": list(range(len(rows))), "uscc": [o.uscc for o in rows],
        "defaulted": [int(o.defaulted) for o in rows], "v": chosen_versions,
    })  # fmt: skip
    with core_files.staging_dir(files.scores_root(home)) as work:
        con = duck.batch_connection(work / "spill")
        try:
            con.register("outcomes", table)
            unknown_codes = _unknown(con, facts.path)
            if unknown_codes:
                shown = "、".join(unknown_codes[:10]) + (" ……" if len(unknown_codes) > 10 else "")
                raise InvalidOutcomes(
                    f"贷款结果中有 {len(unknown_codes)} 个企业不在企业档案（第 {facts.version} 版）中：{shown}",
                    details=[{"field": "uscc", "message": code} for code in unknown_codes[:100]],
                )
            # an enterprise an earlier version does not hold yet is read from the current one
            for number, (path, _year) in list(versions.items()):
                missing = set(_unknown(con, path, number)) if number != facts.version else set()
                chosen_versions = [
                    facts.version if v == number and o.uscc in missing else v
                    for v, o in zip(chosen_versions, rows, strict=True)
                ]
            con.unregister("outcomes")
            table = table.set_column(3, "v", pa.array(chosen_versions, pa.int64()))
            con.register("outcomes", table)
            frame = _frame(con, chosen, {n: versions[n] for n in set(chosen_versions)})
        finally:
            con.close()
    names = [f.fact for f in chosen]
    pit = sum(1 for v in chosen_versions if v != facts.version)
    categorical = [f.fact for f in chosen if f.type in cards.CATEGORICAL_TYPES]
    X, y = frame[names], frame["defaulted"].astype(int).to_numpy()
    try:
        X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=HOLDOUT, stratify=y, random_state=SEED)
        # rare flags matter in credit (3 % dishonest debtors): bins down to 1 % of the sample, not 5 %
        process = BinningProcess(names, categorical_variables=categorical, min_prebin_size=MIN_BIN_SHARE)
        model = Scorecard(
            binning_process=process, estimator=LogisticRegression(max_iter=1000), scaling_method="min_max",
            scaling_method_params={"min": SCALE[0], "max": SCALE[1]}, reverse_scorecard=False, rounding=True,
        )  # fmt: skip
        with warnings.catch_warnings():
            # pandas' deprecation notices about optbinning's own code: nothing we can act on
            warnings.filterwarnings("ignore", module=r"optbinning\..*")
            model.fit(X_train, y_train)
            detailed = model.table(style="detailed")
        fitted_process = model.binning_process_
    except (ValueError, RuntimeError) as exc:
        raise FitFailed(f"评分卡拟合失败：{str(exc).splitlines()[0]}") from None
    proba = model.predict_proba(X_test)[:, 1]
    test_scores = np.asarray(model.score(X_test))
    metrics, charts = _charts(test_scores, y_test, proba)
    train_bins = fitted_process.transform(X_train, metric="bins")
    test_bins = fitted_process.transform(X_test, metric="bins")
    metrics["iv"] = {n: _iv(_column(test_bins, n, i), y_test) for i, n in enumerate(names)}
    metrics["iv_train"] = {n: _iv(_column(train_bins, n, i), y_train) for i, n in enumerate(names)}
    train_scores = np.asarray(model.score(X_train))
    edges = sorted({float(e) for e in np.quantile(train_scores, [i / 10 for i in range(1, 10)])})
    expected = np.histogram(train_scores, bins=[-np.inf, *edges, np.inf])[0] / len(train_scores)
    # np.histogram's bins are [a, b): the same "score < edge" buckets the run's PSI uses
    latest = select(func.max(FinanceModelVersion.version)).where(FinanceModelVersion.model_id == model_id)
    number = (session.scalar(latest) or 0) + 1
    card_data: dict[str, Any] = {
        "id": model_id,
        "version": number,
        "kind": "fitted",
        "title": f"拟合评分卡 {model_id} 第 {number} 版",
        "description": (
            f"以 {len(rows)} 条贷款结果（违约 {int(y.sum())} 条）拟合：最优分箱 + 逻辑回归（optbinning），"
            f"分值按 min_max 映射到 {SCALE[0]}—{SCALE[1]} 分（越高越好）；中性分为训练样本的平均分。"
        ),
        "scale": {"base": 0, "min": SCALE[0], "max": SCALE[1]},
        "grades": [{"grade": g.grade, "min": g.min} for g in expert.grades],
        "reasons": {"top": expert.reasons_top},
        "dimensions": [
            {
                "id": d.id,
                "title": d.title,
                "features": [
                    _card_feature(f, detailed, fitted_process.get_binned_variable(f.fact))
                    for f in d.features
                    if f.fact in names
                ],
            }
            for d in expert.dimensions
            if any(f.fact in names for f in d.features)
        ],
    }
    text = yaml.safe_dump(card_data, allow_unicode=True, sort_keys=False)
    fitted = cards.parse_card(text, source=f"拟合评分卡 {model_id}")
    metrics["card_agreement"] = card_agreement(fitted, X_train, train_scores)
    training = {
        "outcomes": len(rows),
        "defaulted": int(y.sum()),
        "train": int(len(y_train)),
        "holdout": int(len(y_test)),
        "seed": SEED,
        "facts_version": facts.version,
        "facts_year": facts_year,
        # point in time: rows read from the facts version of their decision day, the rest from the current
        "as_of_rows": sum(1 for o in rows if o.as_of is not None),
        "earlier_facts_rows": pit,
        "current_facts_rows": len(rows) - pit,
        "facts_versions": sorted(set(chosen_versions)),
        "observed_from": min(observed) if observed else None,
        "observed_to": max(observed) if observed else None,
        "supplied_by": supplied_by,
        "features": names,
        "expert_digest": expert.digest,
        "psi_edges": edges,
        "psi_expected": [round(float(v), 6) for v in expected],
    }
    version = service.register_card(session, fitted, actor=actor, metrics=metrics, charts=charts, training=training)
    audit.record_later(
        session,
        actor,
        audit.Event(
            "credit.fit", version=facts.version, rows=len(rows),
            details={"model": model_id, "model_version": number, "auc": metrics["auc"], "ks": metrics["ks"],
                     "supplied_by": supplied_by},
        ),
    )  # fmt: skip
    run = service.run_scoring(session, actor, home=home, model=model_id, via="fit") if score else None
    session.refresh(version)
    return FitRead(model=ModelVersionRead.model_validate(version), run=run)
