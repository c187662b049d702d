"""信用评分 pages (Simplified Chinese, server-rendered):

* ``/credit`` — an enterprise's own credit page (the operator: a form to open any enterprise's);
* ``/credit/{uscc}`` — the credit page: score, grade on the scale with its cut-offs, points per
  dimension and feature, the top reasons raising and lowering it, the score over the runs, and "who
  read my report under which consent" (each consent's reads). The enterprise's own users and the
  operator; everyone else "not found" (``finance.service.score_enterprise`` decides);
* ``/credit/models`` — the operator's scorecard charts: per card version, a fitted card's AUC, Gini,
  KS and IV per feature with its hold-out score distribution, ROC and KS curves and PSI over time;
  the expert card's latest score distribution and grade counts;
* ``/finance/report`` and ``/finance/report/{uscc}`` — the bank's side: the consents it holds, and a
  report rendered from ``finance.report.credit_report`` (refused, with the reason in Chinese, without
  a live consent covering the sections).

Charts are inline SVG drawn here from the chart data the finance service stores: no script, no
external file (the Content-Security-Policy allows no inline script anyway).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from pubdata.api.deps import DB, Home
from pubdata.authz import Permission
from pubdata.enterprise import service as enterprise
from pubdata.errors import Forbidden
from pubdata.finance import report as reports
from pubdata.finance import service as credit
from pubdata.finance.consent import service as consents
from pubdata.finance.consent.errors import ConsentRequired, InvalidConsent
from pubdata.finance.consent.schemas import SECTIONS
from pubdata.finance.errors import ScoreNotFound, ScoresNotRun
from pubdata.finance.schemas import ModelVersionRead, ScoreRunRead
from pubdata.web.access_forms import NO_STORE, login_redirect
from pubdata.web.deps import ViewerDep
from pubdata.web.finance_pages import CONSENT_STATUS, USE_RESULTS, finance_page
from pubdata.web.templating import Viewer, render

router = APIRouter(include_in_schema=False)

GRADE_CLASS = {"AAA": "g-a", "AA": "g-a", "A": "g-a", "BBB": "g-b", "BB": "g-b", "B": "g-b", "CCC": "g-c",
               "CC": "g-c", "C": "g-c"}  # fmt: skip
IV_STRENGTH = ((0.3, "强"), (0.1, "中等"), (0.02, "弱"), (float("-inf"), "无效"))
PSI_READING = ((0.25, "显著偏移，建议重新拟合"), (0.1, "中等偏移"), (float("-inf"), "稳定"))


# --- inline SVG charts ------------------------------------------------------------------------------


@dataclass
class Chart:
    """A chart as plain geometry for the ``svg_chart`` macro: plot area, ticks, bars, lines, marks."""

    label: str
    width: int = 560
    height: int = 240
    left: int = 52
    right: int = 14
    top: int = 14
    bottom: int = 40
    x_ticks: list[tuple[float, str]] = field(default_factory=list)
    y_ticks: list[tuple[float, str]] = field(default_factory=list)
    bars: list[tuple[float, float, float, float, str, str]] = field(default_factory=list)  # x y w h class title
    lines: list[tuple[str, str]] = field(default_factory=list)  # points, class
    dots: list[tuple[float, float, str, str]] = field(default_factory=list)  # x y class title
    marks: list[tuple[float, float, float, float, str, str]] = field(default_factory=list)  # x1 y1 x2 y2 class text
    legend: list[tuple[str, str]] = field(default_factory=list)  # class, label
    x_title: str = ""
    y_title: str = ""

    @property
    def plot_right(self) -> int:
        return self.width - self.right

    @property
    def plot_bottom(self) -> int:
        return self.height - self.bottom

    def x(self, value: float, lo: float, hi: float) -> float:
        span = (hi - lo) or 1
        return round(self.left + (value - lo) / span * (self.plot_right - self.left), 1)

    def y(self, value: float, lo: float, hi: float) -> float:
        span = (hi - lo) or 1
        return round(self.plot_bottom - (value - lo) / span * (self.plot_bottom - self.top), 1)


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10_000, 20_000, 50_000, 100_000):
        if value <= step * 4:
            return float(step * 4)
    return float(value)


def _count_ticks(chart: Chart, top: float) -> None:
    chart.y_ticks = [(chart.y(top * i / 4, 0, top), f"{round(top * i / 4):,}") for i in range(5)]


def _score_ticks(chart: Chart, lo: int, hi: int) -> None:
    step = 100 if hi - lo > 300 else 50
    chart.x_ticks = [(chart.x(v, lo, hi), str(v)) for v in range(lo, hi + 1, step)]


def distribution_chart(buckets: list[dict[str, int]], lo: int, hi: int, width: int, label: str) -> Chart:
    """Score buckets as bars: ``{"from", "count"}``, or good and bad stacked (``{"from", "good", "bad"}``)."""
    chart = Chart(label=label, x_title="分数", y_title="企业数")
    stacked = any("bad" in b for b in buckets)
    totals = [int(b.get("good", 0)) + int(b.get("bad", 0)) if stacked else int(b.get("count", 0)) for b in buckets]
    top = _nice_max(max(totals, default=0))
    _count_ticks(chart, top)
    _score_ticks(chart, lo, hi)
    for b in buckets:
        start = int(b["from"])
        end = min(start + width, hi)
        x0, x1 = chart.x(start, lo, hi), chart.x(end, lo, hi)
        w = max(x1 - x0 - 1, 1)
        base = 0
        parts = [("good", "bar-good", "正常"), ("bad", "bar-bad", "违约")] if stacked else [("count", "bar-all", "")]
        for key, css, word in parts:
            n = int(b.get(key, 0))
            if n <= 0:
                continue
            y_top, y_base = chart.y(base + n, 0, top), chart.y(base, 0, top)
            title = f"{start}—{end} 分：{word}{n:,} 家" if word else f"{start}—{end} 分：{n:,} 家"
            chart.bars.append((x0, y_top, w, round(y_base - y_top, 1), css, title))
            base += n
    if stacked:
        chart.legend = [("bar-good", "正常"), ("bar-bad", "违约")]
    return chart


def _polyline(chart: Chart, xs: list[float], ys: list[float], x_range: tuple[float, float], y_range=(0.0, 1.0)) -> str:  # type: ignore[no-untyped-def]
    return " ".join(f"{chart.x(x, *x_range)},{chart.y(y, *y_range)}" for x, y in zip(xs, ys, strict=False))


def _share_ticks(chart: Chart) -> None:
    chart.y_ticks = [(chart.y(v / 4, 0, 1), f"{v * 25}%") for v in range(5)]


def roc_chart(points: list[list[float]], auc: float | None) -> Chart:
    chart = Chart(label=f"ROC 曲线（AUC {auc}）", width=420, height=320, x_title="误报率（正常被判为违约）",
                  y_title="命中率（违约被识别）")  # fmt: skip
    _share_ticks(chart)
    chart.x_ticks = [(chart.x(v / 4, 0, 1), f"{v * 25}%") for v in range(5)]
    chart.lines.append((_polyline(chart, [0, 1], [0, 1], (0, 1)), "line-ref"))
    chart.lines.append((_polyline(chart, [p[0] for p in points], [p[1] for p in points], (0, 1)), "line-main"))
    chart.legend = [("line-main", f"评分卡（AUC {auc}）"), ("line-ref", "随机（AUC 0.5）")]
    return chart


def ks_chart(ks: dict[str, Any], lo: int, hi: int) -> Chart:
    chart = Chart(label=f"KS 曲线（KS {ks.get('max')}）", x_title="分数（不高于）", y_title="累计占比")
    _share_ticks(chart)
    _score_ticks(chart, lo, hi)
    scores = [float(s) for s in ks.get("score", [])]
    chart.lines.append((_polyline(chart, scores, list(ks.get("bad", [])), (lo, hi)), "line-bad"))
    chart.lines.append((_polyline(chart, scores, list(ks.get("good", [])), (lo, hi)), "line-good"))
    at = ks.get("at_score")
    if at is not None:
        x = chart.x(float(at), lo, hi)
        chart.marks.append((x, chart.top, x, chart.plot_bottom, "mark-ks", f"KS {ks.get('max')}（{at:g} 分）"))
    chart.legend = [("line-bad", "违约企业累计占比"), ("line-good", "正常企业累计占比"), ("mark-ks", "最大差距（KS）")]
    return chart


def psi_chart(history: list[dict[str, Any]]) -> Chart:
    chart = Chart(label="PSI 随时间变化", x_title="评分批次", y_title="PSI")
    values = [float(p.get("psi") or 0) for p in history]
    top = max(0.3, max(values, default=0) * 1.15)
    chart.y_ticks = [(chart.y(top * i / 4, 0, top), f"{top * i / 4:.2f}") for i in range(5)]
    n = len(history)
    slot = (chart.plot_right - chart.left) / max(n, 1)
    for i, (p, v) in enumerate(zip(history, values, strict=True)):
        bar = min(slot * 0.6, 36.0)
        x = chart.left + i * slot + (slot - bar) / 2
        y = chart.y(v, 0, top)
        css = "bar-bad" if v >= 0.25 else ("bar-warn" if v >= 0.1 else "bar-good")
        title = f"第 {p.get('run')} 次评分（企业档案第 {p.get('facts_version')} 版）：PSI {v:.4f}"
        chart.bars.append((round(x, 1), y, round(bar, 1), round(chart.plot_bottom - y, 1), css, title))
        chart.x_ticks.append((round(x + bar / 2, 1), f"第{p.get('run')}次"))
    for threshold, css in ((0.1, "mark-warn"), (0.25, "mark-bad")):
        y = chart.y(threshold, 0, top)
        chart.marks.append((chart.left, y, chart.plot_right, y, css, f"{threshold}"))
    chart.legend = [("mark-warn", "0.1：中等偏移"), ("mark-bad", "0.25：显著偏移")]
    return chart


def history_chart(points: list[credit.ScorePoint], lo: int, hi: int) -> Chart:
    chart = Chart(label="信用评分变化", x_title="评分日期", y_title="分数")
    chart.y_ticks = [(chart.y(v, lo, hi), str(v)) for v in range(lo, hi + 1, 100)]
    n = len(points)
    xs = [chart.left + (i + 0.5) * (chart.plot_right - chart.left) / max(n, 1) for i in range(n)]
    chart.lines.append((" ".join(f"{round(x, 1)},{chart.y(p.score, lo, hi)}" for x, p in zip(xs, points, strict=True)),
                        "line-main"))  # fmt: skip
    for x, p in zip(xs, points, strict=True):
        when = p.scored_at.strftime("%m-%d") if p.scored_at else "—"
        chart.dots.append((round(x, 1), chart.y(p.score, lo, hi), "dot-main", f"{when}：{p.score} 分（{p.grade}）"))
        chart.x_ticks.append((round(x, 1), when))
    return chart


def scale_bands(grades: list[Any], lo: int, hi: int) -> list[dict[str, Any]]:
    """The grade bands along the scale, lowest first: grade, from, to, left % and width %."""
    cuts = sorted(((g.grade, g.min) for g in grades), key=lambda g: g[1])
    bands = []
    for i, (grade, start) in enumerate(cuts):
        end = cuts[i + 1][1] if i + 1 < len(cuts) else hi
        start = max(start, lo)
        bands.append({
            "grade": grade, "from": start, "to": end, "css": GRADE_CLASS.get(grade, "g-b"),
            "left": round((start - lo) / (hi - lo) * 100, 2), "width": round((end - start) / (hi - lo) * 100, 2),
        })  # fmt: skip
    return bands


# --- shared -------------------------------------------------------------------------------------------


def _page(request: Request, template: str, context: dict[str, Any], *, status_code: int = 200) -> HTMLResponse:
    return render(request, template, {"nav": "credit", **context}, status_code=status_code, headers=NO_STORE)


def _when(value: Any) -> datetime | None:
    """A stored ISO timestamp (UTC) as a datetime for the ``shanghai`` filter."""
    try:
        return datetime.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def _iv_rows(metrics: dict[str, Any]) -> list[dict[str, Any]]:
    titles = {f.name: f.title for f in enterprise.fact_catalogue()}
    iv, iv_train = metrics.get("iv") or {}, metrics.get("iv_train") or {}
    rows = []
    for name, value in sorted(iv.items(), key=lambda kv: -float(kv[1] or 0)):
        strength = next(word for floor, word in IV_STRENGTH if float(value or 0) >= floor)
        rows.append({"fact": name, "title": titles.get(name, name), "iv": value, "iv_train": iv_train.get(name),
                     "strength": strength})  # fmt: skip
    return rows


# --- the enterprise's credit page ---------------------------------------------------------------------


@router.get("/credit", response_class=HTMLResponse)
def credit_home(request: Request, session: DB, viewer: ViewerDep, home: Home, uscc: str = "") -> Response:
    """The enterprise's own credit page; the operator opens any enterprise's by its credit code."""
    if not viewer.signed_in:
        return login_redirect(request)
    actor = viewer.actor
    if actor.can(Permission.FINANCE_SCORE_READ_ANY):
        code = uscc.strip().upper()
        if code:
            return RedirectResponse(f"/credit/{code}", status_code=303)
        return _page(request, "credit/lookup.html", {})
    own = enterprise.own_uscc(session, actor)
    if actor.can(Permission.FINANCE_SCORE_READ) and own:
        return _credit_page(request, session, viewer, own, home=home)
    if actor.can(Permission.FINANCE_REPORT_READ):
        return RedirectResponse("/finance/report", status_code=303)
    raise Forbidden("只有企业用户可以查看本企业的信用评分")


@router.get("/credit/models", response_class=HTMLResponse)
def credit_models(request: Request, session: DB, viewer: ViewerDep) -> Response:
    """The operator's scorecard charts: every card version with its metrics and charts."""
    if not viewer.signed_in:
        return login_redirect(request)
    models = credit.list_models(session, viewer.actor)  # the operator's right (read-any)
    runs = credit.list_runs(session, viewer.actor, limit=500)
    return _page(request, "credit/models.html", {"cards": [_card_view(m, runs) for m in models]})


