"""DCAT export of the catalogue: the whole catalogue, a page of it (with Hydra paging links, as
ckanext-dcat pages its catalogue endpoint) or one entry, as rdflib graphs.

Everything is read through the catalogue service (``search_entries`` sorted by code, ``get_entry``),
so what the export shows is exactly what the actor may see. The mapping of our fields to DCAT
properties is documented in docs/dcat.md.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from urllib.parse import quote, urlencode

from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, RDF, RDFS, SKOS, XSD
from sqlalchemy.orm import Session

from pubdata.authz import Actor
from pubdata.catalog import service, vocab
from pubdata.catalog.models import CatalogEntry, CatalogResource
from pubdata.errors import Invalid, NotFound

DCT = DCTERMS
VCARD = Namespace("http://www.w3.org/2006/vcard/ns#")
HYDRA = Namespace("http://www.w3.org/ns/hydra/core#")

# Prefixes of every serialisation, and the JSON-LD @context.
PREFIXES: dict[str, str] = {
    "dcat": str(DCAT),
    "dct": str(DCT),
    "foaf": str(FOAF),
    "vcard": str(VCARD),
    "hydra": str(HYDRA),
    "skos": str(SKOS),
    "rdf": str(RDF),
    "rdfs": str(RDFS),
    "xsd": str(XSD),
}

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
LANGUAGE_ZH = URIRef(_EU + "language/ZHO")
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
    rdflib_format: str
    media_type: str


FORMATS: dict[str, Format] = {
    "ttl": Format("ttl", "turtle", "text/turtle; charset=utf-8"),
    "jsonld": Format("jsonld", "json-ld", "application/ld+json"),
    "rdf": Format("rdf", "xml", "application/rdf+xml"),
    "xml": Format("xml", "xml", "application/rdf+xml"),
}


def serialise(graph: Graph, extension: str) -> bytes:
    """The graph as Turtle, JSON-LD (compacted with ``PREFIXES`` as its @context) or RDF/XML."""
    fmt = FORMATS[extension]
    if fmt.rdflib_format == "json-ld":
        return graph.serialize(format="json-ld", context=dict(PREFIXES), auto_compact=True, encoding="utf-8")
    return graph.serialize(format=fmt.rdflib_format, encoding="utf-8")


def new_graph() -> Graph:
    graph = Graph(bind_namespaces="none")
    for prefix, uri in PREFIXES.items():
        graph.bind(prefix, uri)
    return graph


# --- URIs ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Uris:
    """The URIs the export mints, all under the platform's public base URL."""

    base: str

    @classmethod
    def of(cls, base_url: str) -> Uris:
        return cls(base_url.rstrip("/"))

    @property
    def catalog(self) -> URIRef:
        return URIRef(f"{self.base}/catalog")

    @property
    def catalog_publisher(self) -> URIRef:
        return URIRef(f"{self.base}/catalog#publisher")

    @property
    def theme_scheme(self) -> URIRef:
        return URIRef(f"{self.base}/catalog/themes")

    def theme(self, category: str) -> URIRef:
        return URIRef(f"{self.base}/catalog/themes/{category}")

    def place(self, district: str) -> URIRef:
        return URIRef(f"{self.base}/catalog/places/{_DISTRICT_CODES.get(district) or quote(district)}")

    def dataset(self, entry: CatalogEntry) -> URIRef:
        return URIRef(f"{self.base}/dataset/{quote(entry.name)}")

    def landing_page(self, entry: CatalogEntry) -> URIRef:
        return URIRef(f"{self.base}/dataset/{quote(entry.name)}")

    def distribution(self, entry: CatalogEntry, resource: CatalogResource) -> URIRef:
        return URIRef(f"{self.base}/dataset/{quote(entry.name)}/resource/{resource.id}")

    def access_url(self, resource: CatalogResource) -> URIRef:
        return URIRef(f"{self.base}/api/v1/resources/{resource.id}")

    def organisation(self, code: str) -> URIRef:
        return URIRef(f"{self.base}/organisation/{quote(code)}")


