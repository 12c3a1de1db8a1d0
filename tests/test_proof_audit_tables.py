"""The audit list names real tables, and every table holding customers, orders, users, API
keys, rules or settings is on it."""

from __future__ import annotations

from flask_appbuilder import Model

import app.models  # noqa: F401  (registers every table)
from app.audit import AUDITED_TABLES

MUST_BE_AUDITED = {
    "customer", "work_order", "ab_user", "ab_role", "ab_user_role", "ab_permission_view_role",
    "channel_api_key", "ab_api_key", "rule_set", "rule_set_version", "staff_leave",
    "energy_station_tariff", "job_definition", "report_subscription", "callback_question",
    "channel_callback",
}


def test_every_audited_name_is_a_real_table():
    assert sorted(AUDITED_TABLES - set(Model.metadata.tables)) == []


def test_customers_orders_users_keys_rules_and_settings_are_audited():
    assert sorted(MUST_BE_AUDITED - AUDITED_TABLES) == []
