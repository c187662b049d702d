"""DCAT export of the catalogue: the whole catalogue, a page of it (with Hydra paging links, as
ckanext-dcat pages its catalogue endpoint) or one entry, as Turtle, JSON-LD, RDF/XML or rdflib graphs.

Everything is read through the catalogue service (``search_entries`` sorted by code, ``get_entry``),
so what the export shows is exactly what the actor may see. The mapping of our fields to DCAT
properties is documented in docs/dcat.md.

The triples are collected in an ``rdf.Document`` and written by its own writers (see rdf.py for why);
``to_graph()`` gives the same triples as an rdflib ``Graph``.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from urllib.parse import quote, urlencode

from rdflib import Graph
from sqlalchemy.orm import Session

from pubdata.authz import Actor
from pubdata.catalog import service, vocab
from pubdata.catalog.models import CatalogEntry, CatalogResource
from pubdata.catalog.rdf import (
    DCAT,
    DCT,
    FOAF,
    HYDRA,
    RDF,
    RDFS,
    SAFE_URL,
    SKOS,
    VCARD,
    XSD,
    Blank,
    Document,
    Lit,
)
from pubdata.errors import Invalid, NotFound

PAGE_SIZE = 100  # entries per page of the paged catalogue (?page=N), as ckanext-dcat
_CHUNK = 500  # entries fetched per query when exporting the whole catalogue

ZH = "zh"
CATALOG_TITLE = "青岛市公共数据开放目录"
CATALOG_DESCRIPTION = "青岛市公共数据运营平台汇聚的公共数据目录，包括无条件开放、有条件开放和不予开放的数据目录。"
# The city's big data bureau publishes the catalogue (government authorises, the operator runs it).
CATALOG_PUBLISHER = "青岛市大数据发展管理局"
CITY_NAME = "青岛市"
CITY_CODE = "370200"  # administrative division code of Qingdao (GB/T 2260)
THEME_SCHEME_TITLE = "青岛市公共数据目录分类"

_EU = "http://publications.europa.eu/resource/authority/"
LANGUAGE_ZH = _EU + "language/ZHO"
# Formats with a term in the EU file-type vocabulary, and their IANA media types.
_FILE_TYPES: dict[str, str | None] = {
    "CSV": "text/csv",
    "JSON": "application/json",
    "XML": "application/xml",
    "XLS": "application/vnd.ms-excel",
    "XLSX": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "PARQUET": "application/vnd.apache.parquet",
    "PDF": "application/pdf",
    "ZIP": "application/zip",
    "GEOJSON": "application/geo+json",
    "SHP": None,
    "TXT": "text/plain",
    "RDF_TURTLE": "text/turtle",
}
_DISTRICT_CODES = {d.label: d.code for d in vocab.DISTRICTS} | {vocab.CITYWIDE: CITY_CODE}


class InvalidPage(Invalid):
    code = "dcat.invalid_page"


class PageNotFound(NotFound):
    code = "dcat.page_not_found"


@dataclass(frozen=True)
class Format:
    extension: str
    media_type: str


FORMATS: dict[str, Format] = {
    "ttl": Format("ttl", "text/turtle; charset=utf-8"),
    "jsonld": Format("jsonld", "application/ld+json"),
    "rdf": Format("rdf", "application/rdf+xml"),
    "xml": Format("xml", "application/rdf+xml"),
}


# --- URIs ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Uris:
    """The URIs the export mints, all under the platform's public base URL."""

    base: str

    @classmethod
    def of(cls, base_url: str) -> Uris:
        return cls(base_url.rstrip("/"))

    @property
    def catalog(self) -> str:
        return f"{self.base}/catalog"

    @property
    def catalog_publisher(self) -> str:
        return f"{self.base}/catalog#publisher"

    @property
    def theme_scheme(self) -> str:
        return f"{self.base}/catalog/themes"

    def theme(self, category: str) -> str:
        return f"{self.base}/catalog/themes/{category}"

    def place(self, district: str) -> str:
        return f"{self.base}/catalog/places/{_DISTRICT_CODES.get(district) or quote(district)}"

    def dataset(self, entry: CatalogEntry) -> str:
        return f"{self.base}/dataset/{quote(entry.name)}"

    def landing_page(self, entry: CatalogEntry) -> str:
        return f"{self.base}/dataset/{quote(entry.name)}"

    def distribution(self, entry: CatalogEntry, resource: CatalogResource) -> str:
        return f"{self.base}/dataset/{quote(entry.name)}/resource/{resource.id}"

    def access_url(self, resource: CatalogResource) -> str:
        return f"{self.base}/api/v1/resources/{resource.id}"

    def organisation(self, code: str) -> str:
        return f"{self.base}/organisation/{quote(code)}"


