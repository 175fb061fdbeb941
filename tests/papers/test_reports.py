"""Drafting the SEC Panel Sub-Committee Report from a small dataset (seeds 000 and 003 are the model)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from gbsmart.models.change import Proposal, ProposalEvent, ProposalInterest
from gbsmart.models.committees import AgendaItem, Committee, Decision, Meeting
from gbsmart.papers import reports
from gbsmart.papers.reports import committee_of
from tests.papers.conftest import add_committee_member


def proposal(session, ref: str, title: str, state: str = "development") -> Proposal:
    now = datetime(2020, 1, 1, tzinfo=UTC)
    p = Proposal(reference=ref, title=title, state=state, proposer_name="Demo", date_raised=date(2019, 12, 1),
                 created_at=now, updated_at=now)
    session.add(p)
    session.flush()
    return p


def event(p: Proposal, seq: int, on: date, meeting: str, reason: str, step: str = "noted",
          from_state: str = "development", to_state: str = "development") -> None:
    p.events.append(ProposalEvent(seq=seq, step=step, from_state=from_state, to_state=to_state, actor_name="CSC",
                                  at=datetime(2020, 1, 28, tzinfo=UTC), decided_on=on, reason=reason,
                                  reference=meeting))


@pytest.fixture
def dataset(session):
    dp094 = proposal(session, "DP094", "Prepayment top-up failures")
    dp105 = proposal(session, "DP105", "Sending SR11.2 to Devices in Suspended State", "ready_to_convert")
    dp107 = proposal(session, "DP107", "SMETS1 Validation of SRV 6.15.1")
    dp108 = proposal(session, "DP108", "SSI Job Type Role for SRO/ARO")
    event(dp094, 1, date(2020, 1, 28), "CSC 11_2801",
          "The CSC AGREED further development is required to define and understand the issue\n\nMinute text.")
    event(dp105, 1, date(2020, 1, 28), "CSC 11_2801", "The CSC AGREED this Draft Proposal is ready to be converted",
          step="ready_to_convert", to_state="ready_to_convert")
    event(dp105, 2, date(2020, 3, 10), "CSC 12_2502", "Outside the period")
    event(dp107, 1, date(2020, 2, 3), "Panel 77", "Not a sub-committee of the catalogue")
    for p, on in ((dp107, date(2020, 2, 7)), (dp108, date(2020, 2, 7)), (dp094, date(2019, 12, 1))):
        session.add(ProposalInterest(proposal_id=p.id, committee="SSC", noted_on=on, note="updates please"))
    session.commit()


def test_committee_of_takes_the_longest_code_at_the_start_of_a_meeting_reference():
    codes = ["CSC", "SMKI PMA", "SSC", "TAG", "TABASC"]
    assert committee_of("CSC 11_2801", codes) == "CSC"
    assert committee_of("smki pma 12", codes) == "SMKI PMA"
    assert committee_of("TABASC_45", codes) == "TABASC"
    assert committee_of("CSCX 1", codes) is None and committee_of(None, codes) is None


def test_gather_and_compose_per_committee(session, dataset):
    activity = reports.gather(session, date(2020, 1, 1), date(2020, 2, 29))
    assert [a.code for a in activity] == ["CSC", "SSC"]
    csc, ssc = activity
    assert [d.proposal for d in csc.decisions] == ["DP094", "DP105"]
    assert [d.proposal for d in csc.decisions if d.is_status_decision] == ["DP105"]
    assert [p.reference for p, _ in ssc.interests] == ["DP107", "DP108"]
    body = reports.compose(activity, date(2020, 1, 1), date(2020, 2, 29), "Rebecca Jones", date(2020, 3, 2))
    assert "## 2. Change Sub-Committee (CSC)" in body and "## 3. Security Sub-Committee (SSC)" in body
    assert ("- 28 January 2020, CSC 11_2801: **DP094** ‘Prepayment top-up failures’: The CSC AGREED further "
            "development is required to define and understand the issue") in body
    assert "Minute text" not in body and "Outside the period" not in body and "Panel 77" not in body
    assert "**DP105** ‘Sending SR11.2 to Devices in Suspended State’: Development Stage → Ready to convert" in body
    assert "| Decisions recorded | 2 |" in body and "| Status decisions | 1 |" in body
    assert ("The SSC requested further updates on the progression of DP107 ‘SMETS1 Validation of SRV 6.15.1’ and "
            "DP108 ‘SSI Job Type Role for SRO/ARO’.") in body
    assert "## 4. Recommendations\n\nThe Panel is requested to NOTE the content of this paper." in body


def test_secas_drafts_a_green_report_through_the_api_then_issues_it(client, cast, dataset):
    req = {"period_start": "2020-01-01", "period_end": "2020-02-29"}
    assert client.post("/api/v1/papers/reports", headers=cast.headers["wendy"], json=req).status_code == 403
    bad = client.post("/api/v1/papers/reports", headers=cast.headers["secas"],
                      json={"period_start": "2020-03-01", "period_end": "2020-02-01"})
    assert bad.status_code == 422
    r = client.post("/api/v1/papers/reports", headers=cast.headers["secas"], json=req)
    assert r.status_code == 201, r.text
    paper = r.json()
    assert paper["reference"] == "SECP_SCR_2020_02_29" and paper["title"] == "SEC Panel Sub-Committee Report"
    assert paper["classification"] == "green" and paper["status"] == "draft" and paper["author"] == "Secas"
    assert paper["action"] == "for_information" and "DP105" in paper["body"]
    again = client.post("/api/v1/papers/reports", headers=cast.headers["secas"], json=req).json()
    assert again["reference"] == "SECP_SCR_2020_02_29_2"
    assert client.get(f"/api/v1/papers/{paper['reference']}", headers=cast.headers["wendy"]).status_code == 404
    edited = client.patch(f"/api/v1/papers/{paper['reference']}", headers=cast.headers["secas"],
                          json={"body": paper["body"].replace("_SECAS to summarise", "The CSC met once.")})
    assert edited.status_code == 200
    client.post(f"/api/v1/papers/{paper['reference']}/issue", headers=cast.headers["secas"])
    seen = client.get(f"/api/v1/papers/{paper['reference']}", headers=cast.headers["wendy"]).json()
    assert "The CSC met once." in seen["body"]


def test_the_report_page_drafts_and_shows_field_errors(client, cast, dataset):
    h = cast.headers["secas"]
    assert "Draft a SEC Panel Sub-Committee Report" in client.get("/papers/reports/new", headers=h).text
    r = client.post("/papers/reports/new", headers=h, data={"period_start": "", "period_end": "2020-02-29"})
    assert r.status_code == 422 and 'id="err-period_start"' in r.text
    r = client.post("/papers/reports/new", headers=h, follow_redirects=False,
                    data={"period_start": "2020-01-01", "period_end": "2020-02-29", "reference": "SECP_78_1303_20"})
    assert r.status_code == 303 and r.headers["location"].startswith("/papers/SECP_78_1303_20")
    assert "Recommendations" in client.get("/papers/SECP_78_1303_20", headers=h).text


def test_decisions_and_meetings_of_the_committees_domain_are_included(session, cast, dataset):
    add_committee_member(session, "OPSG", cast.people["wendy"])
    at = datetime(2020, 1, 1, tzinfo=UTC)
    opsg = session.scalar(select(Committee).where(Committee.code == "OPSG"))
    csc = Committee(code="CSC", name="Change Sub-Committee", created_at=at)
    session.add(csc)
    session.flush()
    dp105_event = session.execute(select(ProposalEvent.id, ProposalEvent.proposal_id)
                                  .where(ProposalEvent.step == "ready_to_convert")).first()

    def minute(committee: Committee, number: int, reference: str, on: date, *decided: dict) -> None:
        meeting = Meeting(committee_id=committee.id, number=number, reference=reference, meeting_date=on,
                          status="held", created_at=at, updated_at=at)
        session.add(meeting)
        session.flush()
        item = AgendaItem(meeting_id=meeting.id, number=1, title="Item")
        session.add(item)
        session.flush()
        for n, d in enumerate(decided, start=1):
            session.add(Decision(agenda_item_id=item.id, position=n, created_at=at, created_by_name="SECAS", **d))

    minute(opsg, 34, "34_0402", date(2020, 2, 4), {"word": "approved",
                                                   "text": "The OPSG APPROVED the Evaluation Framework."})
    minute(opsg, 35, "35_0404", date(2020, 4, 4), {"word": "noted", "text": "Outside the period."})
    minute(csc, 11, "11_2801", date(2020, 1, 28), {  # the step already on DP105's timeline is reported once
        "word": "agreed", "text": "The CSC AGREED DP105 is ready to be converted (as minuted)",
        "proposal_id": dp105_event.proposal_id, "proposal_event_id": dp105_event.id})
    session.add(Meeting(committee_id=opsg.id, number=36, reference="36_1002", meeting_date=date(2020, 2, 10),
                        status="scheduled", created_at=at, updated_at=at))  # not held: not counted
    session.commit()
    activity = {a.code: a for a in reports.gather(session, date(2020, 1, 1), date(2020, 2, 29))}
    assert activity["OPSG"].meetings == 1
    assert [(d.meeting, d.text) for d in activity["OPSG"].decisions] == [
        ("OPSG 34_0402", "The OPSG APPROVED the Evaluation Framework.")]
    assert [d.proposal for d in activity["CSC"].decisions] == ["DP094", "DP105"]
    body = reports.compose(list(activity.values()), date(2020, 1, 1), date(2020, 2, 29), "R", date(2020, 3, 1))
    assert "| Meetings held | 1 |" in body and "(as minuted)" not in body


def test_a_missing_committees_table_is_an_error_not_an_empty_report(session, dataset):
    """The committees domain is read through its queries: a broken schema fails loudly, as everywhere else."""
    cascade = " CASCADE" if session.bind.dialect.name == "postgresql" else ""  # the SSC's decisions cite minutes
    session.execute(text(f"DROP TABLE decisions{cascade}"))
    with pytest.raises(DBAPIError):
        reports.gather(session, date(2020, 1, 1), date(2020, 2, 29))
