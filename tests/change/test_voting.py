"""Change Board voting rules (seed 004, SECMP0041): worked examples and Hypothesis properties."""

from __future__ import annotations

import dataclasses
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gbsmart.change.voting import (
    Ballot,
    CategoryTally,
    DuplicatePartyVote,
    TallyResult,
    VotingError,
    VotingRules,
    tally,
)
from gbsmart.config import Settings

CATS = ("large_supplier", "small_supplier", "networks", "other")
VOTES = ("approve", "reject", "abstain", "return_to_panel")
SWAP = {"approve": "reject", "reject": "approve"}
FAST = settings(max_examples=60, deadline=None)


def ballots(*groups: tuple[str, str, int]) -> list[Ballot]:
    """Ballots from (category, vote, how many) groups, each from a distinct Party."""
    out: list[Ballot] = []
    for category, vote, n in groups:
        out += [Ballot(f"party-{len(out) + k}", category, vote) for k in range(n)]
    return out


def every(vote: str, n: int = 1) -> list[Ballot]:
    """n ballots for ``vote`` in every default category."""
    return ballots(*((c, vote, n) for c in CATS))


def counted(result: TallyResult, rules: VotingRules, category: str) -> int:
    t = result.categories[category]
    return t.approve + t.reject + t.return_to_panel + (t.abstain if rules.count_abstentions else 0)


# Worked examples.


@pytest.mark.parametrize("vote", ["approve", "reject"])
def test_unanimous_vote_is_valid(vote):
    result = tally(every(vote, 2))
    assert (result.valid, result.outcome, result.reasons) == (True, vote, [])
    assert all(t.collective == vote for t in result.categories.values())


def test_three_approve_one_reject_is_a_valid_approval():
    result = tally(ballots(*((c, "approve", 1) for c in CATS[:3]), ("other", "reject", 1)))
    assert (result.valid, result.outcome) == (True, "approve")
    assert result.categories["other"].collective == "reject"


def test_two_two_split_is_invalid():
    result = tally(ballots(*((c, "approve", 1) for c in CATS[:2]), *((c, "reject", 1) for c in CATS[2:])))
    assert (result.valid, result.outcome) == (False, None)
    assert result.reasons == ["Only 2 of 4 categories voted the same way (3 needed)."]


def test_a_category_with_no_votes_makes_the_vote_invalid():
    result = tally(ballots(*((c, "approve", 2) for c in CATS if c != "small_supplier")))
    assert (result.valid, result.outcome) == (False, None)
    assert result.categories["small_supplier"].collective is None
    assert result.reasons == ["No vote was received from Small Suppliers."]


def test_only_abstentions_in_a_category_is_invalid_by_default():
    votes = ballots(*((c, "approve", 1) for c in CATS[:3]), ("other", "abstain", 2))
    result = tally(votes)
    assert (result.valid, result.outcome) == (False, None)
    assert result.categories["other"] == CategoryTally(0, 0, 2, 0, None)
    assert result.reasons == [
        "Only abstentions were received from Other Parties, and abstentions are not counted as votes."
    ]


def test_only_abstentions_count_as_votes_received_when_configured():
    votes = ballots(*((c, "approve", 1) for c in CATS[:3]), ("other", "abstain", 2))
    result = tally(votes, VotingRules(count_abstentions=True))
    assert (result.valid, result.outcome) == (True, "approve")
    assert result.categories["other"].collective == "abstain"


def test_counted_abstentions_can_outvote_approval_in_a_category():
    votes = ballots(("large_supplier", "approve", 1), ("large_supplier", "abstain", 2))
    assert tally(votes).categories["large_supplier"].collective == "approve"
    counting = VotingRules(count_abstentions=True)
    assert tally(votes, counting).categories["large_supplier"].collective == "abstain"


def test_a_shared_abstention_is_not_an_outcome():
    result = tally(every("abstain"), VotingRules(count_abstentions=True))
    assert (result.valid, result.outcome) == (False, None)
    assert result.reasons == ["4 of 4 categories abstained, and abstention is not an outcome."]


def test_majority_inside_a_category_decides_its_collective_vote():
    votes = ballots(
        ("large_supplier", "approve", 2),
        ("large_supplier", "reject", 1),
        *((c, "approve", 1) for c in CATS[1:]),
    )
    result = tally(votes)
    assert result.categories["large_supplier"].collective == "approve"
    assert (result.valid, result.outcome) == (True, "approve")