# --- building --------------------------------------------------------------------------------


def _zh(text: str) -> Literal:
    return Literal(text, lang=ZH)


def _datetime(value: datetime) -> Literal:
    return Literal(value.isoformat(), datatype=XSD.dateTime)


def _date(value: date) -> Literal:
    return Literal(value.isoformat(), datatype=XSD.date)


class _Builder:
    """Adds entries to a graph; describes each shared node (department, theme, place, licence,
    frequency, access right) once however many entries point at it."""

    def __init__(self, graph: Graph, uris: Uris) -> None:
        self.g = graph
        self.uris = uris
        self._seen: set[object] = set()

    def _once(self, key: object) -> bool:
        if key in self._seen:
            return False
        self._seen.add(key)
        return True

    def theme(self, code: str) -> URIRef:
        uri = self.uris.theme(code)
        if self._once(("theme", code)):
            term = vocab.CATEGORY_BY_CODE[code]
            scheme = self.uris.theme_scheme
            add = self.g.add
            add((uri, RDF.type, SKOS.Concept))
            add((uri, SKOS.prefLabel, _zh(term.label)))
            add((uri, SKOS.notation, Literal(term.code)))
            if term.description:
                add((uri, SKOS.definition, _zh(term.description)))
            add((uri, SKOS.inScheme, scheme))
            add((uri, SKOS.topConceptOf, scheme))
        return uri

    def theme_scheme(self) -> URIRef:
        scheme = self.uris.theme_scheme
        if self._once("scheme"):
            self.g.add((scheme, RDF.type, SKOS.ConceptScheme))
            self.g.add((scheme, DCT.title, _zh(THEME_SCHEME_TITLE)))
            self.g.add((scheme, SKOS.prefLabel, _zh(THEME_SCHEME_TITLE)))
            for term in vocab.CATEGORIES:
                self.g.add((scheme, SKOS.hasTopConcept, self.theme(term.code)))
        return scheme

    def publisher(self, entry: CatalogEntry) -> URIRef:
        org = entry.organisation
        uri = self.uris.organisation(org.code)
        if self._once(("org", org.id)):
            self.g.add((uri, RDF.type, FOAF.Organization))
            self.g.add((uri, RDF.type, FOAF.Agent))
            self.g.add((uri, FOAF.name, _zh(org.name)))
            self.g.add((uri, DCT.identifier, Literal(org.code)))
        return uri

    def place(self, district: str) -> URIRef:
        uri = self.uris.place(district)
        if self._once(("place", district)):
            label = district if district != vocab.CITYWIDE else CITY_NAME
            self.g.add((uri, RDF.type, DCT.Location))
            self.g.add((uri, RDFS.label, _zh(label)))
            self.g.add((uri, SKOS.prefLabel, _zh(label)))
            if district in _DISTRICT_CODES:
                self.g.add((uri, DCT.identifier, Literal(_DISTRICT_CODES[district])))
        return uri

    def licence(self, text: str) -> URIRef | BNode:
        if text.startswith(("http://", "https://")):
            return URIRef(text)
        node = BNode("licence" + hashlib.sha1(text.encode()).hexdigest()[:16])
        if self._once(("licence", text)):
            self.g.add((node, RDF.type, DCT.LicenseDocument))
            self.g.add((node, RDFS.label, _zh(text)))
        return node

    def frequency(self, code: str) -> URIRef:
        term = vocab.FREQUENCY_BY_CODE[code]
        uri = URIRef(term.uri)
        if self._once(("freq", code)):
            self.g.add((uri, RDF.type, DCT.Frequency))
            self.g.add((uri, RDFS.label, _zh(term.label)))
        return uri

    def access_rights(self, code: str) -> URIRef:
        term = vocab.OPEN_TYPE_BY_CODE[code]
        uri = URIRef(term.uri)
        if self._once(("access", code)):
            self.g.add((uri, RDF.type, DCT.RightsStatement))
            self.g.add((uri, RDFS.label, _zh(term.label)))
            self.g.add((uri, SKOS.notation, Literal(term.code)))
        return uri

    def dataset(self, entry: CatalogEntry) -> URIRef:
        ds = self.uris.dataset(entry)
        add = self.g.add
        add((ds, RDF.type, DCAT.Dataset))
        add((ds, DCT.identifier, Literal(entry.code)))
        add((ds, DCT.title, _zh(entry.title)))
        if entry.description:
            add((ds, DCT.description, _zh(entry.description)))
        add((ds, DCT.publisher, self.publisher(entry)))
        add((ds, DCAT.theme, self.theme(entry.category)))
        for tag in entry.tag_names:
            add((ds, DCAT.keyword, _zh(tag)))
        add((ds, DCT.issued, _datetime(entry.created_at)))
        add((ds, DCT.modified, _datetime(entry.modified_at)))
        add((ds, DCT.accrualPeriodicity, self.frequency(entry.update_frequency)))
        add((ds, DCT.accessRights, self.access_rights(entry.open_type)))
        add((ds, DCT.language, LANGUAGE_ZH))
        if entry.district:
            add((ds, DCT.spatial, self.place(entry.district)))
        if entry.temporal_start or entry.temporal_end:
            period = BNode()
            add((ds, DCT.temporal, period))
            add((period, RDF.type, DCT.PeriodOfTime))
            if entry.temporal_start:
                add((period, DCAT.startDate, _date(entry.temporal_start)))
            if entry.temporal_end:
                add((period, DCAT.endDate, _date(entry.temporal_end)))
        if entry.licence:
            add((ds, DCT.license, self.licence(entry.licence)))
        if entry.contact_name or entry.contact_email or entry.contact_phone:
            contact = BNode()
            add((ds, DCAT.contactPoint, contact))
            add((contact, RDF.type, VCARD.Kind))
            add((contact, VCARD.fn, _zh(entry.contact_name or entry.organisation.name)))
            if entry.contact_email:
                add((contact, VCARD.hasEmail, URIRef("mailto:" + entry.contact_email.strip())))
            if entry.contact_phone:
                add((contact, VCARD.hasTelephone, URIRef("tel:" + "".join(entry.contact_phone.split()))))
        add((ds, DCAT.landingPage, self.uris.landing_page(entry)))
        for resource in entry.resources:
            add((ds, DCAT.distribution, self.distribution(entry, resource)))
        return ds

    def distribution(self, entry: CatalogEntry, resource: CatalogResource) -> URIRef:
        dist = self.uris.distribution(entry, resource)
        add = self.g.add
        add((dist, RDF.type, DCAT.Distribution))
        add((dist, DCT.identifier, Literal(resource.id)))
        add((dist, DCT.title, _zh(resource.name)))
        if resource.description:
            add((dist, DCT.description, _zh(resource.description)))
        fmt = (resource.format or "").strip().upper()
        if fmt in _FILE_TYPES:
            fmt_uri = URIRef(_EU + "file-type/" + fmt)
            add((dist, DCT.format, fmt_uri))
            if self._once(("format", fmt)):
                add((fmt_uri, RDF.type, DCT.MediaTypeOrExtent))
                add((fmt_uri, RDFS.label, Literal(fmt)))
            media = _FILE_TYPES[fmt]
            if media:
                add((dist, DCAT.mediaType, URIRef("https://www.iana.org/assignments/media-types/" + media)))
        elif fmt:
            add((dist, DCT.format, Literal(fmt)))
        add((dist, DCAT.accessURL, self.uris.access_url(resource)))
        add((dist, DCT.issued, _datetime(resource.created_at)))
        add((dist, DCT.modified, _datetime(resource.modified_at)))
        add((dist, DCT.accessRights, self.access_rights(entry.open_type)))
        return dist

    def catalog(self) -> URIRef:
        cat = self.uris.catalog
        add = self.g.add
        add((cat, RDF.type, DCAT.Catalog))
        add((cat, DCT.title, _zh(CATALOG_TITLE)))
        add((cat, DCT.description, _zh(CATALOG_DESCRIPTION)))
        add((cat, DCT.language, LANGUAGE_ZH))
        add((cat, FOAF.homepage, URIRef(self.uris.base + "/")))
        add((cat, DCT.spatial, self.place(vocab.CITYWIDE)))
        publisher = self.uris.catalog_publisher
        add((cat, DCT.publisher, publisher))
        add((publisher, RDF.type, FOAF.Organization))
        add((publisher, RDF.type, FOAF.Agent))
        add((publisher, FOAF.name, _zh(CATALOG_PUBLISHER)))
        add((cat, DCAT.themeTaxonomy, self.theme_scheme()))
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


