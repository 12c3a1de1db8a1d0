"""Customer list production (客户清单): one filter shared by the screen, the exports and
push campaigns; exports as .xlsx and CSV with Chinese headers, masked for the viewer."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session, selectinload

from app import exports
from app.models.customer import Customer, CustomerTag, CustomerType, EnergyIntention
from app.models.org import Grid
from app.security.masking import masked, refuse_personal_filters
from app.workflow.actor import Actor
from app.workflow.errors import InvalidInput

EXPORT_LIMIT = 100_000
CRITERIA = ("grid", "customer_type", "tag", "intention", "q")
TYPE_LABELS_ZH = {CustomerType.RESIDENTIAL.value: "居民", CustomerType.NON_RESIDENTIAL.value: "非居民",
                  CustomerType.LARGE_INDUSTRY.value: "大工业", CustomerType.AGRICULTURAL.value: "农业"}
HEADERS = ["户号", "户名", "用电类别", "联系电话", "用电地址", "台区编号", "变压器编号", "电表资产号",
           "合同容量(kVA)", "电价类别", "标签", "用能意向"]


def clean_criteria(raw: dict[str, Any]) -> dict[str, str]:
    criteria = {k: str(raw[k]).strip() for k in CRITERIA if raw.get(k) not in (None, "")}
    if "customer_type" in criteria:
        try:
            CustomerType(criteria["customer_type"])
        except ValueError:
            raise InvalidInput(f"unknown customer type: {criteria['customer_type']}", field="customer_type") from None
    return criteria


def filtered(criteria: dict[str, str], scope: Any) -> Select[tuple[Customer]]:
    """Customers matching ``criteria`` within ``scope`` (a SQL condition on Customer)."""
    query = select(Customer).where(scope)
    if criteria.get("grid"):
        query = query.where(Customer.grid_id.in_(select(Grid.id).where(Grid.code == criteria["grid"])))
    if criteria.get("customer_type"):
        query = query.where(Customer.customer_type == criteria["customer_type"])
    if criteria.get("tag"):
        query = query.where(Customer.tags.any(CustomerTag.code == criteria["tag"]))
    if criteria.get("intention"):
        query = query.where(Customer.intentions.any(EnergyIntention.code == criteria["intention"]))
    if criteria.get("q"):
        q = criteria["q"]
        query = query.where(or_(Customer.customer_no.startswith(q, autoescape=True),
                                Customer.name.contains(q, autoescape=True),
                                Customer.address.contains(q, autoescape=True)))
    return query.order_by(Customer.customer_no)


def list_customers(session: Session, actor: Actor, raw: dict[str, Any], limit: int = EXPORT_LIMIT) -> list[Customer]:
    refuse_personal_filters(actor, raw)
    query = filtered(clean_criteria(raw), actor.grid_clause(Customer.grid_id))
    return list(session.scalars(query.limit(limit).options(
        selectinload(Customer.grid), selectinload(Customer.transformer),
        selectinload(Customer.tags), selectinload(Customer.intentions))))


def rows(customers: list[Customer], actor: Actor) -> list[list[Any]]:
    sees = actor.sees_personal_data
    return [[
        c.customer_no, c.name, TYPE_LABELS_ZH.get(c.customer_type, c.customer_type),
        masked("phone", c.phone, sees) or "", c.address, c.grid.code,
        c.transformer.code if c.transformer else "", c.meter_no or "",
        float(c.contract_capacity_kva) if c.contract_capacity_kva is not None else "",
        c.tariff or "", "、".join(t.name for t in c.tags), "、".join(i.name for i in c.intentions),
    ] for c in customers]


def to_xlsx(customers: list[Customer], actor: Actor) -> bytes:
    return exports.to_xlsx(HEADERS, rows(customers, actor), sheet_title="客户清单")


def to_csv(customers: list[Customer], actor: Actor) -> bytes:
    return exports.to_csv(HEADERS, rows(customers, actor))
