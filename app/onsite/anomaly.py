"""Box–meter relationship anomalies (箱表关系异常): registered → rectified → verified.

Each step is stamped with who and when and written to the anomaly's timeline.  A team
leader (or above) verifies; a verification that fails sends the anomaly back to registered.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.documents.store import DocumentStore, Upload
from app.models.base import utcnow
from app.models.document import OwnerType
from app.models.onsite import AnomalyEvent, AnomalyState as S, MeterBoxAnomaly
from app.models.notification import Notification
from app.models.org import Grid, Position, StaffProfile
from app.onsite.service import _grid_in_scope, _required, score_work
from app.workflow.actor import LEADERS, Actor
from app.workflow.errors import Forbidden, IllegalTransition, InvalidInput, NotFound, OutOfScope


def _event(session: Session, anomaly: MeterBoxAnomaly, actor: Actor, action: str, from_state: str | None,
           to_state: str, note: str | None, now: dt.datetime) -> None:
    session.add(AnomalyEvent(anomaly=anomaly, action=action, from_state=from_state, to_state=to_state,
                             actor_name=actor.display_name, note=note, created_at=now))


def load(session: Session, actor: Actor, anomaly_id: int) -> MeterBoxAnomaly:
    anomaly = session.get(MeterBoxAnomaly, anomaly_id)
    if anomaly is None:
        raise NotFound("no such anomaly")
    if not actor.can_see_grid(anomaly.grid_id, anomaly.station_id):
        raise OutOfScope("the anomaly is outside your scope")
    return anomaly


def register(session: Session, actor: Actor, *, grid_id: int, meter_box_no: str, meter_no: str,
             expected: str, found: str, photos: list[Upload] | None = None,
             store: DocumentStore | None = None, now: dt.datetime | None = None) -> MeterBoxAnomaly:
    now = now or utcnow()
    grid = _grid_in_scope(session, actor, grid_id)
    anomaly = MeterBoxAnomaly(
        grid_id=grid.id, station_id=grid.station_id, meter_box_no=_required(meter_box_no, "meter_box_no", 32),
        meter_no=_required(meter_no, "meter_no", 32), expected=_required(expected, "expected"),
        found=_required(found, "found"), state=S.REGISTERED.value, registered_at=now,
        registered_by_name=actor.display_name,
    )
    session.add(anomaly)
    session.flush()
    _event(session, anomaly, actor, "register", None, S.REGISTERED.value, None, now)
    if photos:
        assert store is not None
        store.attach(session, actor, photos, owner_type=OwnerType.ANOMALY.value, owner_id=anomaly.id,
                     grid_id=anomaly.grid_id, station_id=anomaly.station_id)
    session.flush()
    return anomaly


def rectify(session: Session, actor: Actor, anomaly_id: int, record: str,
            photos: list[Upload] | None = None, store: DocumentStore | None = None,
            now: dt.datetime | None = None) -> MeterBoxAnomaly:
    now = now or utcnow()
    anomaly = load(session, actor, anomaly_id)
    if anomaly.state != S.REGISTERED.value:
        raise IllegalTransition(f"an anomaly in state {anomaly.state} cannot be rectified")
    text = _required(record, "record", 4000)
    anomaly.state, anomaly.rectified_at = S.RECTIFIED.value, now
    anomaly.rectified_by_name, anomaly.rectification = actor.display_name, text
    _event(session, anomaly, actor, "rectify", S.REGISTERED.value, S.RECTIFIED.value, text, now)
    _tell_team_leaders(session, anomaly, now)
    # Rectified once for points: a failed verification sends it back, the next rectification
    # of the same anomaly earns nothing more (its source already holds live points).
    score_work(session, actor, "anomaly", anomaly.id, now, photos, f"箱表异常 {anomaly.meter_box_no}")
    if photos:
        assert store is not None
        store.attach(session, actor, photos, owner_type=OwnerType.ANOMALY.value, owner_id=anomaly.id,
                     grid_id=anomaly.grid_id, station_id=anomaly.station_id)
    session.flush()
    return anomaly


def _tell_team_leaders(session: Session, anomaly: MeterBoxAnomaly, now: dt.datetime) -> None:
    """A rectification waits for a team leader: put it on the bell list of the grid's leaders."""
    grid = session.get(Grid, anomaly.grid_id)
    if grid is None or grid.team_id is None:
        return
    leaders = session.scalars(select(StaffProfile.user_id).where(StaffProfile.team_id == grid.team_id)
                              .where(StaffProfile.position == Position.TEAM_LEADER.value))
    for user_id in leaders:
        session.add(Notification(user_id=user_id, kind="anomaly_rectified",
                                 title=f"箱表关系异常已整改，待核实：{anomaly.meter_box_no}/{anomaly.meter_no}",
                                 body=anomaly.rectification, link=f"/meterboxanomalyview/show/{anomaly.id}",
                                 created_at=now))


def verify(session: Session, actor: Actor, anomaly_id: int, accepted: bool = True, note: str | None = None,
           now: dt.datetime | None = None) -> MeterBoxAnomaly:
    now = now or utcnow()
    if not actor.has_any(LEADERS):
        raise Forbidden("only a team leader or the station manager verifies a rectification")
    anomaly = load(session, actor, anomaly_id)
    if anomaly.state != S.RECTIFIED.value:
        raise IllegalTransition(f"an anomaly in state {anomaly.state} cannot be verified")
    if accepted:
        anomaly.state, anomaly.verified_at, anomaly.verified_by_name = S.VERIFIED.value, now, actor.display_name
        _event(session, anomaly, actor, "verify", S.RECTIFIED.value, S.VERIFIED.value, note, now)
    else:
        if not (note or "").strip():
            raise InvalidInput("say why the rectification is not accepted", field="note")
        anomaly.state = S.REGISTERED.value
        _event(session, anomaly, actor, "reject", S.RECTIFIED.value, S.REGISTERED.value, note, now)
    session.flush()
    return anomaly


def counts_by_grid(session: Session, actor: Actor) -> list[dict[str, object]]:
    """Per grid in scope: how many anomalies are open (registered), rectified, verified."""
    rows = session.execute(
        select(Grid.code, MeterBoxAnomaly.state, func.count())
        .join(Grid, Grid.id == MeterBoxAnomaly.grid_id)
        .where(actor.grid_clause(MeterBoxAnomaly.grid_id, MeterBoxAnomaly.station_id))
        .group_by(Grid.code, MeterBoxAnomaly.state).order_by(Grid.code)
    ).all()
    table: dict[str, dict[str, object]] = {}
    for code, state, count in rows:
        entry = table.setdefault(code, {"grid": code, **{s.value: 0 for s in S}})
        entry[state] = count
    return list(table.values())
