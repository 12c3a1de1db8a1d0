"""Peak/valley usage analysis (峰谷用电分析).

A band's share is its kWh over the month's total kWh, in percent.  Changes are in
percentage points against the previous month and the same month a year before.  The saving
suggestion is plain arithmetic on the station's tariff: moving N kWh from peak to valley
saves N × (peak price − valley price) yuan.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models.customer import Bill, Customer
from app.models.energy import StationTariff
from app.models.org import Grid
from app.onsite.service import load_customer
from app.workflow.actor import Actor
from app.workflow.errors import InvalidInput, OutOfScope

BANDS = ("sharp", "peak", "flat", "valley")
HUNDRED = Decimal(100)
CENT = Decimal("0.01")


def previous_period(period: str, months: int = 1) -> str:
    year, month = int(period[:4]), int(period[4:])
    index = year * 12 + (month - 1) - months
    return f"{index // 12}{index % 12 + 1:02d}"


def check_period(period: str) -> str:
    if not (isinstance(period, str) and len(period) == 6 and period.isdigit() and 1 <= int(period[4:]) <= 12):
        raise InvalidInput("period must be YYYYMM", field="period")
    return period


def shares(total: Decimal, kwh: dict[str, Decimal]) -> dict[str, Decimal] | None:
    """Each band's share of the total in percent (unrounded); None for a month without use."""
    if not total:
        return None
    return {band: Decimal(kwh[band]) * HUNDRED / Decimal(total) for band in BANDS}


def _round(value: Decimal | None) -> float | None:
    return float(value.quantize(CENT, ROUND_HALF_UP)) if value is not None else None


def _diff(now: dict[str, Decimal] | None, then: dict[str, Decimal] | None) -> dict[str, float | None] | None:
    if now is None or then is None:
        return None
    return {band: _round(now[band] - then[band]) for band in BANDS}


def _months_view(by_period: dict[str, tuple[Decimal, dict[str, Decimal]]], periods: list[str]) -> list[dict[str, Any]]:
    computed = {p: shares(*by_period[p]) for p in by_period}
    months = []
    for period in periods:
        total, kwh = by_period[period]
        now = computed[period]
        months.append({
            "period": period,
            "total_kwh": float(total),
            **{f"{band}_kwh": float(kwh[band]) for band in BANDS},
            "shares": {band: _round(v) for band, v in now.items()} if now else None,
            "change_vs_previous_month": _diff(now, computed.get(previous_period(period))),
            "change_vs_last_year": _diff(now, computed.get(previous_period(period, 12))),
        })
    return months


def customer_analysis(session: Session, actor: Actor, customer_id: int, months: int = 12,
                      shift_kwh: Decimal | None = None) -> dict[str, Any]:
    customer = load_customer(session, actor, customer_id)
    bills = list(session.scalars(select(Bill).where(Bill.customer_id == customer.id)
                                 .order_by(Bill.period.desc()).limit(months + 12)))
    by_period = {b.period: (b.total_kwh, {band: getattr(b, f"{band}_kwh") or Decimal(0) for band in BANDS})
                 for b in bills}
    shown = sorted(by_period)[-months:]
    return {
        "customer_no": customer.customer_no,
        "name": customer.name,
        "months": _months_view(by_period, shown),
        "suggestion": saving_suggestion(session, customer, shift_kwh),
    }


