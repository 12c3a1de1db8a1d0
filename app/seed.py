"""Demo data: one company, two stations, their teams, grids, transformers and staff, the
demo accounts of CONTRACT.md, customers with Chinese names and addresses, twelve months
of bills, and orders in every state and channel.  Running it again adds nothing twice."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from typing import Any

from faker import Faker
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from app import clock
from app.channels.seed import seed_channels
from app.models.customer import Bill, Customer, CustomerTag, CustomerType, EnergyIntention
from app.models.org import Company, Grid, Position, StaffProfile, Station, Team, Transformer
from app.models.workorder import CallbackQuestion, Channel, DemandType, WorkOrder
from app.reports.seed import seed_reports
from app.rules.seed import seed_rules
from app.workflow import service
from app.workflow.actor import (
    ADMIN,
    DISTRICT_MANAGER,
    OPERATOR,
    STATION_MANAGER,
    TEAM_LEADER,
    actor_for_user,
)

STATIONS = [("ST001", "城东供电所"), ("ST002", "城西供电所")]
TAGS = [("elderly_alone", "独居老人"), ("sensitive", "敏感客户"), ("important", "重要客户"),
        ("pv_owner", "光伏用户"), ("ev_owner", "电动汽车用户")]
INTENTIONS = [("pv", "屋顶光伏"), ("ev_charging", "电动汽车充电"), ("heat_pump", "热泵"),
              ("storage", "储能"), ("electric_cooking", "电炊")]
QUESTIONS = [("on_time", "工作人员是否按时到达？", 1, "yes_no"), ("solved", "问题是否已解决？", 2, "yes_no"),
             ("attitude", "对服务态度是否满意？", 3, "satisfaction")]

# (username, role, name, station, team, grids owned)
STAFF = [
    ("admin", ADMIN, "系统管理员", None, None, []),
    ("director1", STATION_MANAGER, "周所长", "ST001", None, []),
    ("leader1", TEAM_LEADER, "王班长", "ST001", "ST001-T01", []),
    ("manager1", DISTRICT_MANAGER, "李台区", "ST001", "ST001-T01", ["ST001-G01", "ST001-G02", "ST001-G03"]),
    ("manager2", DISTRICT_MANAGER, "张台区", "ST001", "ST001-T01", ["ST001-G04", "ST001-G05", "ST001-G06"]),
    ("manager3", DISTRICT_MANAGER, "陈台区", "ST001", "ST001-T01", []),
    ("operator1", OPERATOR, "刘受理", "ST001", None, []),
    ("director2", STATION_MANAGER, "吴所长", "ST002", None, []),
    ("leader2", TEAM_LEADER, "郑班长", "ST002", "ST002-T01", []),
    ("st2_manager1", DISTRICT_MANAGER, "孙台区", "ST002", "ST002-T01", ["ST002-G01", "ST002-G02", "ST002-G03"]),
    ("st2_manager2", DISTRICT_MANAGER, "赵台区", "ST002", "ST002-T01", ["ST002-G04", "ST002-G05", "ST002-G06"]),
    ("operator2", OPERATOR, "钱受理", "ST002", None, []),
]
POSITIONS = {ADMIN: Position.ADMIN, STATION_MANAGER: Position.STATION_MANAGER,
             TEAM_LEADER: Position.TEAM_LEADER, DISTRICT_MANAGER: Position.DISTRICT_MANAGER,
             OPERATOR: Position.OPERATOR}


def _get_or_create(session: Session, model: Any, key: dict[str, Any], **values: Any) -> Any:
    obj = session.scalar(select(model).filter_by(**key))
    if obj is None:
        obj = model(**key, **values)
        session.add(obj)
        session.flush()
    return obj


# Most demo grids are urban; one village grid and one mountain grid show the slower repair
# clocks (arrival 90 / 120 minutes).
DEMO_AREA_CLASSES = {"ST001-G06": "rural", "ST002-G06": "remote"}


def seed_organisation(session: Session) -> None:
    company = _get_or_create(session, Company, {"code": "C001"}, name="国网示范县供电公司")
    for code, name in STATIONS:
        station = _get_or_create(session, Station, {"code": code}, name=name, company_id=company.id,
                                 address=f"示范县{name[:2]}大道1号")
        team = _get_or_create(session, Team, {"code": f"{code}-T01"}, name=f"{name}营配班",
                              station_id=station.id)
        for g in range(1, 7):
            grid = _get_or_create(session, Grid, {"code": f"{code}-G{g:02d}"},
                                  name=f"{name[:2]}{g}号台区", station_id=station.id, team_id=team.id,
                                  area_class=DEMO_AREA_CLASSES.get(f"{code}-G{g:02d}", "urban"))
            for t in (1, 2):
                _get_or_create(session, Transformer, {"code": f"{grid.code}-T{t}"},
                               name=f"{grid.name}{t}号变", grid_id=grid.id,
                               rated_kva=Decimal((200, 315, 400, 630)[(g + t) % 4]))
    for code, name in TAGS:
        _get_or_create(session, CustomerTag, {"code": code}, name=name)
    for code, name in INTENTIONS:
        _get_or_create(session, EnergyIntention, {"code": code}, name=name)
    for code, text, order, kind in QUESTIONS:
        _get_or_create(session, CallbackQuestion, {"code": code}, text=text, sort_order=order, kind=kind)
    session.flush()


def seed_staff(appbuilder: Any, session: Session, password: str) -> None:
    sm = appbuilder.sm
    for username, role_name, name, station_code, team_code, grids in STAFF:
        role = sm.find_role(role_name)
        user = sm.find_user(username=username)
        if user is None:
            user = sm.add_user(username, name[:1], name[1:], f"{username}@gridcare.example",
                               role, password=password)
            if not user:
                raise RuntimeError(f"could not create user {username}")
        station = session.scalar(select(Station).where(Station.code == station_code)) if station_code else None
        team = session.scalar(select(Team).where(Team.code == team_code)) if team_code else None
        profile = _get_or_create(
            session, StaffProfile, {"user_id": user.id}, name=name,
            position=POSITIONS[role_name].value, station_id=station.id if station else None,
            team_id=team.id if team else None,
        )
        for grid_code in grids:
            grid = session.scalar(select(Grid).where(Grid.code == grid_code))
            if grid is not None and grid.district_manager_id is None:
                grid.district_manager_id = profile.id
    session.flush()


def seed_customers(session: Session, count: int, months: int = 12, seed: int = 2026) -> int:
    """Customers numbered 3300000001…; only the missing ones are added."""
    existing = session.scalar(select(func.count()).select_from(Customer)) or 0
    if existing >= count:
        return 0
    fake = Faker("zh_CN")
    Faker.seed(seed)
    rng = random.Random(seed)
    grids = list(session.scalars(select(Grid).order_by(Grid.id)))
    transformers: dict[int, list[int]] = {}
    for t in session.scalars(select(Transformer)):
        transformers.setdefault(t.grid_id, []).append(t.id)
    tags = list(session.scalars(select(CustomerTag)))
    intentions = list(session.scalars(select(EnergyIntention)))
    have = set(session.scalars(select(Customer.customer_no)))
    types = [CustomerType.RESIDENTIAL.value] * 8 + [CustomerType.NON_RESIDENTIAL.value,
                                                    CustomerType.AGRICULTURAL.value]
    periods = _last_periods(months)
    added = 0
    for n in range(1, count + 1):
        number = f"33{n:08d}"
        name, phone, address, id_number = fake.name(), fake.phone_number(), fake.address(), fake.ssn()
        ctype = types[n % len(types)] if n % 97 else CustomerType.LARGE_INDUSTRY.value
        grid = grids[n % len(grids)]
        base = rng.uniform(80, 600) if ctype == CustomerType.RESIDENTIAL.value else rng.uniform(800, 20000)
        valley_share = rng.uniform(0.15, 0.45)
        if number in have:
            continue
        customer = Customer(
            customer_no=number, name=name, customer_type=ctype, phone=phone, id_number=id_number,
            address=address.split(" ")[0], grid_id=grid.id,
            transformer_id=rng.choice(transformers[grid.id]), meter_no=f"M{n:010d}",
            contract_capacity_kva=Decimal(rng.choice((4, 8, 10, 16, 50, 100, 315))),
            tariff="居民合表" if ctype == CustomerType.RESIDENTIAL.value else "一般工商业",
        )
        if rng.random() < 0.15:
            customer.tags = rng.sample(tags, 1)
        if rng.random() < 0.2:
            customer.intentions = rng.sample(intentions, rng.randint(1, 2))
        session.add(customer)
        session.flush()
        rows = []
        for i, period in enumerate(periods):
            drift = 1 + 0.03 * (i - months / 2) / months
            total = Decimal(f"{base * drift * rng.uniform(0.85, 1.15):.2f}")
            share = min(0.7, max(0.05, valley_share + (0.12 if (n % 13 == 0 and i == months - 1) else 0)))
            valley = (total * Decimal(f"{share:.3f}")).quantize(Decimal("0.01"))
            peak = (total * Decimal("0.45")).quantize(Decimal("0.01"))
            flat = total - valley - peak
            rows.append({"customer_id": customer.id, "period": period, "total_kwh": total,
                         "sharp_kwh": Decimal(0), "peak_kwh": peak, "flat_kwh": flat,
                         "valley_kwh": valley, "amount_yuan": (total * Decimal("0.538")).quantize(Decimal("0.01"))})
        session.execute(insert(Bill), rows)
        added += 1
    return added


def _last_periods(months: int, today: dt.date | None = None) -> list[str]:
    today = today or clock.today()
    year, month = today.year, today.month
    periods = []
    for _ in range(months):
        month -= 1
        if month == 0:
            year, month = year - 1, 12
        periods.append(f"{year}{month:02d}")
    return list(reversed(periods))


_LIFECYCLE = ["registered", "dispatched", "accepted", "resolved", "verified", "evaluated"]
_CONTENTS = {
    "complaint": "客户反映近期频繁停电，影响生活，要求尽快处理。",
    "consultation": "咨询峰谷电价执行时间及申请办法。",
    "report": "反映小区配电箱门损坏，存在安全隐患。",
    "suggestion": "建议在营业厅增加自助缴费终端。",
    "opinion": "对电费账单金额有疑问，希望核实。",
    "praise": "感谢台区经理上门及时抢修。",
    "urgent": "线路断线落地，请立即处理！",
    "service": "申请上门检查家中线路及表计。",
}


def seed_orders(appbuilder: Any, session: Session, count: int, seed: int = 2026) -> int:
    """Orders in every state and channel, moved there through the workflow service."""
    from flask_appbuilder.security.sqla.models import User

    existing = session.scalar(
        select(func.count()).select_from(WorkOrder).where(WorkOrder.external_id.like("DEMO-%"))
    ) or 0
    if existing >= count:
        return 0
    rng = random.Random(seed + existing)
    users = {u.username: u for u in session.scalars(select(User))}
    actors = {name: actor_for_user(session, users[name], True) for name in
              ("operator1", "leader1", "manager1", "manager2", "operator2", "leader2",
               "st2_manager1", "st2_manager2") if name in users}
    customers = list(session.scalars(select(Customer).order_by(Customer.id).limit(500)))
    channels = [c.value for c in Channel]
    demand_types = [d.value for d in DemandType]
    now = clock.now()
    added = 0
    for n in range(existing + 1, count + 1):
        customer = rng.choice(customers)
        station_two = customer.grid.station.code == "ST002"
        operator = actors["operator2" if station_two else "operator1"]
        leader = actors["leader2" if station_two else "leader1"]
        start = now - dt.timedelta(days=rng.randint(0, 60), hours=rng.randint(0, 23))
        demand = rng.choice(demand_types)
        order = service.register_order(
            session, operator, channel=channels[n % len(channels)], demand_type=demand,
            content=_CONTENTS[demand], customer_no=customer.customer_no,
            external_id=f"DEMO-{n:06d}", received_at=start, now=start, route=False,
        )
        target = _LIFECYCLE.index(_LIFECYCLE[n % len(_LIFECYCLE)])
        when = start
        grid = customer.grid
        manager = next((a for a in actors.values() if a.staff_id == grid.district_manager_id), None)
        steps = [
            ("dispatch", leader, {}), ("accept", manager, {}),
            ("resolve", manager, {"resolution": "已到现场处理完毕，客户确认。"}),
            ("verify", leader, {}),
            ("evaluate", leader, {"timeliness": rng.randint(80, 100), "quality": rng.randint(75, 100),
                                  "attitude": rng.randint(85, 100), "comment": "处理及时"}),
        ]
        for action, actor, params in steps[:target]:
            if actor is None:
                break
            when = when + dt.timedelta(hours=rng.randint(1, 30))
            service.perform(session, actor, order.id, action, params, now=min(when, now))
        added += 1
        if n % 50 == 0:
            session.commit()
    session.commit()
    return added


def seed_demo(appbuilder: Any, session: Session, customers: int, orders: int, password: str) -> dict[str, int]:
    from app.security.access import sync_roles

    sync_roles(appbuilder)
    seed_organisation(session)
    seed_staff(appbuilder, session, password)
    seed_rules(session)
    session.commit()
    added_customers = seed_customers(session, customers)
    session.commit()
    added_orders = seed_orders(appbuilder, session, orders)
    from app.jobs.seed import seed_jobs  # jobs domain: default job definitions, an announcement

    seed_jobs(session)
    seed_channels(session)
    from app.energy.seed import seed_energy; seed_energy(session); session.commit()  # noqa: E702
    seed_reports(session)
    return {"customers": added_customers, "orders": added_orders}
