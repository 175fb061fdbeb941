"""Signed CPL submissions (CPL Requirements 2(h)) with a real test PKI: what is signed, the checks at submission
and approval (each refusal naming the field and the rule), the API, the portal form, and the CLI's
`pki issue-organisation` → `cpl sign-submission` → `cpl submit` round trip."""

from __future__ import annotations

import base64
import html
import json
from datetime import timedelta

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from gbsmart.cli import app as gbsmart_app
from gbsmart.core.cli_support import set_clock
from gbsmart.core.clock import SystemClock
from gbsmart.core.errors import Invalid
from gbsmart.core.signing import (
    certificate_pem,
    create_test_pki,
    issue_certificate,
    load_certificate,
    name,
    new_private_key,
    verify_signature,
)
from gbsmart.cpl import service, signatures
from gbsmart.cpl.extracts import canonical_json
from gbsmart.cpl.schemas import SubmissionCreate
from gbsmart.models.cpl import CplEntry, Submission

from .conftest import HASH, submission

API = "/api/v1/cpl"
IMAGE = {"image_creator": "Demo Meters Ltd build service", "image_hash": HASH}


@pytest.fixture
def pki(settings, clock):
    """The test PKI where gbsmart looks for it: its root is the trust anchor CPL submissions chain to."""
    return create_test_pki(settings.resolved_pki_dir(), now=clock.now())


def credentials(pki, organisation: str, now, **kw):
    """A key and the chain (organisation certificate, organisation CA) the organisation signs with."""
    key, cert = pki.issue_organisation_certificate(organisation, now=now, organisation=organisation, **kw)
    return key, [cert, load_certificate(pki.organisation_ca_certificate)]


@pytest.fixture
def maker_keys(pki, clock):
    return credentials(pki, "Demo Meters Ltd", clock.now())


def signed(raw: dict, keys) -> dict:
    return signatures.sign_submission(raw, *keys)


def submit(cast, who: str, raw: dict) -> Submission:
    return service.submit(cast.ctx(who), SubmissionCreate.model_validate(raw))


def refusals(sub: Submission) -> list[tuple[str, str]]:
    return [(f.field, f.rule) for f in sub.failures]


# ---------------------------------------------------------------- what is signed


def test_the_signed_bytes_are_canonical_json_of_the_content():
    raw = submission("PPMID", **IMAGE)
    data = SubmissionCreate.model_validate(raw)
    text = signatures.signed_bytes(data).decode("utf-8")
    assert text.startswith('{"format":"gbsmart-cpl-submission/1","submission":{"certificates":[{"conditional":false')
    assert text == canonical_json(json.loads(text)) and '"signature"' not in text
    content = json.loads(text)["submission"]
    assert content["image_hash"] == HASH and "gbcs_version" in content and "mapping_evidence" not in content
    # the same content however it is written: defaults omitted or given, empty strings or nulls, padding, an
    # on-behalf-of name (unsigned), certificates and signature fields: the same bytes
    variant = {**raw, "smets1": False, "mapping_evidence": "", "cpa_expiry": None, "manufacturer": " Demo Meters Ltd ",
               "submitter_organisation": "Demo Meters Ltd", "signature": "AAAA", "signer_certificates": "x"}
    assert signatures.signed_bytes(SubmissionCreate.model_validate(variant)) == signatures.signed_bytes(data)
    changed = SubmissionCreate.model_validate({**raw, "release_notes": "Initial release!"})
    assert signatures.signed_bytes(changed) != signatures.signed_bytes(data)


# ---------------------------------------------------------------- the service


def test_a_valid_signature_is_accepted_kept_and_carried_to_the_entry(cast, session, maker_keys):
    raw = signed(submission("PPMID", **IMAGE), maker_keys)
    sub = submit(cast, "maker", raw)
    assert sub.status == "validated", [f.message for f in sub.failures]
    assert sub.signed and sub.signature == base64.b64decode(raw["signature"])
    assert sub.signer_certificates == certificate_pem(*maker_keys[1]).strip()
    assert "signature" not in sub.data and "signer_certificates" not in sub.data
    # the signature covers what is kept: anyone can check it again from the stored submission
    verify_signature(maker_keys[1][0], sub.signature,
                     signatures.signed_bytes(SubmissionCreate.model_validate(sub.data)))
    entry = service.get_entry(session, service.approve(cast.ctx("secas"), sub.id).entry_id)
    assert entry.signed and entry.signature == sub.signature and entry.signer_certificates == sub.signer_certificates
    assert signatures.signer_of(entry.signer_certificates) == "Demo Meters Ltd"


