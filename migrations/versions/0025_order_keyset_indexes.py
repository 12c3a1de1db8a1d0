"""work orders: an index per scope column that ends in the id, for keyset pages (issue 18)

A district manager's page ``(grid_id = g OR assignee_id = s) ORDER BY id DESC`` had no index in
that order: the database walked the primary key backwards and filtered, and read every order
newer than the manager's newest (a million rows after a big station's load). Each value of the
scope is now read newest first from one of these (``app.workflow.pages``):

- ``ix_work_order_station_id_id`` (station_id, id), ``ix_work_order_team_id_id`` (team_id, id),
  ``ix_work_order_grid_id_id`` (grid_id, id), ``ix_work_order_assignee_id_id`` (assignee_id, id).

Revision ID: 0025_order_keyset_indexes
Revises: 0024_redundant_order_indexes
"""

from alembic import op

revision = "0025_order_keyset_indexes"
down_revision = "0024_redundant_order_indexes"
branch_labels = None
depends_on = None

SCOPE_COLUMNS = ("station_id", "team_id", "grid_id", "assignee_id")


def upgrade() -> None:
    with op.batch_alter_table("work_order") as batch_op:
        for column in SCOPE_COLUMNS:
            batch_op.create_index(f"ix_work_order_{column}_id", [column, "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("work_order") as batch_op:
        for column in reversed(SCOPE_COLUMNS):
            batch_op.drop_index(f"ix_work_order_{column}_id")
