"""Energy-service requests (用能服务登记): a customer's request noted on site becomes a
work order of channel ``onsite`` through the workflow service."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models.customer import EnergyIntention
from app.models.workorder import WorkOrder
from app.onsite.service import load_customer
from app.workflow import service
from app.workflow.actor import Actor
from app.workflow.errors import InvalidInput


def register_energy_service(session: Session, actor: Actor, customer_id: int, content: str,
                            intention: str | None = None) -> WorkOrder:
    customer = load_customer(session, actor, customer_id)
    if not (content or "").strip():
        raise InvalidInput("describe the requested service", field="content")
    prefix = ""
    if intention:
        found = session.scalar(select(EnergyIntention).where(EnergyIntention.code == intention))
        if found is None:
            raise InvalidInput(f"unknown energy intention: {intention}", field="intention")
        prefix = f"【{found.name}】"
        if found not in customer.intentions:
            customer.intentions.append(found)
    return service.register_order(session, actor, channel="onsite", demand_type="service",
                                  content=prefix + content.strip(), customer_no=customer.customer_no,
                                  grid_id=customer.grid_id)
