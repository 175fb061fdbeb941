"""StrEnum with a human label and a badge colour beside each value."""

from __future__ import annotations

from enum import StrEnum


class LabelledEnum(StrEnum):
    """Subclasses define ``__labels__`` (value -> (label, colour)) after the members."""

    @property
    def label(self) -> str:
        return type(self)._meta().get(self.value, (self.value.replace("_", " ").capitalize(), "grey"))[0]

    @property
    def colour(self) -> str:
        return type(self)._meta().get(self.value, ("", "grey"))[1]

    @classmethod
    def _meta(cls) -> dict[str, tuple[str, str]]:
        return getattr(cls, "__labels__", {})

    @classmethod
    def choices(cls) -> list[tuple[str, str]]:
        return [(m.value, m.label) for m in cls]
