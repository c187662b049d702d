"""DCAT export (domain): the triples of an entry and of the catalogue, paging, filters, errors.
Every document is written out and parsed back with rdflib, so the writers are tested too."""

from __future__ import annotations

from datetime import date

import pytest
from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, FOAF, RDF, RDFS, SKOS, XSD
from rdflib.namespace import DCTERMS as DCT

from pubdata.catalog import dcat, vocab
from pubdata.catalog.errors import EntryNotFound, InvalidSearch
from tests.builders import make_entry, make_org

BASE = "http://data.example.cn"
VCARD = Namespace("http://www.w3.org/2006/vcard/ns#")
HYDRA = Namespace("http://www.w3.org/ns/hydra/core#")
EU_ACCESS = "http://publications.europa.eu/resource/authority/access-right/"
IANA = "http://www.iana.org/assignments/media-types/"
PLANNED = "http://publications.europa.eu/resource/authority/planned-availability/"
DCATAP = Namespace("http://data.europa.eu/r5r/")
FORMATS = {"ttl": "turtle", "jsonld": "json-ld", "rdf": "xml"}


def parsed(doc: dcat.Document, ext: str = "ttl") -> Graph:
    return Graph().parse(data=doc.serialise(ext), format=FORMATS[ext])


def ds_uri(entry) -> URIRef:  # noqa: ANN001
    return URIRef(f"{BASE}/dataset/{entry.name}")


@pytest.fixture
def entry(session):  # noqa: ANN001, ANN201
    org = make_org(session, name="青岛市卫生健康委员会")
    return make_entry(
        session,
        organisation=org.code,
        title="医疗机构执业许可信息",
        description="全市医疗机构的执业许可",
        category="medical",
        open_type="conditional",
        update_frequency="monthly",
        district="黄岛区",
        tags=["医疗", "许可"],
        temporal_start=date(2020, 1, 1),
        temporal_end=date(2024, 12, 31),
        licence="青岛市公共数据开放许可协议",
        contact_name="李四",
        contact_email="data@wsjkw.qingdao.gov.cn",
        contact_phone="0532-85912345",
        resources=[{"name": "执业许可表", "format": "CSV"}, {"name": "附件", "format": "pdf"}],
    )


@pytest.mark.parametrize("ext", ["ttl", "jsonld", "rdf"])
def test_an_entry_is_a_dcat_dataset_with_its_metadata(session, as_actor, entry, ext):  # noqa: ANN001
    g = parsed(dcat.dataset_document(session, as_actor("anonymous"), entry.name, BASE), ext)
    ds = ds_uri(entry)
    assert (ds, RDF.type, DCAT.Dataset) in g
    assert g.value(ds, DCT.identifier) == Literal(entry.code)
    assert (ds, DCT.title, Literal("医疗机构执业许可信息", lang="zh")) in g
    assert (ds, DCT.description, Literal("全市医疗机构的执业许可", lang="zh")) in g
    publisher = g.value(ds, DCT.publisher)
    assert (publisher, RDF.type, FOAF.Organization) in g
    assert g.value(publisher, FOAF.name) == Literal("青岛市卫生健康委员会", lang="zh")
    theme = g.value(ds, DCAT.theme)
    assert theme == URIRef(f"{BASE}/catalog/themes/medical")
    assert (theme, RDF.type, SKOS.Concept) in g
    assert g.value(theme, SKOS.prefLabel) == Literal("医疗", lang="zh")
    assert set(g.objects(ds, DCAT.keyword)) == {Literal("医疗", lang="zh"), Literal("许可", lang="zh")}
    for prop, value in ((DCT.issued, entry.created_at), (DCT.modified, entry.modified_at)):
        lit = g.value(ds, prop)
        assert lit.datatype == XSD.dateTime
        assert lit.toPython() == value
    assert g.value(ds, DCT.accrualPeriodicity) == URIRef(
        "http://publications.europa.eu/resource/authority/frequency/MONTHLY"
    )
    assert g.value(ds, DCT.accessRights) == URIRef(EU_ACCESS + "RESTRICTED")
    assert g.value(URIRef(EU_ACCESS + "RESTRICTED"), RDFS.label) == Literal("有条件开放", lang="zh")
    place = g.value(ds, DCT.spatial)
    assert (place, RDF.type, DCT.Location) in g
    assert g.value(place, RDFS.label) == Literal("黄岛区", lang="zh")
    period = g.value(ds, DCT.temporal)
    assert (period, RDF.type, DCT.PeriodOfTime) in g
    assert g.value(period, DCAT.startDate) == Literal(date(2020, 1, 1))
    assert g.value(period, DCAT.endDate) == Literal(date(2024, 12, 31))
    assert g.value(g.value(ds, DCT.license), RDFS.label) == Literal("青岛市公共数据开放许可协议", lang="zh")
    contact = g.value(ds, DCAT.contactPoint)
    assert (contact, RDF.type, VCARD.Kind) in g
    assert g.value(contact, VCARD.fn) == Literal("李四", lang="zh")
    assert g.value(contact, VCARD.hasEmail) == URIRef("mailto:data@wsjkw.qingdao.gov.cn")
    assert g.value(contact, VCARD.hasTelephone) == URIRef("tel:0532-85912345")
    assert g.value(ds, DCAT.landingPage) == URIRef(f"{BASE}/dataset/{entry.name}")


