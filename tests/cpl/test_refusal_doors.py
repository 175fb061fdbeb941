"""One refused CPL submission through the three doors (decision 0015): the API, the portal form and the CLI answer
with the same status and message, and each keeps the same rows: the submission, refused, with its reasons, and its
audit trail. Approval, which refuses a submission no longer valid on the day, keeps it the same way at each door."""

from __future__ import annotations

import html
import json
import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from gbsmart.core.cli_support import set_clock
from gbsmart.core.clock import SystemClock
from gbsmart.cpl import service
from gbsmart.cpl.cli import app as cpl_cli
from gbsmart.cpl.schemas import SubmissionCreate
from gbsmart.models.audit import ChangeRecord
from gbsmart.models.cpl import Submission

from .conftest import submission

runner = CliRunner()
MESSAGE = ("CPL submission {id} was refused: 1 rule not met. The refusal is kept with its reasons; correct them and "
           "submit again.")
FAILURE = ("certificates", "certificate-matrix", "certificates: an ESME needs a DLMS certificate (CPL Requirements, "
                                                 "SEC F2)")

# an ESME with no DLMS certificate: the same submission as JSON (API, CLI) and as the portal's form
REFUSED = {
    "kind": "new_entry", "manufacturer": "Demo Meters Ltd", "model": "DM-R", "hardware_version": "A1",
    "firmware_version": "1.0.0", "physical_device_type": "ESME_SINGLE", "release_notes": "First.",
    "technical_specification": "SMETS2 v4.1", "gbcs_version": "2.0",
    "certificates": [{"kind": "zigbee", "number": "ZIG-R", "issued_on": "2019-06-01"},
                     {"kind": "cpa", "number": "CPA-R", "issued_on": "2019-06-01", "expiry_date": "2024-06-30"}]}
FORM = {k: v for k, v in REFUSED.items() if k != "certificates"} | {
    "zigbee_number": "ZIG-R", "zigbee_issued_on": "2019-06-01", "cpa_number": "CPA-R", "cpa_issued_on": "2019-06-01",
    "cpa_expiry_date": "2024-06-30"}


@pytest.fixture
def cli_env(cli_env, cast, clock):
    set_clock(clock)
    yield cli_env
    set_clock(SystemClock())


def _kept(session) -> list[tuple[int, str, list[tuple[str, str, str]], list[str]]]:
    """Every submission with its status, failures and audit trail, as the database holds them (committed)."""
    session.expire_all()
    out = []
    for s in session.scalars(select(Submission).order_by(Submission.id)):
        trail = list(session.scalars(select(ChangeRecord.action).where(
            ChangeRecord.object_type == "cpl_submission", ChangeRecord.object_id == str(s.id))
            .order_by(ChangeRecord.id)))
        out.append((s.id, s.status, [(f.field, f.rule, f.message) for f in s.failures], trail))
    return out


def _text(output: str) -> str:
    return " ".join(output.split())


def _page_error(r) -> str:
    return _text(html.unescape(re.search(r'id="(?:submit|approvals)-error">([^<]*)<', r.text).group(1)))


def test_a_refused_submission_reads_the_same_and_is_kept_the_same_at_every_door(client, cast, cli_env, session):
    api = client.post("/api/v1/cpl/submissions", json=REFUSED, headers=cast.headers["maker"])
    page = client.post("/cpl/submit", data=FORM, headers=cast.headers["maker"])
    path = cli_env / "refused.json"
    path.write_text(json.dumps(REFUSED))
    cli = runner.invoke(cpl_cli, ["submit", str(path), "--as", "maker"], catch_exceptions=False, terminal_width=200)

    kept = _kept(session)
    assert [status for _, status, _, _ in kept] == ["refused"] * 3  # one per door, none rolled back
    assert all(failures == [FAILURE] for _, _, failures, _ in kept)
    assert all(trail == ["cpl.submission.submit", "cpl.submission.validate"] for *_, trail in kept)
    api_id, page_id, cli_id = (i for i, *_ in kept)

    assert api.status_code == 422 and api.json() == {
        "error": MESSAGE.format(id=api_id),
        "detail": [{"field": FAILURE[0], "rule": FAILURE[1], "message": FAILURE[2]}]}
    assert page.status_code == 422 and _page_error(page) == MESSAGE.format(id=page_id)
    assert f'id="err-certificates">{html.escape(FAILURE[2])}' in page.text.replace("&#34;", '"')
    assert 'value="DM-R"' in page.text  # the form keeps what was typed, to correct and submit again
    assert cli.exit_code == 1
    assert f"error (422): {MESSAGE.format(id=cli_id)}" in _text(cli.output)
    assert f"• {FAILURE[2]} ({FAILURE[1]})" in _text(cli.output)
    assert "The refusal is kept with its reasons" in _text(cli.output) and "Nothing was saved" not in cli.output

    # each door lists what it kept
    listed = client.get("/api/v1/cpl/submissions?status=refused", headers=cast.headers["maker"]).json()
    assert sorted(s["id"] for s in listed) == [api_id, page_id, cli_id]


def test_a_refusal_on_approval_reads_the_same_and_is_kept_the_same_at_every_door(client, cast, cli_env, session,
                                                                                clock, world):
    ids = []
    for n in range(3):  # valid when submitted; their CPA certificates have lapsed by the day SECAS approves
        data = submission("GSME", model=f"DM-A{n}", certificates=[
            {"kind": "zigbee", "number": f"ZIG-A{n}", "issued_on": "2019-06-01"},
            {"kind": "cpa", "number": f"CPA-A{n}", "issued_on": "2019-06-01", "expiry_date": "2020-03-31"}])
        sub = service.submit(cast.ctx("maker"), SubmissionCreate.model_validate(data))
        assert sub.status == "validated"
        ids.append(sub.id)
    session.commit()
    clock.set(datetime(2020, 4, 1, 9, tzinfo=UTC))
    secas = world.token(cast.people["secas"])  # a token of the day (the cast's expired with the old one)

    api = client.post(f"/api/v1/cpl/submissions/{ids[0]}/approve", headers=secas)
    page = client.post(f"/cpl/submissions/{ids[1]}/approve", headers=secas)
    cli = runner.invoke(cpl_cli, ["approve", str(ids[2]), "--as", "secas"], catch_exceptions=False,
                        terminal_width=200)

    kept = _kept(session)
    assert [status for _, status, _, _ in kept] == ["refused"] * 3
    reasons = [[(f, rule) for f, rule, _ in failures] for _, _, failures, _ in kept]
    assert reasons == [[("certificates", "certificate-valid")]] * 3
    assert all(trail == ["cpl.submission.submit", "cpl.submission.validate", "cpl.submission.validate"]
               for *_, trail in kept)
    message = MESSAGE.format(id="{id}")
    assert api.status_code == 422 and api.json()["error"] == message.format(id=ids[0])
    assert page.status_code == 422 and _page_error(page) == message.format(id=ids[1])
    assert "expired on 2020-03-31" in page.text  # the reasons, under the message and in Recent decisions
    assert cli.exit_code == 1 and f"error (422): {message.format(id=ids[2])}" in _text(cli.output)
    assert "The refusal is kept with its reasons" in _text(cli.output)
