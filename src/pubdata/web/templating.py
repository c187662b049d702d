"""The portal's Jinja2 environment (autoescaped), its filters and the one ``render`` helper every
page goes through. Times are stored in UTC and shown in Asia/Shanghai; coded values are shown by
their Chinese labels from the catalogue vocabularies."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from pubdata import __version__
from pubdata.api.deps import SESSION_COOKIE
from pubdata.authz import ANONYMOUS, Actor, Role
from pubdata.catalog import vocab
from pubdata.identity.schemas import ORGANISATION_KIND_LABELS, OrganisationKind
from pubdata.store.table_schema import TYPE_LABELS

TEMPLATES = Path(__file__).parent / "templates"
SHANGHAI = ZoneInfo("Asia/Shanghai")
PLATFORM_NAME = "青岛市公共数据运营平台"

ROLE_LABELS: dict[str, str] = {
    Role.ADMIN: "平台管理员",
    Role.OPERATOR: "运营方",
    Role.DEPARTMENT: "数据提供方",
    Role.ENTERPRISE: "企业用户",
    Role.BANK: "金融机构",
    Role.DATA_MERCHANT: "数商",
    Role.APPRAISER: "评估机构",
    Role.REGULATOR: "监管部门",
    Role.FINANCE: "运营方财务",
    Role.TRUSTEE: "信托公司",
}

# Vocabulary name → code → label, for the ``label`` filter.
_VOCABS: dict[str, dict[str, vocab.Term]] = {
    "category": vocab.CATEGORY_BY_CODE,
    "open_type": vocab.OPEN_TYPE_BY_CODE,
    "security_grade": vocab.GRADE_BY_CODE,
    "update_frequency": vocab.FREQUENCY_BY_CODE,
    "personal_kind": vocab.PERSONAL_KIND_BY_CODE,
}


@dataclass(frozen=True)
class Viewer:
    """Who is looking at a page, as plain values (safe to use after the DB session has closed)."""

    actor: Actor = ANONYMOUS
    display_name: str = ""
    organisation_name: str = ""
    organisation_kind: str = ""
    roles: tuple[str, ...] = ()
    csrf_token: str = ""
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def signed_in(self) -> bool:
        return self.actor.user_id is not None


def to_shanghai(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:  # stored in UTC; a driver may hand it back naive
        value = value.replace(tzinfo=UTC)
    return value.astimezone(SHANGHAI)


def format_datetime(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    local = to_shanghai(value)
    return local.strftime(fmt) if local else "—"


def format_date(value: date | datetime | None) -> str:
    if value is None:
        return "—"
    if isinstance(value, datetime):
        return format_datetime(value, "%Y-%m-%d")
    return value.strftime("%Y-%m-%d")


def label(value: str | None, kind: str) -> str:
    if value is None or value == "":
        return "—"
    if kind == "role":
        return ROLE_LABELS.get(value, value)
    if kind == "field_type":  # the same words as the table page (文本、数值…)
        return TYPE_LABELS.get(value, value)
    if kind == "organisation_kind":
        try:
            return ORGANISATION_KIND_LABELS[OrganisationKind(value)]
        except ValueError:
            return value
    term = _VOCABS[kind].get(value)
    return term.label if term else value


def excerpt(text: str | None, length: int = 120) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= length else text[:length].rstrip() + "…"


def thousands(value: int | float) -> str:
    return f"{value:,}"


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html", "xml"], default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        shanghai=format_datetime, shanghai_date=format_date, label=label, excerpt=excerpt, thousands=thousands
    )
    env.globals.update(platform_name=PLATFORM_NAME, version=__version__)
    return env


ENV = _environment()


def viewer_of(request: Request) -> Viewer:
    viewer = getattr(request.state, "viewer", None)
    return viewer if isinstance(viewer, Viewer) else Viewer()


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """Render a template with the shared context (viewer, current path, the session cookie hint)."""
    ctx: dict[str, Any] = {
        "request": request,
        "viewer": viewer_of(request),
        "viewer_known": isinstance(getattr(request.state, "viewer", None), Viewer),
        "path": request.url.path,
        "has_session_cookie": SESSION_COOKIE in request.cookies,
        "nav": "",
    }
    ctx.update(context or {})
    html = ENV.get_template(template).render(ctx)
    response = HTMLResponse(html, status_code=status_code, headers=headers)
    _secure_headers(response)
    return response


def _secure_headers(response: HTMLResponse) -> None:
    # Scripts only from our own static files; charts set inline styles, hence 'unsafe-inline' for style.
    response.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'",
    )
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("X-Frame-Options", "DENY")