def test_every_resource_is_a_distribution_with_access_url_and_format(session, as_actor, entry):  # noqa: ANN001
    g = parsed(dcat.dataset_document(session, as_actor("anonymous"), entry.code, BASE))
    dists = set(g.objects(ds_uri(entry), DCAT.distribution))
    assert len(dists) == 2
    by_title = {str(g.value(d, DCT.title)): d for d in dists}
    table, attachment = by_title["执业许可表"], by_title["附件"]
    resources = {r.name: r for r in entry.resources}
    for dist, name in ((table, "执业许可表"), (attachment, "附件")):
        assert (dist, RDF.type, DCAT.Distribution) in g
        assert g.value(dist, DCAT.accessURL) == URIRef(f"{BASE}/api/v1/resources/{resources[name].id}")
        assert g.value(dist, DCT.issued).datatype == XSD.dateTime
        assert g.value(dist, DCT.modified).datatype == XSD.dateTime
    assert g.value(table, DCT.format) == URIRef("http://publications.europa.eu/resource/authority/file-type/CSV")
    assert g.value(attachment, DCT.format) == URIRef("http://publications.europa.eu/resource/authority/file-type/PDF")
    assert g.value(table, DCAT.mediaType) == URIRef(IANA + "text/csv")
    assert g.value(attachment, DCAT.mediaType) == URIRef(IANA + "application/pdf")
    assert (URIRef(IANA + "text/csv"), RDF.type, DCT.MediaType) in g
    for dist in (table, attachment):
        assert g.value(dist, DCT.license) == g.value(ds_uri(entry), DCT.license)
        assert g.value(dist, DCATAP.availability) == URIRef(PLANNED + "STABLE")
        assert g.value(dist, DCAT.downloadURL) is None  # no download lookup given: no link


def test_download_url_only_where_the_lookup_allows_it(session, as_actor, entry):  # noqa: ANN001
    table, attachment = entry.resources
    asked: list[list[str]] = []

    def lookup(allowed: bool):  # noqa: ANN202
        def tables(entries):  # noqa: ANN001, ANN202
            asked.append([e.code for e in entries])
            return {table.id: allowed}

        return tables

    uri = URIRef(f"{BASE}/dataset/{entry.name}/resource/{table.id}")
    g = parsed(dcat.dataset_document(session, as_actor("anonymous"), entry.name, BASE, downloads=lookup(True)))
    assert g.value(uri, DCAT.downloadURL) == URIRef(f"{BASE}/api/v1/resources/{table.id}/download.csv")
    assert g.value(uri, DCAT.mediaType) == URIRef(IANA + "text/csv")
    no = URIRef(f"{BASE}/dataset/{entry.name}/resource/{attachment.id}")
    assert g.value(no, DCAT.downloadURL) is None
    g = parsed(dcat.catalog_document(session, as_actor("anonymous"), BASE, downloads=lookup(False)))
    assert g.value(uri, DCAT.downloadURL) is None
    # a published table is described as the CSV the store serves, whoever asks
    assert g.value(uri, DCT.format) == URIRef("http://publications.europa.eu/resource/authority/file-type/CSV")
    assert asked == [[entry.code], [entry.code]]


