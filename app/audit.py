"""The audit trail: every create, update and delete of the audited tables becomes an
``AuditEntry`` in the same transaction (so an audit row exists exactly when the change does).

Audited: customers, work orders, users and roles, API keys, rules, settings.  The list is by
table name so that domains added later only need to name their tables here.  Secrets are
never copied into the log (password hashes and key hashes are recorded as changed, not shown).
"""

from __future__ import annotations

import datetime as dt
import decimal
from typing import Any

from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

from app import clock
from app.models.security import AuditEntry

AUDITED_TABLES = {
    "customer", "customer_tag_link", "customer_intention_link", "work_order",
    "ab_user", "ab_role", "ab_user_role", "ab_permission_view_role",
    "callback_question", "org_station", "org_team", "org_grid", "org_staff", "org_transformer",
    # tables of later domains: API keys, rule sets, settings (the real table names, checked by
    # tests/test_proof_audit_tables.py; placeholders that named no table were dropped)
    "channel_api_key", "ab_api_key", "ab_group", "ab_user_group", "ab_group_role",
    "rule_set", "rule_set_version", "staff_leave", "energy_station_tariff",
    "job_definition", "report_subscription",
    # where results are pushed and the secret they are signed with (the lease a delivery run
    # takes is a Core UPDATE, not a change of the setting, and is not logged)
    "channel_callback",
}
PERSONAL_DATA_ACCESS = "PersonalDataAccess"
SECRET_COLUMNS = {"password", "key_hash", "secret", "token_hash"}


class AuditError(Exception):
    pass


def _plain(value: Any) -> Any:
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


def _who() -> tuple[int | None, str | None, str | None]:
    try:
        from flask import has_request_context, request

        from app.security.manager import current_staff_user

        if not has_request_context():
            return None, "system", None
        user = current_staff_user()
        address = request.headers.get("X-Forwarded-For", request.remote_addr or "")
        address = address.split(",")[0].strip() or None
        if user is None:
            return None, "anonymous", address
        return user.id, user.username, address
    except Exception:  # outside a request (CLI, jobs) or before sign-in
        return None, "system", None


def _changes(obj: Any, operation: str) -> dict[str, Any]:
    state = inspect(obj)
    changes: dict[str, Any] = {}
    for attr in state.mapper.column_attrs:
        key = attr.key
        if operation == "create":
            value = getattr(obj, key, None)
            if value is not None:
                changes[key] = "(secret)" if key in SECRET_COLUMNS else _plain(value)
        elif operation == "update":
            history = state.attrs[key].history
            if history.has_changes():
                old = history.deleted[0] if history.deleted else None
                new = history.added[0] if history.added else None
                if key in SECRET_COLUMNS:
                    changes[key] = "(changed)"
                elif _plain(old) != _plain(new):
                    changes[key] = [_plain(old), _plain(new)]
        else:
            value = getattr(obj, key, None)
            changes[key] = "(secret)" if key in SECRET_COLUMNS else _plain(value)
    for rel in state.mapper.relationships:
        if rel.secondary is not None and operation == "update":
            history = state.attrs[rel.key].history
            if history.added or history.deleted:
                changes[rel.key] = {"added": [str(o) for o in history.added],
                                    "removed": [str(o) for o in history.deleted]}
    return changes


def _entry_row(who: tuple[int | None, str | None, str | None], operation: str, entity: str,
               entity_id: str | None, changes: dict[str, Any]) -> dict[str, Any]:
    """One audit_log row: who (``_who()``), now, what was done to which entity, and how."""
    user_id, username, address = who
    return {"at": clock.now(), "user_id": user_id, "username": username, "remote_addr": address,
            "operation": operation, "entity": entity, "entity_id": entity_id, "changes": changes}


