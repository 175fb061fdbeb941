"""The proposal page's Next steps for a Party: the Refinement Consultation response form, and a Change Board
vote that is named as the Party's own step and confirmed once recorded (headless Chromium, tests/plugins)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from gbsmart.change import service
from gbsmart.change.schemas import DraftProposalCreate, StepCreate
from gbsmart.core.context import Actor, Ctx
from gbsmart.models.change import ConsultationResponse
from gbsmart.models.parties import Person
from tests.web.test_portal_browser import Site, site, vote  # noqa: F401  (site is a fixture)

pytestmark = pytest.mark.browser


def _as(s: Site, username: str) -> Ctx:
    person = s.session.scalar(select(Person).where(Person.username == username))
    return Ctx(session=s.session, actor=Actor.of(person), clock=s.clock, settings=s.settings)


def _proposal_at(s: Site, *steps: tuple[str, dict]) -> str:
    """Set-up through the service (not under test): a Path 3 Modification Proposal taken through ``steps``."""
    ref = service.raise_draft_proposal(_as(s, "alice"), DraftProposalCreate(
        title="Power outage alerts in 60 s", problem_statement="The DCC cannot meet the 60 second obligation."),
    ).reference
    service.take_step(_as(s, "secas"), ref, StepCreate(step="ready_to_convert", route="refinement"))
    ref = service.take_step(_as(s, "panel"), ref, StepCreate(step="convert")).reference
    service.take_step(_as(s, "panel"), ref, StepCreate(step="set_path", path="path_3"))
    for name, extra in steps:
        service.take_step(_as(s, "secas"), ref, StepCreate(step=name, **extra))
    s.session.commit()
    return ref


def test_a_party_responds_to_the_refinement_consultation_in_the_portal(site: Site) -> None:  # noqa: F811
    ref = _proposal_at(site, ("open_refinement_consultation", {}))
    bob = site.sign_in("bob", f"/proposals/{ref}")
    form = bob.locator("#next-steps #response-form")
    expect(form.get_by_role("heading")).to_have_text("Respond to the Refinement Consultation")
    expect(bob.locator("#no-steps-for-you")).to_have_count(0)
    form.get_by_role("combobox", name="Your view").select_option(label="Supports the proposal")
    form.get_by_label("Comments").fill("Big Energy supports a 60 second target.")
    form.get_by_role("button", name="Send response").click()
    expect(bob.get_by_role("status")).to_have_text("Done: Consultation response.")
    site.session.expire_all()
    saved = site.session.scalars(select(ConsultationResponse)).one()
    assert (saved.consultation, saved.supports, saved.comments) == (
        "refinement", True, "Big Energy supports a 60 second target.")
    # the same service refuses a second response, and the page says why
    form.get_by_label("Comments").fill("Again.")
    form.get_by_role("button", name="Send response").click()
    expect(bob.get_by_role("alert")).to_have_text("Big Energy plc has already responded to this Refinement "
                                                  "Consultation.")


def test_the_change_board_vote_is_the_partys_step_and_is_confirmed(site: Site) -> None:  # noqa: F811
    ref = _proposal_at(site, ("complete_refinement", {}), ("open_mr_consultation", {}),
                       ("close_mr_consultation", {}), ("open_change_board", {}))
    bob = site.sign_in("bob", f"/proposals/{ref}")
    expect(bob.locator("#your-vote-step")).to_have_text("Your step: cast your Party's Change Board vote below.")
    expect(bob.locator("#no-steps-for-you")).to_have_count(0)
    vote(bob, "Approve")
    expect(bob.locator("#your-vote-step")).to_have_text("Your Party's Change Board vote is recorded: Approve.")
