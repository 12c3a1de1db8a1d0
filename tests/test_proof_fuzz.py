"""Schemathesis over every operation of /api/v1/_openapi: no server errors, no schema
violations (see tests/fuzz.py).  ``FUZZ_EXAMPLES`` sets the examples per operation and caller
(the suite's default keeps the file under a minute; ``make fuzz`` runs more)."""

from __future__ import annotations

import os

from tests.conftest import api_token
from tests.factories import make_customer, make_order
from tests.fuzz import run_fuzz

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "4"))


def test_fuzzed_api_never_fails_and_always_answers_per_its_schema(app, db_session):
    from app.channels import apikeys
    from app.extensions import db

    customer = make_customer(db_session)
    make_order(db_session, customer_no=customer.customer_no, phone=customer.phone)
    db_session.commit()
    with app.app_context():
        key = apikeys.create_key(db.session, "hotline_12345", "fuzz client").plain
        db.session.commit()
    client = app.test_client()
    callers = {name: {"Authorization": f"Bearer {api_token(client, name)}"}
               for name in ("admin", "manager1")}
    figures = run_fuzz(app, callers, key, examples=EXAMPLES)
    print(figures.line())
    assert figures.operations >= 40
    assert figures.examples >= figures.operations
    assert not figures.failures, "\n\n".join(figures.failures)
