"""Receiving a CPL workbook over HTTP (the API's and the portal's import): the request body is counted as it
arrives and refused past the size limit, before the form is parsed, a CSRF token looked for or a byte spooled to
disk; the import itself then runs in the threadpool, so a large workbook never holds up the event loop.

The limits themselves are ``workbook.import_workbook``'s; this module only stops an oversize body early.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.routing import APIRoute
from starlette.datastructures import UploadFile
from starlette.types import Message

from gbsmart.core.context import Ctx
from gbsmart.cpl import workbook
from gbsmart.cpl.errors import WorkbookInvalid

FORM_ALLOWANCE = 64 * 1024  # the multipart framing and the form's other fields (the CSRF token) around the file


class WorkbookUploadRoute(APIRoute):
    """A route receiving a workbook: its body may be at most ``cpl_import_max_bytes`` plus the form's allowance.
    A declared Content-Length over that is refused at the first read, a streamed body as soon as it passes it."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def capped(request: Request) -> Response:
            settings = request.app.state.settings
            cap = settings.cpl_import_max_bytes + FORM_ALLOWANCE
            declared = request.headers.get("content-length", "")
            received = 0

            async def receive() -> Message:
                nonlocal received
                if declared.isdigit() and int(declared) > cap:
                    raise workbook.too_large(f"an upload of {int(declared):,} bytes", settings)
                message = await request.receive()
                received += len(message.get("body", b""))
                if received > cap:
                    raise workbook.too_large(f"an upload of more than {cap:,} bytes", settings)
                return message

            return await handler(Request(request.scope, receive))

        return capped


async def import_upload(request: Request, ctx: Ctx) -> workbook.ImportResult:
    """Import the workbook in the form's ``file`` field, in the threadpool."""
    form = await request.form()
    try:
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise WorkbookInvalid("No workbook was sent: put the .xlsx file in the form's 'file' field. Nothing was "
                                  "imported.", detail=[{"sheet": None, "row": None, "field": "file", "rule": "xlsx",
                                                        "message": "file: a workbook is required"}])
        return await run_in_threadpool(workbook.import_workbook, ctx, upload.file)
    finally:
        await form.close()