def _page_link(collection_url: str, params: Sequence[tuple[str, str]], page: int) -> URIRef:
    query = urlencode([*params, ("page", str(page))])
    return URIRef(f"{collection_url}?{query}")


def catalog_graph(
    session: Session,
    actor: Actor,
    base_url: str,
    *,
    q: str = "",
    filters: Mapping[str, Sequence[str]] | None = None,
    page: str | int | None = None,
    collection_url: str | None = None,
    link_params: Sequence[tuple[str, str]] = (),
) -> Graph:
    """The catalogue as a dcat:Catalog of the entries the actor may see matching ``q`` and
    ``filters`` (the catalogue's own search filters).

    Without ``page``: every matching entry in one graph. With ``page`` (1-based): ``PAGE_SIZE``
    entries by code and a hydra:PagedCollection whose links are ``collection_url`` with
    ``link_params`` and ``page=N`` (the API passes the request's URL). A page that is not a positive
    integer is ``InvalidPage``; a page after the last is ``PageNotFound`` (an empty catalogue has one,
    empty, page).
    """
    number = parse_page(page)
    uris = Uris.of(base_url)
    graph = new_graph()
    builder = _Builder(graph, uris)
    catalog = builder.catalog()

    if number is None:
        entries: Iterable[CatalogEntry] = iter_entries(session, actor, q, filters)
    else:
        size = PAGE_SIZE
        result = service.search_entries(session, actor, _query(q, filters, (number - 1) * size, size), max_rows=size)
        paging = Paging(number, size, result.count)
        if number > paging.last:
            raise PageNotFound(
                f"页码超出范围：第 {number} 页，共 {paging.last} 页",
                details=[{"field": "page", "message": f"last page is {paging.last}"}],
            )
        _add_paging(graph, paging, collection_url or f"{uris.base}/catalog.ttl", link_params)
        entries = result.entries

    for entry in entries:
        graph.add((catalog, DCAT.dataset, builder.dataset(entry)))
    return graph


