"""Assessments on the demo data, on SQLite and PostgreSQL: who sees what (RED), the bad-input rules, the overdue
list and the calendar."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest
from sqlalchemy import func, select

from gbsmart.assessments import report, service
from gbsmart.assessments.enums import AssessmentKind, UserType
from gbsmart.assessments.schemas import (
    AssessedUserCreate,
    AssessmentCreate,
    DecisionCreate,
    LetterCreate,
    PortfolioCreate,
)
from gbsmart.core.errors import Conflict, Forbidden, Invalid, NotFound
from gbsmart.models.assessments import (
    AssessmentDecision,
    AssessmentPortfolio,
    DirectorsLetter,
    SecurityAssessment,
)
from gbsmart.models.committees import Decision


def _users(ctx, **f) -> set[str]:
    return {a.user.organisation.name for a in service.list_assessments(ctx, service.Filters(**f), limit=200).items}


def test_the_ssc_and_secas_see_every_assessment_a_party_only_its_own(demo, as_user):
    everyone = _users(as_user("secas"))
    assert len(everyone) == 17 and _users(as_user("ssc")) == everyone
    one = as_user("supplier1")
    assert _users(one) == {"Example Supplier One Ltd"}
    mine = service.list_assessments(one, service.Filters()).items
    assert sorted(service.kind_phrase(a) for a in mine) == ["Follow-up Security Assessment",
                                                           "Initial Full User Security Assessment"]
    assert sum(len(service.visible_findings(one, a)) for a in mine) == 2
    for who in ("large", "panel", "dcc", "csc", "authority"):
        assert _users(as_user(who)) == set(), who
        assert service.count_visible(as_user(who), service.Filters()) == {}
        assert service.list_users(as_user(who)) == [] and service.list_letters(as_user(who)) == []


def test_another_users_assessment_is_not_found_worded_as_one_that_does_not_exist(demo, as_user, session):
    other = session.scalar(select(SecurityAssessment.reference).join(SecurityAssessment.user)
                           .where(SecurityAssessment.kind == "verification").limit(1))
    one = as_user("supplier1")
    with pytest.raises(NotFound) as seen:
        service.get_assessment(one, other)
    with pytest.raises(NotFound) as missing:
        service.get_assessment(one, "USA-1999-999")
    assert str(seen.value).replace(other, "X") == str(missing.value).replace("USA-1999-999", "X")


def test_search_counts_and_exports_hold_nothing_the_reader_may_not_see(demo, as_user):
    one, secas = as_user("supplier1"), as_user("secas")
    words = "firewall rules"  # a finding of Example Distribution Fourteen plc
    assert _users(secas, q=words) == {"Example Distribution Fourteen plc"}
    assert _users(one, q=words) == set() and service.count_visible(one, service.Filters(q=words)) == {}
    assert _users(one, q="Fourteen") == set() and _users(one, q="Supplier One") == {"Example Supplier One Ltd"}
    rows = list(csv.reader(io.StringIO("".join(service.export_csv(one, service.Filters())))))
    assert {r[1] for r in rows[1:]} == {"Example Supplier One Ltd"}
    assert not any("firewall" in c for r in rows for c in r)
    everything = "".join(service.export_csv(secas, service.Filters()))
    assert "firewall" in everything and "Example Networks Two plc" in everything
    assert service.count_visible(secas, service.Filters())["self"] == 8


def test_the_provider_sees_only_the_findings_on_its_shared_resource(demo, as_user):
    srp = as_user("srp")
    seen = {a.user.organisation.name: a for a in service.list_assessments(srp, service.Filters()).items}
    assert set(seen) == {"Example Shared Services Ltd", "Example Networks Eleven Ltd"}
    served = seen["Example Networks Eleven Ltd"]
    assert [f.on_shared_resource for f in service.visible_findings(srp, served)] == [True]
    assert len(service.visible_findings(as_user("networks11"), served)) == 2  # the User sees both of its own
    # the served User sees its own assessment and the provider's result it reuses, not the other served User's
    eleven = as_user("networks11")
    assert _users(eleven) == {"Example Networks Eleven Ltd"}
    assert served.reuses is not None and served.reuses.user.organisation.name == "Example Shared Services Ltd"
    assert [f.severity for f in service.visible_findings(srp, seen["Example Shared Services Ltd"])] == []


def _counts(session) -> tuple[int, ...]:
    return tuple(session.scalar(select(func.count()).select_from(t)) for t in
                 (SecurityAssessment, AssessmentDecision, DirectorsLetter, AssessmentPortfolio, Decision))


def test_bad_input_is_refused_naming_the_rule_and_nothing_is_saved(demo, ctx, session, as_user):
    secas = as_user("secas")
    before = _counts(session)
    with pytest.raises(Invalid, match="A Verification User Security Assessment is not allowed for Example "
                                      "Supplier One Ltd in year 3 of its cycle .Small Supplier: Full, Verification, "
                                      "Self.: the year from 2021-03-01 calls for a Security Self-Assessment"):
        service.create_assessment(secas, AssessmentCreate(user="Example Supplier One Ltd", kind="verification",
                                                         start_date=date(2021, 3, 5), assessor="CIO"))
    with pytest.raises(Invalid, match="there is no assessment 'USA-2099-001'"):
        service.add_letter(secas, LetterCreate(assessment="USA-2099-001", received_on=date(2020, 1, 1)))
    with pytest.raises(Invalid, match="A size changes only at the start of a cycle"):
        service.add_portfolio(secas, "Example Supplier One Ltd", PortfolioCreate(as_of=date(2020, 6, 1),
                                                                                 domestic_premises=300_000))
    session.rollback()
    assert _counts(session) == before

    # a compliance status before any assurance status: a User whose first assessment is not yet decided
    service.register_user(secas, AssessedUserCreate(organisation="Aclara", user_type=UserType.OTHER,
                                                   user_entry_date=date(2016, 1, 4), domestic_premises=0))
    a = service.create_assessment(secas, AssessmentCreate(user="Aclara", kind="full", start_date=date(2019, 1, 10),
                                                         assessor="CIO"))
    assert not a.initial and a.cycle_number == 2  # a Full in cycle 2 is second or subsequent
    with pytest.raises(Invalid, match="A compliance status comes after an assurance status, and Aclara has none"):
        service.decide(secas, a.reference, DecisionCreate(meeting="73_2201", agenda_item="4", status="compliant"))
    with pytest.raises(Invalid, match="sets a compliance status"):
        service.decide(secas, a.reference, DecisionCreate(meeting="73_2201", agenda_item="4", status="approved"))
    ssa = service.create_assessment(secas, AssessmentCreate(user="Aclara", kind="self", start_date=date(2018, 2, 1),
                                                           assessor="The User"))
    with pytest.raises(Invalid, match="No SSC meeting '99_0101': create it under Committees"):
        service.decide(secas, ssa.reference, DecisionCreate(meeting="99_0101", agenda_item="4", status="reviewed"))
    with pytest.raises(Invalid, match="has no agenda item|no item|agenda"):
        service.decide(secas, ssa.reference, DecisionCreate(meeting="73_2201", agenda_item="42", status="reviewed"))
    with pytest.raises(Forbidden, match="Code Administrator .SECAS. or a member of the Security Sub-Committee"):
        service.create_assessment(as_user("large"), AssessmentCreate(user="Aclara", kind="self",
                                                                     start_date=date(2019, 2, 1), assessor="Self"))


def test_a_decision_is_minuted_at_the_ssc_meeting_without_the_red_details(demo, as_user, session):
    decided = session.scalars(select(AssessmentDecision)).all()
    assert len(decided) == 24  # one for each demo assessment
    minutes = [session.get(Decision, d.decision_id) for d in decided]
    assert all(m.agenda_item.meeting.committee.code == "SSC" for m in minutes)
    assert all("Example" not in m.text and "conditions" not in m.text for m in minutes)
    with pytest.raises(Conflict, match="already set the compliance status"):
        two = next(d for d in decided if d.status == "compliant")
        service.decide(as_user("secas"), two.assessment.reference,
                       DecisionCreate(meeting="79_1507", agenda_item="4", status="compliant"))


def test_the_overdue_list_and_the_calendar(demo, ctx, as_user, clock):
    from datetime import UTC, datetime

    clock.set(datetime(2026, 12, 7, 12, tzinfo=UTC))
    secas, one = as_user("secas"), as_user("supplier1")
    late = service.overdue(secas)
    assert {a.user.organisation.name for a, _ in late} >= {"Example Supplier One Ltd", "Example Distribution "
                                                                                     "Fourteen plc"}
    assert all(x.status == "open" and x.due_date < date(2026, 12, 7) for _, x in late)
    assert {a.user.organisation.name for a, _ in service.overdue(one)} == {"Example Supplier One Ltd"}
    assert len(service.overdue(one)) == 2  # the second remediation and the condition; the first was closed
    assert service.overdue(as_user("large")) == []

    cal = service.calendar(one, 2027)
    assert [(o.user.organisation.name, o.entry.year_start, o.entry.kind) for o in cal.owed] == [
        ("Example Supplier One Ltd", date(2027, 3, 1), AssessmentKind.SELF)]
    everyone = service.calendar(secas, 2027)
    assert len(everyone.owed) == 17 == sum(everyone.totals.values()) and cal.totals == everyone.totals


def test_the_seed_months_counts_come_out_of_the_data(demo, ctx):
    jan = report.counts(ctx, date(2020, 1, 1), date(2020, 1, 31))
    assert (jan.initial_fusa, jan.later_fusa, jan.assurance, jan.compliance, jan.vusa, jan.letters, jan.ssa) == (
        1, 2, 1, 2, 0, 0, 5)
    jul = report.counts(ctx, date(2020, 7, 1), date(2020, 7, 31))
    assert (jul.initial_fusa, jul.follow_up, jul.assurance, jul.vusa_compliance, jul.later_fusa, jul.compliance,
            jul.ssa, jul.letters, dict(jul.letters_following)) == (3, 2, 5, 2, 1, 1, 3, 1, {"verification": 1})


def test_under_secmp0044_a_user_served_by_a_large_provider_is_sized_by_its_own_portfolio(demo, ctx, as_user):
    secas = as_user("secas")
    service.register_user(secas, AssessedUserCreate(organisation="Aclara", user_type=UserType.OTHER,
                                                   user_entry_date=date(2019, 1, 7), domestic_premises=6_000_000,
                                                   is_shared_resource_provider=True))
    service.register_user(secas, AssessedUserCreate(organisation="Utilita", user_type=UserType.SUPPLIER,
                                                   user_entry_date=date(2019, 1, 7), domestic_premises=200_000,
                                                   shared_resource_provider="Aclara"))
    r = service.cycle_rules(secas)
    served = service.get_user(secas, "Utilita")
    assert service.size_on(r, served, date(2020, 6, 1)).value == "small"
    assert service.row_on(r, served, date(2020, 6, 1)) == "small_supplier"  # so year 2 is a Verification
    a = service.create_assessment(secas, AssessmentCreate(user="Utilita", kind="verification",
                                                         start_date=date(2020, 2, 3), assessor="CIO"))
    assert (a.size, a.cycle_year) == ("small", 2)
    with pytest.raises(Invalid, match="is not a Shared Resource Provider under the cycle"):
        service.register_user(secas, AssessedUserCreate(organisation="British Gas", user_type=UserType.SUPPLIER,
                                                       user_entry_date=date(2019, 1, 7), domestic_premises=1,
                                                       shared_resource_provider="Utilita"))
