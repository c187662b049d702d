"""The demo city's data market: four listed products with their price plans, so the marketplace,
the price list and the operator's review pages have something to show from the start — built by the
operator (华通) on open and finance-zone data and by the data merchant under its sandbox grant,
reviewed by the platform administrator (nobody reviews their own submission), their public notice
replayed as having ended. The report product delivers a real PDF: the scenic spots counted by district
and level from the table itself (through the SQL read path, as the operator), rendered with
ReportLab. Idempotent: products already there are left as they are."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
from sqlalchemy.orm import Session

from pubdata.access.service import beijing_today
from pubdata.authz import Actor
from pubdata.market import reports
from pubdata.market import service as market
from pubdata.market.schemas import ContractIn, PlanIn, ProductIn, ReviewIn
from pubdata.store.query.sql import run_sql

NOTICE_DAYS = 7


@dataclass(frozen=True)
class DemoProduct:
    provider: str  # "operator" | "merchant"
    anchor: str  # the demo anchor entry it is built on
    product: dict  # ProductIn fields without resource_id
    plans: tuple[PlanIn, ...]


PRODUCTS: tuple[DemoProduct, ...] = (
    DemoProduct(
        "operator", "tax_credit",
        {"code": "tax-grade-a-verify", "kind": "verification", "title": "企业纳税信用A级核验",
         "description": "提交统一社会信用代码，答复该企业最近一次纳税信用评价是否为A级；不返回任何其他数据。",
         "scenario": "shipping_trade_finance", "zone": "finance", "sample": "91370212MA3C…（提交）→ 匹配 / 不匹配",
         "update_frequency": "每年", "coverage": "青岛市全市纳税人", "licence": "仅限本机构业务使用",
         "terms": "不得转售、不得用于个人征信", "requires_approval": True,
         "contract": ContractIn(key_field="uscc", predicate="credit_grade = 'A'", daily_call_quota=20_000)},
        (PlanIn(code="per-call", title="按次计费", kind="per_call", unit_price_fen=50, free_quota=100,
                monthly_cap_fen=200_000),
         PlanIn(code="volume", title="阶梯计费", kind="tiered",
                tiers=[{"up_to": 10_000, "unit_price_fen": 50}, {"up_to": None, "unit_price_fen": 30}],
                monthly_cap_fen=500_000)),
    ),
    DemoProduct(
        "operator", "bus_routes",
        {"code": "bus-routes-api", "kind": "api", "title": "公交线路与站点数据接口",
         "description": "全市公交线路、站点名称、经纬度与运营时间，按接口分页调用。",
         "scenario": "transport", "sample": "1路 | 青岛火车站—海泊桥 | 栈桥 | 120.31 | 36.06 | 05:30-22:00",
         "update_frequency": "每月", "coverage": "青岛市全部公交线路", "licence": "CC BY 4.0",
         "terms": "注明数据来源", "requires_approval": False,
         "contract": ContractIn(fields=["route_no", "route_name", "stop_name", "longitude", "latitude", "open_hours"],
                                daily_call_quota=50_000, rate_per_minute=600)},
        (PlanIn(code="public-interest", title="公益免费", kind="free", public_interest_only=True),
         PlanIn(code="annual", title="商业年度订阅", kind="subscription", price_fen=120_000, term_months=12)),
    ),
    DemoProduct(
        "operator", "scenic_spots",
        {"code": "scenic-report", "kind": "report", "title": "文旅景区分布分析报告",
         "description": "按区（市）和景区等级统计全市景区分布与开放时间，附地图。",
         "scenario": "culture_tourism", "sample": "崂山区：5A 1 处、4A 6 处……",
         "update_frequency": "每季度", "coverage": "青岛市A级景区", "licence": "仅限本机构使用",
         "terms": "报告内容不得公开转载", "requires_approval": False,
         "contract": ContractIn(fields=["scenic_name", "scenic_level", "district"])},
        (PlanIn(code="one-off", title="单次购买", kind="one_off", price_fen=800_000),),
    ),
    DemoProduct(
        "merchant", "outpatient_visits",
        {"code": "outpatient-sandbox", "kind": "sandbox", "title": "门诊就诊聚合统计（沙箱）",
         "description": "在隐私计算沙箱中按医院、月份、诊断类别做聚合统计，不返回明细。",
         "scenario": "medical", "zone": "medical", "sample": "2025-06 | 青岛市市立医院 | 就诊人次 12,345",
         "update_frequency": "每月", "coverage": "全市二级以上医院门诊", "licence": "仅限批准用途",
         "terms": "须声明用途并经审核；结果受差分隐私预算约束", "requires_approval": True,
         "contract": ContractIn(fields=["hospital_name", "visit_date", "diagnosis_code", "total_cost"],
                                daily_call_quota=500)},
        (PlanIn(code="quarter", title="季度订阅", kind="subscription", price_fen=500_000, term_months=3),),
    ),
)  # fmt: skip


CJK = "STSong-Light"  # ReportLab's built-in CID font: the reader supplies the glyphs


def scenic_report_pdf(session: Session, actor: Actor, rid: str, *, home: Path, on: date) -> bytes:
    """The scenic-spots report: spots per district and level, counted from the table by ``actor``."""
    sql = f'SELECT district, scenic_level, count(*) AS n FROM "{rid}" GROUP BY 1, 2 ORDER BY 1, 2'
    counts = run_sql(session, actor, sql, home=home).table.to_pylist()
    if CJK not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(CJK))
    body = ParagraphStyle("body", fontName=CJK, fontSize=10.5, leading=16, wordWrap="CJK")
    title = ParagraphStyle("title", parent=body, fontSize=18, leading=26, alignment=1)
    rows = [["区（市）", "景区等级", "景区数"]] + [[r["district"], r["scenic_level"], str(r["n"])] for r in counts]
    table = Table(rows, colWidths=[160, 120, 80], repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, -1), CJK),
                ("GRID", (0, 0), (-1, -1), 0.5, "#90a4ae"),
                ("BACKGROUND", (0, 0), (-1, 0), "#eceff1"),
                ("ALIGN", (2, 0), (2, -1), "RIGHT"),
            ]
        )
    )
    total = sum(r["n"] for r in counts)
    out = io.BytesIO()
    SimpleDocTemplate(out, pagesize=A4, title="文旅景区分布分析报告", author="pubdata 演示城市").build([
        Paragraph("文旅景区分布分析报告", title), Spacer(0, 12),
        Paragraph(f"编制日期：{on.isoformat()}　数据来源：全市A级景区名录（公共数据开放平台）", body), Spacer(0, 8),
        Paragraph(f"全市共有景区 {total} 处，按区（市）和景区等级分布如下。", body), Spacer(0, 8), table,
    ])  # fmt: skip
    return out.getvalue()


def apply(session: Session, actors: dict[str, Actor], resource_of: dict[str, str | None], *, home: Path) -> int:
    """List the demo products not there yet (``actors``: operator, merchant, admin; ``resource_of``:
    anchor → its records table's resource id, None while not loaded); how many are listed."""
    reviewer = actors["admin"]
    today = beijing_today()
    reviewed_on = today - timedelta(days=NOTICE_DAYS + 30)
    for spec in PRODUCTS:
        provider = actors[spec.provider]
        have = {p.code for p in market.list_products(session, provider, mine=True)}
        rid = resource_of.get(spec.anchor)
        if spec.product["code"] in have or rid is None:
            continue
        made = market.create_product(session, provider, ProductIn(resource_id=rid, **spec.product))
        for plan in spec.plans:
            market.add_plan(session, provider, made.id, plan)
        if made.kind == "report":
            pdf = scenic_report_pdf(session, provider, rid, home=home, on=today)
            staged = reports.stage_bytes(home, f"{made.title}.pdf", pdf, len(pdf))
            reports.add_report(session, provider, made.id, staged, note="正式版", home=home)
        market.submit(session, provider, made.id)
        approve = ReviewIn(action="approve", reason="材料齐全，同意公示", notice_days=NOTICE_DAYS)
        market.review(session, reviewer, made.id, approve, on=reviewed_on)
        market.list_product(session, reviewer, made.id, on=reviewed_on + timedelta(days=NOTICE_DAYS + 1))
    return len(market.list_products(session, reviewer, state="listed"))
