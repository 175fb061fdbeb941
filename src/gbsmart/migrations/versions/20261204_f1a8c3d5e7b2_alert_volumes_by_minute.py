"""alert volumes by minute

The alerts dashboard's volumes read a roll-up per minute, code, CSP region and outcome (alerts.rollup) instead
of the alerts table, so a week of a storm is thousands of rows to read, not hundreds of millions. The alerts
already recorded are counted into it here.

Revision ID: f1a8c3d5e7b2
Revises: d4b7e2a9c013
Create Date: 2026-12-04 22:20:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import gbsmart.core.db

revision = 'f1a8c3d5e7b2'
down_revision = 'd4b7e2a9c013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('alert_volume_minutes',
    sa.Column('minute', gbsmart.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('code', sa.String(length=8), nullable=False),
    sa.Column('csp_region', sa.String(length=20), nullable=False),
    sa.Column('outcome', sa.String(length=20), nullable=False),
    sa.Column('alerts', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('minute', 'code', 'csp_region', 'outcome', name=op.f('pk_alert_volume_minutes'))
    )
    # the alerts already recorded, counted as the intake counts them (alerts.rollup.minute_of: the UTC minute)
    if op.get_bind().dialect.name == 'postgresql':
        minute = "date_trunc('minute', received_at)"
    else:  # SQLite keeps a UTC time as 'YYYY-MM-DD HH:MM:SS.ffffff'
        minute = "substr(received_at, 1, 16) || '\\:00.000000'"  # \: so the colon is not read as a bind
    op.execute(sa.text(f"INSERT INTO alert_volume_minutes (minute, code, csp_region, outcome, alerts) "  # noqa: S608
               f"SELECT {minute}, code, coalesce(csp_region, ''), outcome, count(*) FROM alerts "
               f"GROUP BY {minute}, code, coalesce(csp_region, ''), outcome"))


def downgrade() -> None:
    op.drop_table('alert_volume_minutes')
