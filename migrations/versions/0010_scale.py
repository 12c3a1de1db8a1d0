"""scale: indexes of the list screens at province scale; merges the domains' heads

A grid manager's and a station director's order lists are filtered by state and sorted by
deadline: (grid_id, state, deadline) replaces (grid_id, state), whose prefix it covers, and
(station_id, state, deadline) lets PostgreSQL read a director's first page in deadline order.

Revision ID: 0010_scale
Revises: 0003_channels, 0004_rules, 0005_energy, 0006_jobs, 0007_reports, 0008_security
"""
from alembic import op


revision = "0010_scale"
down_revision = ("0003_channels", "0004_rules", "0005_energy", "0006_jobs", "0007_reports", "0008_security")
branch_labels = None
depends_on = None


def upgrade():
    # Create first, drop after: MySQL keeps an index on grid_id for its foreign key.
    with op.batch_alter_table("work_order", schema=None) as batch_op:
        batch_op.create_index("ix_work_order_grid_state_deadline", ["grid_id", "state", "deadline"], unique=False)
        batch_op.create_index("ix_work_order_station_state_deadline", ["station_id", "state", "deadline"],
                              unique=False)
        batch_op.drop_index("ix_work_order_grid_state")


def downgrade():
    with op.batch_alter_table("work_order", schema=None) as batch_op:
        batch_op.create_index("ix_work_order_grid_state", ["grid_id", "state"], unique=False)
        batch_op.drop_index("ix_work_order_station_state_deadline")
        batch_op.drop_index("ix_work_order_grid_state_deadline")
