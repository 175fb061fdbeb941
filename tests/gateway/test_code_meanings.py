"""The gateway's answers carry the codes catalogue's plain English (issue 15 point 5): every DUIS Response has the
code's general meaning in ``X-DUIS-Code-Meaning`` beside the specific reason in ``X-DUIS-Explanation``; an E-code
with no reason of its own gets the catalogue's text as its explanation; an HTTP refusal has its reason's meaning.
In-process, on the gateway's own request handling (the real process is tests/gateway/test_server.py's)."""

from __future__ import annotations

import asyncio
import concurrent.futures
from datetime import UTC, datetime

from lxml import etree

from gbsmart.config import Settings
from gbsmart.core import codes
from gbsmart.gateway.server import Gateway
from gbsmart.gateway.store import dcc_signer
from gbsmart.gateway.xml import SUG_NS
from tests.gateway.conftest import request_xml

AT = datetime(2020, 1, 28, 10, 0, tzinfo=UTC)


def _gateway(tmp_path) -> Gateway:
    settings = Settings(data_dir=tmp_path / "var", database_url=f"sqlite:///{tmp_path / 'g.db'}",
                        secret_key="test-secret-key-not-for-production")
    gateway = Gateway(settings)
    gateway.signer = dcc_signer(settings, AT)
    return gateway


def _headers(answer: tuple[int, bytes, bytes, list]) -> dict[str, str]:
    return {k.decode(): v.decode() for k, v in answer[3]}


def test_an_e_code_answer_has_its_reason_and_the_codes_general_meaning(tmp_path, codec):
    gateway = _gateway(tmp_path)
    request = codec.parse(request_xml())
    answer = gateway._answer(request, "E4", AT, "The User is not the registered Supplier of MPAN 1100000000001.")
    headers = _headers(answer)
    assert headers["x-duis-response-code"] == "E4"
    assert headers["x-duis-explanation"].startswith("The User is not the registered Supplier")  # the specific reason
    assert headers["x-duis-code-meaning"] == codes.header_text("E4")  # and beside it the general meaning
    assert headers["x-duis-code-meaning"].startswith("Not your device: ")
    code = etree.fromstring(answer[2]).findtext(f"{{{SUG_NS}}}Header/{{{SUG_NS}}}ResponseCode")
    assert code == "E4"


def test_an_e_code_without_a_reason_of_its_own_gets_the_catalogues_text(tmp_path, codec):
    headers = _headers(_gateway(tmp_path)._answer(codec.parse(request_xml()), "E19", AT, ""))
    entry = codes.explain("E19")
    assert headers["x-duis-explanation"] == entry.summary == headers["x-duis-code-meaning"]
    # a success has no explanation to invent, only its meaning
    ok = _headers(_gateway(tmp_path)._answer(codec.parse(request_xml()), "I0", AT, ""))
    assert "x-duis-explanation" not in ok and ok["x-duis-code-meaning"].startswith("Success: ")


def test_an_http_refusal_carries_its_reasons_meaning(tmp_path):
    gateway = _gateway(tmp_path)
    scope = {"type": "http", "path": "/api/v1/serviceS", "method": "POST",
             "headers": [(b"content-type", b"text/html")]}  # refused before the body is read

    async def receive() -> dict:
        return {"type": "http.request", "body": b"<sr:Request", "more_body": False}

    # in a thread of its own: a browser test before this one in the same worker leaves Playwright's loop running
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        status, _, body, extra = pool.submit(asyncio.run, gateway.handle(scope, receive)).result()
    headers = {k.decode(): v.decode() for k, v in extra}
    assert (status, headers["x-duis-refusal"]) == (415, "unsupported_media_type")
    assert headers["x-duis-code-meaning"] == codes.header_text("unsupported_media_type", "gateway_refusal")
    assert headers["x-duis-code-meaning"].startswith("Not UTF-8 XML: ") and body
