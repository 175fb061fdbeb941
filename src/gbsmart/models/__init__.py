"""All SQLAlchemy tables, one module per aggregate; importing this package registers every table."""

from gbsmart.core.db import Base
from gbsmart.models import adt as _adt  # noqa: F401  (registers the adt_* and quarantine tables)
from gbsmart.models import alerts as _alerts  # noqa: F401  (alerts, northbound_messages, power_outages ...)
from gbsmart.models import assessments as _assessments  # noqa: F401  (security_assessments and their findings)
from gbsmart.models import cpl as _cpl  # noqa: F401  (registers the cpl_* tables)
from gbsmart.models import delivery as _delivery  # noqa: F401  (gateway_endpoints, gateway_responses)
from gbsmart.models import features as _features  # noqa: F401  (feature_switches)
from gbsmart.models import gateway as _gateway  # noqa: F401  (registers the gateway_* tables)
from gbsmart.models import pre_commands as _pre_commands  # noqa: F401  (registers gateway_pre_commands)
from gbsmart.models import service as _service  # noqa: F401  (incidents, incident_events)
from gbsmart.models import smi as _smi  # noqa: F401  (registers the smi_* tables)
from gbsmart.models.audit import ChangeRecord
from gbsmart.models.change import (
    ChangeBoardVote,
    ConsultationResponse,
    Proposal,
    ProposalDocument,
    ProposalEvent,
    ProposalImpact,
    ProposalInterest,
    Release,
)
from gbsmart.models.committees import (
    Action,
    ActionUpdate,
    AgendaItem,
    Committee,
    CommitteeMember,
    Decision,
    Meeting,
    MeetingApology,
    MeetingAttendee,
    agenda_item_proposals,
)
from gbsmart.models.extracts import CplExtract
from gbsmart.models.papers import Paper, PaperAppendix, PaperRecipient, PaperReclassification, RedAccessRecord
from gbsmart.models.parties import ApiToken, DccUser, DccUserRole, Organisation, Person, PersonRole
from gbsmart.models.sessions import SignInFailure, WebSession

__all__ = [
    "CplExtract",
    "Paper",
    "PaperAppendix",
    "PaperRecipient",
    "PaperReclassification",
    "RedAccessRecord",
    "Action",
    "ActionUpdate",
    "AgendaItem",
    "Committee",
    "CommitteeMember",
    "Decision",
    "Meeting",
    "MeetingApology",
    "MeetingAttendee",
    "agenda_item_proposals",
    "ApiToken",
    "Base",
    "ChangeBoardVote",
    "ChangeRecord",
    "ConsultationResponse",
    "DccUser",
    "DccUserRole",
    "Organisation",
    "Person",
    "PersonRole",
    "Proposal",
    "ProposalDocument",
    "ProposalEvent",
    "ProposalImpact",
    "ProposalInterest",
    "Release",
    "SignInFailure",
    "WebSession",
]
