"""The customer archive's "name contains" at province scale: on PostgreSQL a fragment of two
characters or more is found through the bigram index (migration 0023), with exactly the rows
the ILIKE alone finds, on every database."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import text

from tests.factories import make_customer

NAMES = ["杨秀英", "李杨秀", "杨 秀", "秀杨", "YANG Xiu", "yang xiuying", "王小明", "杨秀%", "杨_秀"]


def _listed(client, fragment: str) -> set[str]:
    response = client.get("/customerview/list/", query_string={"_flt_2_name": fragment, "psize_CustomerView": 100})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    return {name for name in NAMES if re.search(rf">\s*{re.escape(name)}\s*<", page)}


def test_name_contains_finds_exactly_what_the_ilike_finds(app, db_session, login_as):
    for name in NAMES:
        make_customer(db_session, name=name)
    admin = login_as("admin")
    assert _listed(admin, "杨秀") == {"杨秀英", "李杨秀", "杨秀%"}
    assert _listed(admin, "秀") == {"杨秀英", "李杨秀", "杨 秀", "秀杨", "杨秀%", "杨_秀"}
    assert _listed(admin, "xiu") == {"YANG Xiu", "yang xiuying"}  # case as ILIKE: ignored
    assert _listed(admin, "Xiuy") == {"yang xiuying"}
    assert _listed(admin, "杨秀英子") == set()
    # FAB's ILIKE takes % and _ as wildcards; the pairs are not used then, the ILIKE decides.
    assert _listed(admin, "杨%秀") == {"杨秀英", "李杨秀", "杨 秀", "杨秀%", "杨_秀"}
    assert _listed(admin, "杨_秀") == {"杨 秀", "杨_秀"}


@pytest.mark.databases("postgresql")
def test_name_contains_reads_the_bigram_index_on_postgresql(app, db_session, login_as):
    from tests.test_list_query_counts import _statements

    make_customer(db_session, name="杨秀英")
    admin = login_as("admin")
    statements = [s for s in _statements(app, admin, "/customerview/list/?_flt_2_name=杨秀")
                  if "FROM customer" in s and "gridcare_bigrams" in s]
    assert statements, "the list's statements do not use the name's character pairs"
    db_session.execute(text("SET LOCAL enable_seqscan = off"))
    plan = "\n".join(db_session.execute(text(
        "EXPLAIN SELECT id FROM customer WHERE gridcare_bigrams(name) @> gridcare_bigrams('杨秀') "
        "AND name ILIKE '%杨秀%'")).scalars())
    db_session.rollback()
    assert "ix_customer_name_bigrams" in plan


@pytest.mark.databases("postgresql")
def test_statements_run_again_are_prepared_but_planned_for_their_own_values(app, login_as):
    """psycopg prepares a statement after its fifth run (parsed once per connection); the
    connection plans every run for its values (``force_custom_plan``): a generic plan once
    walked the whole customer-number index for a rare name."""
    from app.extensions import db

    admin = login_as("admin")
    for _ in range(8):
        assert admin.get("/customerview/list/?_flt_2_name=杨秀").status_code == 200
    with app.app_context(), db.engine.connect() as conn:
        assert conn.exec_driver_sql("SHOW plan_cache_mode").scalar() == "force_custom_plan"
        for n in range(8):
            conn.execute(text("SELECT count(*) FROM customer WHERE name LIKE :fragment"), {"fragment": f"%{n}%"})
        prepared = conn.execute(text(
            "SELECT count(*) FROM pg_prepared_statements WHERE strpos(statement, 'FROM customer WHERE name LIKE') > 0"
            " AND generic_plans = 0 AND custom_plans >= 3")).scalar()
    assert prepared == 1
