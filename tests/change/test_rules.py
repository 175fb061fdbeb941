"""The process table (change/rules.py) drives the service: every step names an effect, every effect has one
handler in change/service.py, and taking a step does what its row says."""

from __future__ import annotations

from datetime import date

import pytest

from gbsmart.change import rules, service
from gbsmart.change.enums import ProposalPath, ProposalState, Route
from gbsmart.change.schemas import DraftProposalCreate, StepCreate
from gbsmart.core.context import Actor, Ctx
from gbsmart.core.errors import Conflict
from gbsmart.models.change import Proposal, Release

S = ProposalState
#: an actor holding every role of the table, so each step may be taken and only the table decides
ANYONE = Actor(person_id=None, username="anyone", name="Anyone", roles=frozenset(rules.ACTOR_LABELS))


# ---------------------------------------------------------------- the table itself


def test_every_step_names_an_effect_and_every_effect_has_one_handler():
    assert {s.effect for s in rules.PROCESS} <= set(rules.EFFECTS)
    assert set(service.EFFECTS) == set(rules.EFFECTS)
    assert all(callable(h) for h in service.EFFECTS.values())


def test_every_effect_is_used_by_a_step():
    assert {s.effect for s in rules.PROCESS} == set(rules.EFFECTS)


def test_step_names_are_unique_and_states_are_states():
    assert len(rules.STEPS) == len(rules.PROCESS)
    for s in rules.PROCESS:
        assert s.from_states, s.name
        assert all(isinstance(x, ProposalState) for x in s.from_states), s.name
        assert s.to_state is None or isinstance(s.to_state, ProposalState), s.name
        assert set(s.actors) <= set(rules.ACTOR_LABELS), s.name
        assert s.branch is None or callable(getattr(rules, s.branch)), s.name


def test_steps_that_write_what_they_require_name_the_matching_effect():
    for s in rules.PROCESS:
        if "route" in s.requires:
            assert s.effect == "route", s.name
        if "path" in s.requires:
            assert s.effect == "path", s.name
        if "release" in s.requires:
            assert s.effect in ("target_release", "implement"), s.name


def test_the_fields_a_step_shows_are_request_fields_and_include_what_it_requires():
    assert set(rules.EFFECT_FIELDS) <= set(rules.EFFECTS)
    common = {"step", "decided_on", "reference", "reason"}
    for s in rules.PROCESS:
        assert set(s.fields) <= set(StepCreate.model_fields) - common, s.name
        assert set(s.requires) <= set(s.fields), s.name
    assert rules.STEPS["set_path"].fields == ("path", "route") and rules.STEPS["withdraw"].fields == ()


def test_internal_steps_have_an_endpoint_and_authority_steps_a_determination():
    assert {s.name: s.endpoint for s in rules.PROCESS if s.internal} == {
        "consultation_response": "responses", "cast_vote": "votes"}
    for s in rules.PROCESS:
        assert (s.effect == "authority_determination") == (s.determination is not None), s.name


def test_no_state_but_the_closed_ones_is_a_dead_end():
    for state in ProposalState:
        assert bool(rules.steps_from(state)) != state.is_closed, state


# ---------------------------------------------------------------- behaviour through the table


@pytest.fixture
def anyone(session, clock, settings) -> Ctx:
    return Ctx(session=session, actor=ANYONE, clock=clock, settings=settings)


def _proposal_at(ctx: Ctx, state: ProposalState, **values) -> Proposal:
    p = service.raise_draft_proposal(ctx, DraftProposalCreate(
        title="Power outage alerts within 60 seconds",
        problem_statement="The DCC cannot meet the 60 second obligation for Power Outage Alerts."))
    p.state = state.value
    for k, v in values.items():
        setattr(p, k, v)
    ctx.session.flush()
    return p


@pytest.mark.parametrize("step", [s for s in rules.PROCESS if s.effect == "none" and not s.internal],
                         ids=lambda s: s.name)
