"""job runs: index (job_name, scheduled_at) for the previous-tick lookup of every run

Revision ID: 0011_job_run_ticks
Revises: 0010_scale
"""

from alembic import op

revision = "0011_job_run_ticks"
down_revision = "0010_scale"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("job_run", schema=None) as batch_op:
        batch_op.create_index("ix_job_run_job_scheduled", ["job_name", "scheduled_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("job_run", schema=None) as batch_op:
        batch_op.drop_index("ix_job_run_job_scheduled")
