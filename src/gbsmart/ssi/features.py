"""Per-customer enablement (issue 15 point 6): a Self-Service Interface feature is switched on for chosen Parties
(early access) and later for all, with who changed what in the change log.

- ``catalogue()``: the features that exist (``features.toml``); nothing else can be switched on.
- ``is_enabled`` / ``require_feature``: whether the actor may use a feature. The DCC, the Code Administrator and the
  CLI's system actor always may (they try a feature before a Party does); a Party's people when it is on for their
  organisation or for all. ``require_feature`` is a 404 that says the feature is not on for them yet, so a switched-off
  feature looks the same through the pages, the API and the CLI.
- ``enable`` / ``disable``: for one Party (``organisation_id``) or for all; only the DCC and the Code Administrator.
- ``states``: each feature, whether it is on for all, and the Parties it is on for; ``history``: the change log.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, cast

from sqlalchemy import ColumnElement, CursorResult, delete, or_, select

from gbsmart.core.audit import record_change
from gbsmart.core.context import Ctx
from gbsmart.core.errors import Forbidden, Invalid, NotFound
from gbsmart.models.audit import ChangeRecord
from gbsmart.models.features import FeatureSwitch
from gbsmart.models.parties import Organisation
from gbsmart.parties.enums import Role

STAFF = ("system", Role.DCC.value, Role.CODE_ADMINISTRATOR.value)
OBJECT_TYPE = "ssi_feature"


@dataclass(frozen=True)
class Feature:
    name: str
    title: str
    description: str


@cache
def catalogue() -> dict[str, Feature]:
    """The features in ``features.toml``, by name."""
    data = tomllib.loads((Path(__file__).with_name("features.toml")).read_text(encoding="utf-8"))
    return {name: Feature(name, str(f["title"]), str(f["description"])) for name, f in data["features"].items()}


def feature(name: str) -> Feature:
    try:
        return catalogue()[name]
    except KeyError:
        known = ", ".join(sorted(catalogue()))
        raise Invalid(f"There is no feature {name[:50]!r}: the features are {known}",
                      detail=[{"field": "feature", "message": f"one of {known}"}]) from None


def is_enabled(ctx: Ctx, name: str) -> bool:
    """Whether the actor may use feature ``name`` (staff always; a Party's people when on for it or for all)."""
    feature(name)
    if ctx.actor.has_role(*STAFF):
        return True
    org = ctx.actor.organisation_id
    where: ColumnElement[bool] = FeatureSwitch.organisation_id.is_(None)
    if org is not None:
        where = or_(where, FeatureSwitch.organisation_id == org)
    return ctx.session.scalar(select(FeatureSwitch.id).where(FeatureSwitch.feature == name, where).limit(1)) is not None


def require_feature(ctx: Ctx, name: str) -> None:
    """NotFound unless ``is_enabled``: the message says the feature is not on for the organisation yet."""
    if not is_enabled(ctx, name):
        raise NotFound(f"{feature(name).title} is not switched on for your organisation yet: the DCC switches "
                       "features on for early-access Parties first, then for all")


def _require_staff(ctx: Ctx) -> None:
    if not ctx.actor.has_role(*STAFF):
        raise Forbidden("only the DCC or the Code Administrator switches Self-Service Interface features on or off")


def _organisation(ctx: Ctx, organisation_id: int) -> Organisation:
    org = ctx.session.get(Organisation, organisation_id)
    if org is None:
        raise Invalid(f"There is no organisation {organisation_id}",
                      detail=[{"field": "organisation_id", "message": "not an organisation: see gbsmart parties list"}])
    return org


def _target(ctx: Ctx, name: str, organisation_id: int | None, for_all: bool
            ) -> tuple[dict[str, Any], ColumnElement[bool]]:
    """For a switch of ``name`` by staff: (whom it is for, as the change log records it; the SQL of its row)."""
    _require_staff(ctx)
    feature(name)
    if (organisation_id is None) == (not for_all):
        raise Invalid("Name one Party or all, not both nor neither",
                      detail=[{"field": "organisation_id", "message": "give a Party, or choose all Parties"}])
    if organisation_id is None:
        return {"for": "all"}, FeatureSwitch.organisation_id.is_(None)
    return ({"for": "party", "organisation_id": organisation_id,
             "organisation": _organisation(ctx, organisation_id).name},
            FeatureSwitch.organisation_id == organisation_id)


def enable(ctx: Ctx, name: str, organisation_id: int | None = None, *, for_all: bool = False) -> bool:
    """Switch ``name`` on for one Party or (``for_all``) for every Party; False when it already was."""
    who, org_match = _target(ctx, name, organisation_id, for_all)
    if ctx.session.scalar(select(FeatureSwitch.id).where(FeatureSwitch.feature == name, org_match)) is not None:
        return False
    row = FeatureSwitch(feature=name, organisation_id=organisation_id, enabled_at=ctx.clock.now(),
                        enabled_by=ctx.actor.name)
    ctx.session.add(row)
    ctx.session.flush()
    record_change(ctx, "ssi.feature.enable", OBJECT_TYPE, name, None, who)
    return True


def disable(ctx: Ctx, name: str, organisation_id: int | None = None, *, for_all: bool = False) -> bool:
    """Switch ``name`` off for one Party, or (``for_all``) remove the "all Parties" switch (the early-access Parties
    keep theirs); False when there was nothing to switch off."""
    who, org_match = _target(ctx, name, organisation_id, for_all)
    gone = cast(CursorResult[Any], ctx.session.execute(
        delete(FeatureSwitch).where(FeatureSwitch.feature == name, org_match))).rowcount  # DML: a cursor result
    if not gone:
        return False
    record_change(ctx, "ssi.feature.disable", OBJECT_TYPE, name, who, None)
    return True


@dataclass(frozen=True)
class FeatureState:
    feature: Feature
    for_all: bool
    parties: list[tuple[int, str]]  # (organisation id, name), by name


def states(ctx: Ctx) -> list[FeatureState]:
    """Every feature and whom it is on for (staff only: which Parties are in early access is the DCC's business)."""
    _require_staff(ctx)
    rows = ctx.session.execute(
        select(FeatureSwitch.feature, FeatureSwitch.organisation_id, Organisation.name)
        .outerjoin(Organisation, Organisation.id == FeatureSwitch.organisation_id)).all()
    out = []
    for name, f in catalogue().items():
        mine = [r for r in rows if r.feature == name]
        out.append(FeatureState(f, any(r.organisation_id is None for r in mine),
                                sorted(((r.organisation_id, r.name) for r in mine if r.organisation_id is not None),
                                       key=lambda p: p[1])))
    return out


def history(ctx: Ctx, limit: int = 100) -> list[ChangeRecord]:
    """Who switched what on or off, newest first."""
    _require_staff(ctx)
    return list(ctx.session.scalars(select(ChangeRecord).where(ChangeRecord.object_type == OBJECT_TYPE)
                                    .order_by(ChangeRecord.at.desc(), ChangeRecord.id.desc()).limit(limit)))
