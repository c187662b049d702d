"""DCAT export of the catalogue: the whole catalogue, a page of it (with Hydra paging links, as
ckanext-dcat pages its catalogue endpoint) or one entry, as Turtle, JSON-LD, RDF/XML or rdflib graphs.

Everything is read through the catalogue service (``search_entries`` sorted by code, ``get_entry``),
so what the export shows is exactly what the actor may see. The mapping of our fields to DCAT
properties is documented in docs/dcat.md.

The triples are collected in an ``rdf.Document`` and written by its own writers (see rdf.py for why);
``to_graph()`` gives the same triples as an rdflib ``Graph``.

The output conforms to DCAT-AP 3.0.0: it has no violation of SEMIC's SHACL shapes under RDFS
inference (tests/catalog/test_dcat_conformance.py). Every object of a property whose range the
shapes check is an IRI or blank node typed with that range (``dct:LicenseDocument``,
``dct:LinguisticSystem``, ``dct:MediaType``, ``foaf:Document``, ``skos:Concept`` with a
``skos:prefLabel``, …), never a literal.

``dcat:downloadURL`` depends on who asks: the catalogue domain cannot see the store, so the caller
passes ``downloads`` (the store's ``table_downloads``), which says for each resource with a published
table whether this actor may download its rows. Without it no distribution gets a download URL.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
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
    DCATAP,
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
LANGUAGE_LABEL = "中文"
# IANA media types as DCAT-AP writes them (the register's own URIs, http scheme).
IANA_MEDIA_TYPES = "http://www.iana.org/assignments/media-types/"
# The store serves a table's rows as CSV (the datapackage's default; also Parquet and JSON Lines):
# a distribution backed by a published table is described as that CSV, whatever its source was.
TABLE_FORMAT = "CSV"
TABLE_DOWNLOAD_EXTENSION = "csv"
_DISTRICT_CODES = {d.label: d.code for d in vocab.DISTRICTS} | {vocab.CITYWIDE: CITY_CODE}

# resource id -> whether the actor may download its rows, for each of the entries' resources that
# has a published table (the store's ``export.table_downloads``, bound to a session and an actor).
DownloadLookup = Callable[[Sequence[CatalogEntry]], Mapping[str, bool]]


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

    def download_url(self, resource: CatalogResource) -> str:
        return f"{self.base}/api/v1/resources/{resource.id}/download.{TABLE_DOWNLOAD_EXTENSION}"

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
    frequency, access right, format, media type, language, availability) once however many entries
    point at it. ``tables`` is what the download lookup said about the entries being added."""

    def __init__(self, doc: Document, uris: Uris) -> None:
        self.doc = doc
        self.uris = uris
        self.tables: Mapping[str, bool] = {}
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

    def _concept(self, uri: str, label: str, scheme: str) -> str:
        """A term of a published vocabulary, as a ``skos:Concept`` with its label (the shapes require
        ``skos:prefLabel`` on every concept)."""
        if self._once(("concept", uri)):
            self.doc.add(uri, RDF.type, SKOS.Concept)
            self.doc.add(uri, SKOS.prefLabel, _zh(label))
            self.doc.add(uri, SKOS.inScheme, scheme)
        return uri

    def document(self, uri: str) -> str:
        """A web page (landing page, homepage): ``foaf:Document``."""
        if self._once(("document", uri)):
            self.doc.add(uri, RDF.type, FOAF.Document)
        return uri

    def language(self) -> str:
        if self._once("language"):
            self.doc.add(LANGUAGE_ZH, RDF.type, DCT.LinguisticSystem)
            self.doc.add(LANGUAGE_ZH, RDFS.label, _zh(LANGUAGE_LABEL))
        return LANGUAGE_ZH

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

    def agent(self, uri: str, name: str, publisher_type: vocab.Term) -> str:
        """An organisation as ``foaf:Agent`` with its name and ADMS publisher type."""
        add = self.doc.add
        add(uri, RDF.type, FOAF.Organization)
        add(uri, RDF.type, FOAF.Agent)
        add(uri, FOAF.name, _zh(name))
        add(uri, DCT.type, self._concept(publisher_type.uri, publisher_type.label, vocab.PUBLISHER_TYPE_SCHEME))
        return uri

    def publisher(self, entry: CatalogEntry) -> str:
        org = entry.organisation
        uri = self.uris.organisation(org.code)
        if self._once(("org", org.id)):
            self.agent(uri, org.name, vocab.publisher_type(org.kind))
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
        """The licence as ``dct:LicenseDocument``: its own URL when it is one, else a blank node
        labelled with its name."""
        is_url = bool(SAFE_URL.match(text))
        node = text if is_url else Blank("licence" + hashlib.sha1(text.encode()).hexdigest()[:16])
        if self._once(("licence", text)):
            self.doc.add(node, RDF.type, DCT.LicenseDocument)
            if not is_url:
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

    def file_type(self, fmt: str) -> str:
        """``dct:format``: the EU file-type term, or for a format outside that vocabulary a blank
        ``dct:MediaTypeOrExtent`` labelled with it (the shapes accept no literal)."""
        if fmt in vocab.FILE_TYPES:
            node: str = _EU + "file-type/" + fmt
        else:
            node = Blank("format" + hashlib.sha1(fmt.encode()).hexdigest()[:16])
        if self._once(("format", fmt)):
            self.doc.add(node, RDF.type, DCT.MediaTypeOrExtent)
            self.doc.add(node, RDFS.label, Lit(fmt))
        return node

    def media_type(self, media: str) -> str:
        """``dcat:mediaType``: the IANA register's URI of the type, as ``dct:MediaType``."""
        uri = IANA_MEDIA_TYPES + media
        if self._once(("media", media)):
            self.doc.add(uri, RDF.type, DCT.MediaType)
            self.doc.add(uri, RDFS.label, Lit(media))
        return uri

    def availability(self) -> str:
        term = vocab.AVAILABILITY_STABLE
        return self._concept(term.uri, term.label, vocab.AVAILABILITY_SCHEME)

    def contact(self, entry: CatalogEntry) -> Blank:
        """The entry's contact, or when it names none, its publishing department."""
        contact = self._blank("contact")
        add = self.doc.add
        add(contact, RDF.type, VCARD.Kind)
        if not (entry.contact_name or entry.contact_email or entry.contact_phone):
            add(contact, RDF.type, VCARD.Organization)
            add(contact, VCARD.fn, _zh(entry.organisation.name))
            return contact
        add(contact, VCARD.fn, _zh(entry.contact_name or entry.organisation.name))
        if entry.contact_email:
            add(contact, VCARD.hasEmail, "mailto:" + quote(entry.contact_email.strip(), safe="@+"))
        if entry.contact_phone:
            add(contact, VCARD.hasTelephone, "tel:" + quote("".join(entry.contact_phone.split()), safe="+"))
        return contact

    def dataset(self, entry: CatalogEntry) -> str:
        ds = self.uris.dataset(entry)
        add = self.doc.add
        add(ds, RDF.type, DCAT.Dataset)
        add(ds, DCT.identifier, Lit(entry.code))
        add(ds, DCT.title, _zh(entry.title))
        # dct:description is mandatory in DCAT-AP: an entry registered without one has its title
        add(ds, DCT.description, _zh(entry.description or entry.title))
        add(ds, DCT.publisher, self.publisher(entry))
        add(ds, DCAT.theme, self.theme(entry.category))
        for tag in entry.tag_names:
            add(ds, DCAT.keyword, _zh(tag))
        add(ds, DCT.issued, _datetime(entry.created_at))
        add(ds, DCT.modified, _datetime(entry.modified_at))
        add(ds, DCT.accrualPeriodicity, self.frequency(entry.update_frequency))
        add(ds, DCT.accessRights, self.access_rights(entry.open_type))
        add(ds, DCT.language, self.language())
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
        add(ds, DCAT.contactPoint, self.contact(entry))
        add(ds, DCAT.landingPage, self.document(self.uris.landing_page(entry)))
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
        is_table = resource.id in self.tables
        fmt = TABLE_FORMAT if is_table else (resource.format or "").strip().upper()
        if fmt:
            add(dist, DCT.format, self.file_type(fmt))
            media = vocab.FILE_TYPES.get(fmt)
            if media:
                add(dist, DCAT.mediaType, self.media_type(media))
        add(dist, DCAT.accessURL, self.uris.access_url(resource))
        if is_table and self.tables[resource.id]:
            add(dist, DCAT.downloadURL, self.uris.download_url(resource))
        add(dist, DCT.issued, _datetime(resource.created_at))
        add(dist, DCT.modified, _datetime(resource.modified_at))
        add(dist, DCT.accessRights, self.access_rights(entry.open_type))
        if entry.licence:
            add(dist, DCT.license, self.licence(entry.licence))
        add(dist, DCT.language, self.language())
        add(dist, DCATAP.availability, self.availability())
        return dist

    def catalog(self, issued: datetime | None = None, modified: datetime | None = None) -> str:
        cat = self.uris.catalog
        add = self.doc.add
        add(cat, RDF.type, DCAT.Catalog)
        add(cat, DCT.title, _zh(CATALOG_TITLE))
        add(cat, DCT.description, _zh(CATALOG_DESCRIPTION))
        add(cat, DCT.language, self.language())
        add(cat, FOAF.homepage, self.document(self.uris.base + "/"))
        add(cat, DCT.spatial, self.place(vocab.CITYWIDE))
        if issued:
            add(cat, DCT.issued, _datetime(issued))
        if modified:
            add(cat, DCT.modified, _datetime(modified))
        publisher = self.uris.catalog_publisher
        add(cat, DCT.publisher, publisher)
        self.agent(publisher, CATALOG_PUBLISHER, vocab.publisher_type("department"))
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


