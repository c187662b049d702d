"""The CKAN actions pubdata answers. Each takes the call context and its parameters and returns the
``result`` of CKAN's envelope. They read only through the catalogue and identity services (and
``status_show`` the demo fill's progress, ``demo.progress``)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from pubdata import __version__
from pubdata.api.ckan import dicts, query
from pubdata.api.ckan.errors import SearchQueryError, invalid
from pubdata.api.ckan.params import Params, fits_integer_id
from pubdata.authz import Actor
from pubdata.catalog import service as catalog
from pubdata.catalog import vocab
from pubdata.catalog.errors import CategoryNotFound, EntryNotFound, InvalidSearch
from pubdata.catalog.schemas import entry_read
from pubdata.demo import progress as demo_progress
from pubdata.errors import Forbidden, NotFound, Unauthenticated
from pubdata.identity import service as identity
from pubdata.identity.errors import OrganisationNotFound
from pubdata.identity.schemas import OrganisationKind
from pubdata.settings import Settings

CKAN_VERSION = "2.10.0"  # the Action API generation whose shapes this layer follows
# Organisations that publish catalogue entries are CKAN's organizations; enterprises, banks and the
# other participants are platform accounts, not publishers, and are not listed.
PUBLISHER_KINDS = (OrganisationKind.DEPARTMENT.value, OrganisationKind.OPERATOR.value)
LIST_MAX = 1000
SHOW_DATASETS_MAX = 100


@dataclass
class Context:
    session: Session
    actor: Actor
    settings: Settings

    @property
    def base_url(self) -> str:
        return self.settings.resolved_base_url


Action = Callable[[Context, Params], Any]
ACTIONS: dict[str, Action] = {}


def action(fn: Action) -> Action:
    ACTIONS[fn.__name__] = fn
    return fn


# --- helpers -------------------------------------------------------------------------------------


def _search(ctx: Context, q: catalog.SearchQuery) -> catalog.SearchResult:
    q.with_fields = True  # package dicts carry the fields in their extras
    return catalog.search_entries(ctx.session, ctx.actor, q, ctx.settings.search_max_rows)


def _counts(ctx: Context, facet: str, filters: dict[str, list[str]] | None = None) -> dict[str, int]:
    """Entries per value of ``facet`` (organisation or category), through the search service."""
    result = _search(ctx, catalog.SearchQuery(filters=filters or {}, limit=0, facets=(facet,), facet_limit=-1))
    return {value: n for value, _label, n in result.facets.get(facet, [])}


def _packages(ctx: Context, filters: dict[str, list[str]], limit: int) -> tuple[int, list[dict[str, Any]]]:
    result = _search(ctx, catalog.SearchQuery(filters=filters, limit=limit, facets=()))
    return result.count, [dicts.package_dict(entry_read(e), ctx.base_url) for e in result.entries]


def _list_sort(p: Params, default: str) -> tuple[str, bool]:
    """``sort`` of organization_list / group_list: ``name``, ``title`` or ``package_count`` with a
    direction (package_count defaults to descending, as CKAN)."""
    text = p.string("sort").strip() or default
    parts = text.split()
    key = parts[0]
    if key not in ("name", "title", "package_count") or len(parts) > 2:
        raise invalid("sort", f"不支持的排序：{text}（可用：name、title、package_count，加 asc 或 desc）")
    direction = parts[1].lower() if len(parts) > 1 else ("desc" if key == "package_count" else "asc")
    if direction not in ("asc", "desc"):
        raise invalid("sort", f"排序方向应为 asc 或 desc：{text}")
    return key, direction == "desc"


def _page(items: list[Any], p: Params) -> list[Any]:
    offset = p.integer("offset", 0)
    limit = p.integer("limit", LIST_MAX, maximum=LIST_MAX)
    return items[offset : offset + limit]


def _sorted_groups(rows: list[dict[str, Any]], key: str, descending: bool) -> list[dict[str, Any]]:
    # Ties (equal counts) fall back to the name so paging is stable.
    rows = sorted(rows, key=lambda r: r["name"])
    return sorted(rows, key=lambda r: r[key], reverse=descending)


# --- actions -------------------------------------------------------------------------------------


@action
def status_show(ctx: Context, p: Params) -> dict[str, Any]:
    """Site information: CKAN version emulated, site title and URL, extensions; and, in
    ``pubdata_demo_records``, how far the demo's record fill has got (null if none was run)."""
    return {
        "site_title": "pubdata 公共数据运营平台",
        "site_description": "城市公共数据目录（CKAN Action API 兼容接口）",
        "site_url": ctx.base_url,
        "ckan_version": CKAN_VERSION,
        "pubdata_version": __version__,
        "locale_default": "zh_Hans_CN",
        "error_emails_to": None,
        "extensions": ["pubdata", "datastore"],
        "pubdata_demo_records": _demo_records(ctx),
    }


