"""DCAT routes: media types, parsing back, paging with Hydra links, filters, errors in the native
API's JSON shape."""

from __future__ import annotations

import pytest
from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, RDF
from rdflib.namespace import DCTERMS as DCT

from pubdata.catalog import dcat, rdf
from tests.builders import make_entry

HYDRA = Namespace("http://www.w3.org/ns/hydra/core#")
BASE = "http://testserver"  # the settings fixture's base_url
MEDIA = {
    "ttl": ("text/turtle; charset=utf-8", "turtle"),
    "jsonld": ("application/ld+json", "json-ld"),
    "rdf": ("application/rdf+xml", "xml"),
    "xml": ("application/rdf+xml", "xml"),
}


def get_graph(client, url: str, ext: str = "ttl") -> Graph:  # noqa: ANN001
    r = client.get(url)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == MEDIA[ext][0]
    return Graph().parse(data=r.content, format=MEDIA[ext][1])


def datasets(g: Graph) -> set:
    return set(g.objects(URIRef(f"{BASE}/catalog"), DCAT.dataset))


@pytest.mark.parametrize("ext", list(MEDIA))
def test_catalogue_in_every_format(client, session, ext):  # noqa: ANN001
    a = make_entry(session, title="公交线路站点信息", tags=["公交"])
    b = make_entry(session, title="港口吞吐量统计")
    g = get_graph(client, f"/catalog.{ext}", ext)
    assert datasets(g) == {URIRef(f"{BASE}/dataset/{a.name}"), URIRef(f"{BASE}/dataset/{b.name}")}
    assert (URIRef(f"{BASE}/dataset/{a.name}"), DCT.title, Literal("公交线路站点信息", lang="zh")) in g
    assert (URIRef(f"{BASE}/dataset/{a.name}"), DCAT.keyword, Literal("公交", lang="zh")) in g


def test_jsonld_has_a_prefix_context(client, session):  # noqa: ANN001
    make_entry(session)
    body = client.get("/catalog.jsonld").json()
    for prefix in ("dcat", "dct", "foaf", "vcard", "hydra", "skos", "xsd"):
        assert body["@context"][prefix] == rdf.PREFIXES[prefix]
    types = {
        t for n in body["@graph"] for t in ([n["@type"]] if isinstance(n.get("@type"), str) else n.get("@type", []))
    }
    assert {"dcat:Catalog", "dcat:Dataset", "dcat:Distribution", "foaf:Document"} <= types


@pytest.mark.parametrize("ext", list(MEDIA))
def test_one_entry_by_name_or_code(client, session, ext):  # noqa: ANN001
    e = make_entry(session, title="医疗机构名录", category="medical")
    for key in (e.name, e.code):
        g = get_graph(client, f"/dataset/{key}.{ext}", ext)
        ds = URIRef(f"{BASE}/dataset/{e.name}")
        assert (ds, RDF.type, DCAT.Dataset) in g
        assert g.value(ds, DCAT.theme) == URIRef(f"{BASE}/catalog/themes/medical")
        (dist,) = g.objects(ds, DCAT.distribution)
        assert g.value(dist, DCAT.accessURL) == URIRef(f"{BASE}/api/v1/resources/{e.resources[0].id}")


def test_unknown_entry_is_404_json(client):  # noqa: ANN001
    r = client.get("/dataset/no-such-entry.ttl")
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "catalog.entry_not_found"


def test_paging_with_hydra_links(client, session, monkeypatch):  # noqa: ANN001
    monkeypatch.setattr(dcat, "PAGE_SIZE", 2)
    entries = sorted((make_entry(session, category="ocean") for _ in range(5)), key=lambda e: e.code)
    make_entry(session, category="credit")  # filtered out
    seen = set()
    url = "/catalog.jsonld?category=ocean&page={}"
    for number in (1, 2, 3):
        g = get_graph(client, url.format(number), "jsonld")
        (node,) = g.subjects(RDF.type, HYDRA.PagedCollection)
        link = f"{BASE}/catalog.jsonld?category=ocean&page={{}}"
        assert node == URIRef(link.format(number))
        assert g.value(node, HYDRA.totalItems).toPython() == 5
        assert g.value(node, HYDRA.itemsPerPage).toPython() == 2
        assert g.value(node, HYDRA.firstPage) == URIRef(link.format(1))
        assert g.value(node, HYDRA.lastPage) == URIRef(link.format(3))
        assert g.value(node, HYDRA.nextPage) == (URIRef(link.format(number + 1)) if number < 3 else None)
        assert g.value(node, HYDRA.previousPage) == (URIRef(link.format(number - 1)) if number > 1 else None)
        page = datasets(g)
        assert len(page) == (2 if number < 3 else 1)
        seen |= page
    assert seen == {URIRef(f"{BASE}/dataset/{e.name}") for e in entries}


def test_query_and_filters(client, session):  # noqa: ANN001
    ocean = make_entry(session, title="海洋牧场名录", category="ocean", open_type="closed")
    make_entry(session, title="海洋环境监测", category="environment")
    make_entry(session, title="企业信用评价", category="credit")
    assert len(datasets(get_graph(client, "/catalog.ttl?q=海洋"))) == 2
    only = {URIRef(f"{BASE}/dataset/{ocean.name}")}
    assert datasets(get_graph(client, "/catalog.ttl?q=海洋&open_type=不予开放")) == only
    assert datasets(get_graph(client, "/catalog.ttl?category=ocean&category=海洋")) == only


@pytest.mark.parametrize("page", ["0", "-3", "abc"])
def test_bad_page_is_422_json(client, session, page):  # noqa: ANN001
    make_entry(session)
    r = client.get(f"/catalog.ttl?page={page}")
    assert r.status_code == 422
    body = r.json()["error"]
    assert body["code"] == "dcat.invalid_page"
    assert body["details"][0]["field"] == "page"


def test_page_after_the_last_is_404_json(client, session):  # noqa: ANN001
    make_entry(session)
    assert client.get("/catalog.ttl?page=1").status_code == 200
    r = client.get("/catalog.ttl?page=2")
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "dcat.page_not_found"


def test_unknown_filter_value_is_422_json(client, session):  # noqa: ANN001
    r = client.get("/catalog.ttl?category=no-such-category")
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "catalog.invalid_search"
