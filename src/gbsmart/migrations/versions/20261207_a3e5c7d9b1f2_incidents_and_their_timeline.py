"""incidents and their timeline

Issue 13's service management: ``incidents`` (category, type and answers, assignee, the SLA clock as of the last
change, ``due_at`` while it runs) and ``incident_events`` (the timeline the SLA clock is computed from).

Revision ID: a3e5c7d9b1f2
Revises: f1a8c3d5e7b2
Create Date: 2026-12-07 01:18:10.132535
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import gbsmart.core.db

revision = 'a3e5c7d9b1f2'
down_revision = 'f1a8c3d5e7b2'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('incidents',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('reference', sa.String(length=16), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('type_key', sa.String(length=40), nullable=False),
    sa.Column('category', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('answers', sa.Text(), nullable=False),
    sa.Column('user_id', sa.String(length=23), nullable=True),
    sa.Column('csp_region', sa.String(length=20), nullable=True),
    sa.Column('organisation_id', sa.Integer(), nullable=True),
    sa.Column('raised_by', sa.String(length=200), nullable=False),
    sa.Column('raised_by_person_id', sa.Integer(), nullable=True),
    sa.Column('assignee_kind', sa.String(length=20), nullable=False),
    sa.Column('assignee', sa.String(length=200), nullable=False),
    sa.Column('raised_at', gbsmart.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', gbsmart.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('resolved_at', gbsmart.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('closed_at', gbsmart.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('resolution', sa.Text(), nullable=False),
    sa.Column('sla_used_seconds', sa.Float(), nullable=False),
    sa.Column('sla_since', gbsmart.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('due_at', gbsmart.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('breached', sa.Boolean(), nullable=False),
    sa.CheckConstraint("assignee_kind IN ('dcc', 'service_provider', 'user')", name=op.f('ck_incidents_assignee_kind')),
    sa.CheckConstraint("status IN ('open', 'in_progress', 'awaiting_user', 'resolved', 'closed')", name=op.f('ck_incidents_status')),
    sa.CheckConstraint('category BETWEEN 1 AND 9', name=op.f('ck_incidents_category')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_incidents_organisation_id_organisations')),
    sa.ForeignKeyConstraint(['raised_by_person_id'], ['people.id'], name=op.f('fk_incidents_raised_by_person_id_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_incidents')),
    sa.UniqueConstraint('reference', name=op.f('uq_incidents_reference'))
    )
    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.create_index('ix_incidents_organisation', ['organisation_id', 'raised_at'], unique=False)
        batch_op.create_index('ix_incidents_status_due', ['status', 'due_at'], unique=False)

    op.create_table('incident_events',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('incident_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('at', gbsmart.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('actor', sa.String(length=200), nullable=False),
    sa.Column('before', sa.String(length=200), nullable=True),
    sa.Column('after', sa.String(length=200), nullable=True),
    sa.Column('text', sa.Text(), nullable=False),
    sa.CheckConstraint("kind IN ('raised', 'status', 'assigned', 'category', 'note')", name=op.f('ck_incident_events_kind')),
    sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'], name=op.f('fk_incident_events_incident_id_incidents'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_incident_events'))
    )
    with op.batch_alter_table('incident_events', schema=None) as batch_op:
        batch_op.create_index('ix_incident_events_incident', ['incident_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('incident_events', schema=None) as batch_op:
        batch_op.drop_index('ix_incident_events_incident')

    op.drop_table('incident_events')
    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.drop_index('ix_incidents_status_due')
        batch_op.drop_index('ix_incidents_organisation')

    op.drop_table('incidents')