# --- building --------------------------------------------------------------------------------


def _zh(text: str) -> Lit:
    return Lit(text, ZH)


def _datetime(value: datetime) -> Lit:
    return Lit(value.isoformat(), None, XSD.dateTime)


def _date(value: date) -> Lit:
    return Lit(value.isoformat(), None, XSD.date)


class _Builder:
    """Adds entries to a document; describes each shared node (department, theme, place, licence,
    frequency, access right, format) once however many entries point at it."""

    def __init__(self, doc: Document, uris: Uris) -> None:
        self.doc = doc
        self.uris = uris
        self._seen: set[object] = set()
        self._blanks = 0

    def _blank(self, kind: str) -> Blank:
        self._blanks += 1
        return Blank(f"{kind}{self._blanks}")

    def _once(self, key: object) -> bool:
        if key in self._seen:
            return False
        self._seen.add(key)
        return True

    def theme(self, code: str) -> str:
        uri = self.uris.theme(code)
        if self._once(("theme", code)):
            term = vocab.CATEGORY_BY_CODE[code]
            scheme = self.uris.theme_scheme
            add = self.doc.add
            add(uri, RDF.type, SKOS.Concept)
            add(uri, SKOS.prefLabel, _zh(term.label))
            add(uri, SKOS.notation, Lit(term.code))
            if term.description:
                add(uri, SKOS.definition, _zh(term.description))
            add(uri, SKOS.inScheme, scheme)
            add(uri, SKOS.topConceptOf, scheme)
        return uri

    def theme_scheme(self) -> str:
        scheme = self.uris.theme_scheme
        if self._once("scheme"):
            self.doc.add(scheme, RDF.type, SKOS.ConceptScheme)
            self.doc.add(scheme, DCT.title, _zh(THEME_SCHEME_TITLE))
            self.doc.add(scheme, SKOS.prefLabel, _zh(THEME_SCHEME_TITLE))
            for term in vocab.CATEGORIES:
                self.doc.add(scheme, SKOS.hasTopConcept, self.theme(term.code))
        return scheme

    def publisher(self, entry: CatalogEntry) -> str:
        org = entry.organisation
        uri = self.uris.organisation(org.code)
        if self._once(("org", org.id)):
            self.doc.add(uri, RDF.type, FOAF.Organization)
            self.doc.add(uri, RDF.type, FOAF.Agent)
            self.doc.add(uri, FOAF.name, _zh(org.name))
            self.doc.add(uri, DCT.identifier, Lit(org.code))
        return uri

    def place(self, district: str) -> str:
        uri = self.uris.place(district)
        if self._once(("place", district)):
            label = district if district != vocab.CITYWIDE else CITY_NAME
            self.doc.add(uri, RDF.type, DCT.Location)
            self.doc.add(uri, RDFS.label, _zh(label))
            self.doc.add(uri, SKOS.prefLabel, _zh(label))
            if district in _DISTRICT_CODES:
                self.doc.add(uri, DCT.identifier, Lit(_DISTRICT_CODES[district]))
        return uri

    def licence(self, text: str) -> str:
        if SAFE_URL.match(text):
            return text
        node = Blank("licence" + hashlib.sha1(text.encode()).hexdigest()[:16])
        if self._once(("licence", text)):
            self.doc.add(node, RDF.type, DCT.LicenseDocument)
            self.doc.add(node, RDFS.label, _zh(text))
        return node

    def frequency(self, code: str) -> str:
        term = vocab.FREQUENCY_BY_CODE[code]
        uri = term.uri
        if self._once(("freq", code)):
            self.doc.add(uri, RDF.type, DCT.Frequency)
            self.doc.add(uri, RDFS.label, _zh(term.label))
        return uri

    def access_rights(self, code: str) -> str:
        term = vocab.OPEN_TYPE_BY_CODE[code]
        uri = term.uri
        if self._once(("access", code)):
            self.doc.add(uri, RDF.type, DCT.RightsStatement)
            self.doc.add(uri, RDFS.label, _zh(term.label))
            self.doc.add(uri, SKOS.notation, Lit(term.code))
        return uri

    def dataset(self, entry: CatalogEntry) -> str:
        ds = self.uris.dataset(entry)
        add = self.doc.add
        add(ds, RDF.type, DCAT.Dataset)
        add(ds, DCT.identifier, Lit(entry.code))
        add(ds, DCT.title, _zh(entry.title))
        if entry.description:
            add(ds, DCT.description, _zh(entry.description))
        add(ds, DCT.publisher, self.publisher(entry))
        add(ds, DCAT.theme, self.theme(entry.category))
        for tag in entry.tag_names:
            add(ds, DCAT.keyword, _zh(tag))
        add(ds, DCT.issued, _datetime(entry.created_at))
        add(ds, DCT.modified, _datetime(entry.modified_at))
        add(ds, DCT.accrualPeriodicity, self.frequency(entry.update_frequency))
        add(ds, DCT.accessRights, self.access_rights(entry.open_type))
        add(ds, DCT.language, LANGUAGE_ZH)
        if entry.district:
            add(ds, DCT.spatial, self.place(entry.district))
        if entry.temporal_start or entry.temporal_end:
            period = self._blank("period")
            add(ds, DCT.temporal, period)
            add(period, RDF.type, DCT.PeriodOfTime)
            if entry.temporal_start:
                add(period, DCAT.startDate, _date(entry.temporal_start))
            if entry.temporal_end:
                add(period, DCAT.endDate, _date(entry.temporal_end))
        if entry.licence:
            add(ds, DCT.license, self.licence(entry.licence))
        if entry.contact_name or entry.contact_email or entry.contact_phone:
            contact = self._blank("contact")
            add(ds, DCAT.contactPoint, contact)
            add(contact, RDF.type, VCARD.Kind)
            add(contact, VCARD.fn, _zh(entry.contact_name or entry.organisation.name))
            if entry.contact_email:
                add(contact, VCARD.hasEmail, "mailto:" + quote(entry.contact_email.strip(), safe="@+"))
            if entry.contact_phone:
                add(contact, VCARD.hasTelephone, "tel:" + quote("".join(entry.contact_phone.split()), safe="+"))
        add(ds, DCAT.landingPage, self.uris.landing_page(entry))
        for resource in entry.resources:
            add(ds, DCAT.distribution, self.distribution(entry, resource))
        return ds

    def distribution(self, entry: CatalogEntry, resource: CatalogResource) -> str:
        dist = self.uris.distribution(entry, resource)
        add = self.doc.add
        add(dist, RDF.type, DCAT.Distribution)
        add(dist, DCT.identifier, Lit(resource.id))
        add(dist, DCT.title, _zh(resource.name))
        if resource.description:
            add(dist, DCT.description, _zh(resource.description))
        fmt = (resource.format or "").strip().upper()
        if fmt in _FILE_TYPES:
            fmt_uri = _EU + "file-type/" + fmt
            add(dist, DCT.format, fmt_uri)
            if self._once(("format", fmt)):
                add(fmt_uri, RDF.type, DCT.MediaTypeOrExtent)
                add(fmt_uri, RDFS.label, Lit(fmt))
            media = _FILE_TYPES[fmt]
            if media:
                add(dist, DCAT.mediaType, "https://www.iana.org/assignments/media-types/" + media)
        elif fmt:
            add(dist, DCT.format, Lit(fmt))
        add(dist, DCAT.accessURL, self.uris.access_url(resource))
        add(dist, DCT.issued, _datetime(resource.created_at))
        add(dist, DCT.modified, _datetime(resource.modified_at))
        add(dist, DCT.accessRights, self.access_rights(entry.open_type))
        return dist

    def catalog(self) -> str:
        cat = self.uris.catalog
        add = self.doc.add
        add(cat, RDF.type, DCAT.Catalog)
        add(cat, DCT.title, _zh(CATALOG_TITLE))
        add(cat, DCT.description, _zh(CATALOG_DESCRIPTION))
        add(cat, DCT.language, LANGUAGE_ZH)
        add(cat, FOAF.homepage, self.uris.base + "/")
        add(cat, DCT.spatial, self.place(vocab.CITYWIDE))
        publisher = self.uris.catalog_publisher
        add(cat, DCT.publisher, publisher)
        add(publisher, RDF.type, FOAF.Organization)
        add(publisher, RDF.type, FOAF.Agent)
        add(publisher, FOAF.name, _zh(CATALOG_PUBLISHER))
        add(cat, DCAT.themeTaxonomy, self.theme_scheme())
        return cat