def test_a_signed_submission_without_an_image_is_checked_too(cast, maker_keys):
    raw = signed(submission("GSME"), maker_keys)
    assert submit(cast, "maker", raw).status == "validated"
    tampered = {**signed(submission("GSME", model="DM-GSME-2"), maker_keys), "hardware_version": "A2"}
    sub = submit(cast, "maker", tampered)
    assert refusals(sub) == [("signature", "signature-valid")]


def test_tampered_content_is_refused(cast, maker_keys):
    raw = {**signed(submission("PPMID", **IMAGE), maker_keys), "image_hash": "cd" * 32}
    sub = submit(cast, "maker", raw)
    assert sub.status == "refused" and refusals(sub) == [("signature", "signature-valid")]
    assert sub.failures[0].message == (
        "signature: the signature does not verify over this submission's content with the key of 'Demo Meters Ltd': "
        "the content was changed after signing, or another key signed it (CPL Requirements section 2 (h): the "
        "signature covers the submission's content)")


def test_a_certificate_from_another_root_is_refused(cast, pki, clock, tmp_path):
    other = create_test_pki(tmp_path / "other-pki", now=clock.now())
    sub = submit(cast, "maker", signed(submission("PPMID", **IMAGE), credentials(other, "Demo Meters Ltd",
                                                                                 clock.now())))
    assert refusals(sub) == [("signer_certificates", "signer-trusted")]
    # a look-alike PKI (the same CA names, other keys) is caught on the first link
    assert "names 'gbsmart Test Root CA'" in sub.failures[0].message
    assert "as its issuer but that certificate's key did not sign it" in sub.failures[0].message
    rogue_key = new_private_key()
    rogue = issue_certificate(subject=name("Demo Meters Ltd", "Demo Meters Ltd"), public_key=rogue_key.public_key(),
                              issuer=None, issuer_key=rogue_key, not_before=clock.now() - timedelta(hours=1),
                              not_after=clock.now() + timedelta(days=30), ca=False)
    sub = submit(cast, "maker", signed(submission("PPMID", model="DM-R", **IMAGE), (rogue_key, [rogue])))
    assert refusals(sub) == [("signer_certificates", "signer-trusted")]
    assert "does not chain to the trust anchor 'gbsmart Test Root CA'" in sub.failures[0].message


def test_an_expired_certificate_is_refused_but_approval_judges_the_time_of_receipt(cast, pki, clock):
    keys = credentials(pki, "Demo Meters Ltd", clock.now(), days=10)
    on_time = submit(cast, "maker", signed(submission("PPMID", **IMAGE), keys))
    assert on_time.status == "validated"
    clock.set(clock.now() + timedelta(days=11))
    late = submit(cast, "maker", signed(submission("PPMID", model="DM-PPMID-2", **IMAGE), keys))
    assert refusals(late) == [("signer_certificates", "signer-trusted")]
    assert "expired on" in late.failures[0].message and "checked at" in late.failures[0].message
    # the certificate was valid when the first one was received: approving it now does not refuse it
    assert service.approve(cast.ctx("secas"), on_time.id).status == "approved"


def test_a_certificate_of_another_organisation_is_refused(cast, pki, clock, maker_keys):
    supplier_keys = credentials(pki, "Big Energy plc", clock.now())
    sub = submit(cast, "maker", signed(submission("PPMID", **IMAGE), supplier_keys))
    assert refusals(sub) == [("signer_certificates", "signer-organisation")]
    assert "signed by 'Big Energy plc' but submitted by 'Demo Meters Ltd'" in sub.failures[0].message
    sub = submit(cast, "guest", signed(submission("PPMID", model="DM-P2", **IMAGE), maker_keys))
    assert refusals(sub) == [("signer_certificates", "signer-organisation")]  # the guest has no organisation
    # SECAS submits the manufacturer's signed submission on its behalf: the signer is the submitting organisation
    on_behalf = signed(submission("PPMID", model="DM-P3", **IMAGE), maker_keys) | {
        "submitter_organisation": "Demo Meters Ltd"}
    assert submit(cast, "secas", on_behalf).status == "validated"


