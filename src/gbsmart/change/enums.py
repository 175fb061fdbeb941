"""The vocabulary of the modification process (DOMAIN.md section 2; seeds 001 and 004)."""

from __future__ import annotations

from gbsmart.core.enums import LabelledEnum


class ProposalState(LabelledEnum):
    DEVELOPMENT = "development"
    READY_TO_CONVERT = "ready_to_convert"
    AWAITING_PATH = "awaiting_path"
    REFINEMENT = "refinement"
    REFINEMENT_CONSULTATION = "refinement_consultation"
    REPORT_PHASE = "report_phase"
    MR_CONSULTATION = "mr_consultation"
    FINAL_REPORT = "final_report"
    CHANGE_BOARD = "change_board"
    PANEL_DECISION = "panel_decision"
    AUTHORITY_DETERMINATION = "authority_determination"
    APPROVED = "approved"
    REJECTED = "rejected"
    IMPLEMENTED = "implemented"
    WITHDRAWN = "withdrawn"

    __labels__ = {
        "development": ("Development Stage", "grey"),
        "ready_to_convert": ("Ready to convert", "cyan"),
        "awaiting_path": ("Awaiting Panel path decision", "cyan"),
        "refinement": ("Refinement Process", "blue"),
        "refinement_consultation": ("Refinement Consultation", "blue"),
        "report_phase": ("Report Phase", "purple"),
        "mr_consultation": ("Modification Report Consultation", "purple"),
        "final_report": ("Final Modification Report", "purple"),
        "change_board": ("Change Board vote", "orange"),
        "panel_decision": ("Panel decision (Fast-Track)", "orange"),
        "authority_determination": ("Authority determination", "orange"),
        "approved": ("Approved", "green"),
        "rejected": ("Rejected", "red"),
        "implemented": ("Implemented", "green"),
        "withdrawn": ("Withdrawn", "red"),
    }

    @property
    def is_draft(self) -> bool:
        return self in (ProposalState.DEVELOPMENT, ProposalState.READY_TO_CONVERT)

    @property
    def is_closed(self) -> bool:
        return self in (ProposalState.REJECTED, ProposalState.IMPLEMENTED, ProposalState.WITHDRAWN)


class ProposalPath(LabelledEnum):
    PATH_1 = "path_1"
    PATH_2 = "path_2"
    PATH_3 = "path_3"
    FAST_TRACK = "fast_track"
    URGENT = "urgent"

    __labels__ = {
        "path_1": ("Path 1: Authority-led", "red"),
        "path_2": ("Path 2: Authority Determination", "orange"),
        "path_3": ("Path 3: Self-Governance", "green"),
        "fast_track": ("Fast-Track", "cyan"),
        "urgent": ("Urgent", "red"),
    }


class Route(LabelledEnum):
    """Where a converted proposal goes next, as recommended by the CSC and decided by the Panel."""

    REFINEMENT = "refinement"
    REPORT_PHASE = "report_phase"

    __labels__ = {
        "refinement": ("Refinement Process", "blue"),
        "report_phase": ("Report Phase", "purple"),
    }


class Vote(LabelledEnum):
    APPROVE = "approve"
    REJECT = "reject"
    ABSTAIN = "abstain"
    RETURN_TO_PANEL = "return_to_panel"

    __labels__ = {
        "approve": ("Approve", "green"),
        "reject": ("Reject", "red"),
        "abstain": ("Abstain", "grey"),
        "return_to_panel": ("Return to Panel", "orange"),
    }


class VotingCategory(LabelledEnum):
    """Change Board voting categories (SECMP0041, seed 004): Networks joins electricity and gas."""

    LARGE_SUPPLIER = "large_supplier"
    SMALL_SUPPLIER = "small_supplier"
    NETWORKS = "networks"
    OTHER = "other"

    __labels__ = {
        "large_supplier": ("Large Suppliers", "blue"),
        "small_supplier": ("Small Suppliers", "cyan"),
        "networks": ("Networks", "yellow"),
        "other": ("Other Parties", "grey"),
    }


PARTY_TO_VOTING_CATEGORY = {
    "large_supplier": VotingCategory.LARGE_SUPPLIER,
    "small_supplier": VotingCategory.SMALL_SUPPLIER,
    "electricity_network": VotingCategory.NETWORKS,
    "gas_network": VotingCategory.NETWORKS,
    "other": VotingCategory.OTHER,
}


class Consultation(LabelledEnum):
    REFINEMENT = "refinement"
    MODIFICATION_REPORT = "modification_report"

    __labels__ = {
        "refinement": ("Refinement Consultation", "blue"),
        "modification_report": ("Modification Report Consultation", "purple"),
    }
