"""Demo data of the reports room: a monthly report subscription per demo station."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models.org import Station
from app.models.report import ReportKind, ReportScopeKind, ReportSubscription

DEMO = [("ST001", "城东供电所月度考评报告", "director1@gridcare.example\nleader1@gridcare.example"),
        ("ST002", "城西供电所月度考评报告", "director2@gridcare.example")]


def seed_reports(session: Session) -> int:
    added = 0
    for code, name, recipients in DEMO:
        station = session.scalar(select(Station).where(Station.code == code))
        if station is None or session.scalar(select(ReportSubscription).where(ReportSubscription.name == name)):
            continue
        session.add(ReportSubscription(name=name, kind=ReportKind.EVALUATION_MONTHLY.value,
                                       scope_kind=ReportScopeKind.STATION.value, station_id=station.id,
                                       recipients=recipients, active=True))
        added += 1
    session.commit()
    return added
