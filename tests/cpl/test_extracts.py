"""Signed CPL extracts: issuing (sequence, removals with Panel minutes, signer checks), verifying each refusal,
the issue/history/download API and the extracts page. Applying to the SMI: tests/smi/test_extract_apply.py."""

from __future__ import annotations

import base64
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from pydantic import ValidationError
from sqlalchemy import func, select

import gbsmart.models.extracts  # noqa: F401 - registers cpl_extracts
import gbsmart.models.smi  # noqa: F401 - registers the SMI tables (history joins applications)
from gbsmart.config import Settings
from gbsmart.core.errors import Forbidden, Invalid
from gbsmart.core.signing import (
    CPL_EXTRACT_SIGNING,
    CPL_SIGNER_NAME,
    DOCUMENT_SIGNING,
    TEST_ORGANISATION_POLICY,
    TestPki,
    create_test_pki,
    fingerprint,
    issue_certificate,
    load_certificate,
    load_certificates,
    load_private_key,
    name,
    new_private_key,
    organisation_policy,
    sign,
)
from gbsmart.cpl import extracts
from gbsmart.cpl.enums import EntryStatus
from gbsmart.cpl.extracts import (
    FORMAT,
    ExtractOutOfOrder,
    ExtractRefused,
    ExtractReplayed,
    canonical_json,
    issue_extract,
    verify_extract,
)
from gbsmart.models.audit import ChangeRecord
from gbsmart.models.extracts import CplExtract
from gbsmart.models.parties import Person, PersonRole
from tests.cpl.conftest import Cast

NOW = datetime(2020, 1, 28, 10, 0, tzinfo=UTC)


# ---------------------------------------------------------------------------------------------- shared kit


@pytest.fixture(name="crew")
def crew_fixture(world, session, clock, settings, versions) -> Cast:
    """The CPL crew, made fast: the people have bearer tokens but no password (no argon2 hashing)."""
    orgs = {"secas": world.org("SECAS", kind="secas"), "dcc": world.org("Smart DCC", kind="dcc"),
            "maker": world.org("Demo Meters Ltd", category="other"),
            "supplier": world.org("Big Energy plc", category="large_supplier")}
    roles = {"secas": "code_administrator", "dcc": "dcc", "maker": "party_user", "supplier": "party_user"}
    c = Cast(session=session, clock=clock, settings=settings)
    for username, role in roles.items():
        person = Person(username=username, full_name=username.title(), organisation_id=orgs[username].id,
                        created_at=clock.now(), role_rows=[PersonRole(role=role)])
        session.add(person)
        session.commit()
        c.people[username] = person
        c.headers[username] = world.token(person)
    return c


@pytest.fixture(name="pki")
def pki_fixture(settings, clock) -> TestPki:
    """The test PKI where the settings look for it (data_dir/pki), made at the test clock's time."""
    return create_test_pki(settings.resolved_pki_dir(), now=clock.now())


def entry(manufacturer: str = "Acme Meters", model: str = "G-100", hw: str = "A", fw: str = "1.0",
          status: str = "Active", **extra: Any) -> dict[str, Any]:
    """One CPL entry as gbsmart.cpl.service.extract_entries returns it."""
    return {"manufacturer": manufacturer, "model": model, "hardware_version": hw, "firmware_version": fw,
            "physical_device_type": "GSME", "status": status, "technical_specification": "SMETS2 v4.1",
            "gbcs_version": "2.0", "cpa_expiry": "2024-06-30", "smets1": False, **extra}


def signed_file(payload: dict[str, Any] | str, key, chain) -> str:
    """A signed extract file for ``payload`` (a dict is canonicalised; a string is signed as it stands)."""
    text = payload if isinstance(payload, str) else canonical_json(payload)
    return extracts.signed_document(text, sign(key, text.encode("utf-8")), chain)


