"""Targeted push campaigns (精准推送).

``select_targets(session, campaign)`` is the one place that decides who a campaign reaches:
the customers that a targeting rule set selects (``criteria["rule_set"]``, compiled to SQL by
``app.rules.targeting``), narrowed by the simple filters of ``app.energy.customers``, within
the campaign's station.  ``run_campaign`` records one
``PushMessage`` per (campaign, customer) — the unique constraint makes a re-run, even a
concurrent one, skip customers already reached — and then hands each to the sender.

Senders are pluggable (config ``PUSH_SENDER``): ``OutboxSender`` (default) logs each message
and appends it to ``OUTBOX_DIR/sms-YYYYMMDD.jsonl``; ``SmsGatewaySender`` posts to an SMS
gateway over HTTP in production.  Both are the one SMS adapter of ``app/sms.py``.
"""

from __future__ import annotations

import datetime as dt
import logging
import string
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.energy.customers import clean_criteria, filtered
from app.sms import Sender, SmsGateway, SmsOutbox
from app.models.base import utcnow
from app.models.customer import Customer
from app.models.energy import CampaignState, DeliveryState, PushCampaign, PushMessage
from app.models.org import Grid, Station
from app.workflow.actor import ADMIN, STATION_MANAGER, Actor
from app.workflow.errors import MAX_ID, Forbidden, InvalidInput, NotFound, OutOfScope

log = logging.getLogger(__name__)
PLACEHOLDERS = ("name", "customer_no", "grid", "address")


# The one SMS adapter (app/sms.py), under the names this module has always used.
OutboxSender = SmsOutbox
SmsGatewaySender = SmsGateway


def sender_from_config(config: Any) -> Sender:
    if config.get("PUSH_SENDER") == "sms_gateway":
        return SmsGatewaySender(config.get("SMS_GATEWAY_URL", ""), config.get("SMS_GATEWAY_KEY", ""))
    return OutboxSender(config["OUTBOX_DIR"])


def _check_template(template: str) -> str:
    template = (template or "").strip()
    if not template:
        raise InvalidInput("the message template is required", field="template")
    try:
        fields = {f for _, f, _, _ in string.Formatter().parse(template) if f is not None}
    except ValueError as error:
        raise InvalidInput(f"the template is not valid: {error}", field="template") from None
    unknown = fields - set(PLACEHOLDERS)
    if unknown:
        raise InvalidInput(f"unknown placeholders: {', '.join(sorted(unknown))} "
                           f"(use {', '.join(PLACEHOLDERS)})", field="template")
    return template


def render(template: str, customer: Customer) -> str:
    return template.format(name=customer.name, customer_no=customer.customer_no,
                           grid=customer.grid.name, address=customer.address)


CAMPAIGN_ROLES = frozenset({ADMIN, STATION_MANAGER})


def _may_push(actor: Actor) -> None:
    # A campaign reaches a whole station's customers: beyond a district manager's grids.
    if not actor.has_any(CAMPAIGN_ROLES):
        raise Forbidden("only the station manager runs push campaigns")


def create_campaign(session: Session, actor: Actor, *, name: str, template: str,
                    criteria: dict[str, Any] | None = None, station_id: Any = None) -> PushCampaign:
    _may_push(actor)
    try:
        station_id = int(station_id) if station_id not in (None, "") else actor.station_id
    except (TypeError, ValueError):
        raise InvalidInput("station_id must be an integer", field="station_id") from None
    # An id beyond any row is no station (and would overflow the column on PostgreSQL).
    if station_id is None or not 1 <= station_id <= MAX_ID or session.get(Station, station_id) is None:
        raise InvalidInput("a station is required", field="station_id")
    if not actor.is_admin and station_id != actor.station_id:
        raise OutOfScope("the station is outside your scope")
    if not (name or "").strip():
        raise InvalidInput("the campaign name is required", field="name")
    cleaned: dict[str, Any] = clean_criteria(criteria or {})
    rule_set = str((criteria or {}).get("rule_set") or "").strip()
    if rule_set:
        from app.rules.store import find_rule_set

        if find_rule_set(session, "targeting", rule_set) is None:
            raise InvalidInput(f"no targeting rule set named {rule_set}", field="rule_set")
        cleaned["rule_set"] = rule_set
    campaign = PushCampaign(name=name.strip()[:128], station_id=station_id, criteria=cleaned,
                            template=_check_template(template), created_by_name=actor.display_name)
    session.add(campaign)
    session.flush()
    return campaign


