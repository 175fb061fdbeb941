"""The demo CPL: every listed type, the seeds' manufacturers, the L+G GSME removal of seed 000, SMETS1 from the DCC,
one conditional CPA; loading it twice adds nothing."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from gbsmart.cpl import rules, service
from gbsmart.cpl.demo import load_cpl_demo
from gbsmart.models.cpl import Certificate, CplEntry, ScheduledRemoval, Submission


def test_the_demo_cpl(ctx, session):
    report = load_cpl_demo(ctx)
    session.commit()
    rows = service.extract_entries(session)
    assert report.counts["CPL entries"] == (21, 0) and len(rows) == 21
    assert {r["physical_device_type"] for r in rows} == {t.value for t in rules.LISTED_TYPES}
    assert {r["manufacturer"] for r in rows} == {"L+G", "WNC", "Aclara", "Itron", "Honeywell Elster",
                                                 "Demo Meters Ltd"}
    smets1 = [r for r in rows if r["smets1"]]
    assert len(smets1) == 3 and {r["cpa_expiry"] for r in smets1} == {None}
    assert {e.submitter_name for e in session.scalars(select(CplEntry).where(CplEntry.smets1.is_(True)))} == {
        "Smart DCC"}
    assert session.scalar(select(func.count()).select_from(Certificate).where(Certificate.conditional.is_(True))) == 1
    removal = session.scalar(select(ScheduledRemoval))
    assert (removal.entry.device_model.manufacturer, removal.entry.device_model.physical_device_type) == ("L+G",
                                                                                                          "GSME")
    assert (removal.effective_on, removal.grace_until) == (date(2020, 4, 8), date(2020, 7, 8))
    assert removal.entry.certificate("cpa").revoked_at.year == 2019
    assert sorted(s.status for s in session.scalars(select(Submission)) if s.entry_id is None) == ["refused",
                                                                                                   "validated"]
    assert service.end_dated_entries(session, ctx.clock.today())

    again = load_cpl_demo(ctx)
    session.commit()
    assert all(added == 0 for added, _ in again.counts.values())
    assert service.extract_entries(session) == rows
