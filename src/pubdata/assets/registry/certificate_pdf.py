"""The registration certificate (数据资产登记证书) as a PDF, rendered with ReportLab.

Chinese text uses ReportLab's built-in CID font ``STSong-Light`` (Adobe-GB1): the PDF names the font
and a reader supplies its glyphs, so nothing has to be installed where the PDF is made. The code,
the USCCs, the fingerprint and the URL are set in the standard fonts (Helvetica, Courier) so they stay
copyable and searchable as plain text; the fingerprint is kept on one line. A QR code of the
verification URL is drawn with ReportLab's own QR widget (no network, no other library)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import date
from xml.sax.saxutils import escape

from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from pubdata.assets.registry.schemas import Certificate

CJK = "STSong-Light"
MONO = "Courier"
LATIN = "Helvetica"
QR_SIZE = 34 * mm


def _register_font() -> None:
    if CJK not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(CJK))


def _styles() -> dict[str, ParagraphStyle]:
    base = ParagraphStyle("base", fontName=CJK, fontSize=10, leading=14, wordWrap="CJK")
    return {
        "base": base,
        "title": ParagraphStyle("title", parent=base, fontSize=22, leading=30, alignment=1, spaceAfter=4),
        "subtitle": ParagraphStyle("subtitle", parent=base, fontSize=10, alignment=1, textColor=colors.grey),
        "label": ParagraphStyle("label", parent=base, textColor=colors.HexColor("#37474f")),
        "mono": ParagraphStyle("mono", parent=base, fontName=MONO, fontSize=8.2, leading=12, wordWrap=None),
        "code": ParagraphStyle("code", parent=base, fontName=LATIN, fontSize=13, leading=18),
        "small": ParagraphStyle("small", parent=base, fontSize=8.5, leading=12, textColor=colors.grey),
        "status": ParagraphStyle("status", parent=base, fontSize=12, leading=16),
    }


def _text(value: object) -> str:
    return escape(str(value)) if value not in (None, "") else "—"


def _latin(value: str) -> str:
    """ASCII (codes, USCCs, URLs) in Helvetica inside a CJK paragraph."""
    return f'<font name="{LATIN}">{escape(value)}</font>'


def _day(value: date | None) -> str:
    return f"{value.year} 年 {value.month} 月 {value.day} 日" if value else "—"


def _qr(url: str) -> Flowable:
    widget = QrCodeWidget(url, barLevel="M")
    x0, y0, x1, y1 = widget.getBounds()
    drawing = Drawing(QR_SIZE, QR_SIZE, transform=[QR_SIZE / (x1 - x0), 0, 0, QR_SIZE / (y1 - y0), 0, 0])
    drawing.add(widget)
    return drawing


def _rows(cert: Certificate, url: str, s: dict[str, ParagraphStyle]) -> list[Sequence[object]]:
    def p(text: str, style: str = "base") -> Paragraph:
        return Paragraph(text, s[style])

    holder = f"{_text(cert.holder_name)}<br/>统一社会信用代码：{_latin(cert.holder_uscc)}"
    rows: list[Sequence[object]] = [
        (p("登记编号", "label"), p(escape(cert.code), "code")),
        (p("登记类型", "label"), p(_text(cert.kind_label))),
        (p("登记主体（权利人）", "label"), p(holder)),
    ]
    if cert.counterparty_name:
        role = "出让方" if cert.kind == "transfer" else "被许可方"
        other = f"{_text(cert.counterparty_name)}<br/>统一社会信用代码：{_latin(cert.counterparty_uscc or '—')}"
        rows.append((p(role, "label"), p(other)))
    rights = "、".join(cert.rights_labels)
    if cert.licence_until:
        rights += f"（许可期限至 {_day(cert.licence_until)}）"
    rows += [
        (p("登记权利", "label"), p(_text(rights))),
        (p("登记对象", "label"), p(f"{_text(cert.title)}（{_text(cert.subject_label)}）")),
        (p("数据规模", "label"),
         p(f"{cert.rows:,} 行 × {len(cert.field_names)} 个字段；目录 {_latin(cert.entry_code)}，第 {cert.version} 版")),
        (p("覆盖范围", "label"), p(_text(cert.coverage))),
        (p("更新频率", "label"), p(_text(cert.update_frequency))),
        (p("应用场景", "label"), p(_text(cert.scenario_label))),
        (p("分类分级", "label"), p(_text(cert.classification_label))),
        (p("来源及合法性依据", "label"),
         p("<br/>".join(f"{_latin(x.entry)} {_text(x.title)}：{_text(x.basis_label)}" for x in cert.sources) or "—")),
        (p("数据指纹", "label"),
         p(f"{escape(cert.fingerprint)}<br/>{escape(cert.fingerprint_algorithm)} · {escape(cert.canonical_form)}",
           "mono")),
        (p("公示期", "label"),
         p(f"{_day(cert.notice_from)} 至 {_day(cert.notice_until)}；收到异议 {cert.objections_filed} 项")),
        (p("登记日期", "label"), p(_day(cert.registered_on))),
        (p("证书状态", "label"), p(f"<b>{_text(cert.status_label)}</b>（以查验结果为准）", "status")),
        (p("登记机构", "label"), p(_text(cert.registrar))),
    ]  # fmt: skip
    if len(cert.chain) > 1:
        chain = "<br/>".join(
            f"{_latin(c.code or '—')} {_text(c.kind_label)} · {_text(c.state_label)} · {_text(c.holder_name)}"
            for c in cert.chain
        )
        rows.append((p("登记链", "label"), p(chain)))
    return rows


def render_certificate(cert: Certificate, verification_url: str) -> bytes:
    """The certificate as PDF bytes (A4): every datum of ``cert`` a reader relies on, the
    verification URL in words and as a QR code."""
    _register_font()
    s = _styles()
    out = io.BytesIO()
    doc = SimpleDocTemplate(
        out, pagesize=A4, leftMargin=18 * mm, rightMargin=18 * mm, topMargin=16 * mm, bottomMargin=16 * mm,
        title=f"数据资产登记证书 {cert.code}", author=cert.registrar, subject=cert.title,
    )  # fmt: skip
    width = A4[0] - 36 * mm
    table = Table(_rows(cert, verification_url, s), colWidths=[34 * mm, width - 34 * mm])
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.5, colors.HexColor("#b0bec5")),
                ("BACKGROUND", (0, 0), (0, -1), colors.HexColor("#eef3f8")),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("TOPPADDING", (0, 0), (-1, -1), 4),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
            ]
        )
    )
    verify = Table(
        [[_qr(verification_url),
          Paragraph(f"扫描二维码或访问以下地址查验本证书的真伪与当前状态：<br/>{_latin(verification_url)}<br/>"
                    "持有数据者可按证书所载规范形式自行计算数据指纹，与登记的指纹比对。", s["base"])]],
        colWidths=[QR_SIZE + 6 * mm, width - QR_SIZE - 6 * mm],
    )  # fmt: skip
    verify.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "MIDDLE")]))
    story: list[Flowable] = [
        Paragraph("数据资产登记证书", s["title"]),
        Paragraph(f"{escape(cert.registrar)} 颁发", s["subtitle"]),
        Spacer(1, 6 * mm),
        table,
        Spacer(1, 6 * mm),
        verify,
        Spacer(1, 4 * mm),
        Paragraph(
            "本证书依据公共数据资源登记管理规定出具，记载登记时的数据版本及其内容指纹；"
            "证书状态随后续变更、转移、注销登记而变化，以登记机构公开查验结果为准。",
            s["small"],
        ),
    ]
    doc.build(story)
    return out.getvalue()
