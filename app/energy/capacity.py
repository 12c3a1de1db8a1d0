"""Available capacity (可开放容量) per transformer and grid:
rated kVA × allowed load ratio − the highest demand recorded.

A transformer without any demand reading has an UNKNOWN available capacity (未知): it is never
shown as its full allowed capacity, never counted in a grid's total and never offered as the
best choice or as fitting a new connection."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models.energy import DemandReading
from app.models.org import Grid, Transformer
from app.workflow.actor import Actor
from app.workflow.errors import DomainError, InvalidInput, NotFound, OutOfScope

TENTH = Decimal("0.1")


class CapacityExceeded(DomainError):
    status = 409


class CapacityUnknown(DomainError):
    status = 409


def _figures(transformer: Transformer, peak: Decimal | None, ratio: Decimal) -> dict[str, Any]:
    rated = Decimal(transformer.rated_kva)
    allowed = (rated * ratio).quantize(TENTH, ROUND_HALF_UP)
    known = peak is not None
    return {"transformer_id": transformer.id, "code": transformer.code, "name": transformer.name,
            "grid_id": transformer.grid_id, "rated_kva": float(rated), "load_ratio": float(ratio),
            "allowed_kva": float(allowed), "capacity_known": known,
            "peak_demand_kva": float(Decimal(peak)) if known else None,
            "available_kva": float(allowed - Decimal(peak)) if known else None}


def _peaks(session: Session, transformer_ids: list[int]) -> dict[int, Decimal]:
    if not transformer_ids:
        return {}
    rows = session.execute(select(DemandReading.transformer_id, func.max(DemandReading.demand_kva))
                           .where(DemandReading.transformer_id.in_(transformer_ids))
                           .group_by(DemandReading.transformer_id)).all()
    return {transformer_id: peak for transformer_id, peak in rows}


def parse_ratio(value: Any) -> Decimal:
    ratio = Decimal(str(value))
    if not Decimal(0) < ratio <= Decimal(1):
        raise ValueError("CAPACITY_LOAD_RATIO must be in (0, 1]")
    return ratio


def parse_request(value: Any) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        request = Decimal(str(value))
    except Exception:
        raise InvalidInput("request_kva must be a number", field="request_kva") from None
    if not request.is_finite() or request <= 0:
        raise InvalidInput("request_kva must be positive", field="request_kva")
    return request


def transformer_capacity(session: Session, actor: Actor, transformer_id: int, ratio: Decimal,
                         request_kva: Decimal | None = None) -> dict[str, Any]:
    transformer = session.get(Transformer, transformer_id)
    if transformer is None:
        raise NotFound("no such transformer")
    if not actor.can_see_grid(transformer.grid_id, transformer.grid.station_id):
        raise OutOfScope("the transformer is outside your scope")
    figures = _figures(transformer, _peaks(session, [transformer.id]).get(transformer.id), ratio)
    if request_kva is not None:
        if not figures["capacity_known"]:
            raise CapacityUnknown(
                f"{transformer.code} has no demand readings: its available capacity is unknown; "
                f"record a reading before connecting {request_kva} kVA", field="request_kva")
        if request_kva > Decimal(str(figures["available_kva"])):
            raise CapacityExceeded(
                f"{request_kva} kVA requested on {transformer.code}, only "
                f"{figures['available_kva']} kVA available "
                f"({figures['rated_kva']} × {figures['load_ratio']} − {figures['peak_demand_kva']})",
                field="request_kva")
        figures["request_kva"] = float(request_kva)
        figures["fits"] = True
    return figures


def grid_capacity(session: Session, actor: Actor, grid_id: int, ratio: Decimal,
                  request_kva: Decimal | None = None) -> dict[str, Any]:
    grid = session.get(Grid, grid_id)
    if grid is None:
        raise NotFound("no such grid")
    if not actor.can_see_grid(grid.id, grid.station_id):
        raise OutOfScope("the grid is outside your scope")
    transformers = list(session.scalars(select(Transformer).where(Transformer.grid_id == grid.id)
                                        .order_by(Transformer.code)))
    peaks = _peaks(session, [t.id for t in transformers])
    per = [_figures(t, peaks.get(t.id), ratio) for t in transformers]
    known = [f for f in per if f["capacity_known"]]
    result: dict[str, Any] = {
        "grid_id": grid.id, "grid": grid.code, "transformers": per,
        "rated_kva": sum(f["rated_kva"] for f in per),
        "available_kva": round(sum(f["available_kva"] for f in known), 1) if known else None,
        "unknown_transformers": [f["code"] for f in per if not f["capacity_known"]],
        "best_transformer": max(known, key=lambda f: f["available_kva"])["code"] if known else None,
    }
    if request_kva is not None:
        # A new connection hangs on one transformer: it fits where one has room for all of it
        # (a transformer whose capacity is unknown is never offered).
        fitting = [f["code"] for f in known if Decimal(str(f["available_kva"])) >= request_kva]
        if not known:
            raise CapacityUnknown(f"no transformer of grid {grid.code} has demand readings: "
                                  f"its available capacity is unknown", field="request_kva")
        if not fitting:
            best = max((f["available_kva"] for f in known), default=0.0)
            raise CapacityExceeded(
                f"{request_kva} kVA requested in grid {grid.code}, at most {best} kVA available "
                f"on one transformer", field="request_kva")
        result.update(request_kva=float(request_kva), fits=True, fitting_transformers=fitting)
    return result


def station_transformers(session: Session, actor: Actor, ratio: Decimal) -> list[dict[str, Any]]:
    transformers = list(session.scalars(
        select(Transformer).join(Grid, Grid.id == Transformer.grid_id)
        .where(actor.grid_clause(Transformer.grid_id, Grid.station_id)).order_by(Transformer.code)))
    peaks = _peaks(session, [t.id for t in transformers])
    return [_figures(t, peaks.get(t.id), ratio) for t in transformers]
