"""Issue 8, item 1: a forged CPL extract. An organisation holding an ordinary certificate from the organisation
CA, with the common name "SECAS (on behalf of the SEC Panel)" in it, signed an extract and the DCC applied it
(devices suspended), after which the genuine extract 1 was refused as a replay.

The attacker holds only a certificate the organisation CA issued to them; here it is crafted with the CA's key
exactly as the old test PKI issued it. The forged extract goes through the public interfaces the DCC uses
(POST /api/v1/smi/extracts, the /cpl/extracts upload form and `gbsmart smi apply-extract`) and must change
nothing."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

import gbsmart.models.extracts  # noqa: F401 - registers cpl_extracts
import gbsmart.models.smi  # noqa: F401 - registers the SMI tables
from gbsmart.core.cli_support import console
from gbsmart.core.errors import Invalid
from gbsmart.core.signing import (
    CPL_EXTRACT_SIGNING,
    CPL_SIGNER_NAME,
    DOCUMENT_SIGNING,
    TestPki,
    fingerprint,
    issue_certificate,
    load_certificate,
    load_private_key,
    name,
    new_private_key,
    organisation_policy,
    serial_number,
    write_certificates,
    write_private_key,
)
from gbsmart.cpl.extracts import issue_extract, payload_of
from gbsmart.models.audit import ChangeRecord
from gbsmart.models.extracts import CplExtract
from gbsmart.smi import service as smi_service
from gbsmart.smi.registration import write_registration
from gbsmart.smi.schemas import DeviceCreate
from tests.cpl.conftest import versions  # noqa: F401 - fixture
from tests.cpl.test_extracts import crew_fixture, entry, payload, pki_fixture, signed_file  # noqa: F401
from tests.smi import test_extract_apply as apply_kit
from tests.smi.test_extract_apply import state, statuses

GSME = ("Demo Meters Ltd", "DM-GSME", "A1", "1.0.0")
NOW = datetime(2020, 1, 28, 10, 0, tzinfo=UTC)  # the clock fixture's time
cli = apply_kit.cli  # the fixture: `gbsmart pki|cpl-extract|smi` on the test database and clock


def forged_signer(pki: TestPki, organisation: str, now, extended_key_usage=(DOCUMENT_SIGNING,)):
    """A key and chain the organisation CA issued with the CPL signer's common name: what the attacker holds."""
    ca_cert, ca_key = load_certificate(pki.organisation_ca_certificate), load_private_key(pki.organisation_ca_key)
    key = new_private_key()
    cert = issue_certificate(
        subject=name(CPL_SIGNER_NAME, organisation, "IKI Organisation Certificate (test)"),
        public_key=key.public_key(), issuer=ca_cert, issuer_key=ca_key, not_before=now - timedelta(hours=1),
        not_after=now + timedelta(days=730), ca=False, key_usage=("digital_signature",),
        extended_key_usage=extended_key_usage,
        policies=[organisation_policy(f"gbsmart test organisation certificate for {organisation}")])
    return key, [cert, ca_cert]


@pytest.fixture
def smi_before_extract_1(crew, pki, session):
    """Two Device Models on the CPL, the SMI loaded with them and three devices (two Commissioned GSMEs with a
    Supplier and a Network Operator), and genuine extract 1 issued by SECAS but not yet applied."""
    crew.listed("GSME")
    crew.listed("ESME_SINGLE")
    genuine = Path(issue_extract(crew.ctx("secas")).file_path)
    dcc = crew.ctx("dcc")
    smi_service.upsert_device_models(dcc, payload_of(genuine.read_text())["entries"])  # the SMI's bulk load
    supplier, network = crew.people["supplier"].organisation_id, crew.people["maker"].organisation_id
    for n, (device_type, model) in enumerate([("GSME", GSME), ("GSME", GSME),
                                              ("ESME", ("Demo Meters Ltd", "DM-ESME_SINGLE", "A1", "1.0.0"))]):
        mpxn = str(2_000_000 + n)
        smi_service.add_device(dcc, DeviceCreate(
            device_id=f"00-0D-6F-00-00-00-01-0{n + 1}", device_type=device_type, manufacturer=model[0],
            model=model[1], hardware_version=model[2], firmware_version=model[3], smi_status="Commissioned",
            mpxn=mpxn))
        if device_type == "GSME":
            write_registration(dcc, mpxn=int(mpxn), fuel="G", supplier_org_id=supplier,
                               network_operator_org_id=network, valid_from=date(2019, 1, 1))
    session.commit()
    return genuine


