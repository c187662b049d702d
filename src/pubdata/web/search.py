"""The catalogue search page's state: parsing the query string into a search (with friendly Chinese
errors for bad parameters) and building the URLs of facet links, filter chips, sorting and paging,
so every link is a plain shareable URL that htmx can also load as a partial."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlencode

from starlette.datastructures import QueryParams

from pubdata.catalog import vocab

SEARCH_PATH = "/dataset"
PAGE_SIZE = 20
MAX_PAGE = 500  # deep paging is what the API is for
MAX_QUERY_LENGTH = 200

# Facet name (also the query-string parameter) → the Chinese title shown above it.
FACET_TITLES: dict[str, str] = {
    "category": "类别",
    "organisation": "发布部门",
    "open_type": "开放类型",
    "security_grade": "安全级别",
    "update_frequency": "更新频率",
    "district": "行政区",
    "tags": "标签",
}
SORT_OPTIONS: dict[str, str] = {
    "relevance": "相关度",
    "modified_desc": "最近更新",
    "title_asc": "标题",
    "code_asc": "编码",
}
_VOCAB_FACETS: dict[str, tuple[vocab.Term, ...]] = {
    "category": vocab.CATEGORIES,
    "open_type": vocab.OPEN_TYPES,
    "security_grade": vocab.SECURITY_GRADES,
    "update_frequency": vocab.UPDATE_FREQUENCIES,
}


class BadSearch(ValueError):
    """A query-string parameter the search page cannot use; the message is shown to the user."""


@dataclass
class SearchState:
    q: str = ""
    filters: dict[str, list[str]] = field(default_factory=dict)
    sort: str = ""  # as asked for; "" means the default for the query
    page: int = 1

    @property
    def effective_sort(self) -> str:
        if self.sort == "relevance" and not self.q:
            return "modified_desc"  # nothing to rank by without words
        return self.sort or ("relevance" if self.q else "modified_desc")

    @property
    def offset(self) -> int:
        return (self.page - 1) * PAGE_SIZE

    @property
    def active(self) -> list[tuple[str, str]]:
        return [(facet, value) for facet in FACET_TITLES for value in self.filters.get(facet, [])]

    def is_active(self, facet: str, value: str) -> bool:
        return value in self.filters.get(facet, [])

    def url(
        self,
        *,
        filters: dict[str, list[str]] | None = None,
        sort: str | None = None,
        page: int = 1,
        q: str | None = None,
    ) -> str:
        pairs: list[tuple[str, str]] = []
        query = self.q if q is None else q
        if query:
            pairs.append(("q", query))
        for facet in FACET_TITLES:
            pairs.extend((facet, v) for v in (self.filters if filters is None else filters).get(facet, []))
        chosen = self.sort if sort is None else sort
        if chosen:
            pairs.append(("sort", chosen))
        if page > 1:
            pairs.append(("page", str(page)))
        return SEARCH_PATH + ("?" + urlencode(pairs) if pairs else "")

    def toggle_url(self, facet: str, value: str) -> str:
        """Add the value to the facet's filter, or remove it when it is already active."""
        values = list(self.filters.get(facet, []))
        if value in values:
            values.remove(value)
        else:
            values.append(value)
        return self.url(filters={**self.filters, facet: values})

    def sort_url(self, sort: str) -> str:
        return self.url(sort=sort)

    def page_url(self, page: int) -> str:
        return self.url(page=page, sort=self.sort)

    def clear_url(self) -> str:
        return self.url(filters={})


def parse_search(params: QueryParams, organisation_codes: set[str] | None = None) -> SearchState:
    """Read the search page's query string. Unknown facet values, sorts and pages raise
    ``BadSearch`` with a message naming the problem. Vocabulary values may be codes or labels."""
    q = " ".join(params.get("q", "").split())
    if len(q) > MAX_QUERY_LENGTH:
        raise BadSearch(f"搜索词过长：最多 {MAX_QUERY_LENGTH} 个字符")
    filters: dict[str, list[str]] = {}
    for facet, title in FACET_TITLES.items():
        values: list[str] = []
        for raw in params.getlist(facet):
            value = raw.strip()
            if not value:
                continue
            if facet in _VOCAB_FACETS:
                code = vocab.resolve(_VOCAB_FACETS[facet], value)
                if code is None:
                    allowed = "、".join(t.label for t in _VOCAB_FACETS[facet])
                    raise BadSearch(f"{title}“{value}”不存在（可选：{allowed}）")
                value = code
            elif facet == "district" and value not in vocab.SPATIAL_COVERAGES:
                raise BadSearch(f"{title}“{value}”不存在（可选：{'、'.join(vocab.SPATIAL_COVERAGES)}）")
            elif facet == "organisation" and organisation_codes is not None and value not in organisation_codes:
                raise BadSearch(f"{title}“{value}”不存在")
            elif len(value) > 100:
                raise BadSearch(f"{title}过长")
            if value not in values:
                values.append(value)
        if values:
            filters[facet] = values
    sort = params.get("sort", "").strip()
    if sort and sort not in SORT_OPTIONS:
        raise BadSearch(f"不支持的排序方式“{sort}”（可选：{'、'.join(SORT_OPTIONS.values())}）")
    raw_page = params.get("page", "1").strip() or "1"
    if not raw_page.isdecimal() or int(raw_page) < 1:
        raise BadSearch(f"页码“{raw_page}”无效：页码应为正整数")
    page = int(raw_page)
    if page > MAX_PAGE:
        raise BadSearch(f"页码超出范围：最多浏览前 {MAX_PAGE} 页，请缩小搜索范围")
    return SearchState(q=q, filters=filters, sort=sort, page=page)


def page_numbers(page: int, pages: int, around: int = 2) -> list[int | None]:
    """Page links to show: first, last and a window around the current page; None marks a gap."""
    shown = sorted({1, pages, *range(max(1, page - around), min(pages, page + around) + 1)})
    out: list[int | None] = []
    for n in shown:
        if out and n - (out[-1] or 0) > 1:
            out.append(None)
        out.append(n)
    return out
