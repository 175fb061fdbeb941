"""One place that turns errors into responses: JSON for the API, a readable page for people."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException

from gbsmart.core.errors import AppError, Unauthorised, plain_validation_message

log = logging.getLogger("gbsmart")


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or "application/json" in request.headers.get("accept", "")


def _field_errors(exc: RequestValidationError) -> list[dict[str, str]]:
    out = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ())]
        out.append({"field": ".".join(loc), "message": plain_validation_message(err), "type": err.get("type", "")})
    return out


def _page(request: Request, status: int, message: str, detail: Any = None) -> Response:
    templates: Jinja2Templates = request.app.state.templates
    return templates.TemplateResponse(
        request,
        "error.html",
        {"status": status, "message": message, "detail": detail, "person": None},
        status_code=status,
    )


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(AppError)
    async def app_error(request: Request, exc: AppError) -> Response:
        if _wants_json(request):
            headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, Unauthorised) else None
            return JSONResponse(exc.to_dict(), status_code=exc.status, headers=headers)
        location = getattr(exc, "location", None)  # a step of signing in still owed (parties/errors.py)
        if isinstance(location, str):
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(location + "?" + urlencode({"next": target}), status_code=303)
        if isinstance(exc, Unauthorised):
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse("/login?" + urlencode({"next": target}), status_code=303)
        return _page(request, exc.status, exc.message, exc.detail)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        fields = _field_errors(exc)
        message = "The request is not valid: " + "; ".join(f"{f['field']}: {f['message']}" for f in fields[:5])
        if _wants_json(request):
            return JSONResponse({"error": message, "detail": fields}, status_code=422)
        return _page(request, 422, message, fields)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        message = exc.detail if isinstance(exc.detail, str) else "Request failed"
        if exc.status_code == 404:
            message = "Not found: there is nothing at this address that you can see."
        if _wants_json(request):
            return JSONResponse({"error": message, "detail": None}, status_code=exc.status_code)
        return _page(request, exc.status_code, message)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        rid = getattr(request.state, "request_id", "-")
        log.exception("unhandled error (request %s)", rid)
        message = f"Something went wrong on our side; nothing was saved. Quote request id {rid}."
        if _wants_json(request):
            return JSONResponse({"error": message, "detail": {"request_id": rid}}, status_code=500)
        return _page(request, 500, message)
