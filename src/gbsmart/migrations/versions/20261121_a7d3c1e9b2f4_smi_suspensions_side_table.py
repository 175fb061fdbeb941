"""smi: suspensions in a side table; lifecycle status and date on the device

The CPL rule's suspension moves out of smi_devices into smi_suspensions (decision 0009): suspending
millions of devices then writes narrow rows instead of rewriting the 54-million-row table.
smi_devices.smi_status / status_date become lifecycle_status / lifecycle_date (the status apart from
suspension); a device stored as Suspended (7) becomes an open suspension, its lifecycle status the one
it had before (status_before_suspension, which goes).

Revision ID: a7d3c1e9b2f4
Revises: 8c373928e578
Create Date: 2026-11-21 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = 'a7d3c1e9b2f4'
down_revision = '8c373928e578'
branch_labels = None
depends_on = None

ROW_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table(
        'smi_suspensions',
        sa.Column('device_id', ROW_ID, autoincrement=False, nullable=False),
        sa.Column('since', sa.Date(), nullable=False),
        sa.Column('until', sa.Date(), nullable=True),
        sa.Column('extract_sequence', sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint('device_id', name=op.f('pk_smi_suspensions')),
    )
    op.drop_index('ix_smi_devices_suspended_model', table_name='smi_devices')
    op.execute("INSERT INTO smi_suspensions (device_id, since, until, extract_sequence) "
               "SELECT device_id, status_date, NULL, NULL FROM smi_devices WHERE smi_status = 7")
    op.execute("UPDATE smi_devices SET smi_status = COALESCE(status_before_suspension, 1) WHERE smi_status = 7")
    op.execute("ALTER TABLE smi_devices RENAME COLUMN smi_status TO lifecycle_status")
    op.execute("ALTER TABLE smi_devices RENAME COLUMN status_date TO lifecycle_date")
    op.execute("ALTER TABLE smi_devices DROP COLUMN status_before_suspension")


def downgrade() -> None:
    op.execute("ALTER TABLE smi_devices ADD COLUMN status_before_suspension SMALLINT")
    op.execute("ALTER TABLE smi_devices RENAME COLUMN lifecycle_date TO status_date")
    op.execute("ALTER TABLE smi_devices RENAME COLUMN lifecycle_status TO smi_status")
    op.execute("UPDATE smi_devices SET status_before_suspension = smi_status, smi_status = 7 "
               "WHERE device_id IN (SELECT device_id FROM smi_suspensions WHERE until IS NULL)")
    op.create_index('ix_smi_devices_suspended_model', 'smi_devices', ['device_model_id'], unique=False,
                    sqlite_where=sa.text('smi_status = 7'), postgresql_where=sa.text('smi_status = 7'))
    op.drop_table('smi_suspensions')