def _card_view(model: ModelVersionRead, runs: list[ScoreRunRead]) -> dict[str, Any]:
    mine = [r for r in runs if r.model_version_id == model.id and r.state == "done"]
    latest = mine[0] if mine else None
    view: dict[str, Any] = {"model": model, "runs": mine[:10], "latest": latest, "charts": {}}
    lo, hi = 300, 900
    if latest is not None and latest.charts:
        view["charts"]["latest"] = distribution_chart(
            list(latest.charts.get("distribution") or []), lo, hi, int(latest.charts.get("bucket") or 20),
            f"第 {latest.id} 次评分的分数分布",
        )  # fmt: skip
        total = sum(latest.grades.values()) or 1
        view["grades"] = [(g, n, round(n / total * 100, 1)) for g, n in latest.grades.items()]
    if model.kind == "fitted":
        metrics, charts = model.metrics or {}, model.charts or {}
        view["metrics"] = metrics
        view["iv"] = _iv_rows(metrics)
        dist = charts.get("distribution") or {}
        if dist.get("buckets"):
            view["charts"]["holdout"] = distribution_chart(
                list(dist["buckets"]), lo, hi, int(dist.get("bucket") or 20), "验证样本的分数分布（正常/违约）"
            )
        if charts.get("roc"):
            view["charts"]["roc"] = roc_chart(list(charts["roc"]), metrics.get("auc"))
        if charts.get("ks"):
            view["charts"]["ks"] = ks_chart(dict(charts["ks"]), lo, hi)
        psi = list(charts.get("psi") or [])
        view["psi"] = [
            {**p, "at": _when(p.get("at")), "reading": next(w for f, w in PSI_READING if float(p.get("psi") or 0) >= f)}
            for p in psi
        ]
        if psi:
            view["charts"]["psi"] = psi_chart(psi)
    return view


