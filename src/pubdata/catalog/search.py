"""The catalogue search index: an in-memory inverted index per process, loaded from the persistent
term table (``catalog_search_term``, written with jieba whenever an entry changes) and kept current
by comparing the count and sum of the entries' random ``index_stamp`` with what it last loaded. Any
committed change (edit, withdrawal, a rolled-back or concurrent transaction) changes that sum, and
then only the entries whose stamp differs are reloaded.

Ranking, filtering, faceting and sorting happen here, vectorised with NumPy over a snapshot of the
documents, with integer scores and code-point ordering, so every database backend yields exactly the
same results.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from types import SimpleNamespace
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from pubdata.catalog import repository as repo
from pubdata.catalog.schemas import EntrySummary, entry_summary

FACETS = repo.FACETS


@dataclass(slots=True)
class Doc:
    id: int
    code: str
    title: str
    created_at: datetime
    modified_at: datetime
    stamp: int
    facets: dict[str, tuple[str, ...]]
    summary: EntrySummary  # what search results show, ready to serve without touching the database
    terms: dict[str, int] = field(default_factory=dict)


@dataclass
class Hits:
    ids: list[int]
    summaries: list[EntrySummary]
    scores: list[int]
    count: int
    facets: dict[str, list[tuple[str, int]]]


class _Desc:
    """Reverses the order of a string inside a sort key."""

    __slots__ = ("value",)

    def __init__(self, value: str) -> None:
        self.value = value

    def __lt__(self, other: _Desc) -> bool:
        return self.value > other.value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Desc) and self.value == other.value


# Sort name → key of a document. "relevance" sorts by score, then like "modified_desc".
SORT_KEYS: dict[str, Any] = {
    "relevance": None,
    "modified_desc": lambda d: (-d.modified_at.timestamp(), d.code),
    "modified_asc": lambda d: (d.modified_at.timestamp(), d.code),
    "created_desc": lambda d: (-d.created_at.timestamp(), d.code),
    "created_asc": lambda d: (d.created_at.timestamp(), d.code),
    "title_asc": lambda d: (d.title, d.code),
    "title_desc": lambda d: (_Desc(d.title), d.code),
    "code_asc": lambda d: d.code,
    "code_desc": lambda d: _Desc(d.code),
}


class SearchIndex:
    def __init__(self) -> None:
        self.docs: dict[int, Doc] = {}
        self.postings: dict[str, dict[int, int]] = {}
        self.signature: tuple[int, int] | None = None
        self.lock = threading.Lock()
        self._snapshot: Snapshot | None = None

    # --- keeping current -------------------------------------------------------------------------

    def refresh(self, session: Session) -> None:
        signature = repo.index_signature(session)
        if signature == self.signature:
            return
        current = repo.index_stamps(session)  # id → (stamp, active)
        for entry_id in [
            i for i, doc in self.docs.items() if i not in current or not current[i][1] or current[i][0] != doc.stamp
        ]:
            self._remove(entry_id)
        wanted = [i for i, (_stamp, active) in current.items() if active and i not in self.docs]
        if wanted:
            for doc in self._load(session, wanted if len(wanted) < len(current) // 2 else None):
                self._remove(doc.id)
                self._add(doc)
        self.signature = signature
        self._snapshot = None

    def _load(self, session: Session, ids: list[int] | None) -> Iterable[Doc]:
        rows = {row.id: row for row in repo.index_rows(session, ids)}
        tags: dict[int, list[str]] = {i: [] for i in rows}
        for entry_id, tag in repo.index_tags(session, ids):
            if entry_id in tags:
                tags[entry_id].append(tag)
        resources: dict[int, list[SimpleNamespace]] = {i: [] for i in rows}
        for res in repo.index_resources(session, ids):
            if res.entry_id in resources:
                resources[res.entry_id].append(SimpleNamespace(**res._asdict()))
        docs: dict[int, Doc] = {}
        for entry_id, row in rows.items():
            entry_tags = sorted(tags[entry_id])
            values = row._asdict()
            values["organisation"] = SimpleNamespace(
                id=row.organisation_id, code=row.organisation_code, name=row.organisation_name
            )
            values["tag_names"] = entry_tags
            values["resources"] = resources[entry_id]
            docs[entry_id] = Doc(
                id=entry_id,
                code=row.code,
                title=row.title,
                created_at=row.created_at,
                modified_at=row.modified_at,
                stamp=row.index_stamp,
                facets={
                    "category": (row.category,),
                    "organisation": (row.organisation_code,),
                    "open_type": (row.open_type,),
                    "security_grade": (row.security_grade,),
                    "update_frequency": (row.update_frequency,),
                    "district": (row.district,),
                    "tags": tuple(entry_tags),
                },
                summary=entry_summary(SimpleNamespace(**values)),
            )
        for entry_id, term, weight in repo.index_terms(session, ids):
            doc = docs.get(entry_id)
            if doc is not None:
                doc.terms[term] = weight
        return docs.values()

    def _add(self, doc: Doc) -> None:
        self.docs[doc.id] = doc
        for term, weight in doc.terms.items():
            self.postings.setdefault(term, {})[doc.id] = weight

    def _remove(self, entry_id: int) -> None:
        doc = self.docs.pop(entry_id, None)
        if doc is None:
            return
        for term in doc.terms:
            posting = self.postings.get(term)
            if posting is not None:
                posting.pop(entry_id, None)
                if not posting:
                    del self.postings[term]

    # --- querying --------------------------------------------------------------------------------

    def snapshot(self) -> Snapshot:
        """Column arrays of the current documents, rebuilt after any change."""
        if self._snapshot is None:
            self._snapshot = Snapshot(self.docs, self.postings)
        return self._snapshot


class Snapshot:
    """Vectorised view of the index: facet values as integer codes, sort orders as precomputed
    ranks, postings as arrays; a query is a handful of NumPy operations over the documents."""

    def __init__(self, docs: dict[int, Doc], postings: dict[str, dict[int, int]]) -> None:
        ordered = sorted(docs.values(), key=lambda d: d.code)
        self.n = len(ordered)
        self.ids = np.fromiter((d.id for d in ordered), dtype=np.int64, count=self.n)
        self.summaries = [d.summary for d in ordered]
        self.ordinal = {d.id: i for i, d in enumerate(ordered)}
        self.postings = postings
        self._arrays: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self.values: dict[str, list[str]] = {}
        self.value_codes: dict[str, dict[str, int]] = {}
        self.codes: dict[str, np.ndarray] = {}
        for name in FACETS:
            if name == "tags":
                continue
            self._code_values(name, sorted({d.facets[name][0] for d in ordered}))
            index = self.value_codes[name]
            self.codes[name] = np.fromiter((index[d.facets[name][0]] for d in ordered), dtype=np.int32, count=self.n)
        self._code_values("tags", sorted({t for d in ordered for t in d.facets["tags"]}))
        tag_index = self.value_codes["tags"]
        pairs = [(i, tag_index[t]) for i, d in enumerate(ordered) for t in d.facets["tags"]]
        self.tag_doc = np.fromiter((p[0] for p in pairs), dtype=np.int64, count=len(pairs))
        self.tag_code = np.fromiter((p[1] for p in pairs), dtype=np.int64, count=len(pairs))
        # rank[i]: the position of document i in the full ordering of each sort
        self.ranks: dict[str, np.ndarray] = {}
        for name, key in SORT_KEYS.items():
            if key is None:
                continue
            keys = [key(d) for d in ordered]
            order = sorted(range(self.n), key=keys.__getitem__)
            rank = np.empty(self.n, dtype=np.int64)
            rank[np.asarray(order, dtype=np.int64)] = np.arange(self.n, dtype=np.int64)
            self.ranks[name] = rank

    def _code_values(self, name: str, values: list[str]) -> None:
        self.values[name] = values
        self.value_codes[name] = {v: i for i, v in enumerate(values)}

    def _posting(self, term: str) -> tuple[np.ndarray, np.ndarray] | None:
        arrays = self._arrays.get(term)
        if arrays is None:
            posting = self.postings.get(term)
            if not posting:
                return None
            ords = np.fromiter((self.ordinal[i] for i in posting), dtype=np.int64, count=len(posting))
            weights = np.fromiter(posting.values(), dtype=np.int64, count=len(posting))
            arrays = self._arrays[term] = (ords, weights)
        return arrays

    def search(
        self,
        terms: list[str],
        filters: dict[str, list[str]],
        sort: str,
        offset: int,
        limit: int,
        facets: Iterable[str],
        facet_limit: int,
    ) -> Hits:
        """Every term must match. Score = Σ weight × idf (integers); ties by the sort's own keys
        and finally the entry code."""
        score = np.zeros(self.n, dtype=np.int64)
        if terms:
            matched = np.zeros(self.n, dtype=np.int64)
            for term in terms:
                arrays = self._posting(term)
                if arrays is None:
                    return Hits([], [], [], 0, {name: [] for name in facets})
                ords, weights = arrays
                idf = 1 + int(100 * math.log((self.n + 1) / (len(ords) + 1)))
                matched[ords] += 1
                score[ords] += weights * idf
            mask = matched == len(terms)
        else:
            mask = np.ones(self.n, dtype=bool)

        for name, wanted in filters.items():
            codes = [self.value_codes[name][v] for v in wanted if v in self.value_codes[name]]
            if name == "tags":
                if len(codes) < len(wanted):
                    mask[:] = False
                for code in codes:  # every tag asked for must be present
                    has = np.zeros(self.n, dtype=bool)
                    has[self.tag_doc[self.tag_code == code]] = True
                    mask &= has
            else:
                mask &= np.isin(self.codes[name], np.asarray(codes, dtype=np.int32))

        facet_values: dict[str, list[tuple[str, int]]] = {}
        for name in facets:
            values = self.values[name]
            selected = self.tag_code[mask[self.tag_doc]] if name == "tags" else self.codes[name][mask]
            counts = np.bincount(selected, minlength=len(values))
            present = np.flatnonzero(counts)
            ordered = sorted(((values[i], int(counts[i])) for i in present), key=lambda kv: (-kv[1], kv[0]))
            facet_values[name] = ordered[:facet_limit] if facet_limit >= 0 else ordered

        hits = np.flatnonzero(mask)
        if sort == "relevance":
            order = np.lexsort((self.ranks["modified_desc"][hits], -score[hits]))
        else:
            order = np.argsort(self.ranks[sort][hits], kind="stable")
        page = hits[order[offset : offset + limit]]
        return Hits(
            ids=[int(i) for i in self.ids[page]],
            summaries=[self.summaries[i] for i in page],
            scores=[int(x) for x in score[page]],
            count=int(hits.size),
            facets=facet_values,
        )


_indexes: dict[str, SearchIndex] = {}
_indexes_lock = threading.Lock()


def index_for(session: Session) -> SearchIndex:
    """The process's index for the session's database (one per database URL)."""
    key = session.get_bind().engine.url.render_as_string(hide_password=True)
    with _indexes_lock:
        index = _indexes.get(key)
        if index is None:
            index = _indexes[key] = SearchIndex()
    return index