def test_typed_ranges_and_fallbacks(session, as_actor):  # noqa: ANN001
    org = make_org(session, name="青岛市海洋发展局")
    e = make_entry(
        session,
        organisation=org.code,
        description="",
        licence="https://creativecommons.org/licenses/by/4.0/",
        resources=[{"name": "海图", "format": "dwg"}],
    )
    g = parsed(dcat.catalog_document(session, as_actor("anonymous"), BASE), "rdf")
    ds = ds_uri(e)
    # no description: the title stands in (dct:description is mandatory in DCAT-AP)
    assert g.value(ds, DCT.description) == Literal(e.title, lang="zh")
    # no contact: the publishing department is the contact point
    contact = g.value(ds, DCAT.contactPoint)
    assert (contact, RDF.type, VCARD.Kind) in g and (contact, RDF.type, VCARD.Organization) in g
    assert g.value(contact, VCARD.fn) == Literal("青岛市海洋发展局", lang="zh")
    # a licence given as a URL is that URL, typed
    licence = URIRef("https://creativecommons.org/licenses/by/4.0/")
    assert g.value(ds, DCT.license) == licence and (licence, RDF.type, DCT.LicenseDocument) in g
    # a format outside the EU file types: a typed node labelled with it, never a literal
    (dist,) = g.objects(ds, DCAT.distribution)
    fmt = g.value(dist, DCT.format)
    assert not isinstance(fmt, Literal) and (fmt, RDF.type, DCT.MediaTypeOrExtent) in g
    assert g.value(fmt, RDFS.label) == Literal("DWG") and g.value(dist, DCAT.mediaType) is None
    # landing page, homepage and language carry the classes DCAT-AP gives their ranges
    assert (g.value(ds, DCAT.landingPage), RDF.type, FOAF.Document) in g
    cat = URIRef(f"{BASE}/catalog")
    assert (g.value(cat, FOAF.homepage), RDF.type, FOAF.Document) in g
    language = URIRef("http://publications.europa.eu/resource/authority/language/ZHO")
    assert g.value(ds, DCT.language) == language and (language, RDF.type, DCT.LinguisticSystem) in g
    # publishers have an ADMS publisher type, a labelled skos:Concept
    for agent in (g.value(ds, DCT.publisher), g.value(cat, DCT.publisher)):
        kind = g.value(agent, DCT.type)
        assert kind == URIRef("http://purl.org/adms/publishertype/LocalAuthority")
        assert (kind, RDF.type, SKOS.Concept) in g and g.value(kind, SKOS.prefLabel) is not None
    # the catalogue's own dates: its first entry, its latest change
    assert g.value(cat, DCT.issued).toPython() == e.created_at
    assert g.value(cat, DCT.modified).toPython() == e.modified_at


@pytest.mark.parametrize(
    ("open_type", "right", "label"),
    [
        ("unconditional", "PUBLIC", "无条件开放"),
        ("conditional", "RESTRICTED", "有条件开放"),
        ("closed", "NON_PUBLIC", "不予开放"),
    ],
)
def test_open_type_maps_to_the_eu_access_right(session, as_actor, open_type, right, label):  # noqa: ANN001
    e = make_entry(session, open_type=open_type)
    g = parsed(dcat.dataset_document(session, as_actor("anonymous"), e.name, BASE), "jsonld")
    uri = URIRef(EU_ACCESS + right)
    assert g.value(ds_uri(e), DCT.accessRights) == uri
    assert g.value(uri, RDFS.label) == Literal(label, lang="zh")


def test_unknown_entry_is_not_found(session, as_actor):  # noqa: ANN001
    with pytest.raises(EntryNotFound):
        dcat.dataset_document(session, as_actor("anonymous"), "no-such-entry", BASE)


