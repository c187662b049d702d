"""Catalogue pages: the home page with the platform's figures, the search page (full page or, for
htmx, just the results region) and the entry page. Every read goes through catalog.service."""

from __future__ import annotations

import math
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from pubdata.api.deps import DB
from pubdata.catalog import service as catalog
from pubdata.catalog import vocab
from pubdata.catalog.errors import InvalidSearch
from pubdata.catalog.schemas import entry_read
from pubdata.demo import progress as demo_progress
from pubdata.identity import service as identity
from pubdata.store.quality import report as quality_report
from pubdata.web.deps import ViewerDep
from pubdata.web.search import (
    FACET_TITLES,
    PAGE_SIZE,
    SORT_OPTIONS,
    BadSearch,
    SearchState,
    page_numbers,
    parse_search,
)
from pubdata.web.templating import label, render

router = APIRouter(include_in_schema=False)

FACET_SHOWN = 8  # values shown before "更多"
FACET_LIMIT = 60
TOP_DEPARTMENTS = 15


def is_htmx_partial(request: Request) -> bool:
    """An htmx request for a region of the page (not a history restore, which wants the whole page)."""
    headers = request.headers
    return (
        headers.get("hx-request") == "true"
        and headers.get("hx-history-restore-request") != "true"
        and headers.get("hx-request-type", "partial") != "full"
    )


# --- home ------------------------------------------------------------------------------------


@router.get("/", response_class=HTMLResponse)
def home(request: Request, session: DB, viewer: ViewerDep) -> HTMLResponse:
    stats = catalog.catalogue_stats(session, viewer.actor)
    total = stats["entries"]
    open_shares = [
        {**row, "share": round(100 * row["count"] / total, 1) if total else 0.0} for row in stats["by_open_type"]
    ]
    chart_data = {
        "by_category": stats["by_category"],
        "by_organisation": stats["by_organisation"][:TOP_DEPARTMENTS],
        "by_open_type": stats["by_open_type"],
    }
    figures = {
        "entries": total,
        "departments": len(stats["by_organisation"]),
        "categories": len(stats["by_category"]),
        "districts": len([d for d in stats["by_district"] if d["value"] != vocab.CITYWIDE]),
    }
    return render(
        request,
        "home.html",
        {
            "nav": "home",
            "figures": figures,
            "open_shares": open_shares,
            "chart_data": chart_data,
            "demo_fill": _demo_fill(request),
        },
    )


def records_in_words(n: int) -> str:
    """A record count as people say it: "4,210 万条" from ten thousand up, else "8,000 条"."""
    return f"{n // 10_000:,} 万条" if n >= 10_000 else f"{n:,} 条"


def _demo_fill(request: Request) -> dict[str, Any] | None:
    """The demo's record fill while it is loading, or if it stopped before the end; None when it is
    done or there is none. Counts only: which entry is being loaded is not the public's business."""
    status = demo_progress.read(request.app.state.settings.resolved_home)
    if status is None or status.state == demo_progress.DONE:
        return None
    return {
        "state": status.state,
        "entries_done": status.entries_done,
        "entries_total": status.entries_total,
        "records": records_in_words(status.rows_done),
        "percent": status.percent,
        "updated_at": status.updated_at,
    }


# --- search ----------------------------------------------------------------------------------


def _organisation_names(session: DB, viewer: ViewerDep) -> dict[str, str]:
    return {o.code: o.name for o in identity.list_organisations(session, viewer.actor)}


@router.get("/dataset", response_class=HTMLResponse)
def dataset_search(request: Request, session: DB, viewer: ViewerDep) -> HTMLResponse:
    partial = is_htmx_partial(request)
    template = "dataset/_results.html" if partial else "dataset/search.html"
    headers = {"Vary": "HX-Request"}
    orgs = _organisation_names(session, viewer)
    try:
        state = parse_search(request.query_params, set(orgs))
        result = catalog.search_entries(
            session,
            viewer.actor,
            catalog.SearchQuery(
                q=state.q,
                filters=state.filters,
                sort=state.effective_sort,
                offset=state.offset,
                limit=PAGE_SIZE,
                load_entries=False,
                facet_limit=FACET_LIMIT,
            ),
            request.app.state.settings.search_max_rows,
        )
    except (BadSearch, InvalidSearch) as exc:
        message = exc.message if isinstance(exc, InvalidSearch) else str(exc)
        state = SearchState(q=" ".join(request.query_params.get("q", "").split())[:200])
        return render(
            request,
            template,
            {"nav": "dataset", "error": message, "state": state, **_empty_results()},
            status_code=400,
            headers=headers,
        )
    pages = max(1, math.ceil(result.count / PAGE_SIZE))
    context: dict[str, Any] = {
        "nav": "dataset",
        "error": None,
        "state": state,
        "count": result.count,
        "results": result.summaries,
        "facets": [
            {
                "name": name,
                "title": title,
                "values": [
                    {"value": v, "label": lab, "count": n, "active": state.is_active(name, v)}
                    for v, lab, n in result.facets.get(name, [])
                ],
            }
            for name, title in FACET_TITLES.items()
        ],
        "chips": [
            {"facet": FACET_TITLES[f], "label": catalog.facet_label(f, v, orgs), "url": state.toggle_url(f, v)}
            for f, v in state.active
        ],
        "sort_options": SORT_OPTIONS,
        "page": state.page,
        "pages": pages,
        "page_numbers": page_numbers(state.page, pages),
        "facet_shown": FACET_SHOWN,
        "terms": result.terms,
    }
    return render(request, template, context, headers=headers)