def grid_analysis(session: Session, actor: Actor, *, period: str, grid_id: int | None = None,
                  threshold_pp: Decimal = Decimal(5), compare: str = "previous_month",
                  months: int = 12) -> dict[str, Any]:
    """Shares of a grid (or of the viewer's whole scope) by month, and the customers whose
    valley share moved by more than ``threshold_pp`` percentage points in ``period``."""
    check_period(period)
    if compare not in ("previous_month", "last_year"):
        raise InvalidInput("compare is previous_month or last_year", field="compare")
    scope = actor.grid_clause(Customer.grid_id)
    grid = None
    if grid_id is not None:
        grid = session.get(Grid, grid_id)
        if grid is None:
            raise InvalidInput("unknown grid", field="grid_id")
        if not actor.can_see_grid(grid.id, grid.station_id):
            raise OutOfScope("the grid is outside your scope")
        scope = Customer.grid_id == grid.id
    first = previous_period(period, months - 1 + 12)
    sums = session.execute(
        select(Bill.period, func.sum(Bill.total_kwh), *[func.sum(getattr(Bill, f"{b}_kwh")) for b in BANDS])
        .join(Customer, Customer.id == Bill.customer_id).where(scope)
        .where(Bill.period >= first).where(Bill.period <= period).group_by(Bill.period)
    ).all()
    by_period = {row[0]: (Decimal(row[1] or 0), {b: Decimal(row[2 + i] or 0) for i, b in enumerate(BANDS)})
                 for row in sums}
    shown = [p for p in sorted(by_period) if p >= previous_period(period, months - 1)]

    base_period = previous_period(period, 1 if compare == "previous_month" else 12)
    rows = session.execute(
        select(Customer.id, Customer.customer_no, Customer.name, Grid.code, Bill.period,
               Bill.total_kwh, Bill.valley_kwh)
        .join(Customer, Customer.id == Bill.customer_id).join(Grid, Grid.id == Customer.grid_id)
        .where(scope).where(Bill.period.in_([period, base_period]))
    ).all()
    per_customer: dict[int, dict[str, Any]] = {}
    for cid, number, name, grid_code, bill_period, total, valley in rows:
        entry = per_customer.setdefault(cid, {"customer_id": cid, "customer_no": number, "name": name,
                                              "grid": grid_code})
        if total:
            entry[bill_period] = Decimal(valley or 0) * HUNDRED / Decimal(total)
    movers = []
    for entry in per_customer.values():
        if period in entry and base_period in entry:
            change = entry[period] - entry[base_period]
            if abs(change) > threshold_pp:
                movers.append({
                    "customer_id": entry["customer_id"], "customer_no": entry["customer_no"],
                    "name": entry["name"], "grid": entry["grid"],
                    "valley_share": _round(entry[period]), "base_valley_share": _round(entry[base_period]),
                    "change_pp": _round(change),
                })
    movers.sort(key=lambda m: (-abs(m["change_pp"]), m["customer_no"]))
    return {
        "grid": grid.code if grid else None, "period": period, "compared_with": base_period,
        "threshold_pp": float(threshold_pp), "months": _months_view(by_period, shown), "movers": movers,
    }


def tariff_for(session: Session, customer: Customer) -> StationTariff | None:
    return session.scalar(select(StationTariff).where(StationTariff.station_id == customer.grid.station_id)
                          .where(StationTariff.customer_type == customer.customer_type))


def saving_suggestion(session: Session, customer: Customer, shift_kwh: Decimal | None = None) -> dict[str, Any] | None:
    """How much moving ``shift_kwh`` (default: a tenth of last month's peak use) from peak to
    valley would save a month, at the station's tariff; None without a tariff or bills."""
    tariff = tariff_for(session, customer)
    latest = session.scalar(select(Bill).where(Bill.customer_id == customer.id).order_by(Bill.period.desc()).limit(1))
    if tariff is None or latest is None:
        return None
    if shift_kwh is None:
        shift_kwh = (Decimal(latest.peak_kwh or 0) / 10).quantize(Decimal(1), ROUND_HALF_UP)
    if shift_kwh < 0:
        raise InvalidInput("the kWh to move must not be negative", field="shift_kwh")
    spread = Decimal(tariff.peak_price) - Decimal(tariff.valley_price)
    return {
        "period": latest.period,
        "shift_kwh": float(shift_kwh),
        "peak_price": float(tariff.peak_price),
        "valley_price": float(tariff.valley_price),
        "monthly_saving_yuan": float((shift_kwh * spread).quantize(CENT, ROUND_HALF_UP)),
    }