def payload(sequence: int = 1, entries: list[dict] | None = None, **extra: Any) -> dict[str, Any]:
    return {"format": FORMAT, "sequence": sequence, "issued_at": NOW.isoformat(), "issuer": CPL_SIGNER_NAME,
            "entries": entries if entries is not None else [entry()], "removals": [], **extra}


# ---------------------------------------------------------------------------------------------- verification
# Pure: no database, so these run once (not per database).


@pytest.fixture(scope="module")
def vpki(tmp_path_factory) -> TestPki:
    return create_test_pki(tmp_path_factory.mktemp("vpki") / "pki", now=NOW)


@pytest.fixture(scope="module")
def vsettings(vpki) -> Settings:
    return Settings(data_dir=vpki.directory.parent, pki_dir=vpki.directory)


@pytest.fixture(scope="module")
def secas(vpki):
    return load_private_key(vpki.signer_key), load_certificates(vpki.signer_chain)


def _verify(doc: str | bytes, settings: Settings, last: int | None = None, at: datetime = NOW):
    return verify_extract(doc, settings=settings, at=at, last_applied=last)


def _refused(doc: str | bytes, settings: Settings, check: str, match: str, **kw: Any) -> ExtractRefused:
    with pytest.raises(ExtractRefused, match=match) as exc:
        _verify(doc, settings, **kw)
    assert exc.value.check == check and exc.value.status == 422
    assert exc.value.to_dict()["detail"] == {"check": check}
    return exc.value


def test_a_good_extract_verifies_and_says_what_it_holds(vsettings, secas):
    doc = signed_file(payload(entries=[entry(), entry(model="G-200", status="Withdrawn")]), *secas)
    v = _verify(doc, vsettings)
    assert v.sequence == 1 and v.signer == CPL_SIGNER_NAME and len(v.entries) == 2
    assert v.chain == [CPL_SIGNER_NAME, "gbsmart Test Organisation CA", "gbsmart Test Root CA"]
    assert len(v.sha256) == 64


def test_the_payload_is_canonical_json():
    text = canonical_json({"b": 1, "a": {"d": [1, 2], "c": "é"}})
    assert text == '{"a":{"c":"é","d":[1,2]},"b":1}'
    assert canonical_json(json.loads(text)) == text
    with pytest.raises(ValueError):
        canonical_json({"x": float("nan")})


def test_one_flipped_byte_in_a_model_name_is_refused(vsettings, secas):
    doc = signed_file(payload(), *secas)
    assert doc.count("G-100") == 1
    _refused(doc.replace("G-100", "G-101"), vsettings, "signature", "signature is not valid")


def test_one_flipped_byte_in_the_sequence_is_refused(vsettings, secas):
    doc = signed_file(payload(sequence=1), *secas)
    assert doc.count('\\"sequence\\":1') == 1
    _refused(doc.replace('\\"sequence\\":1', '\\"sequence\\":2'), vsettings, "signature", "does not verify")


def test_re_serialising_the_payload_breaks_the_signature(vsettings, secas):
    """The signature covers the exact payload bytes: a semantically equal payload is still refused."""
    doc = json.loads(signed_file(payload(), *secas))
    doc["payload"] = json.dumps(json.loads(doc["payload"]), indent=1)
    _refused(json.dumps(doc), vsettings, "signature", "signature is not valid")


def test_signed_with_another_key_under_the_secas_certificate_is_refused(vsettings, secas):
    _key, chain = secas
    _refused(signed_file(payload(), new_private_key(), chain), vsettings, "signature", "another key")


def test_a_wrong_signer_chained_to_the_anchor_is_refused(vsettings, vpki):
    key, cert = vpki.issue_organisation_certificate("Big Energy plc", now=NOW)
    chain = [cert, *load_certificates(vpki.organisation_ca_certificate)]
    _refused(signed_file(payload(), key, chain), vsettings, "signer", "wrong signer: 'Big Energy plc'")


