"""statutory calendar as data (calendar_year, calendar_day) seeded from chinesecalendar;
work_order.deadline_provisional

Revision ID: 0012_statutory_calendar
Revises: 0011_job_run_ticks
"""

import datetime as dt

import sqlalchemy as sa
from alembic import op

revision = "0012_statutory_calendar"
down_revision = "0011_job_run_ticks"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "calendar_year",
        sa.Column("year", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("complete", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("source", sa.String(32), nullable=False, server_default="admin"),
        sa.Column("completed_at", sa.DateTime(), nullable=True),
        sa.Column("completed_by_id", sa.Integer(), sa.ForeignKey("ab_user.id"), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "calendar_day",
        sa.Column("day", sa.Date(), primary_key=True),
        sa.Column("year", sa.Integer(), sa.ForeignKey("calendar_year.year", ondelete="CASCADE"), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("name", sa.String(64), nullable=True),
    )
    op.create_index("ix_calendar_day_year", "calendar_day", ["year"])
    with op.batch_alter_table("work_order", schema=None) as batch_op:
        batch_op.add_column(sa.Column("deadline_provisional", sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
        batch_op.create_index("ix_work_order_deadline_provisional", ["deadline_provisional"], unique=False)
    _seed_from_chinesecalendar()


def _seed_from_chinesecalendar() -> None:
    """Every year the installed chinesecalendar covers, marked complete (its source named)."""
    from app.workflow.calendar_data import package_arrangements

    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    years = sa.table("calendar_year", sa.column("year", sa.Integer), sa.column("complete", sa.Boolean),
                     sa.column("source", sa.String), sa.column("completed_at", sa.DateTime),
                     sa.column("updated_at", sa.DateTime))
    days = sa.table("calendar_day", sa.column("day", sa.Date), sa.column("year", sa.Integer),
                    sa.column("kind", sa.String), sa.column("name", sa.String))
    arrangements = package_arrangements()
    op.bulk_insert(years, [{"year": year, "complete": True, "source": "chinesecalendar",
                            "completed_at": now, "updated_at": now} for year in sorted(arrangements)])
    op.bulk_insert(days, [{"day": day, "year": year, "kind": kind, "name": name}
                          for year, entries in sorted(arrangements.items())
                          for day, kind, name in entries])


def downgrade() -> None:
    with op.batch_alter_table("work_order", schema=None) as batch_op:
        batch_op.drop_index("ix_work_order_deadline_provisional")
        batch_op.drop_column("deadline_provisional")
    op.drop_index("ix_calendar_day_year", table_name="calendar_day")
    op.drop_table("calendar_day")
    op.drop_table("calendar_year")