def iter_chunks(
    session: Session, actor: Actor, q: str = "", filters: Mapping[str, Sequence[str]] | None = None
) -> Iterator[list[CatalogEntry]]:
    """Every entry the actor may see that matches ``q`` and ``filters``, by code, ``_CHUNK`` at a time."""
    offset = 0
    while True:
        result = service.search_entries(session, actor, _query(q, filters, offset, _CHUNK), max_rows=_CHUNK)
        if result.entries:
            yield result.entries
        offset += _CHUNK
        if offset >= result.count or not result.entries:
            return


def iter_entries(
    session: Session, actor: Actor, q: str = "", filters: Mapping[str, Sequence[str]] | None = None
) -> Iterable[CatalogEntry]:
    """Every entry the actor may see that matches ``q`` and ``filters``, by code, in chunks."""
    for chunk in iter_chunks(session, actor, q, filters):
        yield from chunk


def _catalogue_dates(session: Session, actor: Actor) -> tuple[datetime | None, datetime | None]:
    """When the catalogue (as a whole, whatever the request's filters) got its first entry and
    when an entry last changed: ``dct:issued`` and ``dct:modified`` of the dcat:Catalog."""

    def first(sort: str) -> Any:
        query = service.SearchQuery(sort=sort, limit=1, facets=(), load_entries=False)
        summaries = service.search_entries(session, actor, query, max_rows=1).summaries
        return summaries[0] if summaries else None

    earliest, latest = first("created_asc"), first("modified_desc")
    return (earliest.created_at if earliest else None, latest.modified_at if latest else None)


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
    downloads: DownloadLookup | None = None,
) -> Document:
    """The catalogue as a dcat:Catalog of the entries the actor may see matching ``q`` and
    ``filters`` (the catalogue search's own query and filters). ``downloads`` (see
    ``DownloadLookup``) decides which distributions get a ``dcat:downloadURL``; without it none do.

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
    catalog = builder.catalog(*_catalogue_dates(session, actor))

    if number is None:
        chunks: Iterable[list[CatalogEntry]] = iter_chunks(session, actor, q, filters)
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
        chunks = [result.entries]

    for entries in chunks:
        builder.tables = downloads(entries) if downloads else {}
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


def dataset_document(
    session: Session, actor: Actor, key: str, base_url: str, *, downloads: DownloadLookup | None = None
) -> Document:
    """One entry (by URL name, code or id) as a dcat:Dataset with its distributions, publisher,
    theme and contact; ``EntryNotFound`` when the actor may not see it. ``downloads`` as in
    ``catalog_document``."""
    entry = service.get_entry(session, actor, key)
    doc = Document()
    builder = _Builder(doc, Uris.of(base_url))
    builder.tables = downloads([entry]) if downloads else {}
    doc.add(builder.uris.catalog, DCAT.dataset, builder.dataset(entry))
    return doc


def catalog_graph(session: Session, actor: Actor, base_url: str, **options: Any) -> Graph:
    """``catalog_document`` as an rdflib graph (for programs; the routes serialise the document)."""
    return catalog_document(session, actor, base_url, **options).to_graph()


def dataset_graph(session: Session, actor: Actor, key: str, base_url: str, **options: Any) -> Graph:
    """``dataset_document`` as an rdflib graph."""
    return dataset_document(session, actor, key, base_url, **options).to_graph()