def secas_certificate(vpki: TestPki, extended_key_usage=(DOCUMENT_SIGNING, CPL_EXTRACT_SIGNING)):
    """Another certificate with the CPL signer's whole identity, from the same CA (a renewal, or a mis-issue)."""
    ca_cert, ca_key = load_certificate(vpki.organisation_ca_certificate), load_private_key(vpki.organisation_ca_key)
    key = new_private_key()
    cert = issue_certificate(subject=name(CPL_SIGNER_NAME, "SECAS"), public_key=key.public_key(), issuer=ca_cert,
                             issuer_key=ca_key, not_before=NOW - timedelta(hours=1), not_after=NOW + timedelta(days=30),
                             ca=False, extended_key_usage=extended_key_usage,
                             policies=[organisation_policy("gbsmart test CPL signer")])
    return key, [cert, ca_cert]


def test_only_a_pinned_certificate_signs_and_a_rotation_pins_both(vsettings, vpki, secas):
    """Unset, the pin is the configured signing certificate's; set, it replaces that default (decision 0011)."""
    renewed = secas_certificate(vpki)
    old_doc, new_doc = signed_file(payload(), *secas), signed_file(payload(), *renewed)
    _refused(new_doc, vsettings, "signer", r"fingerprint .* is not a pinned CPL signer "
                                           r"\(GBSMART_CPL_SIGNER_FINGERPRINTS is unset, so the only one pinned is")
    old_fp, new_fp = fingerprint(secas[1][0]), fingerprint(renewed[1][0])
    both = Settings(data_dir=vsettings.data_dir, pki_dir=vpki.directory, cpl_signer_fingerprints=[old_fp, new_fp])
    assert _verify(old_doc, both).signer_fingerprint == old_fp
    assert _verify(new_doc, both).signer_fingerprint == new_fp
    only_new = Settings(data_dir=vsettings.data_dir, pki_dir=vpki.directory,
                        cpl_signer_fingerprints=[new_fp.replace(":", "").lower()])
    assert only_new.cpl_signer_fingerprints == [new_fp]
    _refused(old_doc, only_new, "signer", rf"{old_fp} is not a pinned CPL signer \(GBSMART_CPL_SIGNER_FINGERPRINTS\)")


def test_no_pin_and_no_signing_certificate_refuses_everything(vpki, secas, tmp_path):
    """A DCC with only the trust anchor must pin the signer: nothing verifies until it does."""
    dcc_only = Settings(data_dir=tmp_path, cpl_trust_anchor=vpki.root_certificate)
    _refused(signed_file(payload(), *secas), dcc_only, "signer", "no CPL signer is pinned: set "
                                                                 "GBSMART_CPL_SIGNER_FINGERPRINTS")
    pinned = dcc_only.model_copy(update={"cpl_signer_fingerprints": [fingerprint(secas[1][0])]})
    assert _verify(signed_file(payload(), *secas), pinned).signer == CPL_SIGNER_NAME


def test_any_extended_key_usage_is_not_the_cpl_signers_oid(vsettings, vpki):
    key, chain = secas_certificate(vpki, extended_key_usage=(x509.ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE,))
    pinned = vsettings.model_copy(update={"cpl_signer_fingerprints": [fingerprint(chain[0])]})
    _refused(signed_file(payload(), key, chain), pinned, "signer",
             f"does not carry the CPL extract signing OID {CPL_EXTRACT_SIGNING.dotted_string}")


def test_the_cpl_signers_oid_may_be_a_certificate_policy(vsettings, vpki):
    """A real IKI deployment names its own policy OID (GBSMART_CPL_SIGNER_OID) and pins the certificate."""
    key, chain = secas_certificate(vpki, extended_key_usage=(DOCUMENT_SIGNING,))
    by_policy = vsettings.model_copy(update={"cpl_signer_fingerprints": [fingerprint(chain[0])],
                                             "cpl_signer_oid": TEST_ORGANISATION_POLICY.dotted_string})
    assert _verify(signed_file(payload(), key, chain), by_policy).signer == CPL_SIGNER_NAME