@router.get("/credit/{uscc}", response_class=HTMLResponse)
def credit_page(request: Request, uscc: str, session: DB, viewer: ViewerDep, home: Home) -> Response:
    """One enterprise's credit page: its own users and the operator; "not found" for everyone else."""
    if not viewer.signed_in:
        return login_redirect(request)
    return _credit_page(request, session, viewer, uscc.strip().upper(), home=home)


def _credit_page(request: Request, session: Session, viewer: Viewer, code: str, *, home: Any) -> HTMLResponse:
    actor = viewer.actor
    note = ""
    score = None
    if not credit.may_read(session, actor, code):
        credit.score_enterprise(session, actor, code, home=home)  # refuses: "not found", audited
    try:
        score = credit.score_enterprise(session, actor, code, home=home)
    except ScoresNotRun:
        note = "平台尚未完成信用评分，请稍后再来查看。"
    except ScoreNotFound:
        if not actor.can(Permission.FINANCE_SCORE_READ) or actor.can(Permission.FINANCE_SCORE_READ_ANY):
            raise
        note = "最近一次信用评分中没有本企业（企业档案中可能还没有本企业的记录）。"
    history = credit.score_history(session, actor, code, home=home)
    lo, hi = (score.scale.min, score.scale.max) if score is not None else (300, 900)
    given = consents.list_consents(session, actor, uscc=code)
    consent_rows = [{"consent": c, "uses": consents.consent_uses(session, actor, c.id)} for c in given]
    context = {
        "uscc": code,
        "name": score.name if score is not None else "",
        "score": score,
        "note": note,
        "bands": scale_bands(score.grades, lo, hi) if score is not None else [],
        "marker": round((score.score - lo) / (hi - lo) * 100, 2) if score is not None else 0,
        "history": history,
        "history_chart": history_chart(history, lo, hi) if len(history) > 1 else None,
        "consents": consent_rows,
        "sections": SECTIONS,
        "status_labels": CONSENT_STATUS,
        "use_results": USE_RESULTS,
        "own": enterprise.own_uscc(session, actor) == code,
    }
    return _page(request, "credit/enterprise.html", context)