def forged_extract(pki: TestPki, attacker: tuple, now) -> str:
    """Extract 1 withdrawing the GSME model, signed with the attacker's certificate."""
    organisation, extended_key_usage = attacker
    withdrawn = entry(*GSME, status="Withdrawn")
    return signed_file(payload(sequence=1, entries=[withdrawn]),
                       *forged_signer(pki, organisation, now, extended_key_usage=extended_key_usage))


ATTACKERS = {
    # (a) what `gbsmart pki issue-organisation "Aclara" --common-name "SECAS (on behalf of the SEC Panel)"` gave
    "aclara-with-the-secas-common-name": ("Aclara", (DOCUMENT_SIGNING,)),
    # (b) O=SECAS and the reserved common name, but not the pinned CPL signer's certificate
    "secas-name-not-the-pinned-signer": ("SECAS", (DOCUMENT_SIGNING,)),
    # (b) and even the CPL extract signing EKU, as a CA that mis-issues could give it: only the pin refuses it
    "secas-name-and-eku-not-the-pinned-signer": ("SECAS", (DOCUMENT_SIGNING, CPL_EXTRACT_SIGNING)),
}


@pytest.mark.parametrize("attacker", ATTACKERS.values(), ids=ATTACKERS.keys())
def test_a_forged_extract_posted_as_the_dcc_is_refused_and_changes_nothing(crew, pki, smi_before_extract_1, client,
                                                                              session, attacker):
    before = state(session)
    forged = forged_extract(pki, attacker, crew.clock.now())

    r = client.post("/api/v1/smi/extracts", content=forged.encode(), headers=crew.headers["dcc"])

    assert r.status_code == 422, r.text
    body = r.json()
    assert body["detail"] == {"check": "signer"}
    assert body["error"].startswith(f"wrong signer: '{CPL_SIGNER_NAME}' (serial "), body["error"]
    assert "may not sign CPL extracts" in body["error"] and "is not a pinned CPL signer" in body["error"]
    if attacker[0] == "Aclara":
        assert "its organisation (O=) is 'Aclara', not 'SECAS'" in body["error"]
    page = client.post("/cpl/extracts/apply", files={"file": ("cpl-extract-1.json", forged.encode())},
                       headers=crew.headers["dcc"])  # the portal's upload form, the same service
    assert page.status_code == 422 and "(check: signer)" in page.text and "Nothing was changed." in page.text
    assert "wrong signer: &#39;SECAS (on behalf of the SEC Panel)&#39; (serial " in page.text
    assert state(session) == before
    assert statuses(session) == ["Commissioned"] * 3

    genuine = client.post("/api/v1/smi/extracts", content=smi_before_extract_1.read_bytes(),
                          headers=crew.headers["dcc"])
    assert genuine.status_code == 200, genuine.text
    assert (genuine.json()["sequence"], genuine.json()["suspended"]) == (1, 0)


@pytest.mark.parametrize("attacker", ATTACKERS.values(), ids=ATTACKERS.keys())
def test_a_forged_extract_applied_with_the_cli_is_refused_and_changes_nothing(cli, crew, pki, smi_before_extract_1,
                                                                             session, tmp_path, attacker):
    before = state(session)
    forged = tmp_path / "cpl-extract-1.json"
    forged.write_text(forged_extract(pki, attacker, crew.clock.now()))

    r = cli("smi", "apply-extract", str(forged), "--as", "dcc")

    assert r.exit_code == 1, r.output
    assert f"error (422): wrong signer: '{CPL_SIGNER_NAME}' (serial " in r.output
    assert "is not a pinned CPL signer" in r.output and "Nothing was changed." in r.output
    assert state(session) == before
    assert statuses(session) == ["Commissioned"] * 3

    ok = cli("smi", "apply-extract", str(smi_before_extract_1), "--as", "dcc")
    assert ok.exit_code == 0, ok.output
    assert "CPL extract 1 applied to the SMI" in ok.output