def test_the_signer_settings_are_checked_when_read():
    with pytest.raises(ValidationError, match="is not a SHA-256 fingerprint"):
        Settings(cpl_signer_fingerprints=["AB:CD"])
    with pytest.raises(ValidationError, match="is not a dotted object identifier"):
        Settings(cpl_signer_oid="cpl-signing")
    assert Settings().cpl_signer_oid == CPL_EXTRACT_SIGNING.dotted_string


def test_a_certificate_not_chained_to_the_anchor_is_refused(vsettings, tmp_path):
    """Another PKI with the very same names: its whole chain in the file does not make it trusted."""
    rogue = create_test_pki(tmp_path / "rogue", now=NOW)
    chain = load_certificates(rogue.signer_chain) + load_certificates(rogue.root_certificate)
    _refused(signed_file(payload(), load_private_key(rogue.signer_key), chain), vsettings, "chain", "not trusted")


def test_an_expired_signing_certificate_is_refused(vsettings, secas):
    doc = signed_file(payload(), *secas)
    _refused(doc, vsettings, "chain", "expired on", at=NOW + timedelta(days=800))


def test_missing_intermediate_is_refused(vsettings, secas):
    key, chain = secas
    _refused(signed_file(payload(), key, chain[:1]), vsettings, "chain", "does not chain to the trust anchor")


def test_no_trust_anchor_configured(tmp_path, secas):
    settings = Settings(data_dir=tmp_path, pki_dir=tmp_path / "nothing-here")
    _refused(signed_file(payload(), *secas), settings, "trust_anchor", "gbsmart pki init-test")


@pytest.mark.parametrize("doc, match", [
    (b"\xff\xfe not json", "not valid JSON"),
    ("[]", "expected an object"),
    ('{"payload": "{}", "signature": "AAAA"}', "expected an object"),
    ('{"payload": "{}", "signature": "***", "certificates": ["x"]}', "not valid base64"),
    ('{"payload": "{}", "signature": "AAAA", "certificates": []}', "non-empty list"),
    ('{"payload": "{}", "signature": "AAAA", "certificates": ["junk"]}', "no readable PEM"),
    ('{"payload": "{}", "payload": "{}", "signature": "AAAA", "certificates": ["x"]}', "duplicate key"),
])
def test_not_a_signed_extract(vsettings, doc, match):
    _refused(doc, vsettings, "file", match)


def test_unsupported_format_is_refused_after_the_signature(vsettings, secas):
    _refused(signed_file(payload(format="gbsmart-cpl-extract/2"), *secas), vsettings, "format",
             "unsupported extract format 'gbsmart-cpl-extract/2'")
    _refused(signed_file(payload(sequence="7"), *secas), vsettings, "format", "not a positive integer")


def test_bad_entries_are_refused_after_the_sequence(vsettings, secas):
    _refused(signed_file(payload(entries=[entry(status="Listed")]), *secas), vsettings, "entries", "'Listed'")
    _refused(signed_file(payload(entries=[entry(), entry()]), *secas), vsettings, "entries", "repeats")


def test_replayed_and_out_of_order_sequences(vsettings, secas):
    doc3 = signed_file(payload(sequence=3), *secas)
    assert _verify(doc3, vsettings, last=2).sequence == 3
    with pytest.raises(ExtractReplayed, match=r"replayed: extract 3 .*\(3\)") as exc:
        _verify(doc3, vsettings, last=3)
    assert exc.value.status == 409
    with pytest.raises(ExtractReplayed):
        _verify(doc3, vsettings, last=5)
    with pytest.raises(ExtractOutOfOrder, match="out of order: expected 2, got 3") as exc:
        _verify(doc3, vsettings, last=1)
    assert exc.value.status == 409 and exc.value.detail == {"check": "sequence", "expected": 2, "got": 3}
    with pytest.raises(ExtractOutOfOrder, match="expected 1, got 3"):
        _verify(doc3, vsettings, last=None)
    gaps = vsettings.model_copy(update={"cpl_extract_allow_gaps": True})
    assert _verify(doc3, gaps, last=1).sequence == 3
    with pytest.raises(ExtractReplayed):
        _verify(doc3, gaps, last=3)


