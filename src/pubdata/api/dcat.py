"""DCAT export routes: ``/catalog.{ttl,jsonld,rdf,xml}`` (whole or ``?page=N``, with the catalogue's
search filters) and ``/dataset/{name}.{ttl,jsonld,rdf,xml}``. See docs/dcat.md.

These paths are outside ``/api/``, so the routes render domain errors in the native API's JSON shape
themselves rather than leaving them to the portal's HTML error page.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from pubdata.api import errors as api_errors
from pubdata.api.deps import current_actor, db_session
from pubdata.authz import Actor
from pubdata.catalog import dcat
from pubdata.errors import PubdataError

router = APIRouter(tags=["dcat"])
DB = Annotated[Session, Depends(db_session)]
ActorDep = Annotated[Actor, Depends(current_actor)]
FilterParam = Annotated[list[str] | None, Query()]


def _rdf_response(build: Callable[[], bytes], extension: str) -> Response:
    try:
        body = build()
    except PubdataError as exc:
        return api_errors.pubdata_error_response(exc)
    return Response(body, media_type=dcat.FORMATS[extension].media_type)


def _catalog_route(extension: str) -> Callable[..., Response]:
    def export_catalog(
        request: Request,
        session: DB,
        actor: ActorDep,
        page: str | None = Query(None, description=f"1-based page of {dcat.PAGE_SIZE} entries; omit for all"),
        q: str = Query("", description="Search words, as in /api/v1/entries"),
        category: FilterParam = None,
        organisation: FilterParam = None,
        open_type: FilterParam = None,
        security_grade: FilterParam = None,
        update_frequency: FilterParam = None,
        district: FilterParam = None,
        tags: FilterParam = None,
    ) -> Response:
        given = {
            "category": category,
            "organisation": organisation,
            "open_type": open_type,
            "security_grade": security_grade,
            "update_frequency": update_frequency,
            "district": district,
            "tags": tags,
        }
        filters = {name: values for name, values in given.items() if values}
        link_params = [(k, v) for k, v in request.query_params.multi_items() if k != "page"]
        base_url = request.app.state.settings.base_url
        collection_url = base_url.rstrip("/") + request.url.path

        def build() -> bytes:
            doc = dcat.catalog_document(
                session,
                actor,
                base_url,
                q=q,
                filters=filters,
                page=page,
                collection_url=collection_url,
                link_params=link_params,
            )
            return doc.serialise(extension)

        return _rdf_response(build, extension)

    return export_catalog


def _dataset_route(extension: str) -> Callable[..., Response]:
    def export_dataset(name: str, request: Request, session: DB, actor: ActorDep) -> Response:
        base_url = request.app.state.settings.base_url
        return _rdf_response(
            lambda: dcat.dataset_document(session, actor, name, base_url).serialise(extension), extension
        )

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
