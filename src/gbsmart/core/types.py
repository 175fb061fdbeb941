"""Input types shared by every edge (API bodies and paths, page forms, CLI): database ids and text fields.

A ``DbId`` is an integer a database key can hold (1 to 2**63 - 1), so an id out of range is refused with a 422
naming the field before it reaches the database. ``Line`` (one-line text: titles, names, references) refuses every
control character; ``Text`` (multi-line text: statements, minutes, bodies) allows tab, line feed and carriage return.
Both refuse what PostgreSQL cannot store (NUL, lone surrogates) and what would be written raw into exports (ESC).
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, Field

MAX_DB_ID = 2**63 - 1

#: a database id, usable as a FastAPI path or query parameter and as a Pydantic field
DbId = Annotated[int, Field(ge=1, le=MAX_DB_ID)]


def as_db_id(text: str) -> int | None:
    """The database id ``text`` spells (digits only, 1 to 2**63 - 1), or None if it spells none."""
    text = text.strip()
    if not (text.isascii() and text.isdigit()):
        return None
    value = int(text)
    return value if 1 <= value <= MAX_DB_ID else None

# C0 controls, DEL, C1 controls and lone surrogates (U+D800 to U+DFFF)
_LINE_FORBIDDEN = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_TEXT_FORBIDDEN = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


def control_character_problem(value: str, *, multiline: bool = False) -> str | None:
    """The refusal message for the first control character in ``value``, or None if it has none."""
    found = (_TEXT_FORBIDDEN if multiline else _LINE_FORBIDDEN).search(value)
    if found is None:
        return None
    allowed = " other than tab and line breaks" if multiline else ""
    return (f"must not contain control characters{allowed} "
            f"(found U+{ord(found.group()):04X} at position {found.start() + 1})")


def _line(value: str) -> str:
    problem = control_character_problem(value)
    if problem:
        raise ValueError(problem)
    return value


def _text(value: str) -> str:
    problem = control_character_problem(value, multiline=True)
    if problem:
        raise ValueError(problem)
    return value


#: one-line text: no control characters at all
Line = Annotated[str, AfterValidator(_line)]
#: multi-line text: tab, line feed and carriage return allowed, no other control characters
Text = Annotated[str, AfterValidator(_text)]