def test_withdrawn_entry_is_not_exported(session, as_actor):  # noqa: ANN001
    from pubdata.authz import SYSTEM
    from pubdata.catalog import service

    kept, gone = make_entry(session), make_entry(session)
    service.delete_entry(session, SYSTEM, gone.code)
    g = parsed(dcat.catalog_document(session, as_actor("anonymous"), BASE))
    assert set(g.objects(URIRef(f"{BASE}/catalog"), DCAT.dataset)) == {ds_uri(kept)}
    with pytest.raises(EntryNotFound):
        dcat.dataset_document(session, as_actor("anonymous"), gone.code, BASE)


def test_catalogue_lists_every_entry_with_publisher_and_theme_taxonomy(session, as_actor):  # noqa: ANN001
    entries = [make_entry(session, category=c) for c in ("business", "ocean", "credit")]
    g = parsed(dcat.catalog_document(session, as_actor("anonymous"), BASE), "jsonld")
    cat = URIRef(f"{BASE}/catalog")
    assert (cat, RDF.type, DCAT.Catalog) in g
    assert g.value(cat, DCT.title) == Literal("青岛市公共数据开放目录", lang="zh")
    assert g.value(g.value(cat, DCT.publisher), FOAF.name) == Literal("青岛市大数据发展管理局", lang="zh")
    assert set(g.objects(cat, DCAT.dataset)) == {ds_uri(e) for e in entries}
    scheme = g.value(cat, DCAT.themeTaxonomy)
    assert (scheme, RDF.type, SKOS.ConceptScheme) in g
    concepts = set(g.objects(scheme, SKOS.hasTopConcept))
    assert len(concepts) == len(vocab.CATEGORIES) == 19
    labels = {str(g.value(c, SKOS.prefLabel)) for c in concepts}
    assert labels == {t.label for t in vocab.CATEGORIES}
    assert all(g.value(c, SKOS.prefLabel).language == "zh" for c in concepts)
    # no paging without ?page
    assert not list(g.subjects(RDF.type, HYDRA.PagedCollection))


def test_the_three_formats_carry_the_same_triples(session, as_actor, entry):  # noqa: ANN001
    make_entry(session, title='含"引号"与\\反斜杠\n换行的标题 <b>&amp;</b>')
    doc = dcat.catalog_document(session, as_actor("anonymous"), BASE)
    graphs = [parsed(doc, ext) for ext in FORMATS]
    assert len(graphs[0]) == len(doc) > 50
    from rdflib.compare import isomorphic

    assert isomorphic(graphs[0], graphs[1]) and isomorphic(graphs[0], graphs[2])
    assert isomorphic(graphs[0], doc.to_graph())
    titles = set(graphs[0].objects(None, DCT.title))
    assert Literal('含"引号"与\\反斜杠\n换行的标题 <b>&amp;</b>', lang="zh") in titles


def paging(g: Graph) -> tuple[URIRef, dict[str, object]]:
    (node,) = g.subjects(RDF.type, HYDRA.PagedCollection)
    props = {
        name: g.value(node, HYDRA[name])
        for name in ("totalItems", "itemsPerPage", "firstPage", "lastPage", "nextPage", "previousPage")
    }
    return node, props


def test_pages_link_to_each_other_with_hydra(session, as_actor, monkeypatch):  # noqa: ANN001
    monkeypatch.setattr(dcat, "PAGE_SIZE", 2)
    entries = sorted((make_entry(session) for _ in range(5)), key=lambda e: e.code)
    anon = as_actor("anonymous")
    url = f"{BASE}/catalog.ttl"
    seen: list[URIRef] = []
    for number, expected in ((1, entries[0:2]), (2, entries[2:4]), (3, entries[4:5])):
        g = parsed(dcat.catalog_document(session, anon, BASE, page=number, collection_url=url))
        node, p = paging(g)
        assert node == URIRef(f"{url}?page={number}")
        assert p["totalItems"].toPython() == 5 and p["itemsPerPage"].toPython() == 2
        assert p["firstPage"] == URIRef(f"{url}?page=1") and p["lastPage"] == URIRef(f"{url}?page=3")
        assert p["nextPage"] == (URIRef(f"{url}?page={number + 1}") if number < 3 else None)
        assert p["previousPage"] == (URIRef(f"{url}?page={number - 1}") if number > 1 else None)
        datasets = set(g.objects(URIRef(f"{BASE}/catalog"), DCAT.dataset))
        assert datasets == {ds_uri(e) for e in expected}
        seen += datasets
    assert len(set(seen)) == 5