def _empty_results() -> dict[str, Any]:
    return {
        "count": 0,
        "results": [],
        "facets": [],
        "chips": [],
        "sort_options": SORT_OPTIONS,
        "page": 1,
        "pages": 1,
        "page_numbers": [1],
        "facet_shown": FACET_SHOWN,
        "terms": [],
    }


# --- entry page ------------------------------------------------------------------------------

ATTRIBUTE_LABELS: dict[str, str] = {
    "title": "标题",
    "description": "描述",
    "category": "类别",
    "open_type": "开放类型",
    "security_grade": "安全级别",
    "update_frequency": "更新频率",
    "district": "空间范围",
    "temporal_start": "时间范围起",
    "temporal_end": "时间范围止",
    "licence": "许可协议",
    "contact_name": "联系人",
    "contact_email": "联系邮箱",
    "contact_phone": "联系电话",
    "organisation": "发布部门",
    "tags": "标签",
    "fields": "字段",
    "resources": "数据资源",
    "state": "状态",
}
ACTION_LABELS = {"create": "创建", "update": "修改", "delete": "撤销"}
_STATE_LABELS = {"active": "有效", "deleted": "已撤销"}
_VOCAB_ATTRS = {"category", "open_type", "security_grade", "update_frequency"}


def _show_value(attr: str, value: Any, orgs: dict[str, str]) -> str:
    if value is None or value == "":
        return "（空）"
    if attr in _VOCAB_ATTRS:
        return label(str(value), attr)
    if attr == "organisation":
        return orgs.get(str(value), str(value))
    if attr == "state":
        return _STATE_LABELS.get(str(value), str(value))
    if isinstance(value, list):
        return "、".join(str(v) for v in value) or "（无）"
    return str(value)


def describe_changes(action: str, changes: dict[str, Any], orgs: dict[str, str]) -> list[dict[str, str]]:
    """What a revision changed, in words: one line per attribute, old → new for simple values."""
    if action == "create":
        return []
    lines: list[dict[str, str]] = []
    for attr, pair in changes.items():
        old, new = (pair + [None, None])[:2] if isinstance(pair, list) else (None, pair)
        name = ATTRIBUTE_LABELS.get(attr, attr)
        if attr == "fields":
            old_n = len(old) if isinstance(old, list) else 0
            new_n = len(new) if isinstance(new, list) else 0
            lines.append({"name": name, "old": f"{old_n} 个字段", "new": f"{new_n} 个字段", "note": "字段定义已修改"})
        elif attr == "resources" and old is None and new:
            lines.append({"name": name, "old": "", "new": "", "note": f"新增数据资源“{new}”"})
        elif attr == "description":
            lines.append({"name": name, "old": "", "new": "", "note": "描述已修改"})
        else:
            lines.append(
                {"name": name, "old": _show_value(attr, old, orgs), "new": _show_value(attr, new, orgs), "note": ""}
            )
    return lines


@router.get("/dataset/{key}", response_class=HTMLResponse)
def dataset_entry(request: Request, key: str, session: DB, viewer: ViewerDep) -> HTMLResponse:
    entry = catalog.get_entry(session, viewer.actor, key)
    data = entry_read(entry)
    revisions = catalog.list_revisions(session, viewer.actor, entry.id)
    orgs = _organisation_names(session, viewer) if any(r.action != "create" for r in revisions) else {}
    history = [
        {
            "number": r.number,
            "action": ACTION_LABELS.get(r.action, r.action),
            "actor": r.actor_name,
            "at": r.at,
            "changes": describe_changes(r.action, r.changes or {}, orgs),
        }
        for r in revisions
    ]
    return render(
        request,
        "dataset/entry.html",
        {
            "nav": "dataset",
            "entry": data,
            "history": history,
            "ckan_url": f"/api/3/action/package_show?id={data.name}",
            "store_tables": quality_report.entry_quality(session, viewer.actor, entry.id),
        },
    )
