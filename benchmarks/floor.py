"""The floor of an intake request on this machine: ``POST /_bench/floor`` writes what a
registration writes — the very statements and parameters of a real one, replayed through the
driver — and nothing else: no ORM, no validation, no routing, no exactly-once loop.

Each gunicorn worker, at its first floor request, registers two real demands through the
application (in-process, with the caller's API key) and records the SQL statements of the
second (the caches warm, as in the steady state: the order, its clocks, the audit entry, the
rules' firings, the timeline events, the repeat look-up under its advisory lock, the key's
use). Every floor request then replays them in one transaction on a connection this worker
holds from the application's pool (the same session settings as the intake's), with a new order number and external id and the new order's id wherever the recorded
statements name the order, and answers with a JSON receipt as the bare endpoint does.

What it shows: no implementation that keeps these writes can be faster on this server than
the floor, so ``floor ÷ bare`` is the ceiling of ``intake ÷ bare``."""

from __future__ import annotations

import itertools
import json
import os
import threading
from typing import Any

from flask import Flask, jsonify, request

_lock = threading.Lock()
_recorded: list[tuple[str, Any]] = []
_connection: list[Any] = []
_serial = itertools.count(1)
# Parameters that carry the order's id (the clocks' batch names them order_id__0, order_id__1 …).
_ORDER_ID_PREFIXES = ("order_id", "subject_id", "entity_id")


def _record(app: Flask, api_key: str) -> list[tuple[str, Any]]:
    """The statements of one registration, recorded from the application itself: each with
    its parameters (a dict), or its list of parameter dicts when it was an executemany."""
    from sqlalchemy import event

    from app.extensions import db
    from benchmarks.common import demand

    seen: list[tuple[str, Any]] = []

    def listener(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        # insertmanyvalues batches (the clocks) arrive as one dict: one execute, as here
        seen.append((statement, dict(parameters) if isinstance(parameters, dict) else [dict(p) for p in parameters]))

    client = app.test_client()
    tag = f"floor{os.getpid()}-{next(_serial)}"
    with app.app_context():
        engine = db.engine
    for n in (1, 2):  # phones of their own: neither is a repeat, as most demands are not
        seen.clear()
        if n == 2:
            event.listen(engine, "before_cursor_execute", listener)
        try:
            response = client.post("/api/v1/intake/hotline_12345", headers={"X-API-Key": api_key},
                                   json=dict(demand(n, tag), phone=f"13{n}{os.getpid() % 10**8:08d}"))
        finally:
            if n == 2:
                event.remove(engine, "before_cursor_execute", listener)
        if response.status_code != 201:
            raise RuntimeError(f"the floor's recording registration failed: {response.status_code} {response.data!r}")
    # A per-process cache refreshed by this request (the clock targets, the rules' stamp) is
    # not a registration's steady-state work: what came before the order's INSERT is left out.
    first = next((i for i, (statement, _) in enumerate(seen) if statement.startswith("INSERT INTO work_order ")), None)
    if first is None:
        raise RuntimeError(f"the floor found no INSERT of the order, recorded: {[s[:40] for s, _ in seen]}")
    return seen[first:]


def _substitute(parameters: dict[str, Any], order_id: int | None, unique: str) -> dict[str, Any]:
    values = dict(parameters)
    for name in values:
        if name in ("number", "external_id"):
            values[name] = unique
        elif order_id is not None and name.startswith(_ORDER_ID_PREFIXES):
            values[name] = str(order_id) if isinstance(values[name], str) else order_id
    return values


def install(app: Flask) -> None:
    """Registers ``POST /_bench/floor`` on ``app`` (CSRF-exempt, like the bare endpoint)."""

    @app.route("/_bench/floor", methods=["POST"])
    def floor():  # type: ignore[no-untyped-def]
        json.loads(request.get_data() or b"{}")
        with _lock:
            if not _recorded:
                _recorded.extend(_record(app, request.headers["X-API-Key"]))
                # a connection of the application's pool: the same session settings as the
                # intake's (plan_cache_mode, psycopg's preparing), held by this process
                from app.extensions import db

                with app.app_context():
                    _connection.append(db.engine.raw_connection())
        conn = _connection[0].driver_connection
        unique = f"F{os.getpid()}-{next(_serial)}"
        order_id = None
        with conn.transaction():
            for statement, parameters in _recorded:
                if isinstance(parameters, list):
                    with conn.cursor() as cursor:
                        cursor.executemany(statement, [_substitute(p, order_id, unique) for p in parameters])
                    continue
                cursor = conn.execute(statement, _substitute(parameters, order_id, unique))
                rows = cursor.fetchall() if cursor.description else []
                if order_id is None:
                    order_id = rows[0][0]
        return jsonify(id=order_id, number=unique, state="registered", worker=os.getpid())

    from app.extensions import csrf

    csrf.exempt(floor)