def test_a_tie_inside_a_category_gives_no_view_by_default():
    tied = ballots(("large_supplier", "approve", 1), ("large_supplier", "reject", 1))
    others = [Ballot(f"other-{c}", c, "approve") for c in CATS[1:]]
    result = tally(tied + others)
    assert result.categories["large_supplier"].collective is None
    assert (result.valid, result.outcome) == (True, "approve")  # votes were received; three agree
    assert result.reasons == [
        "Large Suppliers are tied 1-1 between approve and reject, so that category has no collective view."
    ]


def test_a_tie_resolves_to_the_cautious_option_when_configured():
    tied = ballots(("networks", "approve", 2), ("networks", "reject", 2), ("networks", "return_to_panel", 2))
    result = tally(tied, VotingRules(tie_has_view=True))
    assert result.categories["networks"].collective == "reject"
    assert (
        "Networks are tied 2-2-2 between approve, reject and return_to_panel; "
        "the tie resolves to the cautious option, reject."
    ) in result.reasons
    no_reject = ballots(("networks", "approve", 1), ("networks", "return_to_panel", 1))
    resolved = tally(no_reject, VotingRules(tie_has_view=True)).categories["networks"]
    assert resolved.collective == "return_to_panel"


def test_three_categories_returning_to_panel_is_invalid_with_that_outcome():
    result = tally(ballots(*((c, "return_to_panel", 1) for c in CATS[:3]), ("other", "approve", 1)))
    assert (result.valid, result.outcome) == (False, "return_to_panel")
    assert result.reasons == [
        "3 of 4 categories voted to return the Final Modification Report to the Panel, "
        "so the vote is not valid and the report goes back to the Panel."
    ]


def test_a_low_threshold_with_two_values_reaching_it_has_no_unique_outcome():
    votes = ballots(*((c, "approve", 1) for c in CATS[:2]), *((c, "reject", 1) for c in CATS[2:]))
    result = tally(votes, VotingRules(min_agreeing_categories=2))
    assert (result.valid, result.outcome) == (False, None)
    assert result.reasons == ["No unique outcome: approve and reject each have 2 or more of 4 categories."]


@pytest.mark.parametrize("second", ["Acme Energy", " acme energy ", "ACME ENERGY\t"])
def test_a_party_voting_twice_is_refused(second):
    votes = [Ballot("Acme Energy", "large_supplier", "approve"), Ballot("Beta", "other", "reject")]
    with pytest.raises(DuplicatePartyVote) as err:
        tally([*votes, Ballot(second, "networks", "reject")])
    assert (err.value.field, err.value.first, err.value.second) == ("votes.2.party", 0, 2)
    assert "'Acme Energy'" in str(err.value) and "votes 0 and 2" in str(err.value)
    assert isinstance(err.value, VotingError) and isinstance(err.value, ValueError)


@pytest.mark.parametrize(
    ("ballot", "field"),
    [
        (Ballot("Gamma", "generators", "approve"), "votes.1.category"),
        (Ballot("Gamma", "other", "maybe"), "votes.1.vote"),
        (Ballot("  ", "other", "approve"), "votes.1.party"),
    ],
)
def test_a_malformed_ballot_is_refused_with_its_field_path(ballot, field):
    with pytest.raises(VotingError) as err:
        tally([Ballot("Acme", "other", "approve"), ballot])
    assert err.value.field == field


def test_a_custom_category_set():
    rules = VotingRules(categories=("suppliers", "networks"), min_agreeing_categories=2)
    result = tally(ballots(("suppliers", "reject", 2), ("networks", "reject", 1)), rules)
    assert (result.valid, result.outcome) == (True, "reject")
    assert list(result.categories) == ["suppliers", "networks"]
    with pytest.raises(VotingError) as err:
        tally(ballots(("other", "approve", 1)), rules)
    assert err.value.field == "votes.0.category"


def test_rules_come_from_settings():
    conf = Settings(
        change_board_categories=["a", "b", "c"],
        change_board_tie_has_view=True,
        change_board_count_abstentions=True,
        change_board_min_agreeing_categories=2,
    )
    assert VotingRules.from_settings(conf) == VotingRules(("a", "b", "c"), True, True, 2)
    assert VotingRules.from_settings(Settings()) == VotingRules()


@pytest.mark.parametrize(
    "kwargs", [{"categories": ()}, {"categories": ("a", "a")}, {"min_agreeing_categories": 0}]
)
def test_nonsense_rules_are_refused(kwargs):
    with pytest.raises(ValueError):
        VotingRules(**kwargs)