def select_targets(session: Session, campaign: PushCampaign) -> Select[tuple[Customer]]:
    """The customers a campaign reaches: its targeting rule set's selection (every rule of the
    set, in SQL), narrowed by the simple filters, within the campaign's station."""
    criteria = dict(campaign.criteria or {})
    rule_set = criteria.pop("rule_set", None)
    station_grids = select(Grid.id).where(Grid.station_id == campaign.station_id)
    query = filtered(criteria, Customer.grid_id.in_(station_grids))
    if rule_set:
        from app.rules.targeting import select_customers

        grid_ids = list(session.scalars(station_grids))
        chosen: set[int] = set()
        for selection in select_customers(session, rule_set, grid_ids=grid_ids):
            chosen.update(selection.customer_ids)
        query = query.where(Customer.id.in_(sorted(chosen) or [-1]))
    return query


def load_campaign(session: Session, actor: Actor, campaign_id: int) -> PushCampaign:
    campaign = session.get(PushCampaign, campaign_id)
    if campaign is None:
        raise NotFound("no such campaign")
    if not actor.is_admin and campaign.station_id != actor.station_id:
        raise OutOfScope("the campaign is outside your scope")
    return campaign


def message_scope(actor: Actor, model: Any = PushMessage) -> Any:
    """The pushes an actor may read, on every screen and API: those to customers of the
    actor's grids.  A campaign reaches a whole station, its messages (customer names) do not
    reach every district manager of it."""
    return actor.grid_clause(model.grid_id)


def campaign_messages(session: Session, actor: Actor, campaign: PushCampaign) -> list[PushMessage]:
    return list(session.scalars(select(PushMessage).where(PushMessage.campaign_id == campaign.id,
                                                          message_scope(actor)).order_by(PushMessage.id)))


def run_campaign(session: Session, actor: Actor, campaign_id: int, sender: Sender,
                 now: dt.datetime | None = None) -> dict[str, int]:
    """Record and send the campaign's pushes.  Unlike other services this commits: each push
    is committed as pending before it is sent, so a crash never leaves a sent message
    unrecorded (a pending one is retried by the next run, a sent one never again)."""
    now = now or utcnow()
    _may_push(actor)
    campaign = load_campaign(session, actor, campaign_id)
    reached = set(session.scalars(select(PushMessage.customer_id).where(PushMessage.campaign_id == campaign.id)))
    created = skipped = 0
    for customer in session.scalars(select_targets(session, campaign)).all():
        if customer.id in reached:
            skipped += 1
            continue
        try:
            with session.begin_nested():
                session.add(PushMessage(campaign_id=campaign.id, customer_id=customer.id,
                                        grid_id=customer.grid_id, phone=customer.phone,
                                        body=render(campaign.template, customer), created_at=now))
            created += 1
        except IntegrityError:  # a concurrent run got there first
            skipped += 1
    campaign.last_run_at = now
    campaign.state = CampaignState.SENT.value
    session.commit()

    sent = failed = 0
    due = session.scalars(select(PushMessage).where(PushMessage.campaign_id == campaign.id)
                          .where(PushMessage.state.in_([DeliveryState.PENDING.value, DeliveryState.FAILED.value]))
                          .order_by(PushMessage.id)).all()
    for message in due:
        if not message.phone:
            message.state, message.error = DeliveryState.FAILED.value, "no phone number"
            failed += 1
            continue
        try:
            sender.send(message.phone, message.body)
        except Exception as error:  # any sender failure is recorded, the run goes on
            message.state, message.error, message.sender = DeliveryState.FAILED.value, str(error)[:255], sender.name
            failed += 1
        else:
            message.state, message.sent_at, message.sender, message.error = (
                DeliveryState.SENT.value, utcnow(), sender.name, None)
            sent += 1
        session.commit()
    return {"created": created, "skipped": skipped, "sent": sent, "failed": failed}
