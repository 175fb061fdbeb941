"""Receiving a signed CPL extract over HTTP, for the API (``POST /api/v1/smi/extracts``) and the portal's upload
(``/cpl/extracts/apply``) alike: the file from a multipart form's ``file`` field or the raw body, refused past the
size limit; and the address an issued extract is downloaded from."""

from __future__ import annotations

from fastapi import Request

from gbsmart.core.errors import Invalid

#: a 10,000-entry extract is about 3 MB; refuse anything far beyond that before reading it
MAX_EXTRACT_BYTES = 64 * 1024 * 1024


def download_url(sequence: int) -> str:
    return f"/api/v1/cpl/extracts/{sequence}/download"


async def uploaded_extract(request: Request) -> bytes:
    """The extract from a multipart form (field ``file``) or the raw request body."""
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > MAX_EXTRACT_BYTES:
        raise Invalid(f"the upload is larger than {MAX_EXTRACT_BYTES // (1024 * 1024)} MB; nothing was changed")
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        form = await request.form()
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            raise Invalid("send the signed extract as the multipart field 'file'", detail={"check": "file"})
        data = await upload.read(MAX_EXTRACT_BYTES + 1)
    elif request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        raise Invalid("send the signed extract as the multipart field 'file'", detail={"check": "file"})
    else:
        data = await request.body()
    if len(data) > MAX_EXTRACT_BYTES:
        raise Invalid(f"the upload is larger than {MAX_EXTRACT_BYTES // (1024 * 1024)} MB; nothing was changed")
    if not data:
        raise Invalid("send the signed extract file as the request body (or multipart field 'file')",
                      detail={"check": "file"})
    return data
