"""The page-form kit: read a form, parse it into its Pydantic schema, and on a refusal roll back and re-render.

Every portal form goes the same way, so a page handler reads::

    form = await read_form(request)
    try:
        item = service.do_it(ctx, parse(ItemCreate, form))
    except FORM_FAILURES as exc:
        return rerender(request, ctx, exc, "item_new.html", lambda: _new_context(ctx), form=form)
    return RedirectResponse(...)

``rerender`` is the one place that rolls back what the failed action wrote, turns the error into field messages
(``errors``) and one line for the top of the form (``error``), and answers with the error's own status (422, 403
or 409). A 401 or 404 is not a form problem: it is raised again for the error handlers in ``web/errors.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from fastapi import Request, Response
from pydantic import BaseModel, ValidationError

from gbsmart.core.context import Ctx
from gbsmart.core.errors import AppError, plain_validation_message
from gbsmart.web.templating import render

M = TypeVar("M", bound=BaseModel)

#: what a page catches around a form's action; ``rerender`` raises again what is not a form problem
FORM_FAILURES = (ValidationError, AppError)

#: statuses that are page-level (the error handlers draw them), never a form re-rendered with messages
_NOT_FORM_PROBLEMS = (401, 404)

FORM_MESSAGE = "Nothing was saved: please correct the fields marked below."


async def read_form(request: Request) -> dict[str, str]:
    """The submitted form's text fields (files are read by the page that expects them)."""
    return {k: v for k, v in (await request.form()).multi_items() if isinstance(v, str)}


def parse(schema: type[M], data: Mapping[str, Any], **values: Any) -> M:
    """``data`` (a form, or a mapping built from one) and ``values`` validated as ``schema``.

    A blank optional field arrives as ``""``; pass ``None`` for it in ``values`` where the schema wants "not given".
    Raises ``ValidationError``, which ``rerender`` turns into field messages.
    """
    return schema.model_validate({**data, **values})


def field_errors(exc: BaseException) -> dict[str, str]:
    """Field name -> plain message, from a Pydantic ``ValidationError`` or an ``AppError`` whose detail names fields.

    A nested field is keyed both by its dotted path (``certificates.0.number``) and, if nothing else is, by its
    top-level name (``certificates``), so a template can mark either.
    """
    errors: dict[str, str] = {}

    def add(key: str, message: str) -> None:
        errors[key] = f"{errors[key]} {message}" if key in errors and message not in errors[key] else message

    if isinstance(exc, ValidationError):
        for e in exc.errors():
            loc = [str(x) for x in e.get("loc", ())]
            key = ".".join(loc) or "form"
            add(key, plain_validation_message(e))
            if len(loc) > 1 and loc[0] not in errors:
                errors[loc[0]] = plain_validation_message(e)
    elif isinstance(exc, AppError) and isinstance(exc.detail, list):
        for d in exc.detail:
            if isinstance(d, Mapping) and d.get("field"):
                field = str(d["field"]).removeprefix("body.")
                add(field, str(d.get("message", "")))
    return errors


def failure_message(exc: BaseException, prefix: str = "Nothing was saved") -> str:
    """The one line at the top of a refused form."""
    if isinstance(exc, AppError):
        return f"{prefix}: {exc.message}" if prefix else exc.message
    return f"{prefix}: please correct the fields marked below." if prefix else FORM_MESSAGE


def failure_status(exc: BaseException) -> int:
    return exc.status if isinstance(exc, AppError) else 422


def rerender(
    request: Request,
    ctx: Ctx,
    exc: BaseException,
    template: str,
    context: Callable[[], dict[str, Any]] | dict[str, Any],
    *,
    form: Mapping[str, Any] | None = None,
    prefix: str | None = None,
    error_key: str = "error",
    keep: bool = False,
    field_prefix: str = "",
    page_found: bool = False,
) -> Response:
    """Roll back the failed action, then render ``template`` again with ``errors``, ``error`` and ``form``.

    ``context`` is called after the rollback, so the page shows the database as it was before the attempt.
    ``error_key`` names the template variable for the top line where a page holds several forms;
    ``field_prefix`` (e.g. ``"appendix."``) is put before every field name in ``errors``, so that forms on one
    page whose fields share names (two ``title`` fields) mark only their own. ``page_found`` says the page's own
    object was loaded before the action, so a 404 from the action is about something the form names (a person,
    a proposal): it is shown on the form as a 422 rather than as a missing page.
    ``keep`` is for a refusal the service records as evidence (a refused CPL submission, decision 0015): nothing is
    rolled back, and since the page returns rather than raises, the request's transaction commits what was written.
    ``prefix`` opens the top line: "Nothing was saved" unless ``keep``, when the refusal's own message stands alone.
    """
    if not isinstance(exc, FORM_FAILURES):
        raise exc
    status = failure_status(exc)
    if isinstance(exc, AppError) and exc.status in _NOT_FORM_PROBLEMS:
        if not (page_found and exc.status == 404):
            raise exc
        status = 422
    if not keep:
        ctx.session.rollback()
    values = context() if callable(context) else dict(context)
    if form is not None:
        values["form"] = dict(form)
    values.setdefault("form", {})
    values["errors"] = {**values.get("errors", {}), **{f"{field_prefix}{k}": v for k, v in field_errors(exc).items()}}
    values[error_key] = failure_message(exc, ("" if keep else "Nothing was saved") if prefix is None else prefix)
    return render(request, template, values, status_code=status)