def test_missing_signature_or_certificates_are_refused_naming_the_field(cast, maker_keys):
    sub = submit(cast, "maker", submission("PPMID", **IMAGE))
    assert refusals(sub) == [("signature", "manufacturer-image-signed")]
    complete = signed(submission("PPMID", **IMAGE), maker_keys)
    sub = submit(cast, "maker", {k: v for k, v in complete.items() if k != "signer_certificates"})
    assert refusals(sub) == [("signer_certificates", "signature-complete")]
    sub = submit(cast, "maker", {k: v for k, v in complete.items() if k != "signature"})
    assert refusals(sub) == [("signature", "manufacturer-image-signed")]
    sub = submit(cast, "maker", {**complete, "signer_certificates": "not a certificate"})
    assert refusals(sub) == [("signer_certificates", "signer-certificates")]
    with pytest.raises(Invalid) as err:
        submit(cast, "maker", {**complete, "signature": "!!"})
    assert err.value.detail[0]["field"] == "signature"
    wrapped = {**complete, "signature": "\n".join(complete["signature"][i:i + 20]
                                                  for i in range(0, len(complete["signature"]), 20))}
    assert submit(cast, "maker", wrapped).status == "validated"  # a pasted, line-wrapped signature is fine


def test_without_a_trust_anchor_nothing_signed_is_accepted(cast, session, settings, maker_keys):
    settings.cpl_trust_anchor = settings.resolved_pki_dir() / "missing-root.pem"
    sub = submit(cast, "maker", signed(submission("PPMID", **IMAGE), maker_keys))
    assert refusals(sub) == [("signer_certificates", "signer-trusted")]
    assert "no usable trust anchor" in sub.failures[0].message


def test_the_demo_signs_its_manufacturer_image_entry_with_a_pki_and_records_it_without(ctx, session, settings):
    from gbsmart.cpl.demo import load_cpl_demo
    from gbsmart.models.cpl import DeviceModel

    def dm_p1():
        return session.scalar(select(CplEntry).join(CplEntry.device_model).where(DeviceModel.model == "DM-P1"))

    load_cpl_demo(ctx)
    session.flush()
    recorded = dm_p1()
    assert recorded.signed and recorded.signature is None and recorded.signer_certificates is None
    session.rollback()

    create_test_pki(settings.resolved_pki_dir(), now=ctx.clock.now())
    load_cpl_demo(ctx)
    session.flush()
    entry = dm_p1()
    assert entry.signed and signatures.signer_of(entry.signer_certificates) == "Demo Meters Ltd"
    data = SubmissionCreate(
        manufacturer="Demo Meters Ltd", model="DM-P1", hardware_version="1", firmware_version="1.0.0",
        physical_device_type="PPMID", release_notes=entry.release_notes, technical_specification="SMETS2 v4.1",
        gbcs_version="2.0", certificates=[{"kind": "zigbee", "number": "ZIG-DEMO-1406", "issued_on": "2019-03-01"}],
        image_creator=entry.image_creator, image_hash=entry.image_hash)
    check = signatures.check_signature(data, entry.signature, entry.signer_certificates, settings=settings,
                                       at=ctx.clock.now(), submitter_names=("Demo Meters Ltd",))
    assert (check.chain_problem, check.signature_problem) == (None, None)


# ---------------------------------------------------------------- API and portal


def test_the_api_takes_the_signature_and_certificates_in_the_body(client, cast, maker_keys):
    body = signed(submission("PPMID", **IMAGE), maker_keys)
    r = client.post(f"{API}/submissions", json=body, headers=cast.headers["maker"])
    assert r.status_code == 201, r.text
    assert r.json()["signed"] is True and r.json()["signer"] == "Demo Meters Ltd"
    r = client.post(f"{API}/submissions/{r.json()['id']}/approve", headers=cast.headers["secas"])
    assert r.status_code == 200 and r.json()["signed"] and r.json()["signer"] == "Demo Meters Ltd"
    tampered = {**signed(submission("PPMID", model="DM-P9", **IMAGE), maker_keys), "firmware_version": "1.0.1"}
    r = client.post(f"{API}/submissions", json=tampered, headers=cast.headers["maker"])
    assert r.status_code == 422
    assert [(d["field"], d["rule"]) for d in r.json()["detail"]] == [("signature", "signature-valid")]