def _demo_records(ctx: Context) -> dict[str, Any] | None:
    """The demo's record fill: state, counts and times, and the title of the entry being loaded if
    the caller may see it (never its code)."""
    status = demo_progress.read(ctx.settings.resolved_home)
    if status is None:
        return None
    out = status.public()
    out["current_entry_title"] = None
    if status.loading and status.current:
        # deleted meanwhile, or not for this caller: no title
        with contextlib.suppress(NotFound, Forbidden, Unauthenticated):
            out["current_entry_title"] = catalog.get_entry(ctx.session, ctx.actor, status.current).title
    return out


@action
def help_show(ctx: Context, p: Params) -> str:
    """The documentation of an action. Parameter: ``name``."""
    name = p.required("name")
    fn = ACTIONS.get(name)
    if fn is None:
        raise NotFound(f"未知的 action：{name}", code="ckan.action_not_found")
    return (fn.__doc__ or "").strip()


@action
def package_list(ctx: Context, p: Params) -> list[str]:
    """Names of all visible catalogue entries, sorted. Parameters: ``limit``, ``offset``."""
    names = catalog.list_entry_names(ctx.session, ctx.actor)
    offset = p.integer("offset", 0)
    if "limit" in p:
        return names[offset : offset + p.integer("limit", len(names))]
    return names[offset:]


@action
def package_show(ctx: Context, p: Params) -> dict[str, Any]:
    """One catalogue entry as a CKAN dataset. ``id``: the entry's id, code or name."""
    key = p.string("id").strip() or p.string("name_or_id").strip()
    if not key:
        raise invalid("id", "缺少必填参数")
    if not fits_integer_id(key):
        raise EntryNotFound(f"数据目录不存在：{key}")
    return dicts.package_show_dict(ctx.session, ctx.actor, catalog.get_entry(ctx.session, ctx.actor, key), ctx.base_url)


@action
def resource_show(ctx: Context, p: Params) -> dict[str, Any]:
    """One resource (table) of an entry. ``id``: the resource's UUID."""
    resource = catalog.get_resource(ctx.session, ctx.actor, p.required("id"))
    return dicts.resource_show_dict(ctx.session, ctx.actor, resource, ctx.base_url)


@action
def package_search(ctx: Context, p: Params) -> dict[str, Any]:
    """Search the catalogue. Parameters: ``q`` (Chinese or English words, all must match), ``fq``
    (``field:value`` clauses), ``fq_list``, ``rows`` (default 10, at most 1000), ``start``, ``sort``,
    ``facet.field`` (JSON list), ``facet.limit`` (default 50, -1 for all)."""
    max_rows = ctx.settings.search_max_rows
    rows = p.integer("rows", 10, maximum=max_rows)
    start = p.integer("start", 0)
    facet_limit = p.integer("facet.limit", 50, minimum=-1)
    facet_fields = p.string_list("facet.field") or []
    if not p.boolean("facet", True):
        facet_fields = []
    fq_list = p.string_list("fq_list") or []

    filters = query.Filters()
    for fq in [p.string("fq"), *fq_list]:
        query.add_clauses(filters, query.parse_fq(fq))
    text = query.split_q(p.string("q"), filters)
    sort_text = p.string("sort").strip() or query.DEFAULT_SORT
    sort_name = query.parse_sort(sort_text)
    facet_names = {f: query.facet_name(f) for f in dict.fromkeys(facet_fields)}

    if filters.impossible:
        result = catalog.SearchResult(0, [], [], [], {}, sort_name, [])
    else:
        search = catalog.SearchQuery(
            q=text,
            filters=filters.values,
            sort=sort_name,
            offset=start,
            limit=rows,
            facets=tuple(dict.fromkeys(facet_names.values())),
            facet_limit=facet_limit,
        )
        try:
            result = _search(ctx, search)
        except InvalidSearch as exc:
            if exc.field in ("limit", "offset"):
                raise invalid("rows" if exc.field == "limit" else "start", exc.message) from None
            raise SearchQueryError(exc.message) from None

    facets: dict[str, dict[str, int]] = {}
    search_facets: dict[str, dict[str, Any]] = {}
    for ckan_field, name in facet_names.items():
        values = result.facets.get(name, [])
        facets[ckan_field] = {value: n for value, _label, n in values}
        search_facets[ckan_field] = {
            "title": ckan_field,
            "items": [{"name": value, "display_name": label, "count": n} for value, label, n in values],
        }
    return {
        "count": result.count,
        "sort": sort_text,
        "results": [dicts.package_dict(entry_read(e), ctx.base_url) for e in result.entries],
        "facets": facets,
        "search_facets": search_facets,
    }


