"""The audit trail: who changed which customer, order or user, when and from where."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from app.audit import AuditError, purge
from app.models.security import AuditEntry
from tests.conftest import csrf_from
from tests.factories import make_customer, make_order


def _entries(session, entity):
    session.rollback()
    return session.scalars(select(AuditEntry).where(AuditEntry.entity == entity).order_by(AuditEntry.id)).all()


def test_editing_a_customer_in_the_browser_is_audited_with_who_what_and_where(db_session, login_as):
    customer = make_customer(db_session, "ST001-G01", name="旧名字")
    admin = login_as("admin")
    form = admin.get(f"/customerview/edit/{customer.id}").get_data(as_text=True)
    admin.post(f"/customerview/edit/{customer.id}", data={
        "csrf_token": csrf_from(form), "customer_no": customer.customer_no, "name": "新名字",
        "customer_type": "residential", "phone": customer.phone, "id_number": customer.id_number,
        "address": customer.address, "grid": str(customer.grid_id), "meter_no": "", "tariff": "",
        "contract_capacity_kva": "8",
    }, environ_base={"REMOTE_ADDR": "10.1.2.3"})
    updates = [e for e in _entries(db_session, "customer") if e.operation == "update"]
    assert updates, "the edit was not audited"
    entry = updates[-1]
    assert entry.username == "admin" and entry.remote_addr == "10.1.2.3"
    assert entry.entity_id == str(customer.id) and entry.changes["name"] == ["旧名字", "新名字"]


def test_order_creation_and_transitions_are_audited(db_session, api_as):
    order = make_order(db_session)
    api_as("leader1").post(f"/api/v1/workorder/{order.id}/dispatch", json={"version": 1, "assignee": "manager1"})
    entries = _entries(db_session, "work_order")
    assert entries[0].operation == "create" and entries[0].username == "system"
    dispatch = entries[-1]
    assert dispatch.operation == "update" and dispatch.username == "leader1"
    assert dispatch.changes["state"] == ["registered", "dispatched"]


def test_user_changes_are_audited_without_secrets(db_session, login_as):
    from flask_appbuilder.security.sqla.models import User

    admin = login_as("admin")
    form = admin.get("/users/add").get_data(as_text=True)
    from flask_appbuilder.security.sqla.models import Role

    role = db_session.scalar(select(Role).where(Role.name == "Operator"))
    admin.post("/users/add", data={"first_name": "审", "last_name": "计", "username": "audited",
                                   "email": "a@example.com", "active": "y", "roles": str(role.id),
                                   "password": "Strong#Pass2026", "conf_password": "Strong#Pass2026",
                                   "csrf_token": csrf_from(form)})
    created = [e for e in _entries(db_session, "ab_user") if e.operation == "create"]
    assert created and created[-1].username == "admin"
    assert created[-1].changes["password"] == "(secret)"
    assert "Strong#Pass2026" not in str(created[-1].changes)
    user = db_session.scalar(select(User).where(User.username == "audited"))
    db_session.delete(user)
    db_session.commit()
    assert [e for e in _entries(db_session, "ab_user") if e.operation == "delete"]


def test_audit_log_is_append_only(db_session, login_as):
    make_customer(db_session)
    entry = db_session.scalar(select(AuditEntry))
    entry.username = "someone-else"
    with pytest.raises(AuditError):
        db_session.commit()
    db_session.rollback()
    db_session.delete(db_session.scalar(select(AuditEntry)))
    with pytest.raises(AuditError):
        db_session.commit()
    db_session.rollback()
    admin = login_as("admin")
    assert admin.get("/auditentryview/list/").status_code == 200
    assert admin.get(f"/auditentryview/edit/{entry.id}").status_code in (302, 403, 404, 405)
    assert admin.post(f"/auditentryview/delete/{entry.id}").status_code in (302, 400, 403, 404, 405)
    db_session.rollback()
    assert db_session.get(AuditEntry, entry.id) is not None
    assert login_as("leader1").get("/auditentryview/list/").status_code in (302, 403)


def test_retention_purge_removes_only_old_entries(db_session):
    make_customer(db_session)
    now = dt.datetime.now(dt.timezone.utc)
    assert purge(db_session, 30, now=now) == 0
    removed = purge(db_session, 30, now=now + dt.timedelta(days=31))
    db_session.commit()
    assert removed >= 1 and db_session.scalar(select(AuditEntry)) is None
