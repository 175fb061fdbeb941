"""Demo feature switches (`gbsmart demo load`): the audit-trail search on for every Party, and the new home in
early access for the Party of the demo sign-in ``large`` only, so the demo shows both states (seed 004: changes
"enabled per customer for early access"). Through ``ssi.features``, as the DCC's operator; loading twice adds
nothing."""

from __future__ import annotations

from sqlalchemy import inspect, select

from gbsmart.core.context import Actor, Ctx
from gbsmart.models.parties import Person
from gbsmart.ssi import features

EARLY_ACCESS_SIGN_IN = "large"


def load_ssi_demo(ctx: Ctx) -> dict[str, int]:
    if not inspect(ctx.session.get_bind()).has_table("feature_switches"):
        return {}
    dcc = Ctx(session=ctx.session, actor=Actor.system("gbsmart-demo"), clock=ctx.clock, settings=ctx.settings)
    added = int(features.enable(dcc, "audit_search", for_all=True))
    org = ctx.session.scalar(select(Person.organisation_id).where(Person.username == EARLY_ACCESS_SIGN_IN))
    if org is not None:
        added += int(features.enable(dcc, "ssi_home", org))
    return {"SSI feature switches": added}
