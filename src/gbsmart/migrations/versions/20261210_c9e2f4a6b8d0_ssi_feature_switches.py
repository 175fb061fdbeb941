"""SSI feature switches

Issue 15 point 6: ``feature_switches``, which Parties a Self-Service Interface feature is switched on for (one row
per Party, or one "for all" row with organisation_id NULL; a partial unique index for each).

Revision ID: c9e2f4a6b8d0
Revises: b7d1e3f5a9c2
Create Date: 2026-12-08 00:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import gbsmart.core.db

revision = 'c9e2f4a6b8d0'
down_revision = 'b7d1e3f5a9c2'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('feature_switches',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('feature', sa.String(length=50), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=True),
    sa.Column('enabled_at', gbsmart.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('enabled_by', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'],
                            name=op.f('fk_feature_switches_organisation_id_organisations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_feature_switches'))
    )
    op.create_index('uq_feature_switches_party', 'feature_switches', ['feature', 'organisation_id'], unique=True,
                    postgresql_where=sa.text('organisation_id IS NOT NULL'),
                    sqlite_where=sa.text('organisation_id IS NOT NULL'))
    op.create_index('uq_feature_switches_all', 'feature_switches', ['feature'], unique=True,
                    postgresql_where=sa.text('organisation_id IS NULL'), sqlite_where=sa.text('organisation_id IS NULL'))


def downgrade() -> None:
    op.drop_index('uq_feature_switches_all', table_name='feature_switches')
    op.drop_index('uq_feature_switches_party', table_name='feature_switches')
    op.drop_table('feature_switches')
