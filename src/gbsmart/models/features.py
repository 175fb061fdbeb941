"""Per-customer enablement (issue 15 point 6): which Parties a Self-Service Interface feature is switched on for.

A row with ``organisation_id`` NULL switches the feature on for every Party; other rows name one Party each (an
early-access group). Who changed what is in the change log (``ssi.features``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from gbsmart.core.db import Base, UTCDateTime


class FeatureSwitch(Base):
    """A feature switched on for one Party (``organisation_id``) or for all (NULL)."""

    __tablename__ = "feature_switches"
    __table_args__ = (
        # one row per (feature, Party) and one "for all" row per feature (NULLs are distinct in a unique index)
        Index("uq_feature_switches_party", "feature", "organisation_id", unique=True,
              postgresql_where=text("organisation_id IS NOT NULL"), sqlite_where=text("organisation_id IS NOT NULL")),
        Index("uq_feature_switches_all", "feature", unique=True,
              postgresql_where=text("organisation_id IS NULL"), sqlite_where=text("organisation_id IS NULL")),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    feature: Mapped[str] = mapped_column(String(50), nullable=False)
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"),
                                                        nullable=True)
    enabled_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    enabled_by: Mapped[str] = mapped_column(String(200), nullable=False)