def _publisher(ctx: Context, key: str) -> Any:
    if not fits_integer_id(key):
        raise OrganisationNotFound(f"机构不存在：{key}")
    org = identity.get_organisation(ctx.session, ctx.actor, key)
    if org.kind not in PUBLISHER_KINDS:
        raise OrganisationNotFound(f"机构不存在：{key}")
    return org


@action
def organization_list(ctx: Context, p: Params) -> list[Any]:
    """Publishing organisations (government departments and the operator). Parameters:
    ``all_fields``, ``sort`` (name | title | package_count [asc|desc], default title asc),
    ``limit``, ``offset``, ``organizations`` (names to keep), ``include_dataset_count``."""
    all_fields = p.boolean("all_fields")
    key, descending = _list_sort(p, "title asc")
    wanted = p.string_list("organizations")
    counts = _counts(ctx, "organisation")
    orgs = [
        o
        for kind in PUBLISHER_KINDS
        for o in identity.list_organisations(ctx.session, ctx.actor, kind)
        if wanted is None or o.code in wanted
    ]
    rows = [dicts.organization_dict(o, counts.get(o.code, 0)) for o in orgs]
    return _listing(rows, p, key, descending, all_fields)


def _listing(rows: list[dict[str, Any]], p: Params, key: str, descending: bool, all_fields: bool) -> list[Any]:
    """Sort and page organisation or group dicts; names only unless ``all_fields``."""
    rows = _page(_sorted_groups(rows, key, descending), p)
    if not all_fields:
        return [r["name"] for r in rows]
    if not p.boolean("include_dataset_count", True):
        for r in rows:
            r.pop("package_count", None)
    return rows


@action
def organization_show(ctx: Context, p: Params) -> dict[str, Any]:
    """One publishing organisation by id or name (code). ``include_datasets`` adds up to 100 of its
    entries, most recently modified first."""
    org = _publisher(ctx, p.required("id"))
    limit = SHOW_DATASETS_MAX if p.boolean("include_datasets") else 0
    count, packages = _packages(ctx, {"organisation": [org.code]}, limit)
    return _shown(dicts.organization_dict(org, count), packages, limit)


def _shown(out: dict[str, Any], packages: list[dict[str, Any]], limit: int) -> dict[str, Any]:
    """The keys CKAN's organization_show/group_show always carry, and the datasets when asked."""
    out.update(users=[], extras=[], groups=[], tags=[])
    if limit:
        out["packages"] = packages
    return out


def _category(key: str) -> vocab.Term:
    code = vocab.resolve(vocab.CATEGORIES, key)
    if code is None:
        raise CategoryNotFound(f"分组（数据类别）不存在：{key}")
    return vocab.CATEGORY_BY_CODE[code]


@action
def group_list(ctx: Context, p: Params) -> list[Any]:
    """The 19 catalogue categories as CKAN groups. Parameters: ``all_fields``, ``sort``, ``limit``,
    ``offset``, ``groups`` (names to keep), ``include_dataset_count``."""
    all_fields = p.boolean("all_fields")
    key, descending = _list_sort(p, "title asc")
    wanted = p.string_list("groups")
    counts = _counts(ctx, "category")
    rows = [
        dicts.group_dict(t, counts.get(t.code, 0))
        for t in vocab.CATEGORIES
        if wanted is None or t.code in wanted or t.label in wanted
    ]
    return _listing(rows, p, key, descending, all_fields)


@action
def group_show(ctx: Context, p: Params) -> dict[str, Any]:
    """One category as a CKAN group, by code (``medical``) or Chinese label (``医疗``).
    ``include_datasets`` adds up to 100 of its entries."""
    term = _category(p.required("id"))
    limit = SHOW_DATASETS_MAX if p.boolean("include_datasets") else 0
    count, packages = _packages(ctx, {"category": [term.code]}, limit)
    return _shown(dicts.group_dict(term, count), packages, limit)


@action
def tag_list(ctx: Context, p: Params) -> list[Any]:
    """Tags in use, by name. ``query`` keeps the tags containing it (case-insensitive);
    ``all_fields`` returns tag dictionaries. There are no tag vocabularies."""
    if p.string("vocabulary_id").strip():
        raise NotFound(f"标签词表不存在：{p.string('vocabulary_id')}", code="ckan.vocabulary_not_found")
    needle = p.string("query").strip().lower()
    names = sorted(name for name, _n in catalog.list_tags(ctx.session, ctx.actor))
    if needle:
        names = [n for n in names if needle in n.lower()]
    if p.boolean("all_fields"):
        return [dicts.tag_dict(n) for n in names]
    return names


def run(name: str, ctx: Context, data: dict[str, Any]) -> Any:
    return ACTIONS[name](ctx, Params(data))
