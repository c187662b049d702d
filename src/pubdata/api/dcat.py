"""DCAT export routes: ``/catalog.{ttl,jsonld,rdf,xml}`` (whole or ``?page=N``, with the catalogue's
search filters) and ``/dataset/{name}.{ttl,jsonld,rdf,xml}``. See docs/dcat.md.

These paths are outside ``/api/``, so the routes render domain errors in the native API's JSON shape
themselves rather than leaving them to the portal's HTML error page.

Which distributions carry a ``dcat:downloadURL`` depends on the caller (the store's
``table_downloads``: published tables whose rows the caller may read), so every answer varies on the
credentials and an authenticated caller's answer is private: a shared cache must never hand one
caller's download links (and so the grants they reveal) to another.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from pubdata.api import errors as api_errors
from pubdata.api.deps import DB, ActorDep, Filters
from pubdata.authz import Actor
from pubdata.catalog import dcat
from pubdata.errors import PubdataError
from pubdata.store.query import export

router = APIRouter(tags=["dcat"])


def _downloads(session: Session, actor: Actor) -> dcat.DownloadLookup:
    return lambda entries: export.table_downloads(session, actor, entries)


def _rdf_response(build: Callable[[], bytes], extension: str, actor: Actor) -> Response:
    try:
        body = build()
    except PubdataError as exc:
        return api_errors.pubdata_error_response(exc)
    headers = {"Vary": "Authorization, Cookie"}
    if actor.is_authenticated:
        headers["Cache-Control"] = "private"
    return Response(body, media_type=dcat.FORMATS[extension].media_type, headers=headers)


def _catalog_route(extension: str) -> Callable[..., Response]:
    def export_catalog(
        request: Request,
        session: DB,
        actor: ActorDep,
        filters: Filters,
        page: str | None = Query(None, description=f"1-based page of {dcat.PAGE_SIZE} entries; omit for all"),
        q: str = Query("", description="Search words, as in /api/v1/entries"),
    ) -> Response:
        link_params = [(k, v) for k, v in request.query_params.multi_items() if k != "page"]
        base_url = request.app.state.settings.resolved_base_url
        collection_url = base_url.rstrip("/") + request.url.path

        def build() -> bytes:
            doc = dcat.catalog_document(
                session,
                actor,
                base_url,
                q=q,
                filters=filters.values,
                page=page,
                collection_url=collection_url,
                link_params=link_params,
                downloads=_downloads(session, actor),
            )
            return doc.serialise(extension)

        return _rdf_response(build, extension, actor)

    return export_catalog


def _dataset_route(extension: str) -> Callable[..., Response]:
    def export_dataset(name: str, request: Request, session: DB, actor: ActorDep) -> Response:
        base_url = request.app.state.settings.resolved_base_url

        def build() -> bytes:
            downloads = _downloads(session, actor)
            return dcat.dataset_document(session, actor, name, base_url, downloads=downloads).serialise(extension)

        return _rdf_response(build, extension, actor)

    return export_dataset


for _ext, _fmt in dcat.FORMATS.items():
    router.add_api_route(
        f"/catalog.{_ext}",
        _catalog_route(_ext),
        methods=["GET"],
        response_class=Response,
        summary=f"The catalogue as DCAT ({_fmt.media_type})",
        responses={200: {"content": {_fmt.media_type.split(";")[0]: {}}}},
    )
    router.add_api_route(
        f"/dataset/{{name}}.{_ext}",
        _dataset_route(_ext),
        methods=["GET"],
        response_class=Response,
        summary=f"One catalogue entry as DCAT ({_fmt.media_type})",
        responses={200: {"content": {_fmt.media_type.split(";")[0]: {}}}},
    )