def test_the_chain_is_checked_before_the_sequence(vsettings, tmp_path):
    """An untrusted file never gets as far as saying whether its sequence number is expected."""
    rogue = create_test_pki(tmp_path / "rogue", now=NOW)
    doc = signed_file(payload(sequence=1), load_private_key(rogue.signer_key), load_certificates(rogue.signer_chain))
    _refused(doc, vsettings, "chain", "not trusted", last=5)


# ---------------------------------------------------------------------------------------------- issuing


def test_issue_signs_the_cpl_with_the_next_sequence_number(crew, pki, settings, session):
    crew.listed("GSME")
    crew.listed("ESME_SINGLE")
    ctx = crew.ctx("secas")
    first = issue_extract(ctx)
    session.commit()
    assert (first.sequence, first.entry_count, first.removal_count, first.issued_by) == (1, 2, 0, "secas")
    path = Path(first.file_path)
    assert path == settings.resolved_extracts_dir() / "cpl-extract-1.json" and path.exists()
    doc = json.loads(path.read_text())
    assert set(doc) == {"payload", "signature", "certificates"} and len(doc["certificates"]) == 2
    body = json.loads(doc["payload"])
    assert doc["payload"] == canonical_json(body)
    assert body["format"] == FORMAT and body["sequence"] == 1 and body["issuer"] == CPL_SIGNER_NAME
    assert [e["physical_device_type"] for e in body["entries"]] == ["ESME_SINGLE", "GSME"]
    assert all(e["status"] == "Active" and e["cpa_expiry"] for e in body["entries"])
    base64.b64decode(doc["signature"], validate=True)
    assert _verify(path.read_bytes(), settings).sha256 == first.sha256
    second = issue_extract(ctx)
    assert second.sequence == 2 and second.removal_count == 0
    audit = session.scalars(select(ChangeRecord).where(ChangeRecord.action == "cpl_extract.issue")).all()
    assert [a.object_id for a in audit] == ["1", "2"] and audit[0].actor_name == "secas"


def test_new_removals_cite_the_panel_minute(crew, pki, session):
    from gbsmart.cpl import service

    gone = crew.listed("GSME")
    crew.listed("ESME_SINGLE")
    ctx = crew.ctx("secas")
    issue_extract(ctx)
    service.remove_entry(ctx, gone, "SEC Panel 12_2502 minute 7", "CPA certificate revoked")
    second = issue_extract(ctx)
    assert second.removal_count == 1
    (removal,) = second.removals
    assert removal["model"] == gone.device_model.model and removal["status"] == "Withdrawn"
    assert removal["minute_reference"] == "SEC Panel 12_2502 minute 7"
    body = extracts.payload_of(extracts.get_extract(session, 2, with_document=True).document)
    assert body["removals"] == [removal]
    assert issue_extract(ctx).removal_count == 0  # not new any more


def test_a_removal_without_a_minute_is_issued_and_flagged(pki, ctx):
    issue_extract(ctx, entries=[entry(), entry(model="G-200")])
    row = issue_extract(ctx, entries=[entry(status="Expired")])  # G-100 expired, G-200 dropped entirely
    assert [(r["model"], r["status"], r["minute_reference"]) for r in row.removals] == [
        ("G-100", "Expired", None), ("G-200", None, None)]


def test_only_the_code_administrator_issues(crew, pki, session):
    with pytest.raises(Forbidden, match="Code Administrator"):
        issue_extract(crew.ctx("dcc"))
    assert session.scalar(select(func.count()).select_from(CplExtract)) == 0


def test_issue_refuses_an_expired_signing_certificate(pki, ctx, clock, session):
    clock.advance(days=800)
    with pytest.raises(Invalid, match="cannot sign: certificate 'SECAS.*expired"):
        issue_extract(ctx, entries=[entry()])
    assert session.scalar(select(func.count()).select_from(CplExtract)) == 0


