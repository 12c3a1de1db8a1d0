"""`gridcare seed-scale` fills many stations quickly and can be run again."""

from __future__ import annotations

from sqlalchemy import func, select

from app.models.customer import Bill, Customer
from app.models.org import Station
from app.models.workorder import WorkOrder, WorkOrderEvent


def test_seed_scale_bulk_loads_and_is_repeatable(app, db_session, login_as):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["gridcare", "seed-scale", "--customers", "600", "--orders", "900",
                                "--stations", "3", "--months", "2"])
    assert first.exit_code == 0, first.output
    second = runner.invoke(args=["gridcare", "seed-scale", "--customers", "600", "--orders", "900",
                                 "--stations", "3", "--months", "2"])
    assert second.exit_code == 0 and "customers_added=0" in second.output and "orders_added=0" in second.output
    count = lambda q: db_session.scalar(select(func.count()).select_from(q))  # noqa: E731
    assert count(Customer) == 600 and count(Bill) == 1200 and count(WorkOrder) == 900
    assert db_session.scalar(select(func.count()).select_from(Station).where(Station.code.like("SC%"))) == 3
    assert count(WorkOrderEvent) > 900
    # A generated district manager signs in and sees only their grid's orders.
    api = login_as("sc001_dm01")
    assert api.get("/workorderview/list/").status_code == 200


import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _remove_scale_organisation(app, db_session):
    """The organisation tables are baseline for other tests: take the SC… stations away again."""
    yield
    from sqlalchemy import delete, text

    from app.models.org import Company, Grid, StaffProfile, Team, Transformer

    db_session.rollback()
    for model in (WorkOrderEvent, WorkOrder, Bill, Customer):
        db_session.execute(delete(model))
    db_session.execute(delete(Transformer).where(Transformer.code.like("SC%")))
    db_session.execute(delete(Grid).where(Grid.code.like("SC%")))
    user_ids = [row[0] for row in db_session.execute(text("SELECT id FROM ab_user WHERE email LIKE '%@scale.example'"))]
    db_session.execute(delete(StaffProfile).where(StaffProfile.user_id.in_(user_ids)))
    db_session.execute(delete(Team).where(Team.code.like("SC%")))
    db_session.execute(delete(Station).where(Station.code.like("SC%")))
    db_session.execute(delete(Company).where(Company.code == "C-SCALE"))
    if user_ids:
        ids = ",".join(str(i) for i in user_ids)
        db_session.execute(text(f"DELETE FROM ab_user_role WHERE user_id IN ({ids})"))
        db_session.execute(text(f"DELETE FROM ab_user WHERE id IN ({ids})"))
    db_session.commit()
