"""Small factories for test data: customers and orders made the way the product makes them."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from app.models.customer import Customer
from app.models.org import Grid, StaffProfile
from app.workflow import service
from app.workflow.actor import SYSTEM, actor_for_user

_numbers = itertools.count(1)


def grid(session: Any, code: str) -> Grid:
    found = session.scalar(select(Grid).where(Grid.code == code))
    assert found is not None, code
    return found


def make_customer(session: Any, grid_code: str = "ST001-G01", **values: Any) -> Customer:
    g = grid(session, grid_code)
    n = next(_numbers)
    defaults: dict[str, Any] = dict(
        customer_no=f"339{n:07d}", name=f"测试客户{n}", customer_type="residential",
        phone=f"138{n:08d}", id_number=f"33010219900101{n:04d}", address=f"示范县测试路{n}号",
        grid_id=g.id, transformer_id=g.transformers[0].id if g.transformers else None,
        contract_capacity_kva=Decimal(8),
    )
    defaults.update(values)
    customer = Customer(**defaults)
    session.add(customer)
    session.commit()
    return customer


def actor(session: Any, username: str) -> Any:
    from flask_appbuilder.security.sqla.models import User

    user = session.scalar(select(User).where(User.username == username))
    return actor_for_user(session, user, sees_personal_data=True)


def staff(session: Any, username: str) -> StaffProfile:
    from flask_appbuilder.security.sqla.models import User

    return session.scalar(select(StaffProfile).join(User, User.id == StaffProfile.user_id)
                          .where(User.username == username))


def make_order(session: Any, grid_code: str = "ST001-G01", *, channel: str = "convenience_point",
               demand_type: str = "service", content: str = "申请上门检查线路",
               received_at: dt.datetime | None = None, by: str | None = "operator1", **kw: Any) -> Any:
    who = actor(session, by) if by else SYSTEM
    order = service.register_order(session, who, channel=channel, demand_type=demand_type,
                                   content=content, grid_id=grid(session, grid_code).id,
                                   received_at=received_at, now=received_at, **kw)
    session.commit()
    return order


def advance(session: Any, order: Any, *steps: tuple[str, str, dict[str, Any]], now: Any = None) -> Any:
    for action, username, params in steps:
        order = service.perform(session, actor(session, username), order.id, action, params, now=now)
    session.commit()
    return order