def test_a_step_without_an_effect_moves_to_its_state_and_writes_only_the_timeline(anyone, step):
    p = _proposal_at(anyone, step.from_states[0])
    before = (p.route, p.path, p.release_id, p.authority_determination, p.consultation_round)
    taken = service.take_step(anyone, p.reference, StepCreate(step=step.name, reason="As the table says."))
    assert taken.state == (step.to_state or step.from_states[0]).value
    assert (taken.route, taken.path, taken.release_id, taken.authority_determination,
            taken.consultation_round) == before
    assert taken.events[-1].step == step.name and taken.events[-1].data is None


@pytest.mark.parametrize("step", [s for s in rules.PROCESS if s.effect == "authority_determination"],
                         ids=lambda s: s.name)
def test_the_authority_records_its_steps_determination(anyone, step):
    p = _proposal_at(anyone, S.AUTHORITY_DETERMINATION)
    taken = service.take_step(anyone, p.reference, StepCreate(step=step.name, decided_on=date(2020, 3, 1)))
    assert taken.authority_determination == step.determination
    assert taken.authority_date == date(2020, 3, 1) and taken.state == step.to_state


@pytest.mark.parametrize(("path", "route", "state"), [
    (ProposalPath.FAST_TRACK, Route.REFINEMENT, S.PANEL_DECISION),
    (ProposalPath.PATH_2, Route.REPORT_PHASE, S.REPORT_PHASE),
    (ProposalPath.PATH_3, None, S.REFINEMENT),
])
def test_set_path_takes_its_next_state_from_the_path_and_the_route(anyone, path, route, state):
    p = _proposal_at(anyone, S.AWAITING_PATH)
    taken = service.take_step(anyone, p.reference, StepCreate(step="set_path", path=path, route=route))
    assert taken.state == state.value == rules.after_path(path, route).value
    assert taken.path == path.value and taken.events[-1].data["path"] == path.value


def test_convert_gives_the_mp_reference_and_refuses_one_in_use(anyone):
    other = _proposal_at(anyone, S.READY_TO_CONVERT)
    service.take_step(anyone, other.reference, StepCreate(step="convert", mp_reference="MP200"))
    p = _proposal_at(anyone, S.READY_TO_CONVERT)
    with pytest.raises(Conflict, match="MP200 is already in use"):
        service.take_step(anyone, p.reference, StepCreate(step="convert", mp_reference="MP200"))
    taken = service.take_step(anyone, p.reference, StepCreate(step="convert"))
    assert taken.reference == "MP002" and taken.dp_reference == "DP002" and taken.state == S.AWAITING_PATH


def test_opening_consultations_and_change_boards_counts_rounds(anyone):
    p = _proposal_at(anyone, S.REFINEMENT)
    service.take_step(anyone, p.reference, StepCreate(step="open_refinement_consultation"))
    service.take_step(anyone, p.reference, StepCreate(step="close_refinement_consultation"))
    service.take_step(anyone, p.reference, StepCreate(step="open_refinement_consultation"))
    assert p.consultation_round == 2 and p.state == S.REFINEMENT_CONSULTATION
    q = _proposal_at(anyone, S.FINAL_REPORT)
    service.take_step(anyone, q.reference, StepCreate(step="open_change_board"))
    assert q.change_board_round == 1 and q.events[-1].data == {"round": 1}


def test_an_empty_change_board_is_invalid_and_goes_back_to_the_panel(anyone):
    p = _proposal_at(anyone, S.CHANGE_BOARD, path="path_3", change_board_round=1)
    taken = service.take_step(anyone, p.reference, StepCreate(step="close_change_board"))
    assert taken.state == S.REPORT_PHASE and taken.change_board_determination is None
    assert taken.events[-1].data["tally"]["valid"] is False


def test_target_then_implement_records_the_release_and_its_date(anyone, session):
    release = Release(name="November 2020 Release", release_date=date(2020, 11, 5), kind="scheduled")
    session.add(release)
    p = _proposal_at(anyone, S.APPROVED)
    service.take_step(anyone, p.reference, StepCreate(step="target_release", release="november 2020 release"))
    assert p.release_id == release.id and p.release_status == "Approved"
    taken = service.take_step(anyone, p.reference, StepCreate(step="implement"))
    assert taken.state == S.IMPLEMENTED and taken.implementation_date == date(2020, 11, 5)
    assert taken.release_status == "Implemented" and taken.events[-1].data == {"release": "November 2020 Release"}