def test_the_portal_form_takes_a_signature_made_on_the_submitters_side(client, cast, session, maker_keys):
    # the JSON the manufacturer signed, and the same content typed into the form
    raw = {"kind": "new_entry", "manufacturer": "Demo Meters Ltd", "model": "DM-PF", "hardware_version": "1",
           "firmware_version": "1.0", "physical_device_type": "PPMID", "release_notes": "First.",
           "technical_specification": "SMETS2 v4.1", "gbcs_version": "2.0",
           "certificates": [{"kind": "zigbee", "number": "Z-PF"}], **IMAGE}
    sig = signed(raw, maker_keys)
    form = {k: v for k, v in raw.items() if k != "certificates"} | {
        "zigbee_number": "Z-PF", "signature": sig["signature"],
        "signer_certificates": sig["signer_certificates"].replace("\n", "\r\n")}  # as a browser posts a textarea
    page = client.get("/cpl/submit", headers=cast.headers["maker"]).text
    assert 'name="signer_certificates"' in page and "gbsmart cpl sign-submission" in page
    r = client.post("/cpl/submit", data={**form, "release_notes": "Changed after signing."},
                    headers=cast.headers["maker"])
    assert r.status_code == 422 and 'id="err-signature"' in r.text
    assert "the signature does not verify over this submission's content" in html.unescape(r.text)
    r = client.post("/cpl/submit", data={**form, "signer_certificates": ""}, headers=cast.headers["maker"])
    assert r.status_code == 422 and 'id="err-signer_certificates"' in r.text
    r = client.post("/cpl/submit", data=form, headers=cast.headers["maker"], follow_redirects=False)
    assert r.status_code == 303, r.text
    sub = session.scalar(select(Submission).where(Submission.status == "validated"))
    r = client.post(f"/cpl/submissions/{sub.id}/approve", headers=cast.headers["secas"], follow_redirects=False)
    page = client.get(r.headers["location"], headers=cast.headers["guest"]).text
    assert "Signed by Demo Meters Ltd" in page


# ---------------------------------------------------------------- the CLI

runner = CliRunner()


@pytest.fixture
def cli(cli_env, cast, clock):
    set_clock(clock)
    yield cli_env
    set_clock(SystemClock())


def run(*args: object):
    result = runner.invoke(gbsmart_app, [str(a) for a in args], catch_exceptions=False, terminal_width=200)
    result.text = " ".join(result.output.split())
    return result


def test_cli_issue_an_organisation_certificate_sign_then_submit(cli, session):
    assert "no test PKI" in run("pki", "issue-organisation", "Demo Meters Ltd").text
    assert run("pki", "init-test").exit_code == 0
    r = run("pki", "issue-organisation", "Demo Meters Ltd")
    assert r.exit_code == 0, r.output
    key, chain = (cli / "var" / "pki" / "organisations" / f"demo-meters-ltd{s}" for s in (".key", "-chain.pem"))
    assert key.stat().st_mode & 0o077 == 0 and str(chain) in r.text and "PRIVATE KEY" not in r.output
    assert run("pki", "issue-organisation", "Demo Meters Ltd").exit_code == 1  # no overwrite without --force
    r = run("pki", "issue-organisation", "secas-cpl-signer", "--out", cli / "var" / "pki", "--force")
    assert r.exit_code == 1 and "is one of the test PKI's own files" in r.text

    path = cli / "dm-p1.json"
    path.write_text(json.dumps(submission("PPMID", **IMAGE)))
    r = run("cpl", "sign-submission", path, "--key", key, "--cert", chain)
    assert r.exit_code == 0, r.output
    signed_path = cli / "dm-p1.signed.json"
    assert "signed 1 submission as Demo Meters Ltd" in r.text and str(signed_path) in r.text
    signed_file = json.loads(signed_path.read_text())
    assert signed_file["signer_certificates"].startswith("-----BEGIN CERTIFICATE-----")
    assert signed_file["signer_certificates"].count("BEGIN CERTIFICATE") == 2  # with the organisation CA

    tampered = cli / "tampered.json"
    tampered.write_text(json.dumps({**signed_file, "model": "DM-P1X"}))
    r = run("cpl", "submit", tampered, "--as", "maker")
    assert r.exit_code == 1 and "signature-valid" in r.text and "The refusal is kept" in r.text
    r = run("cpl", "submit", signed_path, "--as", "supplier")
    assert r.exit_code == 1 and "signer-organisation" in r.text
    r = run("cpl", "submit", signed_path, "--as", "maker")
    assert r.exit_code == 0 and "Validated" in r.text and "(signed by Demo Meters Ltd)" in r.text, r.output
    sub_id = session.scalar(select(Submission.id).where(Submission.status == "validated"))
    assert run("cpl", "approve", sub_id, "--as", "secas").exit_code == 0
    entry_id = session.scalar(select(Submission.entry_id).where(Submission.id == sub_id))
    assert "Signed by Demo Meters Ltd" in run("cpl", "show", entry_id).text

    # a list is signed item by item, to standard output with -o -
    many = cli / "many.json"
    many.write_text(json.dumps([submission("GSME"), submission("CH")]))
    r = runner.invoke(gbsmart_app, ["cpl", "sign-submission", str(many), "--key", str(key), "--cert", str(chain),
                                    "-o", "-"])
    assert r.exit_code == 0 and [s["model"] for s in json.loads(r.stdout)] == ["DM-GSME", "DM-CH"]


