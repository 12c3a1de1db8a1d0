"""Feedback to the source platform: every result of an externally posted order (resolved,
verified, evaluated, sent back) goes to an outbox; the feedback endpoint and the callback
delivery (``app.channels.callbacks``) read it in the order of its ``seq``.

Why a sequencer: a result is written inside the transaction of the transition, and that
transaction may commit after a later one.  A time or an id taken at insert therefore does
not grow in commit order, and a poller asking "what came after the last one I saw" would
miss a result that committed late.  ``number_results`` gives numbers only to rows that are
already committed (visible), one sequencer at a time, so numbers grow in the order rows
became visible and a cursor over them never skips."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from app.models.base import utcnow
from app.models.channel import FeedbackOutbox, FeedbackSequence
from app.models.workorder import WorkOrder
from app.workflow.actor import Actor

FEEDBACK_ACTIONS = frozenset({"resolve", "reject", "verify", "evaluate", "reopen", "callback"})
COUNTER_ID = 1
NUMBERING_BATCH = 5000


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def result_of(order: WorkOrder) -> dict[str, Any]:
    evaluation = None
    if order.score is not None or order.evaluated_at is not None:
        evaluation = {"score": order.score, "comment": order.evaluation_comment,
                      "evaluated_at": _iso(order.evaluated_at)}
    return {
        "id": order.id,
        "number": order.number,
        "external_id": order.external_id,
        "state": order.state,
        "resolution": order.resolution,
        "resolved_at": _iso(order.resolved_at),
        "timely": order.timely,
        "evaluation": evaluation,
    }


def record_feedback(session: Session, order: WorkOrder, action: str, actor: Actor,
                    params: dict[str, Any]) -> None:
    """Workflow hook: keep each result of a platform's order in the outbox (no ``seq`` yet)."""
    if action not in FEEDBACK_ACTIONS or not order.external_id:
        return
    session.add(FeedbackOutbox(order_id=order.id, channel=order.channel,
                               external_id=order.external_id, action=action, state=order.state,
                               payload=result_of(order), created_at=utcnow()))


# --- the sequencer ---------------------------------------------------------------------------
def number_results(bind: Engine | Connection) -> int:
    """Number the committed results that have none yet, in id order, after the highest
    number given so far; returns how many were numbered.

    Runs in a transaction of its own on its own connection: a caller holding a transaction
    on the same database (SQLite's write lock above all) must end it first.  The counter row
    is locked first (``FOR UPDATE``; SQLite serializes writers anyway), and only then are the
    unnumbered rows read, at READ COMMITTED, so the read sees every row committed before the
    lock was granted, including the numbers a sequencer just before this one gave."""
    engine = bind.engine if isinstance(bind, Connection) else bind
    for attempt in range(3):
        try:
            return _number_once(engine)
        except DBAPIError:
            # Two first runs creating the counter row at once (the loser retries and finds
            # it), or a deadlock victim on MariaDB: run again.
            if attempt == 2:
                raise
    return 0


def _number_once(engine: Engine) -> int:
    options: dict[str, Any] = {}
    if engine.dialect.name in ("postgresql", "mysql"):
        options["isolation_level"] = "READ COMMITTED"
    numbered = 0
    with engine.connect().execution_options(**options) as conn:
        while True:
            with conn.begin():
                last = conn.scalar(select(FeedbackSequence.last_seq)
                                   .where(FeedbackSequence.id == COUNTER_ID).with_for_update())
                if last is None:  # a database whose counter row was never made (or emptied)
                    last = conn.scalar(select(func.coalesce(func.max(FeedbackOutbox.seq), 0))) or 0
                    conn.execute(insert(FeedbackSequence).values(id=COUNTER_ID, last_seq=last))
                ids = list(conn.scalars(select(FeedbackOutbox.id).where(FeedbackOutbox.seq.is_(None))
                                        .order_by(FeedbackOutbox.id).limit(NUMBERING_BATCH)))
                if not ids:
                    return numbered
                conn.execute(update(FeedbackOutbox).where(FeedbackOutbox.id == bindparam("row_id"))
                             .values(seq=bindparam("new_seq")),
                             [{"row_id": row_id, "new_seq": last + offset}
                              for offset, row_id in enumerate(ids, start=1)])
                conn.execute(update(FeedbackSequence).where(FeedbackSequence.id == COUNTER_ID)
                             .values(last_seq=last + len(ids)))
            numbered += len(ids)
            if len(ids) < NUMBERING_BATCH:
                return numbered


