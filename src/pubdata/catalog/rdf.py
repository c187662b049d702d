"""RDF documents for the DCAT export: triples grouped by subject, written as Turtle, JSON-LD or RDF/XML,
and convertible to an rdflib ``Graph``.

Filling an rdflib graph and using its serialisers costs minutes for the 5,099-entry catalogue (its
Turtle writer mints a prefix per dataset URI; even with bound prefixes it takes ~25 s); writing from
the document takes a second or two. The test suite parses every format back with rdflib and checks it
holds exactly the triples of ``to_graph()``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from functools import lru_cache
from typing import Any, NamedTuple
from xml.sax.saxutils import escape, quoteattr

from rdflib import BNode, Graph, Literal, URIRef


class Vocabulary:
    """A namespace whose attributes are its terms as plain strings: ``DCAT.Dataset``."""

    def __init__(self, iri: str) -> None:
        self.iri = iri

    def __getattr__(self, name: str) -> str:
        if name.startswith("__"):
            raise AttributeError(name)
        return self.iri + name

    def __str__(self) -> str:
        return self.iri


DCAT = Vocabulary("http://www.w3.org/ns/dcat#")
DCATAP = Vocabulary("http://data.europa.eu/r5r/")  # DCAT-AP's own terms (dcatap:availability)
DCT = Vocabulary("http://purl.org/dc/terms/")
FOAF = Vocabulary("http://xmlns.com/foaf/0.1/")
VCARD = Vocabulary("http://www.w3.org/2006/vcard/ns#")
HYDRA = Vocabulary("http://www.w3.org/ns/hydra/core#")
SKOS = Vocabulary("http://www.w3.org/2004/02/skos/core#")
RDF = Vocabulary("http://www.w3.org/1999/02/22-rdf-syntax-ns#")
RDFS = Vocabulary("http://www.w3.org/2000/01/rdf-schema#")
XSD = Vocabulary("http://www.w3.org/2001/XMLSchema#")

# Prefixes of every serialisation, and the JSON-LD @context.
PREFIXES: dict[str, str] = {
    "dcat": str(DCAT),
    "dcatap": str(DCATAP),
    "dct": str(DCT),
    "foaf": str(FOAF),
    "vcard": str(VCARD),
    "hydra": str(HYDRA),
    "skos": str(SKOS),
    "rdf": str(RDF),
    "rdfs": str(RDFS),
    "xsd": str(XSD),
}


# --- the document ----------------------------------------------------------------------------


class Blank(str):
    """A blank node, by its label."""


class Lit(NamedTuple):
    text: str
    lang: str | None = None
    datatype: str | None = None


Obj = str | Lit  # an IRI (str), a blank node (Blank) or a literal


class Document:
    """Triples grouped by subject, in the order they were added (duplicates kept once)."""

    def __init__(self) -> None:
        self.subjects: dict[str, dict[str, dict[Obj, None]]] = {}

    def add(self, subject: str, predicate: str, obj: Obj) -> None:
        self.subjects.setdefault(subject, {}).setdefault(predicate, {})[obj] = None

    def __len__(self) -> int:
        return sum(len(objs) for props in self.subjects.values() for objs in props.values())

    def to_graph(self) -> Graph:
        graph = Graph(store="SimpleMemory", bind_namespaces="none")
        for prefix, uri in PREFIXES.items():
            graph.bind(prefix, uri)
        graph.addN(
            (_rdflib(s), URIRef(p), _rdflib(o), graph)
            for s, props in self.subjects.items()
            for p, objs in props.items()
            for o in objs
        )
        return graph

    def serialise(self, extension: str) -> bytes:
        """Turtle, JSON-LD (compacted with ``PREFIXES`` as its @context) or RDF/XML, in UTF-8."""
        if extension == "ttl":
            return _turtle(self).encode("utf-8")
        if extension == "jsonld":
            return json.dumps(_jsonld(self), ensure_ascii=False, indent=1).encode("utf-8")
        if extension in ("rdf", "xml"):
            return _rdfxml(self).encode("utf-8")
        raise ValueError(f"unknown DCAT format: {extension}")


def _rdflib(term: Obj) -> Any:
    if isinstance(term, Lit):
        return Literal(term.text, lang=term.lang, datatype=URIRef(term.datatype) if term.datatype else None)
    if isinstance(term, Blank):
        return BNode(str(term))
    return URIRef(term)


# --- writers ---------------------------------------------------------------------------------

SAFE_URL = re.compile(r'^https?://[^\s<>"{}|\\^`]+$')
_LOCAL_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
_NAMESPACES = sorted(((uri, prefix) for prefix, uri in PREFIXES.items()), key=lambda x: -len(x[0]))


@lru_cache(maxsize=4096)
def _compact(iri: str) -> str | None:
    """``prefix:local`` for an IRI in one of ``PREFIXES`` with a simple local name."""
    for ns, prefix in _NAMESPACES:
        if iri.startswith(ns) and _LOCAL_NAME.match(iri[len(ns) :]):
            return f"{prefix}:{iri[len(ns) :]}"
    return None


_TYPE_ORDER = (DCAT.Catalog, HYDRA.PagedCollection, DCAT.Dataset, DCAT.Distribution)


def _ordered(doc: Document) -> Iterable[tuple[str, list[str], list[tuple[str, list[Obj]]]]]:
    """(subject, types, [(predicate, objects)]): catalogue, paging, datasets, distributions, then the
    nodes they point at; everything sorted, so the same catalogue gives the same bytes."""

    def rank(item: tuple[str, dict[str, dict[Obj, None]]]) -> tuple[int, str]:
        types = item[1].get(RDF.type, {})
        return next((i for i, t in enumerate(_TYPE_ORDER) if t in types), len(_TYPE_ORDER)), item[0]

    for subject, props in sorted(doc.subjects.items(), key=rank):
        types = sorted(str(t) for t in props.get(RDF.type, {}))
        rest = [(p, sorted(props[p], key=_sort_key)) for p in sorted(props) if p != RDF.type]
        yield subject, types, rest


def _sort_key(term: Obj) -> tuple[str, str]:
    return (term.text, term.lang or term.datatype or "") if isinstance(term, Lit) else (str(term), "")


def _ttl(term: Obj) -> str:
    if isinstance(term, Lit):
        text = json.dumps(term.text, ensure_ascii=False)  # JSON's string escapes are valid Turtle
        if term.lang:
            return f"{text}@{term.lang}"
        if term.datatype:
            return f"{text}^^{_compact(term.datatype) or '<' + term.datatype + '>'}"
        return text
    if isinstance(term, Blank):
        return f"_:{term}"
    return _compact(term) or f"<{term}>"


def _turtle(doc: Document) -> str:
    out = [f"@prefix {prefix}: <{uri}> .\n" for prefix, uri in PREFIXES.items()]
    for subject, types, props in _ordered(doc):
        lines = ["a " + ", ".join(_ttl(t) for t in types)] if types else []
        lines += [f"{_ttl(p)} " + ",\n        ".join(_ttl(o) for o in objs) for p, objs in props]
        out.append(f"\n{_ttl(subject)}\n    " + " ;\n    ".join(lines) + " .\n")
    return "".join(out)


def _node_id(term: str) -> str:
    return f"_:{term}" if isinstance(term, Blank) else term


def _jsonld_value(term: Obj) -> Any:
    if isinstance(term, Lit):
        if term.lang:
            return {"@value": term.text, "@language": term.lang}
        if term.datatype:
            return {"@value": term.text, "@type": _compact(term.datatype) or term.datatype}
        return term.text
    return {"@id": _node_id(term)}


def _jsonld(doc: Document) -> dict[str, Any]:
    nodes = []
    for subject, types, props in _ordered(doc):
        node: dict[str, Any] = {"@id": _node_id(subject)}
        if types:
            compact = [_compact(t) or t for t in types]
            node["@type"] = compact[0] if len(compact) == 1 else compact
        for predicate, objs in props:
            values = [_jsonld_value(o) for o in objs]
            node[_compact(predicate) or predicate] = values[0] if len(values) == 1 else values
        nodes.append(node)
    return {"@context": dict(PREFIXES), "@graph": nodes}


def _xml_object(predicate: str, term: Obj) -> str:
    if isinstance(term, Lit):
        if term.lang:
            attrs = f" xml:lang={quoteattr(term.lang)}"
        elif term.datatype:
            attrs = f" rdf:datatype={quoteattr(term.datatype)}"
        else:
            attrs = ""
        return f"    <{predicate}{attrs}>{escape(term.text)}</{predicate}>\n"
    if isinstance(term, Blank):
        return f"    <{predicate} rdf:nodeID={quoteattr(term)}/>\n"
    return f"    <{predicate} rdf:resource={quoteattr(term)}/>\n"


def _rdfxml(doc: Document) -> str:
    """RDF/XML; every predicate the export uses is in ``PREFIXES``, so each is a valid XML name."""
    ns = "".join(f"\n   xmlns:{prefix}={quoteattr(uri)}" for prefix, uri in PREFIXES.items())
    out = [f'<?xml version="1.0" encoding="utf-8"?>\n<rdf:RDF{ns}>\n']
    for subject, types, props in _ordered(doc):
        about = f"rdf:nodeID={quoteattr(subject)}" if isinstance(subject, Blank) else f"rdf:about={quoteattr(subject)}"
        out.append(f"  <rdf:Description {about}>\n")
        out.extend(_xml_object("rdf:type", t) for t in types)
        for predicate, objs in props:
            name = _compact(predicate)
            if name is None:
                raise ValueError(f"predicate outside the export's prefixes: {predicate}")
            out.extend(_xml_object(name, o) for o in objs)
        out.append("  </rdf:Description>\n")
    out.append("</rdf:RDF>\n")
    return "".join(out)