# --- reading the catalogue through the service -----------------------------------------------


def parse_page(value: str | int | None) -> int | None:
    """The 1-based page number asked for, or None for the whole catalogue."""
    if value is None:
        return None
    text = str(value).strip()
    try:
        number = int(text)
    except ValueError:
        raise InvalidPage(f"页码应为正整数：{text!r}", field="page") from None
    if number < 1:
        raise InvalidPage(f"页码应为正整数（从 1 开始）：{number}", field="page")
    return number


def _query(q: str, filters: Mapping[str, Sequence[str]] | None, offset: int, limit: int) -> service.SearchQuery:
    return service.SearchQuery(
        q=q,
        filters={k: list(v) for k, v in (filters or {}).items()},
        sort="code_asc",
        offset=offset,
        limit=limit,
        facets=(),
    )


def iter_entries(
    session: Session, actor: Actor, q: str = "", filters: Mapping[str, Sequence[str]] | None = None
) -> Iterable[CatalogEntry]:
    """Every entry the actor may see that matches ``q`` and ``filters``, by code, in chunks."""
    offset = 0
    while True:
        result = service.search_entries(session, actor, _query(q, filters, offset, _CHUNK), max_rows=_CHUNK)
        yield from result.entries
        offset += _CHUNK
        if offset >= result.count or not result.entries:
            return