def test_issue_without_a_pki_says_how_to_make_one(ctx):
    with pytest.raises(Invalid, match="gbsmart pki init-test"):
        issue_extract(ctx, entries=[entry()])


def test_issue_refuses_a_key_that_is_not_the_certificates(pki, ctx):
    from gbsmart.core.signing import write_private_key

    write_private_key(pki.signer_key, new_private_key())
    with pytest.raises(Invalid, match="does not belong to the signing certificate"):
        issue_extract(ctx, entries=[entry()])


# ---------------------------------------------------------------------------------------------- API and page


def test_api_issue_history_and_download(crew, pki, client, session):
    crew.listed("GSME")
    assert client.post("/api/v1/cpl/extracts", headers=crew.headers["dcc"]).status_code == 403
    r = client.post("/api/v1/cpl/extracts", headers=crew.headers["secas"])
    assert r.status_code == 201, r.text
    meta = r.json()
    assert meta["sequence"] == 1 and meta["entry_count"] == 1 and meta["applied"] is None
    assert meta["download_url"] == "/api/v1/cpl/extracts/1/download"
    assert client.post("/api/v1/cpl/extracts", headers=crew.headers["secas"]).json()["sequence"] == 2
    history = client.get("/api/v1/cpl/extracts", headers=crew.headers["supplier"]).json()
    assert [h["sequence"] for h in history] == [2, 1]
    d = client.get(meta["download_url"], headers=crew.headers["dcc"])
    assert d.status_code == 200 and d.headers["content-disposition"] == 'attachment; filename="cpl-extract-1.json"'
    session.rollback()
    assert d.text == extracts.get_extract(session, 1, with_document=True).document
    assert client.get("/api/v1/cpl/extracts/9/download", headers=crew.headers["dcc"]).status_code == 404


def test_api_issue_without_a_pki_is_422(crew, client):
    r = client.post("/api/v1/cpl/extracts", headers=crew.headers["secas"])
    assert r.status_code == 422 and "gbsmart pki init-test" in r.json()["error"]


def test_extracts_page_lists_and_issues_for_secas(crew, pki, client):
    crew.listed("GSME")
    page = client.get("/cpl/extracts", headers=crew.headers["secas"])
    assert page.status_code == 200 and "Issue next extract" in page.text and "No CPL extract" in page.text
    assert "Issue next extract" not in client.get("/cpl/extracts", headers=crew.headers["dcc"]).text
    r = client.post("/cpl/extracts/issue", headers=crew.headers["secas"], follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/cpl/extracts?issued=1"
    page = client.get("/cpl/extracts?issued=1", headers=crew.headers["secas"]).text
    assert 'id="extract-1"' in page and "CPL extract 1 issued" in page and "not yet" in page
    refused = client.post("/cpl/extracts/issue", headers=crew.headers["dcc"])
    assert refused.status_code == 403 and "Code Administrator" in refused.text


def test_extracts_page_form_needs_the_csrf_token(pki, client, world):
    """A browser signed in with a cookie issues through the form only with the session's CSRF token."""
    from tests.conftest import TEST_PASSWORD

    world.person("secas", "code_administrator")

    def csrf(html: str) -> str:
        return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)

    signed_in = client.post("/login", data={"username": "secas", "password": TEST_PASSWORD,
                                            "csrf_token": csrf(client.get("/login").text)}, follow_redirects=False)
    assert signed_in.status_code == 303
    page = client.get("/cpl/extracts")
    assert page.status_code == 200 and 'id="issue-form"' in page.text
    assert client.post("/cpl/extracts/issue", data={}).status_code == 403
    r = client.post("/cpl/extracts/issue", data={"csrf_token": csrf(page.text)}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/cpl/extracts?issued=1"


def test_removed_entry_status_values_are_the_duis_ones():
    assert set(extracts.STATUSES) == {s.value for s in EntryStatus}
