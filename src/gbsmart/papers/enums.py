"""Enumerations of papers: the Traffic Light Protocol classifications, requested actions, status, access channels."""

from __future__ import annotations

from gbsmart.core.enums import LabelledEnum


class Classification(LabelledEnum):
    """The Panel Information Policy's Traffic Light Protocol levels (DOMAIN.md section 3), least strict first."""

    WHITE = "white", "WHITE", "grey"
    GREEN = "green", "GREEN", "green"
    AMBER = "amber", "AMBER", "orange"
    RED = "red", "RED", "red"

    @property
    def rank(self) -> int:
        return _RANK[self]

    @property
    def policy(self) -> str:
        """The sentence a paper at this level carries (seed 000 prints the WHITE one in its footer)."""
        return _POLICY[self]


_RANK = {Classification.WHITE: 0, Classification.GREEN: 1, Classification.AMBER: 2, Classification.RED: 3}

_POLICY = {
    Classification.WHITE: (
        "This document is classified as White in accordance with the Panel Information Policy. Information can "
        "be shared with the public, and any members may publish the information, subject to copyright."
    ),
    Classification.GREEN: (
        "This document is classified as Green in accordance with the Panel Information Policy. Information can "
        "be shared with all SEC Parties but must not be made public."
    ),
    Classification.AMBER: (
        "This document is classified as Amber in accordance with the Panel Information Policy. Recipients may "
        "share it only with members of their own organisation who need to know."
    ),
    Classification.RED: (
        "This document is classified as Red in accordance with the Panel Information Policy. It is for the "
        "named recipients and the meeting only, and must not be shared further."
    ),
}


class PaperAction(LabelledEnum):
    """What the paper asks its committee to do."""

    FOR_INFORMATION = "for_information", "For Information", "blue"
    FOR_DECISION = "for_decision", "For Decision", "purple"


class PaperStatus(LabelledEnum):
    DRAFT = "draft", "Draft", "yellow"
    ISSUED = "issued", "Issued", "green"


class AccessChannel(LabelledEnum):
    """How RED material was reached, for the RED access audit."""

    PAGE = "page", "Portal page", "blue"
    API = "api", "API", "purple"
    PDF = "pdf", "PDF", "orange"
    SEARCH = "search", "Search or list", "teal"
    EXPORT = "export", "Export", "cyan"
    CLI = "cli", "Command line", "grey"
