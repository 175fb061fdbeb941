"""create_app(): the FastAPI application serving the JSON API under /api/v1 and the portal."""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy.engine import Engine
from starlette.middleware.sessions import SessionMiddleware

from gbsmart import __version__
from gbsmart.config import Settings, get_settings
from gbsmart.core.clock import Clock, SystemClock
from gbsmart.core.db import make_engine, make_sessionmaker
from gbsmart.core.security import verify_password
from gbsmart.web.deps import get_ctx, refuse_control_characters
from gbsmart.web.errors import install_error_handlers
from gbsmart.web.templating import make_templates, render

log = logging.getLogger("gbsmart")


def _api_router() -> APIRouter:
    from gbsmart.alerts.api import router as alerts_router
    from gbsmart.assessments.api import router as assessments_router
    from gbsmart.change.api import router as change_router
    from gbsmart.change.register_api import router as register_router
    from gbsmart.committees.api import router as committees_router
    from gbsmart.cpl.api import router as cpl_router
    from gbsmart.gateway.adt_api import router as adt_router
    from gbsmart.gateway.api import router as gateway_router
    from gbsmart.papers.api import router as papers_router
    from gbsmart.parties.api import router as parties_router
    from gbsmart.parties.people_api import router as people_router
    from gbsmart.parties.sessions_api import router as sessions_router
    from gbsmart.service.api import router as service_router
    from gbsmart.smi.api import router as smi_router
    from gbsmart.smi.extracts_api import router as extracts_router
    from gbsmart.ssi.audit_api import router as ssi_audit_router
    from gbsmart.ssi.home_api import router as ssi_home_router

    api = APIRouter(prefix="/api/v1")
    api.include_router(parties_router)
    api.include_router(sessions_router)
    api.include_router(people_router)
    api.include_router(change_router)
    api.include_router(register_router)
    api.include_router(committees_router)
    api.include_router(papers_router)
    api.include_router(extracts_router)
    api.include_router(cpl_router)
    api.include_router(smi_router)
    api.include_router(gateway_router)
    api.include_router(adt_router)
    api.include_router(alerts_router)
    api.include_router(service_router)
    api.include_router(assessments_router)
    api.include_router(ssi_home_router)
    api.include_router(ssi_audit_router)
    return api


def _page_routers() -> list[APIRouter]:
    from gbsmart.alerts.pages import router as alerts_pages
    from gbsmart.assessments.pages import router as assessments_pages
    from gbsmart.change.pages import router as change_pages
    from gbsmart.change.register_pages import router as register_pages
    from gbsmart.committees.pages import router as committees_pages
    from gbsmart.cpl.pages import router as cpl_pages
    from gbsmart.gateway.adt_pages import router as adt_pages
    from gbsmart.gateway.pages import router as gateway_pages
    from gbsmart.papers.pages import router as papers_pages
    from gbsmart.parties.pages import router as parties_pages
    from gbsmart.parties.people_pages import router as people_pages
    from gbsmart.parties.second_factor_pages import router as second_factor_pages
    from gbsmart.service.pages import router as service_pages
    from gbsmart.smi.extracts_pages import router as extracts_pages
    from gbsmart.smi.pages import router as smi_pages
    from gbsmart.ssi.audit_pages import router as ssi_audit_pages
    from gbsmart.ssi.pages import router as ssi_pages
    from gbsmart.web.pages import router as web_pages

    return [web_pages, parties_pages, change_pages, register_pages, committees_pages, papers_pages,
            extracts_pages, cpl_pages, smi_pages, gateway_pages, adt_pages, alerts_pages, service_pages,
            assessments_pages, ssi_pages, ssi_audit_pages, people_pages, second_factor_pages]


def _api_docs(app: FastAPI) -> None:
    """Swagger UI at /api/v1/docs with its script and styles from the fastapi-offline package, not a CDN, so the
    interactive docs work on a machine without internet."""
    from importlib.resources import files

    from fastapi.openapi.docs import get_swagger_ui_html

    assets = "/api/v1/docs/assets"
    app.mount(assets, StaticFiles(directory=str(files("fastapi_offline") / "static")), name="api-docs-assets")

    @app.get("/api/v1/docs", include_in_schema=False)
    def api_docs() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url=app.openapi_url or "/api/v1/openapi.json", title=f"{app.title} API",
                                   swagger_js_url=f"{assets}/swagger-ui-bundle.js",
                                   swagger_css_url=f"{assets}/swagger-ui.css",
                                   swagger_favicon_url="/static/favicon.svg")


def create_app(settings: Settings | None = None, clock: Clock | None = None, engine: Engine | None = None) -> FastAPI:
    settings = settings or get_settings()
    clock = clock or SystemClock()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        own_engine = engine is None
        app.state.engine = engine or make_engine(settings.resolved_database_url())
        app.state.sessionmaker = make_sessionmaker(app.state.engine)
        verify_password(None, "")  # make the dummy hash now, so the first unknown username is not the slow one
        yield
        if own_engine:
            app.state.engine.dispose()

    app = FastAPI(
        title="gbsmart",
        version=__version__,
        description="The GB Smart Energy Code and the DCC's services in software.",
        openapi_url="/api/v1/openapi.json",
        docs_url=None,  # served by _api_docs from local assets
        redoc_url=None,
        lifespan=lifespan,
        dependencies=[Depends(refuse_control_characters)],
    )
    app.state.settings = settings
    app.state.clock = clock
    app.state.templates = make_templates()

    @app.middleware("http")
    async def request_id(request: Request, call_next):
        rid = request.headers.get("x-request-id") or uuid.uuid4().hex[:16]
        request.state.request_id = rid
        response = await call_next(request)
        response.headers["X-Request-ID"] = rid
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        return response

    # the cookie carries only the random id of a server-side session (web_sessions), or before sign-in the
    # login form's CSRF token; Starlette signs it and always makes it HttpOnly
    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.resolved_secret_key(),
        session_cookie="gbsmart_session",
        max_age=settings.session_max_age_seconds,
        same_site="lax",
        https_only=settings.session_cookie_secure,
    )
    install_error_handlers(app)
    app.mount("/static", StaticFiles(directory=str(Path(__file__).parent / "web" / "static")), name="static")
    _api_docs(app)
    app.include_router(_api_router())
    for router in _page_routers():
        app.include_router(router)

    # async: answered on the event loop, never queued behind page handlers in the thread pool
    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    @app.get("/", include_in_schema=False)
    def home(request: Request, ctx=Depends(get_ctx)):
        from gbsmart.change.service import dashboard
        from gbsmart.ssi.home import is_home_for

        if is_home_for(ctx):  # a DCC User's people, once the SSI home is on for them: their service first
            from gbsmart.ssi.pages import home_context

            return render(request, "ssi_home.html", home_context(ctx, request), headers={"Cache-Control": "no-store"})
        return render(request, "home.html", dashboard(ctx))

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> RedirectResponse:
        return RedirectResponse("/static/favicon.svg")

    return app
