"""major incident reports and their review

Issue 13 point 3: ``major_incident_reports`` (each issue of a Category 1 or 2 incident's report, versioned) and
``major_incident_comments`` (the reviewers' comments that a re-issue answers).

Revision ID: c8e0a2b4d6f3
Revises: b6d8f0a2c4e1
Create Date: 2026-12-07 01:56:33.316949
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import gbsmart.core.db

revision = 'c8e0a2b4d6f3'
down_revision = 'b6d8f0a2c4e1'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('major_incident_reports',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('incident_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('services', sa.Text(), nullable=False),
    sa.Column('users', sa.Text(), nullable=False),
    sa.Column('root_cause', sa.Text(), nullable=False),
    sa.Column('remediation', sa.Text(), nullable=False),
    sa.Column('response_to_comments', sa.Text(), nullable=False),
    sa.Column('issued_by', sa.String(length=200), nullable=False),
    sa.Column('issued_at', gbsmart.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'], name=op.f('fk_major_incident_reports_incident_id_incidents'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_major_incident_reports'))
    )
    with op.batch_alter_table('major_incident_reports', schema=None) as batch_op:
        batch_op.create_index('ix_major_incident_reports_incident', ['incident_id', 'version'], unique=True)

    op.create_table('major_incident_comments',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('report_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('by', sa.String(length=200), nullable=False),
    sa.Column('at', gbsmart.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['report_id'], ['major_incident_reports.id'], name=op.f('fk_major_incident_comments_report_id_major_incident_reports'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_major_incident_comments'))
    )
    with op.batch_alter_table('major_incident_comments', schema=None) as batch_op:
        batch_op.create_index('ix_major_incident_comments_report', ['report_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('major_incident_comments', schema=None) as batch_op:
        batch_op.drop_index('ix_major_incident_comments_report')

    op.drop_table('major_incident_comments')
    with op.batch_alter_table('major_incident_reports', schema=None) as batch_op:
        batch_op.drop_index('ix_major_incident_reports_incident')

    op.drop_table('major_incident_reports')