# --- the bank's side: the report under consent ---------------------------------------------------------


@router.get("/finance/report", response_class=HTMLResponse)
def bank_reports(request: Request, session: DB, viewer: ViewerDep) -> Response:
    """The consents naming the viewer's bank, each live one with a link to the report it opens."""
    if not viewer.signed_in:
        return login_redirect(request)
    if not viewer.actor.can(Permission.FINANCE_REPORT_READ):
        raise Forbidden("只有金融专区的银行可以在企业授权下查看信用报告")
    rows = consents.list_consents(session, viewer.actor)
    context = {"consents": rows, "status_labels": CONSENT_STATUS, "sections": SECTIONS}
    return finance_page(request, viewer, "credit/bank_reports.html", context, tab="report")


@router.get("/finance/report/{uscc}", response_class=HTMLResponse)
def bank_report(
    request: Request, uscc: str, session: DB, viewer: ViewerDep, home: Home, sections: str = ""
) -> Response:
    """An enterprise's credit report as ``credit_report`` gives it to the viewer: a bank only under a
    live consent (otherwise 403 with the reason), the enterprise its own."""
    if not viewer.signed_in:
        return login_redirect(request)
    code = uscc.strip().upper()
    wanted = [s for s in sections.split(",") if s.strip()] or None
    context: dict[str, Any] = {"uscc": code, "refusal": "", "report": None, "sections": SECTIONS}
    try:
        context["report"] = reports.credit_report(session, viewer.actor, code, wanted, home=home)
    except (ConsentRequired, InvalidConsent) as exc:
        context["refusal"] = exc.message
        status = 403 if isinstance(exc, ConsentRequired) else 422
        return finance_page(request, viewer, "credit/report.html", context, tab="report", status_code=status)
    return finance_page(request, viewer, "credit/report.html", context, tab="report")
