"""Bad input is a 4xx that names what was wrong, never a 500 (issue 14); and a real server
error is written to the application log, even after the migrations have run at start-up."""

from __future__ import annotations

import logging

import pytest

from tests.conftest import PASSWORD
from tests.factories import grid, make_customer


def test_login_api_without_provider_is_a_400_naming_provider(client):
    answer = client.post("/api/v1/security/login", json={"username": "manager1", "password": PASSWORD})
    assert answer.status_code == 400 and "provider" in answer.get_json()["message"]
    signed_in = client.post("/api/v1/security/login",
                            json={"username": "manager1", "password": PASSWORD, "provider": "db"})
    assert signed_in.status_code == 200 and signed_in.get_json()["access_token"]


@pytest.mark.parametrize("value", ["1e999999", "9" * 400, "abc", "NaN", "-Infinity", "-1", "101"])
def test_energy_analysis_threshold_beyond_range_or_not_a_number_is_a_400_naming_it(db_session, api_as, login_as,
                                                                                    value):
    answer = api_as("manager1").get("/api/v1/energy/analysis", query_string={"period": "202610", "threshold": value})
    assert answer.status_code == 400 and answer.get_json()["field"] == "threshold", answer.get_json()
    page = login_as("manager1").get("/energy/analysis", query_string={"period": "202610", "threshold": value})
    assert page.status_code == 400 and "threshold" in page.get_data(as_text=True)


@pytest.mark.parametrize("name,value", [("grid_id", "9" * 400), ("grid_id", "99999999999"), ("grid_id", "abc"),
                                        ("grid_id", "1.5")])
def test_energy_analysis_ids_beyond_range_or_not_whole_numbers_are_a_400_naming_them(api_as, login_as, name, value):
    answer = api_as("manager1").get("/api/v1/energy/analysis", query_string={"period": "202610", name: value})
    assert answer.status_code == 400 and answer.get_json()["field"] == name
    page = login_as("manager1").get("/energy/analysis", query_string={"period": "202610", name: value})
    assert page.status_code == 400 and name in page.get_data(as_text=True)


@pytest.mark.parametrize("value", ["1e999999", "abc", "-5"])
def test_customer_analysis_shift_beyond_range_or_not_a_number_is_a_400_naming_it(db_session, api_as, login_as, value):
    customer = make_customer(db_session, "ST001-G01")
    db_session.commit()
    answer = api_as("manager1").get(f"/api/v1/energy/customers/{customer.id}/analysis", query_string={"shift_kwh": value})
    assert answer.status_code == 400 and answer.get_json()["field"] == "shift_kwh"
    page = login_as("manager1").get(f"/energy/customer/{customer.id}/analysis", query_string={"shift_kwh": value})
    assert page.status_code == 400 and "shift_kwh" in page.get_data(as_text=True)


def test_capacity_screen_transformer_that_is_not_a_number_is_a_400(db_session, login_as):
    transformer = grid(db_session, "ST001-G01").transformers[0].id
    page = login_as("director1").get("/energy/capacity", query_string={"transformer_id": f"{transformer}x",
                                                                       "request_kva": "10"})
    assert page.status_code == 400 and "transformer_id" in page.get_data(as_text=True)


def test_work_order_api_limit_out_of_range_is_a_400_naming_it(api_as):
    for value in ("0", "100000", "abc", "9" * 40):
        answer = api_as("leader1").get("/api/v1/workorder/", query_string={"limit": value})
        assert answer.status_code == 400 and answer.get_json()["field"] == "limit", value


def test_a_forced_server_error_is_written_to_the_application_log(app, login_as, monkeypatch, caplog):
    # The session's app ran the Alembic migrations (whose logging set-up used to disable the
    # application's loggers) before this test.
    from app.views import order_list

    def broken(*_args, **_kwargs):
        raise RuntimeError("forced failure for the log test")

    monkeypatch.setattr(order_list, "build", broken)
    leader = login_as("leader1")
    with caplog.at_level(logging.ERROR):
        answer = leader.get("/workorderview/list/")
    assert answer.status_code == 500 and "forced failure" not in answer.get_data(as_text=True)
    logged = [r for r in caplog.records if r.levelno >= logging.ERROR and r.exc_info
              and "forced failure for the log test" in str(r.exc_info[1])]
    assert logged and "/workorderview/list/" in logged[0].getMessage()

