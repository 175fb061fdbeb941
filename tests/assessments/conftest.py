"""Assessments test kit: the demo (fictional Users behind seeds 000 and 003) and acting as one of its people."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from gbsmart.core.context import Actor, Ctx
from gbsmart.demo.loader import load_demo
from gbsmart.models.parties import Person


@pytest.fixture
def demo(ctx, session):
    report = load_demo(ctx)
    session.commit()
    return report.counts


@pytest.fixture
def as_user(ctx, session):
    def make(username: str) -> Ctx:
        person = session.scalar(select(Person).where(Person.username == username))
        assert person is not None, username
        return Ctx(session=session, actor=Actor.of(person), clock=ctx.clock, settings=ctx.settings)

    return make
