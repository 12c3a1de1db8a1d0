"""Province-scale data for benchmarks: many stations, a million customers with twelve months
of bills, a million orders with their timelines — written with bulk inserts (executemany in
large batches; COPY on PostgreSQL), never the ORM row by row.

Idempotent per prefix: rows are numbered, and a second run adds only what is missing.
"""

from __future__ import annotations

import datetime as dt
import time
from decimal import Decimal
from typing import Any, Callable, Iterator

from sqlalchemy import func, insert, select, text
from sqlalchemy.engine import Connection

from app import clock
from app.models.customer import Bill, Customer
from app.models.org import Company, Grid, Position, StaffProfile, Station, Team, Transformer
from app.models.workorder import Channel, DemandType, WorkOrder, WorkOrderEvent
from app.workflow.calendar import add_working_days

STATES = ["registered", "dispatched", "accepted", "resolved", "verified", "evaluated"]
CHANNELS = [c.value for c in Channel]
DEMANDS = [d.value for d in DemandType]
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华"
STREETS = ["解放路", "人民路", "中山路", "建设路", "和平路", "新华路", "文化路", "胜利路"]


def _batches(rows: Iterator[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _bulk(conn: Connection, table: Any, rows: Iterator[dict[str, Any]], size: int = 5000) -> int:
    """COPY on PostgreSQL (fastest path of the driver), executemany elsewhere."""
    total = 0
    if conn.dialect.name == "postgresql":
        raw = conn.connection.driver_connection
        for batch in _batches(rows, size * 4):
            columns = list(batch[0].keys())
            names = ", ".join(f'"{c}"' for c in columns)
            with raw.cursor() as cursor:
                with cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:
                    for row in batch:
                        copy.write_row([_pg(row[c]) for c in columns])
            total += len(batch)
        return total
    for batch in _batches(rows, size):
        conn.execute(insert(table), batch)
        total += len(batch)
    return total


def _pg(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return value


def seed_scale(conn: Connection, customers: int, orders: int, stations: int = 50,
               months: int = 12, seed: int = 7, progress: Callable[[str], None] = print) -> dict[str, Any]:
    started = time.perf_counter()
    figures: dict[str, Any] = {}
    now = clock.now().replace(microsecond=0)

    # --- organisation: stations SC001…, one team, ten grids, two transformers each ---------
    company_id = conn.scalar(select(Company.id).where(Company.code == "C-SCALE"))
    if company_id is None:
        company_id = conn.execute(insert(Company).values(code="C-SCALE", name="省级规模测试公司")
                                  .returning(Company.id)).scalar_one() if conn.dialect.name != "mysql" else None
        if company_id is None:
            conn.execute(insert(Company).values(code="C-SCALE", name="省级规模测试公司"))
            company_id = conn.scalar(select(Company.id).where(Company.code == "C-SCALE"))
    have_stations = set(conn.scalars(select(Station.code).where(Station.code.like("SC%"))))
    password = _shared_password_hash()
    role_id = conn.scalar(text("SELECT id FROM ab_role WHERE name = 'DistrictManager'"))
    leader_role_id = conn.scalar(text("SELECT id FROM ab_role WHERE name = 'TeamLeader'"))
    for s in range(1, stations + 1):
        code = f"SC{s:03d}"
        if code in have_stations:
            continue
        conn.execute(insert(Station).values(code=code, name=f"规模测试{s}号供电所", company_id=company_id))
        station_id = conn.scalar(select(Station.id).where(Station.code == code))
        conn.execute(insert(Team).values(code=f"{code}-T01", name=f"{s}号所营配班", station_id=station_id))
        team_id = conn.scalar(select(Team.id).where(Team.code == f"{code}-T01"))
        for g in range(0, 11):
            username = f"{code.lower()}_dm{g:02d}" if g else f"{code.lower()}_leader"
            conn.execute(text(
                "INSERT INTO ab_user (first_name, last_name, username, password, active, email, "
                "created_on, changed_on, login_count, fail_login_count) VALUES "
                "(:f, :l, :u, :p, :a, :e, :c, :c, 0, 0)"),
                {"f": SURNAMES[g % len(SURNAMES)], "l": "经理", "u": username, "p": password,
                 "a": True, "e": f"{username}@scale.example", "c": now.replace(tzinfo=None)})
            user_id = conn.scalar(text("SELECT id FROM ab_user WHERE username = :u"), {"u": username})
            if role_id and leader_role_id:
                conn.execute(text("INSERT INTO ab_user_role (user_id, role_id) VALUES (:u, :r)"),
                             {"u": user_id, "r": role_id if g else leader_role_id})
            conn.execute(insert(StaffProfile).values(
                user_id=user_id, name=f"{SURNAMES[(s + g) % len(SURNAMES)]}{GIVEN[g % len(GIVEN)]}",
                position=(Position.DISTRICT_MANAGER if g else Position.TEAM_LEADER).value,
                station_id=station_id, team_id=team_id, on_duty=True))
            if not g:
                continue
            staff_id = conn.scalar(select(StaffProfile.id).where(StaffProfile.user_id == user_id))
            conn.execute(insert(Grid).values(code=f"{code}-G{g:02d}", name=f"{s}所{g}号台区",
                                             station_id=station_id, team_id=team_id,
                                             district_manager_id=staff_id))
            grid_id = conn.scalar(select(Grid.id).where(Grid.code == f"{code}-G{g:02d}"))
            for t in (1, 2):
                conn.execute(insert(Transformer).values(code=f"{code}-G{g:02d}-T{t}", name=f"{t}号变",
                                                        grid_id=grid_id, rated_kva=Decimal(400)))
    grids = conn.execute(select(Grid.id, Grid.station_id, Grid.team_id, Grid.district_manager_id)
                         .where(Grid.code.like("SC%")).order_by(Grid.id)).all()
    progress(f"organisation: {stations} stations, {len(grids)} grids")

    # --- customers and bills ----------------------------------------------------------------
    existing = conn.scalar(select(func.count()).select_from(Customer).where(Customer.customer_no.like("35%"))) or 0
    t0 = time.perf_counter()

    def customer_rows() -> Iterator[dict[str, Any]]:
        for n in range(existing + 1, customers + 1):
            grid = grids[n % len(grids)]
            yield {"customer_no": f"35{n:09d}", "name": SURNAMES[n % 20] + GIVEN[(n // 20) % len(GIVEN)] + GIVEN[n % len(GIVEN)],
                   "customer_type": "residential" if n % 10 else "non_residential",
                   "phone": f"13{n % 10}{n:08d}"[-11:], "id_number": None,
                   "address": f"示范市{STREETS[n % 8]}{n % 997 + 1}号", "grid_id": grid.id,
                   "transformer_id": None, "meter_no": f"S{n:011d}", "contract_capacity_kva": Decimal(8),
                   "tariff": "居民合表", "created_at": now, "updated_at": now}

    added = _bulk(conn, Customer.__table__, customer_rows())
    figures["customers_added"] = added
    figures["customers_seconds"] = round(time.perf_counter() - t0, 1)
    progress(f"customers: +{added} in {figures['customers_seconds']} s")

    if added:
        t0 = time.perf_counter()
        ids = conn.execute(select(Customer.id).where(Customer.customer_no.like("35%"))
                           .order_by(Customer.id).offset(existing)).scalars().all()
        periods = _periods(months, now.date())

        def bill_rows() -> Iterator[dict[str, Any]]:
            for cid in ids:
                base = 150 + (cid * 7919) % 400
                for i, period in enumerate(periods):
                    total = Decimal(base + (i * 13 + cid) % 60)
                    valley = (total * Decimal("0.3")).quantize(Decimal("0.01"))
                    peak = (total * Decimal("0.45")).quantize(Decimal("0.01"))
                    yield {"customer_id": cid, "period": period, "total_kwh": total, "sharp_kwh": Decimal(0),
                           "peak_kwh": peak, "flat_kwh": total - peak - valley, "valley_kwh": valley,
                           "amount_yuan": (total * Decimal("0.538")).quantize(Decimal("0.01"))}

        figures["bills_added"] = _bulk(conn, Bill.__table__, bill_rows())
        figures["bills_seconds"] = round(time.perf_counter() - t0, 1)
        progress(f"bills: +{figures['bills_added']} in {figures['bills_seconds']} s")

    # --- orders and their timelines -------------------------------------------------------------
    have_orders = conn.scalar(select(func.count()).select_from(WorkOrder).where(WorkOrder.number.like("GS%"))) or 0
    t0 = time.perf_counter()
    staff_names = dict(conn.execute(select(StaffProfile.id, StaffProfile.name)).all())

    def order_rows() -> Iterator[dict[str, Any]]:
        for n in range(have_orders + 1, orders + 1):
            grid = grids[n % len(grids)]
            state = STATES[n % 6] if n % 7 else "registered"
            received = now - dt.timedelta(minutes=(n * 37) % (60 * 24 * 360))
            deadline = add_working_days(received, 3) if n % 50 else received + dt.timedelta(days=3)
            step = STATES.index(state)
            resolved = received + dt.timedelta(hours=20) if step >= 3 else None
            yield {"number": f"GS{n:010d}", "channel": CHANNELS[n % len(CHANNELS)],
                   "demand_type": DEMANDS[n % len(DEMANDS)], "external_id": f"S{n}",
                   "content": "规模测试工单", "station_id": grid.station_id, "team_id": grid.team_id,
                   "grid_id": grid.id, "assignee_id": grid.district_manager_id if step >= 1 else None,
                   "priority": "normal", "state": state, "sensitive": False, "supervision_level": "none",
                   "urge_count": 0, "redo_count": 0, "return_count": 0, "suspended": False,
                   "received_at": received, "registered_at": received, "updated_at": resolved or received,
                   "dispatched_at": received + dt.timedelta(hours=1) if step >= 1 else None,
                   "accepted_at": received + dt.timedelta(hours=2) if step >= 2 else None,
                   "resolved_at": resolved, "verified_at": received + dt.timedelta(hours=30) if step >= 4 else None,
                   "evaluated_at": received + dt.timedelta(hours=40) if step >= 5 else None,
                   "deadline": deadline, "deadline_working_days": 3,
                   "timely": (resolved <= deadline) if resolved else None,
                   "score": 80 + n % 21 if step >= 5 else None, "version": 1 + step}

    figures["orders_added"] = _bulk(conn, WorkOrder.__table__, order_rows())
    figures["orders_seconds"] = round(time.perf_counter() - t0, 1)
    progress(f"orders: +{figures['orders_added']} in {figures['orders_seconds']} s")

    if figures["orders_added"]:
        t0 = time.perf_counter()
        rows = conn.execute(select(WorkOrder.id, WorkOrder.state, WorkOrder.received_at, WorkOrder.assignee_id)
                            .where(WorkOrder.number.like("GS%")).order_by(WorkOrder.id).offset(have_orders))

        def event_rows() -> Iterator[dict[str, Any]]:
            for order_id, state, received, assignee in rows:
                received = received if received.tzinfo else received.replace(tzinfo=dt.timezone.utc)
                previous = None
                for i, target in enumerate(STATES[: STATES.index(state) + 1]):
                    action = "register" if i == 0 else ["dispatch", "accept", "resolve", "verify", "evaluate"][i - 1]
                    yield {"order_id": order_id, "action": action, "from_state": previous, "to_state": target,
                           "actor_id": None, "actor_name": staff_names.get(assignee, "系统") if i in (2, 3) else "系统",
                           "note": None, "data": None, "created_at": received + dt.timedelta(hours=i * 8)}
                    previous = target

        figures["events_added"] = _bulk(conn, WorkOrderEvent.__table__, event_rows())
        figures["events_seconds"] = round(time.perf_counter() - t0, 1)
        progress(f"timeline events: +{figures['events_added']} in {figures['events_seconds']} s")
    if conn.dialect.name == "postgresql":
        conn.commit()
        for table in ("customer", "customer_bill", "work_order", "work_order_event"):
            conn.execute(text(f"ANALYZE {table}"))
    figures["seconds"] = round(time.perf_counter() - started, 1)
    return figures


def _periods(months: int, today: dt.date) -> list[str]:
    year, month, out = today.year, today.month, []
    for _ in range(months):
        month -= 1
        if month == 0:
            year, month = year - 1, 12
        out.append(f"{year}{month:02d}")
    return list(reversed(out))


def _shared_password_hash() -> str:
    """The demo password in the hash production writes (``app/security/passwords.py``)."""
    import os

    from flask import current_app, has_app_context

    from app.security import passwords

    config = current_app.config if has_app_context() else {}
    return passwords.hash_password(config, os.environ.get("DEMO_PASSWORD", "GridCare#2026"))