def _add_paging(graph: Graph, paging: Paging, collection_url: str, params: Sequence[tuple[str, str]]) -> None:
    def link(n: int) -> URIRef:
        return _page_link(collection_url, params, n)

    node = link(paging.page)
    graph.add((node, RDF.type, HYDRA.PagedCollection))
    graph.add((node, HYDRA.totalItems, Literal(paging.total, datatype=XSD.integer)))
    graph.add((node, HYDRA.itemsPerPage, Literal(paging.page_size, datatype=XSD.integer)))
    graph.add((node, HYDRA.firstPage, link(1)))
    graph.add((node, HYDRA.lastPage, link(paging.last)))
    if paging.page < paging.last:
        graph.add((node, HYDRA.nextPage, link(paging.page + 1)))
    if paging.page > 1:
        graph.add((node, HYDRA.previousPage, link(paging.page - 1)))


def dataset_graph(session: Session, actor: Actor, key: str, base_url: str) -> Graph:
    """One entry (by URL name, code or id) as a dcat:Dataset with its distributions, publisher and
    theme; ``EntryNotFound`` when the actor may not see it."""
    entry = service.get_entry(session, actor, key)
    graph = new_graph()
    builder = _Builder(graph, Uris.of(base_url))
    ds = builder.dataset(entry)
    graph.add((builder.uris.catalog, DCAT.dataset, ds))
    return graph
