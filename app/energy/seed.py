"""Demo data of the energy services: each station's time-of-use tariff table, a month of
daily peak demand per transformer, and a draft push campaign.  Repeatable: nothing twice."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models.energy import DemandReading, PushCampaign, StationTariff
from app.models.org import Station, Transformer

# yuan/kWh: sharp, peak, flat, valley (typical Zhejiang time-of-use prices)
TARIFFS = {
    "residential": ("0.5683", "0.5683", "0.5383", "0.2883"),
    "non_residential": ("1.2430", "1.0012", "0.6421", "0.2770"),
    "large_industry": ("1.1356", "0.9185", "0.5860", "0.2585"),
    "agricultural": ("0.7830", "0.7830", "0.6240", "0.3120"),
}


def seed_energy(session: Session, seed: int = 2026) -> dict[str, int]:
    added = {"tariffs": 0, "readings": 0, "campaigns": 0}
    for station in session.scalars(select(Station)):
        have = set(session.scalars(select(StationTariff.customer_type).where(StationTariff.station_id == station.id)))
        for customer_type, prices in TARIFFS.items():
            if customer_type in have:
                continue
            sharp, peak, flat, valley = (Decimal(p) for p in prices)
            session.add(StationTariff(station_id=station.id, customer_type=customer_type, sharp_price=sharp,
                                      peak_price=peak, flat_price=flat, valley_price=valley))
            added["tariffs"] += 1
        if session.scalar(select(PushCampaign.id).where(PushCampaign.station_id == station.id).limit(1)) is None:
            session.add(PushCampaign(name="屋顶光伏政策宣传", station_id=station.id, criteria={"intention": "pv"},
                                     template="{name}您好：{grid}可申请分布式屋顶光伏并网，详情请咨询您的台区经理。",
                                     created_by_name="系统"))
            added["campaigns"] += 1
    rng = random.Random(seed)
    start = dt.datetime(2026, 7, 1, 12, tzinfo=dt.timezone.utc)
    with_readings = set(session.scalars(select(DemandReading.transformer_id).distinct()))
    for transformer in session.scalars(select(Transformer).order_by(Transformer.id)):
        if transformer.id in with_readings:
            continue
        load = rng.uniform(0.35, 0.85)
        for day in range(31):
            demand = Decimal(transformer.rated_kva) * Decimal(f"{load * rng.uniform(0.7, 1.0):.3f}")
            session.add(DemandReading(transformer_id=transformer.id, measured_at=start + dt.timedelta(days=day),
                                      demand_kva=demand.quantize(Decimal("0.1")), source="demo"))
            added["readings"] += 1
    session.flush()
    return added