def test_cli_sign_submission_refuses_a_key_that_is_not_the_certificates(cli, settings, clock):
    pki = create_test_pki(settings.resolved_pki_dir(), now=clock.now())
    path = cli / "sub.json"
    path.write_text(json.dumps(submission("PPMID")))
    r = run("cpl", "sign-submission", path, "--key", pki.signer_key, "--cert", pki.root_certificate)
    assert r.exit_code == 1 and "does not belong to the certificate 'gbsmart Test Root CA'" in r.text
    assert not (cli / "sub.signed.json").exists()
    path.write_text(json.dumps(submission("PPMID", physical_device_type=7)))
    r = run("cpl", "sign-submission", path, "--key", pki.signer_key, "--cert", pki.signer_chain)
    assert r.exit_code == 1 and "physical_device_type" in r.text


# ---------------------------------------------------------------- the workbook


def test_the_workbook_carries_signatures_and_checks_signed_new_entry_rows(cast, session, maker_keys):
    from gbsmart.cpl import workbook
    from gbsmart.cpl.errors import WorkbookInvalid

    from .test_workbook import empty_the_cpl, sheet, xlsx

    sub = submit(cast, "maker", signed(submission("PPMID", **IMAGE), maker_keys))
    entry = service.get_entry(session, service.approve(cast.ctx("secas"), sub.id).entry_id)
    session.commit()
    kept = (entry.signature, entry.signer_certificates)
    content = workbook.export_bytes(session)
    empty_the_cpl(session)
    assert workbook.import_workbook(cast.ctx("secas"), content).entries == 1
    session.commit()
    again = session.scalar(select(CplEntry))
    assert again.signed and (again.signature, again.signer_certificates) == kept

    raw = {"kind": "new_entry", "manufacturer": "Demo Meters Ltd", "model": "DM-W", "hardware_version": "1",
           "firmware_version": "1.0", "physical_device_type": "PPMID", "release_notes": "First.",
           "technical_specification": "SMETS2 v4.1", "gbcs_version": "2.0",
           "certificates": [{"kind": "zigbee", "number": "Z-W"}], **IMAGE}
    row = {k: v for k, v in signed(raw, maker_keys).items() if k != "certificates"} | {
        "kind": "New Entry", "zigbee_number": "Z-W"}
    with pytest.raises(WorkbookInvalid) as err:
        workbook.import_workbook(cast.ctx("maker"), xlsx(New_Entry=sheet(workbook.NEW_COLUMNS,
                                                                         {**row, "release_notes": "Other."})))
    session.rollback()
    assert [(d["row"], d["field"], d["rule"]) for d in err.value.detail] == [(2, "signature", "signature-valid")]
    result = workbook.import_workbook(cast.ctx("maker"), xlsx(New_Entry=sheet(workbook.NEW_COLUMNS, row)))
    assert session.get(Submission, result.submission_ids[0]).status == "validated"


def test_cli_signs_with_an_encrypted_key_given_its_password_file(cli, settings, clock):
    from pydantic import SecretStr

    from gbsmart.core.signing import write_certificates, write_private_key

    pki = create_test_pki(settings.resolved_pki_dir(), now=clock.now())
    key, chain = credentials(pki, "Demo Meters Ltd", clock.now())
    key_path = write_private_key(cli / "dml.key", key, SecretStr("correct horse"))
    chain_path = write_certificates(cli / "dml-chain.pem", *chain)
    (cli / "pw").write_text("correct horse\n")
    path = cli / "sub.json"
    path.write_text(json.dumps(submission("PPMID", **IMAGE)))
    r = run("cpl", "sign-submission", path, "--key", key_path, "--cert", chain_path)
    assert r.exit_code == 1 and "is encrypted and no password was configured" in r.text
    r = run("cpl", "sign-submission", path, "--key", key_path, "--cert", chain_path, "--key-password-file",
            cli / "pw", "-o", cli / "out.json")
    assert r.exit_code == 0, r.output
    assert run("cpl", "submit", cli / "out.json", "--as", "maker").exit_code == 0
