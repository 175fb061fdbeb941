"""StrEnum with a human label and a badge colour beside each value.

A member is declared with its value, label and colour in one line::

    class MeetingStatus(LabelledEnum):
        SCHEDULED = "scheduled", "Scheduled", "cyan"
        HELD = "held", "Held", "green"

The label defaults to the value in words ("sub_committee" -> "Sub committee") and the colour to grey. The older
form, plain values and a ``__labels__`` table (value -> (label, colour)) after the members, still works.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Self


class LabelledEnum(StrEnum):
    """A string enumeration whose members carry ``.label`` and ``.colour``; ``choices()`` lists (value, label)."""

    _value_: str
    _label: str | None
    _colour: str | None

    def __new__(cls, value: str, label: str | None = None, colour: str | None = None) -> Self:
        member = str.__new__(cls, value)
        member._value_ = value
        member._label = label
        member._colour = colour
        return member

    @property
    def label(self) -> str:
        if self._label is not None:
            return self._label
        return type(self)._meta().get(self.value, (self.value.replace("_", " ").capitalize(), "grey"))[0]

    @property
    def colour(self) -> str:
        if self._colour is not None:
            return self._colour
        return type(self)._meta().get(self.value, ("", "grey"))[1]

    @classmethod
    def _meta(cls) -> dict[str, tuple[str, str]]:
        return getattr(cls, "__labels__", {})

    @classmethod
    def choices(cls) -> list[tuple[str, str]]:
        return [(m.value, m.label) for m in cls]

    @classmethod
    def values(cls) -> tuple[str, ...]:
        """Every member's stored value, in declaration order (what a CHECK constraint allows)."""
        return tuple(m.value for m in cls)
