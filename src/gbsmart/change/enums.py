"""The vocabulary of the modification process (DOMAIN.md section 2; seeds 001 and 004)."""

from __future__ import annotations

from gbsmart.core.enums import LabelledEnum


class ProposalState(LabelledEnum):
    DEVELOPMENT = "development", "Development Stage", "grey"
    READY_TO_CONVERT = "ready_to_convert", "Ready to convert", "cyan"
    AWAITING_PATH = "awaiting_path", "Awaiting Panel path decision", "cyan"
    REFINEMENT = "refinement", "Refinement Process", "blue"
    REFINEMENT_CONSULTATION = "refinement_consultation", "Refinement Consultation", "blue"
    REPORT_PHASE = "report_phase", "Report Phase", "purple"
    MR_CONSULTATION = "mr_consultation", "Modification Report Consultation", "purple"
    FINAL_REPORT = "final_report", "Final Modification Report", "purple"
    CHANGE_BOARD = "change_board", "Change Board vote", "orange"
    PANEL_DECISION = "panel_decision", "Panel decision (Fast-Track)", "orange"
    AUTHORITY_DETERMINATION = "authority_determination", "Authority determination", "orange"
    APPROVED = "approved", "Approved", "green"
    REJECTED = "rejected", "Rejected", "red"
    IMPLEMENTED = "implemented", "Implemented", "green"
    WITHDRAWN = "withdrawn", "Withdrawn", "red"

    @property
    def is_draft(self) -> bool:
        return self in (ProposalState.DEVELOPMENT, ProposalState.READY_TO_CONVERT)

    @property
    def is_closed(self) -> bool:
        return self in (ProposalState.REJECTED, ProposalState.IMPLEMENTED, ProposalState.WITHDRAWN)


class ProposalPath(LabelledEnum):
    PATH_1 = "path_1", "Path 1: Authority-led", "red"
    PATH_2 = "path_2", "Path 2: Authority Determination", "orange"
    PATH_3 = "path_3", "Path 3: Self-Governance", "green"
    FAST_TRACK = "fast_track", "Fast-Track", "cyan"
    URGENT = "urgent", "Urgent", "red"


class Route(LabelledEnum):
    """Where a converted proposal goes next, as recommended by the CSC and decided by the Panel."""

    REFINEMENT = "refinement", "Refinement Process", "blue"
    REPORT_PHASE = "report_phase", "Report Phase", "purple"


class Vote(LabelledEnum):
    APPROVE = "approve", "Approve", "green"
    REJECT = "reject", "Reject", "red"
    ABSTAIN = "abstain", "Abstain", "grey"
    RETURN_TO_PANEL = "return_to_panel", "Return to Panel", "orange"


class VotingCategory(LabelledEnum):
    """Change Board voting categories (SECMP0041, seed 004): Networks joins electricity and gas."""

    LARGE_SUPPLIER = "large_supplier", "Large Suppliers", "blue"
    SMALL_SUPPLIER = "small_supplier", "Small Suppliers", "cyan"
    NETWORKS = "networks", "Networks", "yellow"
    OTHER = "other", "Other Parties", "grey"


PARTY_TO_VOTING_CATEGORY = {
    "large_supplier": VotingCategory.LARGE_SUPPLIER,
    "small_supplier": VotingCategory.SMALL_SUPPLIER,
    "electricity_network": VotingCategory.NETWORKS,
    "gas_network": VotingCategory.NETWORKS,
    "other": VotingCategory.OTHER,
}


class Consultation(LabelledEnum):
    REFINEMENT = "refinement", "Refinement Consultation", "blue"
    MODIFICATION_REPORT = "modification_report", "Modification Report Consultation", "purple"