# --- reading -----------------------------------------------------------------------------
def result_object(entry: FeedbackOutbox) -> dict[str, Any]:
    """One result as the feedback endpoint gives it and the callback receives it: the order's
    result as it stood after the action, the action, when, and the result's cursor (``seq``)."""
    body = dict(entry.payload) if entry.payload else result_of(entry.order)
    body.update(action=entry.action, seq=entry.seq, changed_at=_iso(entry.created_at))
    return body


@dataclass
class FeedbackPage:
    results: list[dict[str, Any]]
    cursor: int | None  # the ``after`` of the next call
    until: dt.datetime | None  # the ``since`` of the next call (the older way)


def feedback_page(session: Session, channel: str, *, after: int | None = None,
                  since: dt.datetime | None = None, limit: int = 500) -> FeedbackPage:
    """The channel's numbered results after the cursor ``after``, in number order, at most
    ``limit``; call ``number_results`` first so the newest committed results have theirs.

    The older way, ``since`` (a time), reads as it always did (by the time each result was
    recorded) and hands over to the cursor: once a page holds every result after ``since``
    its ``cursor`` is the highest number in it (or the channel's highest when it is empty);
    a page cut short by ``limit`` has none, go on with ``until``.  As before, such a page
    gives each changed order once, as it stands now."""
    query = select(FeedbackOutbox).where(FeedbackOutbox.channel == channel)
    if after is not None:
        query = query.where(FeedbackOutbox.seq > after).order_by(FeedbackOutbox.seq)
        entries = list(session.scalars(query.limit(limit)))
        return FeedbackPage(results=[result_object(entry) for entry in entries],
                            cursor=int(entries[-1].seq or 0) if entries else after,
                            until=entries[-1].created_at if entries else None)
    # The highest number first, and only results up to it: all of them with a later time
    # are then on a complete page, the others are behind the caller's time cursor.
    top = int(session.scalar(select(func.coalesce(func.max(FeedbackOutbox.seq), 0))
                             .where(FeedbackOutbox.channel == channel)) or 0)
    query = query.where(FeedbackOutbox.seq.is_not(None), FeedbackOutbox.seq <= top)
    if since is not None:
        query = query.where(FeedbackOutbox.created_at > since)
    entries = list(session.scalars(query.order_by(FeedbackOutbox.created_at, FeedbackOutbox.id)
                                   .limit(limit)))
    cursor = None if len(entries) >= limit else top
    until = entries[-1].created_at if entries else since
    results = _latest_per_order(session, channel, entries)
    return FeedbackPage(results=results, cursor=cursor, until=until)


def _latest_per_order(session: Session, channel: str,
                      entries: list[FeedbackOutbox]) -> list[dict[str, Any]]:
    seen: dict[int, dict[str, Any]] = {}
    for entry in entries:
        order = session.get(WorkOrder, entry.order_id)
        if order is None or order.channel != channel:
            continue
        body = result_of(order)
        body.update(changed_at=_iso(entry.created_at), seq=entry.seq)
        seen[order.id] = body
    return list(seen.values())


def feedback_since(session: Session, channel: str, since: dt.datetime | None,
                   limit: int = 500) -> tuple[list[dict[str, Any]], dt.datetime | None]:
    """The older reading by time (kept for its callers)."""
    page = feedback_page(session, channel, since=since, limit=limit)
    return page.results, page.until
