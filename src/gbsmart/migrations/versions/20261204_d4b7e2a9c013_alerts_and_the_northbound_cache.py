"""alerts and the northbound cache

The tables of models/alerts.py (issue 11): ingested device alerts, throttle summaries, the northbound
messages (the cache), power outages, deadline breaches and the DCC Service Alerts broadcasts.

Revision ID: d4b7e2a9c013
Revises: c7a2d5e8f301
Create Date: 2026-12-04 18:29:41.106948
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import gbsmart.core.db
from gbsmart.core.db import enum_condition

revision = 'd4b7e2a9c013'
down_revision = 'c7a2d5e8f301'
branch_labels = None
depends_on = None

ALERT_OUTCOME = ('routed', 'throttled', 'unknown_device', 'no_recipient',)
OUTBOUND_KIND = ('device_alert', 'dcc_alert', 'response',)
OUTAGE_SCOPE = ('isolated', 'wide_area',)
OUTAGE_STATE = ('lost', 'restored_early', 'reported', 'restored',)
BROADCAST_SEVERITY = ('info', 'warning', 'critical',)


def upgrade() -> None:
    op.create_table('alert_deadline_breaches',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('message_id', sa.String(length=120), nullable=False),
    sa.Column('what', sa.String(length=40), nullable=False),
    sa.Column('subject', sa.String(length=40), nullable=False),
    sa.Column('user_id', sa.String(length=23), nullable=False),
    sa.Column('due_at', gbsmart.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('delivered_at', gbsmart.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('cause', sa.Text(), nullable=False),
    sa.Column('recorded_at', gbsmart.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alert_deadline_breaches'))
    )
    with op.batch_alter_table('alert_deadline_breaches', schema=None) as batch_op:
        batch_op.create_index('ix_alert_breaches_recorded', ['recorded_at'], unique=False)

    op.create_table('alert_throttle_summaries',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('sequence_id', sa.BigInteger(), nullable=False),
    sa.Column('device_id', sa.String(length=23), nullable=False),
    sa.Column('code', sa.String(length=8), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('first_at', gbsmart.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_at', gbsmart.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('emitted_at', gbsmart.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alert_throttle_summaries')),
    sa.UniqueConstraint('sequence_id', name=op.f('uq_alert_throttle_summaries_sequence_id'))
    )
    with op.batch_alter_table('alert_throttle_summaries', schema=None) as batch_op:
        batch_op.create_index('ix_alert_throttle_device_code', ['device_id', 'code'], unique=False)

    op.create_table('alerts',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('device_id', sa.String(length=23), nullable=False),
    sa.Column('code', sa.String(length=8), nullable=False),
    sa.Column('occurred_at', gbsmart.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('received_at', gbsmart.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('csp_region', sa.String(length=20), nullable=True),
    sa.Column('outcome', sa.String(length=20), nullable=False),
    sa.Column('recipients', sa.Integer(), nullable=False),
    sa.Column('throttle_sequence_id', sa.BigInteger(), nullable=True),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.CheckConstraint(enum_condition('outcome', ALERT_OUTCOME), name=op.f('ck_alerts_outcome')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alerts'))
    )
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.create_index('ix_alerts_code_received', ['code', 'received_at'], unique=False)
        batch_op.create_index('ix_alerts_device_received', ['device_id', 'received_at'], unique=False)
        batch_op.create_index('ix_alerts_received', ['received_at'], unique=False)

    op.create_table('northbound_messages',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('message_id', sa.String(length=120), nullable=False),
    sa.Column('user_id', sa.String(length=23), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('priority', sa.String(length=40), nullable=False),
    sa.Column('code', sa.String(length=8), nullable=False),
    sa.Column('alert_id', sa.BigInteger(), nullable=True),
    sa.Column('payload', sa.Text(), nullable=False),
    sa.Column('body', sa.LargeBinary(), nullable=True),
    sa.Column('created_at', gbsmart.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('deadline_at', gbsmart.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('expires_at', gbsmart.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', gbsmart.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=False),
    sa.Column('delivered_at', gbsmart.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('expired_at', gbsmart.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('expiry_reported_at', gbsmart.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint(enum_condition('kind', OUTBOUND_KIND), name=op.f('ck_northbound_messages_kind')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_northbound_messages')),
    sa.UniqueConstraint('message_id', name=op.f('uq_northbound_messages_message_id'))
    )
    with op.batch_alter_table('northbound_messages', schema=None) as batch_op:
        batch_op.create_index('ix_northbound_deadline', ['deadline_at'], unique=False)
        batch_op.create_index('ix_northbound_pending', ['delivered_at', 'expired_at', 'user_id'], unique=False)
        batch_op.create_index('ix_northbound_user_created', ['user_id', 'created_at'], unique=False)

    op.create_table('power_outages',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('comms_hub_id', sa.String(length=23), nullable=False),
    sa.Column('mpxn', sa.String(length=20), nullable=True),
    sa.Column('distributor', sa.String(length=23), nullable=True),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('scope', sa.String(length=20), nullable=True),
    sa.Column('window_start', gbsmart.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('lost_at', gbsmart.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('restored_at', gbsmart.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('ad1_due_at', gbsmart.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ad1_message_id', sa.String(length=120), nullable=True),
    sa.Column('ad1_delivered_at', gbsmart.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('restoration_due_at', gbsmart.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('restoration_message_id', sa.String(length=120), nullable=True),
    sa.Column('restoration_delivered_at', gbsmart.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint(enum_condition('scope', OUTAGE_SCOPE), name=op.f('ck_power_outages_scope')),
    sa.CheckConstraint(enum_condition('state', OUTAGE_STATE), name=op.f('ck_power_outages_state')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_power_outages'))
    )
    with op.batch_alter_table('power_outages', schema=None) as batch_op:
        batch_op.create_index('ix_power_outages_hub_lost', ['comms_hub_id', 'lost_at'], unique=False)
        batch_op.create_index('ix_power_outages_state', ['state'], unique=False)

    op.create_table('service_broadcasts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('severity', sa.String(length=12), nullable=False),
    sa.Column('starts_at', gbsmart.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ends_at', gbsmart.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.Column('created_at', gbsmart.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint(enum_condition('severity', BROADCAST_SEVERITY), name=op.f('ck_service_broadcasts_severity')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_service_broadcasts'))
    )
    with op.batch_alter_table('service_broadcasts', schema=None) as batch_op:
        batch_op.create_index('ix_service_broadcasts_starts', ['starts_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('service_broadcasts', schema=None) as batch_op:
        batch_op.drop_index('ix_service_broadcasts_starts')

    op.drop_table('service_broadcasts')
    with op.batch_alter_table('power_outages', schema=None) as batch_op:
        batch_op.drop_index('ix_power_outages_state')
        batch_op.drop_index('ix_power_outages_hub_lost')

    op.drop_table('power_outages')
    with op.batch_alter_table('northbound_messages', schema=None) as batch_op:
        batch_op.drop_index('ix_northbound_user_created')
        batch_op.drop_index('ix_northbound_pending')
        batch_op.drop_index('ix_northbound_deadline')

    op.drop_table('northbound_messages')
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.drop_index('ix_alerts_received')
        batch_op.drop_index('ix_alerts_device_received')
        batch_op.drop_index('ix_alerts_code_received')

    op.drop_table('alerts')
    with op.batch_alter_table('alert_throttle_summaries', schema=None) as batch_op:
        batch_op.drop_index('ix_alert_throttle_device_code')

    op.drop_table('alert_throttle_summaries')
    with op.batch_alter_table('alert_deadline_breaches', schema=None) as batch_op:
        batch_op.drop_index('ix_alert_breaches_recorded')

    op.drop_table('alert_deadline_breaches')
