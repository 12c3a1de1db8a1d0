"""work orders: two indexes that repeat the start of another dropped (issue 18)

Every registration writes each index of ``work_order``; two of its 21 only repeat the leading
columns of another, which serves every query they served:

- ``ix_work_order_channel`` (channel) — the unique ``uq_work_order_channel_external``
  (channel, external_id) begins with the channel;
- ``ix_work_order_station_state`` (station_id, state) — ``ix_work_order_station_state_deadline``
  (station_id, state, deadline) begins with both.

Revision ID: 0024_redundant_order_indexes
Revises: 0023_customer_name_bigrams
"""

from alembic import op

revision = "0024_redundant_order_indexes"
down_revision = "0023_customer_name_bigrams"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("work_order") as batch_op:
        batch_op.drop_index("ix_work_order_channel")
        batch_op.drop_index("ix_work_order_station_state")


def downgrade() -> None:
    with op.batch_alter_table("work_order") as batch_op:
        batch_op.create_index("ix_work_order_station_state", ["station_id", "state"], unique=False)
        batch_op.create_index("ix_work_order_channel", ["channel"], unique=False)
