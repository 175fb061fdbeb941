"""JSON API of a DCC User's home and of the feature switches (under /api/v1/ssi), through ``ssi.home`` and
``ssi.features``: the same answers as the pages and the CLI."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from gbsmart.core.context import Ctx
from gbsmart.core.types import MAX_DB_ID
from gbsmart.ssi import features, home
from gbsmart.web.deps import get_ctx

router = APIRouter(prefix="/ssi", tags=["ssi"])


@router.get("/home")
def read_home(ctx: Ctx = Depends(get_ctx),
              organisation: int | None = Query(None, ge=1, le=MAX_DB_ID, description="staff only: one organisation's")
              ) -> dict[str, Any]:
    """The caller's organisation's service at a glance (the DCC and the Code Administrator: any, or every User)."""
    return home.as_dict(home.glance(ctx, organisation), ctx.clock.now())


def state_dict(s: features.FeatureState) -> dict[str, Any]:
    return {"feature": s.feature.name, "title": s.feature.title, "description": s.feature.description,
            "for_all": s.for_all, "parties": [{"organisation_id": i, "name": n} for i, n in s.parties]}


@router.get("/features")
def list_features(ctx: Ctx = Depends(get_ctx)) -> list[dict[str, Any]]:
    """Every feature and whom it is on for (the DCC and the Code Administrator)."""
    return [state_dict(s) for s in features.states(ctx)]


@router.get("/features/mine")
def my_features(ctx: Ctx = Depends(get_ctx)) -> dict[str, bool]:
    """Which features are on for the caller."""
    return {name: features.is_enabled(ctx, name) for name in features.catalogue()}


class FeatureChange(BaseModel):
    action: Literal["enable", "disable"]
    organisation_id: int | None = Field(None, ge=1, le=MAX_DB_ID, description="one Party; leave out with for_all")
    for_all: bool = False


@router.post("/features/{name}")
def change_feature(name: str, data: FeatureChange, ctx: Ctx = Depends(get_ctx)) -> dict[str, Any]:
    """Switch a feature on or off for one Party or for all."""
    change = features.enable if data.action == "enable" else features.disable
    changed = change(ctx, name, data.organisation_id, for_all=data.for_all)
    state = next(s for s in features.states(ctx) if s.feature.name == name)
    return {"changed": changed, **state_dict(state)}
