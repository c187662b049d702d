"""The FastAPI application: native API (/api/v1), CKAN-compatible API (/api/3/action, /api/action),
DCAT export, and the portal. Domain errors are rendered in one place per surface."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from pubdata import __version__, workers
from pubdata.api import delta_sharing
from pubdata.api import errors as api_errors
from pubdata.api.ckan import routes as ckan
from pubdata.api.dcat import router as dcat_router
from pubdata.api.limits import AnalyticQueue, BodyLimit, BodyTooLarge, ConcurrencyLimit
from pubdata.api.oauth import router as oauth_router
from pubdata.api.openapi import declare_security
from pubdata.api.v1 import access as v1_access
from pubdata.api.v1 import appraisals as v1_appraisals
from pubdata.api.v1 import audit as v1_audit
from pubdata.api.v1 import catalog as v1_catalog
from pubdata.api.v1 import consents as v1_consents
from pubdata.api.v1 import credit as v1_credit
from pubdata.api.v1 import enterprise as v1_enterprise
from pubdata.api.v1 import identity as v1_identity
from pubdata.api.v1 import jobs as v1_jobs
from pubdata.api.v1 import loans as v1_loans
from pubdata.api.v1 import market as v1_market
from pubdata.api.v1 import market_orders as v1_market_orders
from pubdata.api.v1 import market_reports as v1_market_reports
from pubdata.api.v1 import policies as v1_policies
from pubdata.api.v1 import policy_applications as v1_policy_applications
from pubdata.api.v1 import policy_match as v1_policy_match
from pubdata.api.v1 import registry as v1_registry
from pubdata.api.v1 import rows as v1_rows
from pubdata.api.v1 import sharing as v1_sharing
from pubdata.api.v1 import store as v1_store
from pubdata.api.v1 import trusts as v1_trusts
from pubdata.api.v1 import zones as v1_zones
from pubdata.catalog import service as catalog_service
from pubdata.db import get_engine, session_scope, unreachable
from pubdata.errors import PubdataError, Unavailable
from pubdata.settings import Settings, get_settings
from pubdata.web import routes as web

STATIC = Path(__file__).parent / "web" / "static"
log = logging.getLogger(__name__)
POOL_RETRY_AFTER_S = 2


async def render_domain_error(request: Request, exc: PubdataError) -> Response:
    """A domain error as the surface of ``request`` renders it (also used by the request limits,
    which answer before any route runs)."""
    if ckan.is_ckan_path(request):
        return ckan.error_response(exc, request)
    if delta_sharing.is_sharing_path(request):
        return delta_sharing.error_response(exc)
    if api_errors.is_api_path(request):
        return api_errors.pubdata_error_response(exc)
    return web.error_page(request, exc)


def create_app(settings: Settings | None = None, engine: Engine | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # load the search index before the first request rather than during it
        if settings.search_warmup:
            with session_scope(app.state.engine) as session:
                catalog_service.warm_search_index(session)
        # queued jobs, the facts refresher and the match follower (pubdata.workers), unless separate
        # `pubdata worker` processes run them (`pubdata serve --no-workers`)
        if not settings.run_workers:
            app.state.job_runner = None
            yield
            return
        with workers.running(app.state.engine, settings) as work:
            app.state.job_runner = work.job_runner
            yield

    app = FastAPI(
        lifespan=lifespan,
        title="pubdata 公共数据运营平台 API",
        version=__version__,
        description="Native REST API of pubdata. The CKAN Action API is at /api/3/action/NAME.",
        docs_url=None,  # served below with the vendored Swagger UI: nothing is fetched from a CDN
        openapi_url="/api/v1/openapi.json",
    )
    app.state.settings = settings
    app.state.engine = engine or get_engine()

    app.include_router(v1_catalog.router, prefix="/api/v1")
    app.include_router(v1_identity.router, prefix="/api/v1")
    app.include_router(v1_store.router, prefix="/api/v1")
    app.include_router(v1_jobs.router, prefix="/api/v1")
    app.include_router(v1_rows.router, prefix="/api/v1")
    app.include_router(v1_audit.router, prefix="/api/v1")
    app.include_router(v1_access.router, prefix="/api/v1")
    app.include_router(v1_zones.router, prefix="/api/v1")
    app.include_router(v1_policies.router, prefix="/api/v1")
    app.include_router(v1_policy_applications.router, prefix="/api/v1")
    app.include_router(v1_policy_match.router, prefix="/api/v1")
    app.include_router(v1_enterprise.router, prefix="/api/v1")
    app.include_router(v1_consents.router, prefix="/api/v1")
    app.include_router(v1_loans.router, prefix="/api/v1")
    app.include_router(v1_credit.router, prefix="/api/v1")
    app.include_router(v1_market.router, prefix="/api/v1")
    app.include_router(v1_market_orders.router, prefix="/api/v1")
    app.include_router(v1_market_reports.router, prefix="/api/v1")
    app.include_router(v1_appraisals.router, prefix="/api/v1")
    app.include_router(v1_registry.router, prefix="/api/v1")
    app.include_router(v1_trusts.router, prefix="/api/v1")
    app.include_router(v1_sharing.router, prefix="/api/v1")
    app.include_router(oauth_router)
    app.include_router(ckan.router)
    app.include_router(dcat_router)
    app.include_router(delta_sharing.router)
    app.include_router(web.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    # the last added runs first: a caller over its share is refused before its body is read
    app.add_middleware(BodyLimit, max_bytes=settings.request_max_bytes, render=render_domain_error)
    app.add_middleware(
        AnalyticQueue,
        slots=settings.analytic_max_concurrent,
        wait_s=settings.analytic_queue_wait_s,
        render=render_domain_error,
    )
    app.add_middleware(
        ConcurrencyLimit,
        per_caller=settings.caller_max_concurrent,
        per_process=settings.server_max_concurrent,
        render=render_domain_error,
    )

    generate_openapi = app.openapi

    def openapi_with_security() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = declare_security(generate_openapi())
        return app.openapi_schema

    app.openapi = openapi_with_security  # type: ignore[method-assign]

    @app.get("/openapi.json", include_in_schema=False)
    def openapi_alias() -> JSONResponse:
        """The same document as /api/v1/openapi.json, where generic tools look first."""
        return JSONResponse(app.openapi())

    @app.get("/docs", include_in_schema=False)
    def api_docs() -> Response:
        return get_swagger_ui_html(
            openapi_url="/api/v1/openapi.json",
            title="pubdata API 文档",
            swagger_js_url="/static/vendor/swagger-ui/swagger-ui-bundle.js",
            swagger_css_url="/static/vendor/swagger-ui/swagger-ui.css",
            swagger_favicon_url="/static/vendor/swagger-ui/favicon-32x32.png",
        )

    @app.exception_handler(PubdataError)
    async def _domain_error(request: Request, exc: PubdataError) -> Response:
        return await render_domain_error(request, exc)

    @app.exception_handler(PoolTimeout)
    async def _pool_exhausted(request: Request, exc: PoolTimeout) -> Response:
        # every database connection of this process stayed busy for settings.db_pool_timeout_s
        busy = Unavailable(
            "服务器繁忙：数据库连接已全部占用，请稍后重试", code="server.db_busy", retry_after=POOL_RETRY_AFTER_S
        )
        return await render_domain_error(request, busy)

    @app.exception_handler(OperationalError)
    async def _database_unreachable(request: Request, exc: OperationalError) -> Response:
        if not unreachable(exc):
            raise exc  # a statement that failed is a defect: the server error page, and the log
        log.warning("database unreachable, answered 503: %s", exc.orig)
        down = Unavailable(
            "服务器繁忙：数据库暂时无法连接，请稍后重试", code="server.db_unavailable", retry_after=POOL_RETRY_AFTER_S
        )
        return await render_domain_error(request, down)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> Response:
        if ckan.is_ckan_path(request):
            return ckan.validation_error_response(exc)
        if delta_sharing.is_sharing_path(request):
            return delta_sharing.validation_error_response(exc)
        if api_errors.is_api_path(request):
            return api_errors.validation_response(exc)
        return web.validation_error_page(request, exc)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if isinstance(exc, BodyTooLarge):  # raised while the body was read, before any route logic
            return await render_domain_error(request, exc.error)
        exc = api_errors.with_allow_header(request, exc)  # 405: every method the path answers
        if ckan.is_ckan_path(request):
            return ckan.http_error_response(exc)
        if delta_sharing.is_sharing_path(request):
            return delta_sharing.http_error_response(exc)
        if api_errors.is_api_path(request):
            return api_errors.http_error_response(exc)
        return web.http_error_page(request, exc)

    return app
