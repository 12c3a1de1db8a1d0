"""Love-supermarket community points: residents earn points for reporting hazards or
helping out and redeem them for goods.  The balance never goes negative: a redemption is
one conditional UPDATE (balance >= points), so two tills cannot both spend the last points;
every entry records its reason and the balance after it."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.orm import Session

from app.models.base import utcnow
from app.models.channel import CommunityPointEntry, CommunityPointKind, CommunityResident
from app.workflow.actor import Actor
from app.workflow.errors import IllegalTransition, InvalidInput, NotFound

EARNING_KINDS = (CommunityPointKind.HAZARD_REPORT.value, CommunityPointKind.VOLUNTEERING.value,
                 CommunityPointKind.CORRECTION.value)


def _check(points: int, reason: str | None) -> str:
    if isinstance(points, bool) or not isinstance(points, int) or points <= 0:
        raise InvalidInput("points must be a positive whole number", field="points")
    if points > 100_000:
        raise InvalidInput("points must be at most 100000", field="points")
    if not reason or not reason.strip():
        raise InvalidInput("every entry needs a reason", field="reason")
    return reason.strip()[:255]


def _resident(session: Session, resident_id: int) -> CommunityResident:
    resident = session.get(CommunityResident, resident_id)
    if resident is None:
        raise NotFound(f"resident {resident_id} not found")
    return resident


def earn(session: Session, actor: Actor | None, resident_id: int, points: int, reason: str,
         kind: str = CommunityPointKind.HAZARD_REPORT.value, order_id: int | None = None) -> CommunityPointEntry:
    reason = _check(points, reason)
    if kind not in EARNING_KINDS:
        raise InvalidInput(f"points are earned by {', '.join(EARNING_KINDS)}", field="kind")
    resident = _resident(session, resident_id)
    session.execute(update(CommunityResident).where(CommunityResident.id == resident_id)
                    .values(balance=CommunityResident.balance + points)
                    .execution_options(synchronize_session=False))
    session.refresh(resident)
    return _entry(session, actor, resident, kind, points, reason, order_id)


def redeem(session: Session, actor: Actor | None, resident_id: int, points: int, reason: str) -> CommunityPointEntry:
    reason = _check(points, reason)
    resident = _resident(session, resident_id)
    result = session.execute(
        update(CommunityResident)
        .where(CommunityResident.id == resident_id, CommunityResident.balance >= points)
        .values(balance=CommunityResident.balance - points)
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        session.refresh(resident)
        raise IllegalTransition(
            f"{resident.name} has {resident.balance} points; {points} cannot be redeemed")
    session.refresh(resident)
    return _entry(session, actor, resident, CommunityPointKind.REDEMPTION.value, -points, reason, None)


def _entry(session: Session, actor: Actor | None, resident: CommunityResident, kind: str,
           points: int, reason: str, order_id: int | None) -> CommunityPointEntry:
    entry = CommunityPointEntry(
        resident_id=resident.id, supermarket_id=resident.supermarket_id, kind=kind, points=points,
        balance_after=resident.balance, reason=reason, order_id=order_id,
        created_by_id=actor.user_id if actor else None, created_at=utcnow())
    session.add(entry)
    session.flush()
    return entry