def test_paging_links_keep_the_filters(session, as_actor, monkeypatch):  # noqa: ANN001
    monkeypatch.setattr(dcat, "PAGE_SIZE", 1)
    for _ in range(2):
        make_entry(session, category="ocean")
    make_entry(session, category="credit")
    g = parsed(
        dcat.catalog_document(
            session,
            as_actor("anonymous"),
            BASE,
            filters={"category": ["ocean"]},
            page="1",
            collection_url=f"{BASE}/catalog.ttl",
            link_params=[("category", "ocean")],
        )
    )
    _, p = paging(g)
    assert p["totalItems"].toPython() == 2
    assert p["nextPage"] == URIRef(f"{BASE}/catalog.ttl?category=ocean&page=2")


def test_filters_and_query_narrow_the_catalogue(session, as_actor):  # noqa: ANN001
    anon = as_actor("anonymous")
    ocean = make_entry(session, title="海洋牧场名录", category="ocean", district="即墨区")
    make_entry(session, title="海洋环境监测", category="environment", district="黄岛区")
    make_entry(session, title="企业信用评价", category="credit", open_type="closed")

    def datasets(**kw) -> set:  # noqa: ANN003
        g = parsed(dcat.catalog_document(session, anon, BASE, **kw))
        return set(g.objects(URIRef(f"{BASE}/catalog"), DCAT.dataset))

    assert datasets(filters={"category": ["ocean"]}) == {ds_uri(ocean)}
    assert datasets(filters={"category": ["海洋"]}) == {ds_uri(ocean)}
    assert datasets(filters={"district": ["即墨区"]}) == {ds_uri(ocean)}
    assert len(datasets(q="海洋")) == 2
    assert datasets(q="海洋", filters={"district": ["即墨区"]}) == {ds_uri(ocean)}
    assert len(datasets(filters={"open_type": ["closed", "unconditional"]})) == 3
    assert datasets(q="港口航运") == set()
    with pytest.raises(InvalidSearch):
        dcat.catalog_document(session, anon, BASE, filters={"category": ["no-such-category"]})


@pytest.mark.parametrize("page", ["0", "-1", "abc", "1.5", ""])
def test_bad_page_is_invalid(session, as_actor, page):  # noqa: ANN001
    make_entry(session)
    with pytest.raises(dcat.InvalidPage) as err:
        dcat.catalog_document(session, as_actor("anonymous"), BASE, page=page)
    assert err.value.field == "page"


def test_page_after_the_last_is_not_found_but_an_empty_catalogue_has_page_one(session, as_actor, monkeypatch):  # noqa: ANN001
    monkeypatch.setattr(dcat, "PAGE_SIZE", 2)
    anon = as_actor("anonymous")
    _, p = paging(parsed(dcat.catalog_document(session, anon, BASE, page=1)))
    assert p["totalItems"].toPython() == 0 and p["nextPage"] is None
    make_entry(session)
    with pytest.raises(dcat.PageNotFound):
        dcat.catalog_document(session, anon, BASE, page=2)


def test_whole_catalogue_spans_several_service_chunks(session, as_actor, monkeypatch):  # noqa: ANN001
    monkeypatch.setattr(dcat, "_CHUNK", 2)
    entries = [make_entry(session) for _ in range(5)]
    g = parsed(dcat.catalog_document(session, as_actor("anonymous"), BASE))
    assert set(g.objects(URIRef(f"{BASE}/catalog"), DCAT.dataset)) == {ds_uri(e) for e in entries}