def test_the_test_pki_refuses_to_issue_the_cpl_signers_name_to_an_organisation(cli, crew, session):
    assert cli("pki", "init-test").exit_code == 0
    organisations = crew.settings.resolved_pki_dir() / "organisations"

    r = cli("pki", "issue-organisation", "Aclara", "--common-name", CPL_SIGNER_NAME)

    assert r.exit_code == 1, r.output
    said = " ".join(r.output.split())
    assert f"error (422): the common name '{CPL_SIGNER_NAME}' is reserved for the SECAS CPL signer" in said
    assert "Nothing was saved." in said
    r = cli("pki", "issue-organisation", "secas", "--common-name", "SECAS CPL signing")
    assert r.exit_code == 1 and "O=SECAS is reserved for the SECAS CPL signer" in " ".join(r.output.split())
    assert not organisations.exists() or not any(organisations.iterdir())
    assert cli("pki", "issue-organisation", "Aclara").exit_code == 0  # an ordinary organisation certificate


def test_the_test_pki_refuses_the_cpl_extract_signing_eku_to_an_organisation(pki):
    with pytest.raises(Invalid, match=r"extended key usage \(2\.25\.\d+\) is reserved for the SECAS CPL signer"):
        pki.issue_organisation_certificate("Aclara", now=NOW, extended_key_usage=(DOCUMENT_SIGNING,
                                                                                  CPL_EXTRACT_SIGNING))
    with pytest.raises(Invalid, match="common name .* is reserved"):
        pki.issue_organisation_certificate("  secas (on behalf of  the SEC panel) ", now=NOW, organisation="Aclara")


def test_secas_cannot_sign_with_a_certificate_that_only_calls_itself_secas(crew, pki, client, session):
    """The same rule on the issuing side: gbsmart refuses to sign with the attacker's certificate too."""
    crew.listed("GSME")
    key, chain = forged_signer(pki, "Aclara", crew.clock.now())
    write_private_key(pki.signer_key, key)
    write_certificates(pki.signer_chain, *chain)  # so the unset pin now points at the forged certificate itself

    r = client.post("/api/v1/cpl/extracts", headers=crew.headers["secas"])

    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error.startswith(f"cannot sign: '{CPL_SIGNER_NAME}' (serial ") and "not an authorised CPL signer" in error
    assert "its organisation (O=) is 'Aclara', not 'SECAS'" in error and "does not carry the CPL extract" in error
    session.rollback()
    assert session.scalar(select(func.count()).select_from(CplExtract)) == 0


def test_the_applied_extract_says_which_certificate_signed_it(crew, pki, smi_before_extract_1, client, session, cli,
                                                             monkeypatch):
    monkeypatch.setattr(console, "_width", 220)  # the listing's table unfolded
    signer = load_certificate(pki.signer_certificate)
    dcc = crew.headers["dcc"]

    applied = client.post("/api/v1/smi/extracts", content=smi_before_extract_1.read_bytes(), headers=dcc).json()

    assert (applied["signer_fingerprint"], applied["signer_serial"]) == (fingerprint(signer), serial_number(signer))
    session.rollback()
    audit = session.scalar(select(ChangeRecord).where(ChangeRecord.action == "cpl_extract.apply"))
    assert audit.after["signer_fingerprint"] == fingerprint(signer)
    assert audit.after["signer_serial"] == serial_number(signer)
    assert audit.after["signer_subject"] == signer.subject.rfc4514_string()
    assert "O=SECAS" in audit.after["signer_subject"]
    (listed,) = client.get("/api/v1/cpl/extracts", headers=dcc).json()
    assert listed["applied"]["signer_fingerprint"] == fingerprint(signer)
    assert listed["applied"]["signer_serial"] == serial_number(signer)
    assert f'title="{fingerprint(signer)}"' in client.get("/cpl/extracts", headers=dcc).text
    assert fingerprint(signer)[:23] in cli("cpl-extract", "list").output

    second = Path(issue_extract(crew.ctx("secas")).file_path)
    session.commit()
    r = cli("smi", "apply-extract", str(second), "--as", "dcc")
    assert r.exit_code == 0, r.output
    assert f"certificate serial {serial_number(signer)}, SHA-256 fingerprint {fingerprint(signer)}" in r.output