def test_as_dict_is_json_ready():
    data = tally(every("approve")).as_dict()
    assert json.loads(json.dumps(data)) == data
    assert data["categories"]["networks"] == {
        "approve": 1,
        "reject": 0,
        "abstain": 0,
        "return_to_panel": 0,
        "collective": "approve",
    }
    assert list(data["categories"]) == list(CATS) and (data["valid"], data["outcome"]) == (True, "approve")


# Hypothesis properties.

rules_st = st.builds(
    VotingRules,
    tie_has_view=st.booleans(),
    count_abstentions=st.booleans(),
    min_agreeing_categories=st.integers(1, 4),
)
votes_st = st.lists(st.tuples(st.sampled_from(CATS), st.sampled_from(VOTES)), max_size=24).map(
    lambda pairs: [Ballot(f"p{i}", c, v) for i, (c, v) in enumerate(pairs)]
)


@FAST
@given(votes_st, rules_st, st.data())
def test_ballot_order_never_changes_the_result(votes, rules, data):
    shuffled = data.draw(st.permutations(votes))
    assert tally(shuffled, rules).as_dict() == tally(votes, rules).as_dict()


@FAST
@given(votes_st, rules_st)
def test_counts_per_category_sum_to_its_ballots(votes, rules):
    result = tally(votes, rules)
    for cat, t in result.categories.items():
        assert t.approve + t.reject + t.abstain + t.return_to_panel == sum(b.category == cat for b in votes)


@FAST
@given(votes_st, rules_st)
def test_valid_means_enough_agreement_on_a_decision_with_votes_everywhere(votes, rules):
    result = tally(votes, rules)
    if result.valid:
        assert result.outcome in {"approve", "reject"}
        agreeing = sum(t.collective == result.outcome for t in result.categories.values())
        assert agreeing >= rules.min_agreeing_categories
        assert all(counted(result, rules, c) >= 1 for c in rules.categories)
    else:
        assert result.outcome in {None, "return_to_panel"} and result.reasons


@FAST
@given(votes_st, rules_st, st.lists(st.sampled_from(CATS), max_size=8))
def test_uncounted_abstentions_never_change_the_result(votes, rules, extra):
    rules = dataclasses.replace(rules, count_abstentions=False)
    before = tally(votes, rules)
    after = tally(votes + [Ballot(f"abstainer-{i}", c, "abstain") for i, c in enumerate(extra)], rules)
    assert (after.valid, after.outcome) == (before.valid, before.outcome)
    for cat in CATS:
        b, a = before.categories[cat], after.categories[cat]
        assert (a.collective, a.approve, a.reject, a.return_to_panel) == (
            b.collective,
            b.approve,
            b.reject,
            b.return_to_panel,
        )


@FAST
@given(
    st.sampled_from(["approve", "reject", "return_to_panel"]),
    st.lists(st.integers(1, 4), min_size=4, max_size=4),
    rules_st,
)
def test_unanimity_in_every_category_decides_the_vote(vote, sizes, rules):
    result = tally(ballots(*((c, vote, n) for c, n in zip(CATS, sizes, strict=True))), rules)
    if vote == "return_to_panel":
        assert (result.valid, result.outcome) == (False, "return_to_panel")
    else:
        assert (result.valid, result.outcome) == (True, vote)


@FAST
@given(votes_st, st.booleans(), st.integers(1, 4))
def test_swapping_approve_and_reject_swaps_the_outcome(votes, count_abstentions, need):
    rules = VotingRules(count_abstentions=count_abstentions, min_agreeing_categories=need)
    swapped = [Ballot(b.party, b.category, SWAP.get(b.vote, b.vote)) for b in votes]
    before, after = tally(votes, rules), tally(swapped, rules)
    assert after.valid == before.valid
    assert after.outcome == SWAP.get(before.outcome, before.outcome)


parties_st = st.lists(
    st.text(min_size=1, max_size=8).filter(str.strip), unique_by=lambda s: s.strip().casefold(), max_size=16
)


@FAST
@given(parties_st, rules_st, st.data())
def test_well_formed_ballots_from_distinct_parties_never_raise(parties, rules, data):
    votes = [Ballot(p, data.draw(st.sampled_from(CATS)), data.draw(st.sampled_from(VOTES))) for p in parties]
    result = tally(votes, rules)
    assert list(result.categories) == list(rules.categories)
    assert sum(counted(result, rules, c) for c in CATS) <= len(votes)
