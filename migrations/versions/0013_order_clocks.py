"""milestone clocks: clock targets, each order's clocks, the grid's area class, the arrival
position, and SLA warnings keyed by clock

Revision ID: 0013_order_clocks
Revises: 0012_statutory_calendar

Existing orders get their completion clock (and source clock) from the deadlines they already
carry; the clock targets are seeded with State Grid's published commitments (the same as
``app.workflow.clocks.DEFAULT_TARGETS``, copied here so this file never changes with the code).
"""

import sqlalchemy as sa
from alembic import op

import app.models.base

revision = "0013_order_clocks"
down_revision = "0012_statutory_calendar"
branch_labels = None
depends_on = None

# (demand_type, kind, area_class, amount, unit, round_the_clock)
DEFAULT_TARGETS = [
    ("complaint", "contact", "any", 1, "working_days", False),
    ("complaint", "completion", "any", 7, "working_days", False),
    ("consultation", "contact", "any", 1, "working_days", False),
    ("report", "contact", "any", 1, "working_days", False),
    ("opinion", "contact", "any", 1, "working_days", False),
    ("suggestion", "contact", "any", 1, "working_days", False),
    ("urgent", "arrival", "urban", 45, "minutes", True),
    ("urgent", "arrival", "rural", 90, "minutes", True),
    ("urgent", "arrival", "remote", 120, "minutes", True),
    ("urgent", "restoration", "urban", 3, "hours", True),
    ("urgent", "restoration", "rural", 4, "hours", True),
    ("urgent", "restoration", "remote", 5, "hours", True),
]


def upgrade() -> None:
    target = op.create_table(
        "clock_target",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("demand_type", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("area_class", sa.String(length=16), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("unit", sa.String(length=16), nullable=False),
        sa.Column("round_the_clock", sa.Boolean(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("note", sa.String(length=255), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("demand_type", "kind", "area_class", name="uq_clock_target_type_kind_area"),
    )
    op.bulk_insert(target, [
        {"demand_type": d, "kind": k, "area_class": a, "amount": n, "unit": u, "round_the_clock": r,
         "active": True, "note": None}
        for d, k, a, n, u, r in DEFAULT_TARGETS
    ])

    op.create_table(
        "work_order_clock",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=True),
        sa.Column("unit", sa.String(length=16), nullable=True),
        sa.Column("round_the_clock", sa.Boolean(), nullable=False),
        sa.Column("deadline", app.models.base.UTCDateTime(), nullable=True),
        sa.Column("met_at", app.models.base.UTCDateTime(), nullable=True),
        sa.Column("timely", sa.Boolean(), nullable=True),
        sa.ForeignKeyConstraint(["order_id"], ["work_order.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("order_id", "kind", name="uq_work_order_clock_order_kind"),
    )
    with op.batch_alter_table("work_order_clock", schema=None) as batch_op:
        batch_op.create_index("ix_work_order_clock_order_id", ["order_id"], unique=False)
        batch_op.create_index("ix_work_order_clock_kind_met", ["kind", "met_at"], unique=False)

    with op.batch_alter_table("org_grid", schema=None) as batch_op:
        batch_op.add_column(sa.Column("area_class", sa.String(length=16), nullable=False,
                                      server_default="urban"))
    with op.batch_alter_table("work_order", schema=None) as batch_op:
        batch_op.add_column(sa.Column("arrival_latitude", sa.Numeric(9, 6), nullable=True))
        batch_op.add_column(sa.Column("arrival_longitude", sa.Numeric(9, 6), nullable=True))
    with op.batch_alter_table("sla_warning", schema=None) as batch_op:
        batch_op.add_column(sa.Column("clock", sa.String(length=16), nullable=False,
                                      server_default="completion"))
        batch_op.drop_constraint("uq_sla_warning_order_level", type_="unique")
        batch_op.create_unique_constraint("uq_sla_warning_order_clock_level", ["order_id", "clock", "level"])

    # Existing orders: the completion clock is the deadline they carry, met when resolved.
    order = sa.table(
        "work_order", sa.column("id", sa.Integer), sa.column("deadline", app.models.base.UTCDateTime()),
        sa.column("source_deadline", app.models.base.UTCDateTime()), sa.column("resolved_at", app.models.base.UTCDateTime()),
        sa.column("timely", sa.Boolean), sa.column("deadline_hours", sa.Integer),
        sa.column("deadline_working_days", sa.Integer),
    )
    clock = sa.table(
        "work_order_clock", sa.column("order_id", sa.Integer), sa.column("kind", sa.String),
        sa.column("amount", sa.Integer), sa.column("unit", sa.String), sa.column("round_the_clock", sa.Boolean),
        sa.column("deadline", app.models.base.UTCDateTime()), sa.column("met_at", app.models.base.UTCDateTime()),
        sa.column("timely", sa.Boolean),
    )
    columns = ["order_id", "kind", "amount", "unit", "round_the_clock", "deadline", "met_at", "timely"]
    op.execute(clock.insert().from_select(columns, sa.select(
        order.c.id, sa.literal("completion"),
        sa.func.coalesce(order.c.deadline_hours, order.c.deadline_working_days),
        sa.case((order.c.deadline_hours.is_not(None), sa.literal("hours")), else_=sa.literal("working_days")),
        sa.false(), order.c.deadline, order.c.resolved_at,
        sa.case((order.c.resolved_at.is_(None), sa.null()), else_=order.c.timely),
    ).where(order.c.deadline.is_not(None))))
    op.execute(clock.insert().from_select(columns, sa.select(
        order.c.id, sa.literal("source"), sa.null(), sa.null(), sa.false(), order.c.source_deadline,
        order.c.resolved_at,
        sa.case((order.c.resolved_at.is_(None), sa.null()),
                else_=sa.case((order.c.resolved_at <= order.c.source_deadline, sa.true()), else_=sa.false())),
    ).where(order.c.source_deadline.is_not(None))))


def downgrade() -> None:
    op.execute("DELETE FROM sla_warning WHERE clock <> 'completion'")
    with op.batch_alter_table("sla_warning", schema=None) as batch_op:
        batch_op.drop_constraint("uq_sla_warning_order_clock_level", type_="unique")
        batch_op.create_unique_constraint("uq_sla_warning_order_level", ["order_id", "level"])
        batch_op.drop_column("clock")
    # Plain ALTER TABLE … DROP COLUMN (SQLite ≥ 3.35), never SQLite's copy-and-drop: with
    # foreign keys on, dropping the old work_order would cascade-delete every order's
    # timeline, and dropping org_grid would be refused.
    with op.batch_alter_table("work_order", schema=None, recreate="never") as batch_op:
        batch_op.drop_column("arrival_longitude")
        batch_op.drop_column("arrival_latitude")
    with op.batch_alter_table("org_grid", schema=None, recreate="never") as batch_op:
        batch_op.drop_column("area_class")
    with op.batch_alter_table("work_order_clock", schema=None) as batch_op:
        batch_op.drop_index("ix_work_order_clock_kind_met")
        batch_op.drop_index("ix_work_order_clock_order_id")
    op.drop_table("work_order_clock")
    op.drop_table("clock_target")
