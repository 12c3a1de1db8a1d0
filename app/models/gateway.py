"""Intake across zones (queue mode), core side: how far the results relay has sent the
feedback outbox to the gateway.  The demands themselves travel through RabbitMQ; the
gateway's own tables live in its own database (``app.gateway.store``)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Integer
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Model


class IntakeRelay(Model):
    """The one cursor row of the results relay: the highest feedback ``seq`` published to
    the gateway.  Relays of several consumers lock it (``FOR UPDATE``) and take turns."""

    __tablename__ = "intake_relay"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_seq: Mapped[int] = mapped_column(BigInteger, default=0)