def _before_flush(session: Session, _context: Any, _instances: Any) -> None:
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, AuditEntry):
            raise AuditError("the audit log is append-only")
    pending: list[tuple[Any, str]] = []
    for obj in session.new:
        if getattr(obj, "__tablename__", None) in AUDITED_TABLES:
            pending.append((obj, "create"))
    for obj in session.dirty:
        if getattr(obj, "__tablename__", None) in AUDITED_TABLES and session.is_modified(obj):
            pending.append((obj, "update"))
    for obj in session.deleted:
        if getattr(obj, "__tablename__", None) in AUDITED_TABLES:
            pending.append((obj, "delete"))
    if not pending:
        return
    who = _who()
    session.info.setdefault("audit_pending", [])
    for obj, operation in pending:
        changes = _changes(obj, operation)
        if operation == "update" and not changes:
            continue
        # the entity's id is known once the flush has inserted it (_after_flush)
        session.info["audit_pending"].append((obj, _entry_row(who, operation, obj.__tablename__, None, changes)))


def _after_flush(session: Session, _context: Any) -> None:
    pending = session.info.pop("audit_pending", [])
    if not pending:
        return
    rows = []
    for obj, row in pending:
        identity = inspect(obj).identity
        row["entity_id"] = ",".join(str(i) for i in identity) if identity else None
        rows.append(row)
    # Inserted with the flush's own connection: same transaction as the change itself.
    session.connection().execute(AuditEntry.__table__.insert(), rows)


def creation_changes(obj: Any) -> dict[str, Any]:
    """What the audit entry of ``obj``'s creation records, read as the flush listener reads
    it (before the insert fills in defaults): for a caller that inserts ``obj`` itself."""
    return _changes(obj, "create")


def log_creation(session: Session, obj: Any, changes: dict[str, Any]) -> None:
    """The audit entry of ``obj`` inserted by its caller with a Core statement (not flushed),
    in the session's transaction: the row the flush listeners would have written."""
    identity = inspect(obj).mapper.primary_key_from_instance(obj)
    session.connection().execute(_INSERT_ENTRY, _entry_row(
        _who(), "create", obj.__tablename__, ",".join(str(i) for i in identity), changes))


_INSERT_ENTRY = AuditEntry.__table__.insert().inline()


def log_personal_data_access(session: Session, fields: dict[str, int], *, method: str, path: str) -> None:
    """One entry per request that showed full phone or ID numbers: who, when, from where,
    which kind and how many (never the numbers themselves).  Committed at once: the page
    or answer has already been given."""
    session.execute(_INSERT_ENTRY, _entry_row(
        _who(), "read", "personal_data", None,
        {"event": PERSONAL_DATA_ACCESS, "method": method, "path": path[:500], "fields": fields}))
    session.commit()


def install_personal_data_log(app: Any) -> None:
    """After each successful request that revealed full numbers (``masking.masked``), log it."""
    import logging

    from flask import g, request

    @app.after_request
    def _log_revealed(response: Any) -> Any:
        revealed = g.pop("personal_data_revealed", None)
        if revealed and response.status_code < 400:
            from app.extensions import db

            try:
                log_personal_data_access(db.session, dict(revealed), method=request.method,
                                         path=request.full_path.rstrip("?"))
            except Exception:  # the answer stands; the failure to log is itself logged
                logging.getLogger(__name__).exception("could not log a personal-data access")
                db.session.rollback()
        return response


def install() -> None:
    """Listen on every session (idempotent)."""
    if not event.contains(Session, "before_flush", _before_flush):
        event.listen(Session, "before_flush", _before_flush)
        event.listen(Session, "after_flush", _after_flush)


def purge(session: Session, retention_days: int, now: dt.datetime | None = None) -> int:
    """Delete entries older than the retention period (the only deletion ever made)."""
    from sqlalchemy import delete

    now = now or clock.now()
    cutoff = now - dt.timedelta(days=retention_days)
    result = session.execute(delete(AuditEntry).where(AuditEntry.at < cutoff))
    return result.rowcount or 0
