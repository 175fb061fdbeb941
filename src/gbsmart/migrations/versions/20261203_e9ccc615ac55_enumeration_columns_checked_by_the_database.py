"""enumeration columns checked by the database

Every column that holds an enumeration's value (a status, kind, category, classification, role ...) gets a CHECK
constraint ``ck_<table>_<column>``, so a value no enumeration knows is refused by the database whoever writes it
(issue 9 point 5, decision 0018). The conditions come from the one helper the models use
(``gbsmart.core.db.enum_condition``), over the values as they are today, written out here so that this revision
keeps meaning what it meant; tests/core/test_enum_checks.py fails when the models' enumerations and the migrated
schema stop agreeing. ``cpl_submissions.physical_device_type`` is free text by design and is not checked. The
SMI's small-integer code columns (Device Type, SMI Status, CSP Region, device event) get ``column BETWEEN 1 AND n``
over their enumeration's codes (``gbsmart.core.db.code_condition``), written out here too.

On SQLite each table is rebuilt (batch mode); migrations/env.py turns foreign-key enforcement off for it.

Revision ID: e9ccc615ac55
Revises: 0fcf4e2e272c
Create Date: 2026-12-03 15:10:00
"""

from __future__ import annotations

from alembic import op

from gbsmart.core.db import code_condition, enum_condition

revision = 'e9ccc615ac55'
down_revision = '0fcf4e2e272c'
branch_labels = None
depends_on = None

PARTY_CATEGORY = ('large_supplier', 'small_supplier', 'electricity_network', 'gas_network', 'other')
PROPOSAL_STATE = ('development', 'ready_to_convert', 'awaiting_path', 'refinement', 'refinement_consultation',
                  'report_phase', 'mr_consultation', 'final_report', 'change_board', 'panel_decision',
                  'authority_determination', 'approved', 'rejected', 'implemented', 'withdrawn')
ROUTE = ('refinement', 'report_phase')
ACTION_STATUS = ('open', 'closed')
CLASSIFICATION = ('white', 'green', 'amber', 'red')
ENTRY_STATUS = ('Active', 'Cancelled', 'Expired', 'Withdrawn')

#: table -> column -> the values allowed, in the enumeration's order
CHECKS: dict[str, dict[str, tuple[str, ...]]] = {
    'organisations': {
        'kind': ('sec_party', 'dcc', 'secas', 'authority', 'consumer', 'panel'),
        'party_category': PARTY_CATEGORY,
    },
    'person_roles': {
        'role': ('code_administrator', 'panel_member', 'committee_member', 'party_user', 'dcc', 'authority'),
    },
    'dcc_user_roles': {'role': ('IS', 'ES', 'GS', 'ED', 'GT', 'OU', 'RSA')},
    'proposals': {
        'state': PROPOSAL_STATE,
        'path': ('path_1', 'path_2', 'path_3', 'fast_track', 'urgent'),
        'route': ROUTE,
    },
    'proposal_events': {'from_state': PROPOSAL_STATE, 'to_state': PROPOSAL_STATE},
    'consultation_responses': {'consultation': ('refinement', 'modification_report')},
    'change_board_votes': {
        'category': ('large_supplier', 'small_supplier', 'networks', 'other'),
        'vote': ('approve', 'reject', 'abstain', 'return_to_panel'),
    },
    'committees': {'kind': ('panel', 'sub_committee')},
    'committee_members': {'party_category': PARTY_CATEGORY},
    'meetings': {'status': ('scheduled', 'held', 'cancelled'), 'minutes_status': ('draft', 'approved')},
    'meeting_attendees': {
        'party_category': PARTY_CATEGORY,
        'role': ('chair', 'member', 'alternate', 'meeting_secretary', 'participant'),
    },
    'decisions': {'word': ('agreed', 'recommended', 'noted', 'approved'), 'route': ROUTE},
    'actions': {'status': ACTION_STATUS},
    'action_updates': {'status_after': ACTION_STATUS},
    'papers': {
        'action': ('for_information', 'for_decision'),
        'status': ('draft', 'issued'),
        'classification': CLASSIFICATION,
    },
    'paper_appendices': {'classification': CLASSIFICATION},
    'paper_reclassifications': {'from_classification': CLASSIFICATION, 'to_classification': CLASSIFICATION},
    'red_access_records': {'channel': ('page', 'api', 'pdf', 'search', 'export', 'cli')},
    'cpl_device_models': {
        'physical_device_type': ('CH', 'ESME_SINGLE', 'ESME_TWIN', 'ESME_POLYPHASE', 'GSME', 'PPMID', 'HCALCS',
                                 'IHD', 'TYPE2'),
    },
    'cpl_certificates': {'kind': ('zigbee', 'dlms', 'cpa')},
    'cpl_entries': {'status': ENTRY_STATUS},
    'cpl_entry_events': {'from_status': ENTRY_STATUS, 'to_status': ENTRY_STATUS},
    'cpl_submissions': {
        'kind': ('new_entry', 'firmware_update'),
        'status': ('submitted', 'validated', 'refused', 'approved'),
    },
    'cpl_expiry_notices': {'kind': ('12_months', '6_months')},
    'cpl_scheduled_removals': {'to_status': ENTRY_STATUS},
    'smi_device_models': {'status': ENTRY_STATUS},
    'smi_registrations': {'fuel': ('E', 'G')},
}

SMI_STATUS_CODES = (1, 2, 3, 4, 5, 6, 7, 8, 9)  # Pending ... Recovered (gbsmart.smi.enums.SmiStatus)
#: table -> column -> the small-integer codes allowed (1-based declaration order of the SMI's enumerations)
CODE_CHECKS: dict[str, dict[str, tuple[int, ...]]] = {
    'smi_devices': {
        'device_type': (1, 2, 3, 4, 5, 6, 7, 8),  # ESME ... CAD
        'lifecycle_status': SMI_STATUS_CODES,
        'csp_region': (1, 2, 3),  # North, Central, South
    },
    'smi_status_history': {'from_status': SMI_STATUS_CODES, 'to_status': SMI_STATUS_CODES},
    'smi_device_events': {'event': (1, 2)},  # DeviceSuspended, DeviceRestored
}


def _conditions() -> dict[str, dict[str, str]]:
    """table -> column -> the CHECK's condition, string columns and code columns alike."""
    found: dict[str, dict[str, str]] = {}
    for table, columns in CHECKS.items():
        found.setdefault(table, {}).update({c: enum_condition(c, v) for c, v in columns.items()})
    for table, codes in CODE_CHECKS.items():
        found.setdefault(table, {}).update({c: code_condition(c, v) for c, v in codes.items()})
    return found


def upgrade() -> None:
    for table, columns in _conditions().items():
        with op.batch_alter_table(table) as batch:
            for column, condition in columns.items():
                batch.create_check_constraint(op.f(f'ck_{table}_{column}'), condition)


def downgrade() -> None:
    for table, columns in reversed(_conditions().items()):
        with op.batch_alter_table(table) as batch:
            for column in columns:
                batch.drop_constraint(op.f(f'ck_{table}_{column}'), type_='check')
