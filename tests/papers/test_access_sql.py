"""The SQL filters agree with ``rules.can_see`` for every person and every paper of a random world (both databases)."""

from __future__ import annotations

import random
from datetime import date

import pytest

from gbsmart.core.context import Actor, Ctx
from gbsmart.models.papers import Paper, PaperAppendix, PaperRecipient
from gbsmart.models.parties import Organisation, Person, PersonRole
from gbsmart.papers import access, rules, service
from gbsmart.papers.enums import AccessChannel, Classification
from gbsmart.papers.service import PaperFilters
from tests.papers.conftest import add_committee_member

LEVELS = [c.value for c in Classification]


@pytest.mark.parametrize("seed", [20200207, 20200807])
def test_lists_counts_and_search_show_exactly_what_can_see_allows(session, clock, settings, seed):
    rnd = random.Random(seed)
    now = clock.now()
    orgs = [Organisation(name=f"Org {i} {k}", kind=k, created_at=now)
            for i, k in enumerate(("sec_party", "sec_party", "secas", "consumer"))]
    session.add_all(orgs)
    session.flush()
    roles = [(), ("party_user",), ("code_administrator",), ("panel_member",), ("committee_member",)]
    people = []
    for i in range(10):
        org = rnd.choice(orgs + [None])
        people.append(Person(username=f"p{i}", full_name=f"P {i}", organisation_id=org.id if org else None,
                             created_at=now, role_rows=[PersonRole(role=r) for r in rnd.choice(roles)]))
    session.add_all(people)
    session.commit()
    for person in rnd.sample(people, 4):
        add_committee_member(session, rnd.choice(["SSC", "CSC"]), person)

    for n in range(30):
        author = rnd.choice(people) if rnd.random() < 0.5 else None
        paper = Paper(
            reference=f"P_{n:03d}", title=f"Paper {n}", purpose="", action="for_information",
            author_id=author.id if author else None, author_name="A",
            paper_date=date(2020, 1, 1 + n % 28), committee_code=rnd.choice([None, "SSC", "CSC", "OPSG"]),
            body=f"text {n} needle" if n % 3 == 0 else f"text {n}", status=rnd.choice(["draft", "issued", "issued"]),
            classification=rnd.choice(LEVELS), created_at=now, updated_at=now)
        for letter in "AB"[: rnd.randint(0, 2)]:
            floor = LEVELS.index(paper.classification)
            paper.appendices.append(PaperAppendix(letter=letter, title=f"App {letter}", created_at=now,
                                                  body="needle inside" if rnd.random() < 0.5 else "plain",
                                                  classification=rnd.choice(LEVELS[floor:])))
        for person in rnd.sample(people, rnd.randint(0, 3)):
            paper.recipients.append(PaperRecipient(person_id=person.id, added_at=now))
        session.add(paper)
    session.commit()
    papers = session.query(Paper).all()

    for person in people:
        ctx = Ctx(session=session, actor=Actor.of(person), clock=clock, settings=settings)
        viewer = access.viewer_of(ctx)
        expected = {}
        for p in papers:
            pctx = access.context_of(p)
            if rules.can_see(viewer, p.classification, pctx):
                expected[p.reference] = sorted(
                    a.letter for a in p.appendices
                    if rules.can_see(viewer, rules.effective(p.classification, a.classification), pctx))
        got = {v.paper.reference: sorted(a.letter for a in v.appendices)
               for v in service.list_papers(ctx, PaperFilters(), AccessChannel.API).items}
        assert got == expected, person.username
        counts = service.count_papers(ctx, PaperFilters())
        assert counts["total"] == len(expected)
        assert sum(counts["appendices"].values()) == sum(len(v) for v in expected.values())
        found = {v.paper.reference for v in service.list_papers(ctx, PaperFilters(q="needle"), AccessChannel.API).items}
        want = {ref for ref, letters in expected.items()
                if "needle" in next(p for p in papers if p.reference == ref).body
                or any(a.body == "needle inside" and a.letter in letters
                       for a in next(p for p in papers if p.reference == ref).appendices)}
        assert found == want, person.username
        session.rollback()
