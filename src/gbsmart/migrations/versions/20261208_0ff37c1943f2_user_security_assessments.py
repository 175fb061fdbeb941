"""User security assessments

Issue 14: the assessed Users and their portfolios, assessments, findings, conditions and remediation actions,
the SSC's status decisions (citing the committee's minuted decision) and Director's Letters.

Revision ID: 0ff37c1943f2
Revises: e2a4c6e8f0b7
Create Date: 2026-12-07 19:54:10.923265
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import gbsmart.core.db


revision = '0ff37c1943f2'
down_revision = 'e2a4c6e8f0b7'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('assessed_users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('user_type', sa.String(length=20), nullable=False),
    sa.Column('user_entry_date', sa.Date(), nullable=False),
    sa.Column('user_roles', sa.String(length=40), nullable=False),
    sa.Column('is_shared_resource_provider', sa.Boolean(), nullable=False),
    sa.Column('provider_id', sa.Integer(), nullable=True),
    sa.Column('created_at', gbsmart.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', gbsmart.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("user_type IN ('supplier', 'network', 'other')", name=op.f('ck_assessed_users_user_type')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_assessed_users_organisation_id_organisations')),
    sa.ForeignKeyConstraint(['provider_id'], ['organisations.id'], name=op.f('fk_assessed_users_provider_id_organisations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assessed_users')),
    sa.UniqueConstraint('organisation_id', name=op.f('uq_assessed_users_organisation_id'))
    )
    op.create_table('assessment_portfolios',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('as_of', sa.Date(), nullable=False),
    sa.Column('domestic_premises', sa.Integer(), nullable=False),
    sa.Column('non_domestic_premises', sa.Integer(), nullable=False),
    sa.Column('created_at', gbsmart.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['assessed_users.id'], name=op.f('fk_assessment_portfolios_user_id_assessed_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assessment_portfolios')),
    sa.UniqueConstraint('user_id', 'as_of', name=op.f('uq_assessment_portfolios_user_id_as_of'))
    )
    op.create_table('security_assessments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reference', sa.String(length=30), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('initial', sa.Boolean(), nullable=False),
    sa.Column('cycle_number', sa.Integer(), nullable=False),
    sa.Column('cycle_year', sa.Integer(), nullable=False),
    sa.Column('size', sa.String(length=10), nullable=False),
    sa.Column('user_role', sa.String(length=40), nullable=False),
    sa.Column('assessor', sa.String(length=200), nullable=False),
    sa.Column('start_date', sa.Date(), nullable=False),
    sa.Column('end_date', sa.Date(), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('follows_id', sa.Integer(), nullable=True),
    sa.Column('reuses_id', sa.Integer(), nullable=True),
    sa.Column('created_at', gbsmart.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', gbsmart.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('full', 'verification', 'self', 'follow_up')", name=op.f('ck_security_assessments_kind')),
    sa.CheckConstraint("size IN ('large', 'small')", name=op.f('ck_security_assessments_size')),
    sa.CheckConstraint("status IN ('scheduled', 'in_progress', 'reported', 'decided')", name=op.f('ck_security_assessments_status')),
    sa.ForeignKeyConstraint(['follows_id'], ['security_assessments.id'], name=op.f('fk_security_assessments_follows_id_security_assessments')),
    sa.ForeignKeyConstraint(['reuses_id'], ['security_assessments.id'], name=op.f('fk_security_assessments_reuses_id_security_assessments')),
    sa.ForeignKeyConstraint(['user_id'], ['assessed_users.id'], name=op.f('fk_security_assessments_user_id_assessed_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_security_assessments')),
    sa.UniqueConstraint('reference', name=op.f('uq_security_assessments_reference'))
    )
    with op.batch_alter_table('security_assessments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_security_assessments_start_date'), ['start_date'], unique=False)
        batch_op.create_index(batch_op.f('ix_security_assessments_user_id'), ['user_id'], unique=False)

    op.create_table('assessment_findings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('assessment_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('severity', sa.String(length=10), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('sec_reference', sa.String(length=50), nullable=False),
    sa.Column('on_shared_resource', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('closed_on', sa.Date(), nullable=True),
    sa.Column('created_at', gbsmart.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("severity IN ('minor', 'medium', 'major')", name=op.f('ck_assessment_findings_severity')),
    sa.CheckConstraint("status IN ('open', 'closed')", name=op.f('ck_assessment_findings_status')),
    sa.ForeignKeyConstraint(['assessment_id'], ['security_assessments.id'], name=op.f('fk_assessment_findings_assessment_id_security_assessments'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assessment_findings')),
    sa.UniqueConstraint('assessment_id', 'number', name=op.f('uq_assessment_findings_assessment_id_number'))
    )
    op.create_table('assessment_actions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('assessment_id', sa.Integer(), nullable=False),
    sa.Column('finding_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('due_date', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('closed_on', sa.Date(), nullable=True),
    sa.Column('created_at', gbsmart.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('condition', 'remediation')", name=op.f('ck_assessment_actions_kind')),
    sa.CheckConstraint("status IN ('open', 'closed')", name=op.f('ck_assessment_actions_status')),
    sa.ForeignKeyConstraint(['assessment_id'], ['security_assessments.id'], name=op.f('fk_assessment_actions_assessment_id_security_assessments'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['finding_id'], ['assessment_findings.id'], name=op.f('fk_assessment_actions_finding_id_assessment_findings'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assessment_actions'))
    )
    with op.batch_alter_table('assessment_actions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_assessment_actions_due_date'), ['due_date'], unique=False)

    op.create_table('assessment_decisions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('assessment_id', sa.Integer(), nullable=False),
    sa.Column('status_kind', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=30), nullable=False),
    sa.Column('decision_id', sa.Integer(), nullable=False),
    sa.Column('meeting_reference', sa.String(length=60), nullable=False),
    sa.Column('decided_on', sa.Date(), nullable=False),
    sa.Column('created_at', gbsmart.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('approved', 'approved_with_conditions', 'deferred', 'rejected', 'compliant', 'compliant_with_remediation', 'non_compliant', 'reviewed')", name=op.f('ck_assessment_decisions_status')),
    sa.CheckConstraint("status_kind IN ('assurance', 'compliance', 'review')", name=op.f('ck_assessment_decisions_status_kind')),
    sa.ForeignKeyConstraint(['assessment_id'], ['security_assessments.id'], name=op.f('fk_assessment_decisions_assessment_id_security_assessments'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['decision_id'], ['decisions.id'], name=op.f('fk_assessment_decisions_decision_id_decisions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assessment_decisions'))
    )
    with op.batch_alter_table('assessment_decisions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_assessment_decisions_decided_on'), ['decided_on'], unique=False)

    op.create_table('directors_letters',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reference', sa.String(length=30), nullable=False),
    sa.Column('assessment_id', sa.Integer(), nullable=False),
    sa.Column('received_on', sa.Date(), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('reviewed_decision_id', sa.Integer(), nullable=True),
    sa.Column('reviewed_meeting', sa.String(length=60), nullable=True),
    sa.Column('reviewed_on', sa.Date(), nullable=True),
    sa.Column('created_at', gbsmart.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['assessment_id'], ['security_assessments.id'], name=op.f('fk_directors_letters_assessment_id_security_assessments'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['reviewed_decision_id'], ['decisions.id'], name=op.f('fk_directors_letters_reviewed_decision_id_decisions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_directors_letters')),
    sa.UniqueConstraint('reference', name=op.f('uq_directors_letters_reference'))
    )
    with op.batch_alter_table('directors_letters', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_directors_letters_reviewed_on'), ['reviewed_on'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('directors_letters', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_directors_letters_reviewed_on'))

    op.drop_table('directors_letters')
    with op.batch_alter_table('assessment_decisions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_assessment_decisions_decided_on'))

    op.drop_table('assessment_decisions')
    with op.batch_alter_table('assessment_actions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_assessment_actions_due_date'))

    op.drop_table('assessment_actions')
    op.drop_table('assessment_findings')
    with op.batch_alter_table('security_assessments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_security_assessments_user_id'))
        batch_op.drop_index(batch_op.f('ix_security_assessments_start_date'))

    op.drop_table('security_assessments')
    op.drop_table('assessment_portfolios')
    op.drop_table('assessed_users')
