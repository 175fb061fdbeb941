"""CPL services: submission, approval, the lifecycle job driven by the clock, removal citing a minute, grace periods."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from gbsmart.core.errors import Conflict, Forbidden, Invalid
from gbsmart.cpl import service
from gbsmart.cpl.schemas import SubmissionCreate
from gbsmart.models.audit import ChangeRecord
from gbsmart.models.cpl import ExpiryNotice

from .conftest import certs, submission


def at(clock, y: int, m: int, d: int) -> None:
    clock.set(datetime(y, m, d, 9, 0, tzinfo=UTC))


def actions(session, object_type: str = "cpl_entry") -> list[str]:
    return list(session.scalars(select(ChangeRecord.action).where(ChangeRecord.object_type == object_type)
                                .order_by(ChangeRecord.id)))


def test_anyone_signed_in_submits_and_secas_approves(cast, session):
    sub = service.submit(cast.ctx("guest"), SubmissionCreate.model_validate(submission("CH", manufacturer="WNC")))
    assert sub.status == "validated" and sub.failures == [] and sub.submitter_name == "Guest"
    with pytest.raises(Forbidden):
        service.approve(cast.ctx("maker"), sub.id)
    sub = service.approve(cast.ctx("secas"), sub.id)
    entry = service.get_entry(session, sub.entry_id)
    assert sub.status == "approved" and sub.decided_by == "Secas"
    assert entry.status == "Active" and entry.device_model.manufacturer == "WNC"
    assert entry.technical_specification.label == "CHTS v1.2" and entry.gbcs_version.version == "2.0"
    assert sorted(c.kind for c in entry.certificates) == ["cpa", "zigbee"] and entry.cpa_expiry == date(2024, 6, 30)
    assert [e.action for e in entry.events] == ["approve"] and "approved by SECAS" in entry.events[0].text
    assert actions(session, "cpl_submission") == ["cpl.submission.submit", "cpl.submission.validate",
                                                  "cpl.submission.validate", "cpl.submission.approve"]
    assert "cpl.entry.approve" in actions(session)
    with pytest.raises(Conflict, match="only a validated submission"):
        service.approve(cast.ctx("secas"), sub.id)


def test_a_refused_submission_keeps_its_failures_and_cannot_be_approved(cast, session):
    data = submission("ESME_SINGLE", certificates=certs("zigbee", "cpa"))
    sub = service.submit(cast.ctx("maker"), SubmissionCreate.model_validate(data))
    assert sub.status == "refused"
    assert [(f.field, f.rule) for f in sub.failures] == [("certificates", "certificate-matrix")]
    err = service.refusal(sub)
    assert err.status == 422 and err.detail[0]["message"] == (
        "certificates: an ESME needs a DLMS certificate (CPL Requirements, SEC F2)")
    with pytest.raises(Conflict):
        service.approve(cast.ctx("secas"), sub.id)


def test_approval_revalidates_on_the_day(cast, session, clock):
    data = submission("GSME", certificates=certs("zigbee", "cpa", expiry=date(2020, 3, 31)))
    sub = service.submit(cast.ctx("maker"), SubmissionCreate.model_validate(data))
    assert sub.status == "validated"
    at(clock, 2020, 4, 1)
    sub = service.approve(cast.ctx("secas"), sub.id)
    assert sub.status == "refused" and sub.entry_id is None
    assert "CPA certificate CPA-1 expired on 2020-03-31" in sub.failures[0].message


def test_firmware_updates_need_a_supplier(cast, session):
    cast.listed("GSME")
    update = submission("GSME", kind="firmware_update", firmware_version="1.1.0",
                        certificates=[{"kind": "zigbee", "number": "ZIGBEE-GSME-1.0.0"},
                                      {"kind": "cpa", "number": "CPA-GSME-1.0.0"}],
                        mapping_evidence=None)
    sub = service.submit(cast.ctx("maker"), SubmissionCreate.model_validate(update))
    assert [(f.field, f.rule) for f in sub.failures] == [
        ("supplier_confirmation", "firmware-update-supplier-confirmation")]
    confirmed = {**update, "supplier_confirmation": {"supplier": "Big Energy plc", "confirmed_by": "Rita"}}
    assert service.submit(cast.ctx("maker"), SubmissionCreate.model_validate(confirmed)).status == "validated"
    assert service.submit(cast.ctx("supplier"), SubmissionCreate.model_validate(update)).status == "validated"
    orphan = {**update, "model": "Nope"}
    sub = service.submit(cast.ctx("supplier"), SubmissionCreate.model_validate(orphan))
    assert [f.rule for f in sub.failures] == ["firmware-update-base"]


def test_known_certificates_stand_in_for_the_submitted_details(cast, session, clock):
    entry = cast.listed("GSME")
    service.revoke_certificate(cast.ctx("secas"), "cpa", "CPA-GSME-1.0.0", "NCSC withdrew the CPA certificate",
                               date(2020, 1, 20))
    again = submission("GSME", firmware_version="1.2.0", certificates=[
        {"kind": "zigbee", "number": "ZIGBEE-GSME-1.0.0"},
        {"kind": "cpa", "number": "CPA-GSME-1.0.0", "expiry_date": "2030-01-01"}], mapping_evidence="same stack")
    sub = service.submit(cast.ctx("maker"), SubmissionCreate.model_validate(again))
    assert [f.message for f in sub.failures] == [
        "certificates: CPA certificate CPA-GSME-1.0.0 was revoked on 2020-01-20 (SEC F2; CPL Requirements, "
        "removal on revocation or CPA expiry)"]
    assert entry.events[-1].action == "certificate_revoked"


def test_only_the_code_administrator_submits_on_behalf(cast):
    data = submission("PPMID", submitter_organisation="Smart DCC")
    with pytest.raises(Forbidden):
        service.submit(cast.ctx("maker"), SubmissionCreate.model_validate(data))
    assert service.submit(cast.ctx("secas"), SubmissionCreate.model_validate(data)).submitter_name == "Smart DCC"


def test_lifecycle_sends_notices_12_and_6_months_ahead_then_expires(cast, session, clock):
    entry = cast.listed("GSME", certificates=certs("zigbee", "cpa", expiry=date(2021, 7, 28), suffix="L"))
    secas = cast.ctx("secas")
    assert service.run_lifecycle(secas).notices == []
    at(clock, 2020, 7, 27)
    assert service.run_lifecycle(secas).notices == []
    at(clock, 2020, 7, 28)  # the clock moved 6 months: 12 months before expiry
    report = service.run_lifecycle(secas)
    assert report.notices == [f"{entry.device_model.label}: 12-month CPA expiry notice"]
    assert service.run_lifecycle(secas).notices == []  # recorded once
    assert [x.id for x in service.expiring(session, clock.today(), 365)] == [entry.id]
    at(clock, 2021, 1, 28)  # 12 months moved: 6 months before expiry
    assert [n.split(": ")[1] for n in service.run_lifecycle(secas).notices] == ["6-month CPA expiry notice"]
    notices = session.scalars(select(ExpiryNotice).order_by(ExpiryNotice.id)).all()
    assert [(n.kind, n.sent_on, n.due_on, n.recipient) for n in notices] == [
        ("12_months", date(2020, 7, 28), date(2020, 7, 28), "Demo Meters Ltd"),
        ("6_months", date(2021, 1, 28), date(2021, 1, 28), "Demo Meters Ltd")]
    at(clock, 2021, 7, 28)
    assert service.run_lifecycle(secas).expired == [] and entry.status == "Active"
    at(clock, 2021, 7, 29)
    assert service.run_lifecycle(secas).expired == [entry.device_model.label]
    assert entry.status == "Expired" and entry.status_since == date(2021, 7, 29)
    assert [e.action for e in entry.events] == ["approve", "notice", "notice", "expire"]
    assert (entry.events[-1].from_status, entry.events[-1].to_status) == ("Active", "Expired")
    assert actions(session).count("cpl.entry.notice") == 2 and "cpl.entry.expire" in actions(session)
    with pytest.raises(Forbidden):
        service.run_lifecycle(cast.ctx("maker"))


def test_a_removal_cites_the_panel_minute(cast, session, clock):
    entry = cast.listed("HCALCS")
    secas = cast.ctx("secas")
    with pytest.raises(Forbidden):
        service.remove_entry(cast.ctx("maker"), entry, "Panel 77", "why")
    with pytest.raises(Invalid) as err:
        service.remove_entry(secas, entry, "", "CPA certificate revoked")
    assert err.value.detail[0]["field"] == "minute_reference" and err.value.detail[0]["rule"] == "removal-minute"
    service.revoke_certificate(secas, "cpa", "CPA-HCALCS-1.0.0", "NCSC revoked it")
    report = service.run_lifecycle(secas)
    assert entry.status == "Active" and len(report.awaiting_removal) == 1 and "revoked" in report.awaiting_removal[0]
    assert any(f.startswith("Awaiting the Panel's removal decision") for f in service.entry_flags(entry, clock.today()))
    removal = service.remove_entry(secas, entry, "SECP_77_1402_19 item 3.5", "CPA certificate revoked")
    assert removal.applied_at is not None and entry.status == "Withdrawn"
    assert entry.events[-1].reference == "SECP_77_1402_19 item 3.5" and entry.events[-1].action == "remove"
    assert service.run_lifecycle(secas).awaiting_removal == []
    with pytest.raises(Conflict, match="only an Active entry"):
        service.remove_entry(secas, entry, "again", "again")


def test_a_scheduled_removal_with_a_grace_period_takes_effect_when_the_clock_passes_it(cast, session, clock):
    # seed 000: L+G GSME Devices removed from the CPL on 8 April 2020, with a further three months for Suppliers
    entry = cast.listed("GSME", manufacturer="L+G")
    at(clock, 2020, 2, 7)
    secas = cast.ctx("secas")
    removal = service.remove_entry(secas, entry, "SSC minute 3.5 (SECP_77_1402_19)", "CPA Certificate withdrawn "
                                   "in 2019", effective_on=date(2020, 4, 8), grace_until=date(2020, 7, 8))
    assert removal.takes_effect_on == date(2020, 7, 9) and removal.applied_at is None and entry.status == "Active"
    assert "Removal scheduled" in service.entry_flags(entry, clock.today())[-1]
    with pytest.raises(Conflict, match="already has a removal"):
        service.remove_entry(secas, entry, "x", "y")
    at(clock, 2020, 4, 9)
    assert service.run_lifecycle(secas).removed == [] and entry.status == "Active"
    at(clock, 2020, 7, 8)
    assert service.run_lifecycle(secas).removed == [] and entry.status == "Active"
    at(clock, 2020, 7, 9)
    assert service.run_lifecycle(secas).removed == [entry.device_model.label]
    assert entry.status == "Withdrawn" and removal.applied_at is not None
    assert [e.action for e in entry.events] == ["approve", "removal_scheduled", "remove"]
    assert "Suppliers have until 08 Jul 2020" in entry.events[1].text
    assert service.extract_entries(session)[0]["minute_reference"] == "SSC minute 3.5 (SECP_77_1402_19)"


def test_entries_on_end_dated_versions_are_flagged(cast, session, clock):
    entry = cast.listed("PPMID", gbcs_version="3.0")
    assert service.end_dated_entries(session, clock.today()) == [(entry, ["GBCS v3.0 is end-dated from 30 Jun 2021"])]
    at(clock, 2021, 7, 1)
    report = service.run_lifecycle(cast.ctx("secas"))
    assert report.end_dated == [f"{entry.device_model.label}: GBCS v3.0 was end-dated on 30 Jun 2021"]


def test_listing_filters_and_pages_by_key(cast, session):
    for i in range(5):
        cast.listed("PPMID", model=f"P{i}")
    cast.listed("GSME", manufacturer="Itron")
    f = service.EntryFilters(type="PPMID")
    first = service.list_entries(session, f, None, 2)
    second = service.list_entries(session, f, first.next_cursor, 2)
    third = service.list_entries(session, f, second.next_cursor, 2)
    assert [e.device_model.model for e in first.items + second.items + third.items] == ["P0", "P1", "P2", "P3",
                                                                                          "P4"]
    assert third.next_cursor is None
    assert [e.device_model.manufacturer for e in service.list_entries(session, service.EntryFilters(
        manufacturer="itron")).items] == ["Itron"]
    assert len(service.list_entries(session, service.EntryFilters(q="p3")).items) == 1
    assert service.list_entries(session, service.EntryFilters(status="Withdrawn")).items == []
    with pytest.raises(Invalid):
        service.list_entries(session, f, "garbage!", 2)


def test_secas_records_versions_and_end_dates(cast, session, clock):
    entry = cast.listed("PPMID", gbcs_version="1.1")
    with pytest.raises(Forbidden):
        service.set_version(cast.ctx("maker"), "GBCS v1.1", date(2020, 6, 30))
    with pytest.raises(Invalid):
        service.set_version(cast.ctx("secas"), "SMETS9 v1")
    v = service.set_version(cast.ctx("secas"), "GBCS v1.1", date(2020, 6, 30))
    assert v.end_date == date(2020, 6, 30)
    assert service.entry_flags(entry, clock.today()) == ["GBCS v1.1 is end-dated from 30 Jun 2020"]
    new = service.set_version(cast.ctx("secas"), "SMETS2 v4.2")
    assert new.label == "SMETS2 v4.2" and new.end_date is None
    assert actions(session, "cpl_gbcs_version") == ["cpl.version.set"]
    assert actions(session, "cpl_technical_specification") == ["cpl.version.set"]