@dataclass(frozen=True)
class Paging:
    page: int
    page_size: int
    total: int

    @property
    def last(self) -> int:
        return max(1, math.ceil(self.total / self.page_size))


def _page_link(collection_url: str, params: Sequence[tuple[str, str]], page: int) -> str:
    return f"{collection_url}?{urlencode([*params, ('page', str(page))])}"


def catalog_document(
    session: Session,
    actor: Actor,
    base_url: str,
    *,
    q: str = "",
    filters: Mapping[str, Sequence[str]] | None = None,
    page: str | int | None = None,
    collection_url: str | None = None,
    link_params: Sequence[tuple[str, str]] = (),
) -> Document:
    """The catalogue as a dcat:Catalog of the entries the actor may see matching ``q`` and
    ``filters`` (the catalogue search's own query and filters).

    Without ``page``: every matching entry. With ``page`` (1-based): ``PAGE_SIZE`` entries by code
    and a hydra:PagedCollection whose links are ``collection_url`` (default
    ``{base_url}/catalog.ttl``) with ``link_params`` and ``page=N``. A page that is not a positive
    integer is ``InvalidPage``; a page after the last is ``PageNotFound`` (an empty result has one,
    empty, page).
    """
    number = parse_page(page)
    uris = Uris.of(base_url)
    doc = Document()
    builder = _Builder(doc, uris)
    catalog = builder.catalog()

    if number is None:
        entries: Iterable[CatalogEntry] = iter_entries(session, actor, q, filters)
    else:
        size = PAGE_SIZE
        query = _query(q, filters, (number - 1) * size, size)
        result = service.search_entries(session, actor, query, max_rows=size)
        paging = Paging(number, size, result.count)
        if number > paging.last:
            raise PageNotFound(
                f"页码超出范围：第 {number} 页，共 {paging.last} 页",
                details=[{"field": "page", "message": f"last page is {paging.last}"}],
            )
        _add_paging(doc, paging, collection_url or f"{uris.base}/catalog.ttl", link_params)
        entries = result.entries

    for entry in entries:
        doc.add(catalog, DCAT.dataset, builder.dataset(entry))
    return doc


def _add_paging(doc: Document, paging: Paging, collection_url: str, params: Sequence[tuple[str, str]]) -> None:
    def link(n: int) -> str:
        return _page_link(collection_url, params, n)

    node = link(paging.page)
    doc.add(node, RDF.type, HYDRA.PagedCollection)
    doc.add(node, HYDRA.totalItems, Lit(str(paging.total), None, XSD.integer))
    doc.add(node, HYDRA.itemsPerPage, Lit(str(paging.page_size), None, XSD.integer))
    doc.add(node, HYDRA.firstPage, link(1))
    doc.add(node, HYDRA.lastPage, link(paging.last))
    if paging.page < paging.last:
        doc.add(node, HYDRA.nextPage, link(paging.page + 1))
    if paging.page > 1:
        doc.add(node, HYDRA.previousPage, link(paging.page - 1))


def dataset_document(session: Session, actor: Actor, key: str, base_url: str) -> Document:
    """One entry (by URL name, code or id) as a dcat:Dataset with its distributions, publisher,
    theme and contact; ``EntryNotFound`` when the actor may not see it."""
    entry = service.get_entry(session, actor, key)
    doc = Document()
    builder = _Builder(doc, Uris.of(base_url))
    doc.add(builder.uris.catalog, DCAT.dataset, builder.dataset(entry))
    return doc


def catalog_graph(session: Session, actor: Actor, base_url: str, **options: Any) -> Graph:
    """``catalog_document`` as an rdflib graph (for programs; the routes serialise the document)."""
    return catalog_document(session, actor, base_url, **options).to_graph()


def dataset_graph(session: Session, actor: Actor, key: str, base_url: str) -> Graph:
    """``dataset_document`` as an rdflib graph."""
    return dataset_document(session, actor, key, base_url).to_graph()
