"""The proposal page's Next steps (only the chosen step's fields; all of them without JavaScript), the Change Board
menu's list of proposals at the Board, and for a Party: the Refinement Consultation response form, and a Change Board
vote that is named as the Party's own step and confirmed once recorded (headless Chromium, tests/plugins)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from gbsmart.change import service
from gbsmart.change.schemas import DraftProposalCreate, StepCreate
from gbsmart.core.context import Actor, Ctx
from gbsmart.models.change import ConsultationResponse, Proposal
from gbsmart.models.parties import Person
from tests.conftest import TEST_PASSWORD
from tests.web.test_portal_browser import Site, site, vote  # noqa: F401  (site is a fixture)

pytestmark = pytest.mark.browser


def _as(s: Site, username: str) -> Ctx:
    person = s.session.scalar(select(Person).where(Person.username == username))
    return Ctx(session=s.session, actor=Actor.of(person), clock=s.clock, settings=s.settings)


def _draft(s: Site) -> str:
    """Set-up through the service: a Draft Proposal raised by alice, in the Development Stage."""
    ref = service.raise_draft_proposal(_as(s, "alice"), DraftProposalCreate(
        title="Power outage alerts in 60 s", problem_statement="The DCC cannot meet the 60 second obligation."),
    ).reference
    s.session.commit()
    return ref


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


def test_the_change_board_menu_lists_the_proposals_at_the_board_with_links_to_vote(site: Site) -> None:  # noqa: F811
    ref = _proposal_at(site, ("complete_refinement", {}), ("open_mr_consultation", {}),
                       ("close_mr_consultation", {}), ("open_change_board", {}))
    _proposal_at(site)  # another one, still in Refinement: not at the Board
    bob = site.sign_in("bob", "/proposals")
    bob.get_by_role("navigation", name="Main").get_by_role("link", name="Change Board").click()
    expect(bob).to_have_url(site.url + "/change-board")
    rows = bob.locator("#change-board-proposals tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(ref)
    expect(rows.first.locator(".votes-cast")).to_have_text("0")
    expect(rows.first.locator(".tally-link")).to_have_text("Not (yet) a valid vote")
    rows.first.get_by_role("link", name="Vote", exact=True).click()
    expect(bob).to_have_url(f"{site.url}/proposals/{ref}#vote-form")
    vote(bob, "Approve")
    expect(bob.locator("#your-vote-step")).to_have_text("Your Party's Change Board vote is recorded: Approve.")

    site.go(bob, "/change-board")
    expect(rows.first.locator(".votes-cast")).to_have_text("1")
    expect(rows.first).to_contain_text("Approve")
    expect(rows.first.get_by_role("link", name="See the vote")).to_be_visible()
    bob.get_by_role("link", name="the same proposals in the proposals list").click()
    expect(bob.locator("#proposals tbody tr")).to_have_count(1)
    site.go(bob, "/change-board")
    bob.get_by_role("link", name="the what-if tally calculator").click()
    expect(bob.get_by_role("heading", name="Change Board what-if tally")).to_be_visible()


def test_the_next_steps_form_shows_only_the_chosen_steps_fields(site: Site) -> None:  # noqa: F811
    ref = _draft(site)
    secas = site.sign_in("secas", f"/proposals/{ref}")
    form = secas.locator("#step-form")
    route, path = form.get_by_role("combobox", name="Route", exact=True), form.get_by_role("combobox", name="Path")
    release, reason = form.get_by_role("combobox", name="Release"), form.get_by_label("Reason")
    for hidden in (route, path, release, form.get_by_label("MP reference"), form.get_by_label("PA status")):
        expect(hidden).to_be_hidden()
    expect(reason).to_be_visible()
    expect(form.get_by_label("Decided on")).to_be_visible()

    steps = form.get_by_role("combobox", name="Step", exact=True)
    steps.select_option("ready_to_convert")
    expect(route).to_be_visible()
    expect(path).to_be_hidden()
    steps.select_option("secas_comment")
    expect(route).to_be_hidden()
    expect(form.locator("[data-no-fields]")).to_be_visible()

    # a refusal keeps the chosen step and its fields, and marks the field the service names
    steps.select_option("ready_to_convert")
    form.get_by_role("button", name="Record step").click()
    expect(secas.get_by_role("alert")).to_have_text("This step needs a route.")
    expect(steps).to_have_value("ready_to_convert")
    expect(route).to_be_visible()
    expect(route).to_have_accessible_description("refinement or report_phase")
    route.select_option("refinement")
    form.get_by_role("button", name="Record step").click()
    expect(secas.get_by_role("status")).to_have_text("Done: Ready to convert.")


def test_without_javascript_the_next_steps_form_shows_every_field_and_works(site: Site) -> None:  # noqa: F811
    ref = _draft(site)
    page = site.new_page(java_script_enabled=False)
    page.goto(f"{site.url}/login?next=/proposals/{ref}")
    page.get_by_label("Username").fill("secas")
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    form = page.locator("#step-form")
    for label in ("Route", "Path", "Release"):
        expect(form.get_by_role("combobox", name=label, exact=True)).to_be_visible()
    form.get_by_role("combobox", name="Step", exact=True).select_option("ready_to_convert")
    form.get_by_role("combobox", name="Route", exact=True).select_option("report_phase")
    form.get_by_role("button", name="Record step").click()
    expect(page.get_by_role("status")).to_have_text("Done: Ready to convert.")
    assert site.session.scalar(select(Proposal.route).where(Proposal.reference == ref)) == "report_phase"
