"""List arguments under attack (issue 14): Flask-AppBuilder reads any argument whose name
merely *contains* ``_flt_<n>_<column>``, ``_oc_<View>`` or ``page_…``; GridCare takes only the
exact names a list offers its viewer.  A district manager never filters or sorts customers or
work orders by a masked number, whatever the argument is called, and a bad page, page size or
sort column on any generated list is a 400 that names it."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from app.security.masking import PERSONAL_FIELDS
from tests.factories import make_customer, make_order

# Registered in this order: the phone order is neither the list's default order nor its reverse.
PHONES = ("13855550002", "13855550001", "13855550003")
ID_NUMBERS = ("330102199001010002", "330102199001010001", "330102199001010003")
CUSTOMERS = ("掩码甲", "掩码乙", "掩码丙")
LISTS = {  # view: (list url, names in the list's default order, masked columns)
    "CustomerView": ("/customerview/list/", CUSTOMERS, ("phone", "id_number")),
    "WorkOrderView": ("/workorderview/list/", CUSTOMERS[::-1], ("phone",)),  # newest first
}


@pytest.fixture
def masked_rows(db_session):
    for name, phone, id_number in zip(CUSTOMERS, PHONES, ID_NUMBERS):
        make_customer(db_session, "ST001-G01", name=name, phone=phone, id_number=id_number)
        make_order(db_session, "ST001-G01", contact_name=name, phone=phone)
    db_session.commit()


@pytest.fixture
def manager1(login_as):
    return login_as("manager1")  # signed in once per test, not once per generated example


def _shown_in_order(body: str, names: tuple[str, ...]) -> list[str]:
    return sorted((name for name in names if name in body), key=body.index)


# The rule, from Flask-AppBuilder's side: it reads any argument whose name *contains* one of
# these.  Such a name that the list does not offer its viewer is refused — 403 when it would
# filter or sort by a personal field (masked for this viewer on every list), else 400 — and any other name is ignored by both (200).
FAB_READS = re.compile(r"_flt_\d_|_oc_|_od_|page_|psize_")
FAB_FILTER = re.compile(r"_flt_\d_(.*)")


# Argument names are judged before any SQL is built, so the generated names run once, on the
# SQLite pass; the lists' queries themselves are tested on every database elsewhere.
once = pytest.mark.databases("sqlite")


def expected_for_filter(name: str, masked: tuple[str, ...]) -> int:
    if not FAB_READS.search(name):
        return 200
    found = FAB_FILTER.search(name)
    return 403 if found and found.group(1) in masked else 400


def expected_for_sort(name: str) -> int:
    # Every value sorted by here is a masked column.
    if "_oc_" in name:
        return 403
    return 400 if FAB_READS.search(name) else 200


underscores = st.text(alphabet="_", min_size=0, max_size=3)
decoration = st.text(alphabet="_xXaZ0.-", max_size=4)
casing = st.sampled_from([str, str.upper, str.title, lambda s: s[:1].upper() + s[1:]])


@st.composite
def filter_names(draw, columns):
    column = draw(casing)(draw(st.sampled_from(columns)))
    core = f"{draw(underscores)}flt{draw(underscores)}{draw(st.integers(0, 12))}{draw(underscores)}{column}"
    return draw(decoration) + core + draw(decoration)


@st.composite
def sort_names(draw, view):
    core = f"{draw(underscores)}{draw(casing)('oc')}{draw(underscores)}{view}"
    return draw(decoration) + core + draw(decoration)


@once
@pytest.mark.parametrize("view", sorted(LISTS))
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
@example(data=None)  # the probe's own names, first
def test_manager_cannot_filter_customers_or_orders_by_masked_number_under_any_argument_name(
        masked_rows, manager1, view, data):
    url, default_order, columns = LISTS[view]
    manager = manager1
    probes = ["x_flt_0_phone", "_flt_0_phone_", "a_flt_2_phone", "__flt_0_phone", "_flt_3_id_number"]
    if data is not None:
        probes = [data.draw(filter_names(columns))]
    for name in probes:
        for value in (PHONES[0], PHONES[0][:6], ID_NUMBERS[0]):
            answer = manager.get(url, query_string={name: value})
            assert answer.status_code == expected_for_filter(name, PERSONAL_FIELDS), (name, answer.status_code)
            if answer.status_code == 200:  # ignored, never applied: every row is still listed
                body = answer.get_data(as_text=True)
                assert _shown_in_order(body, default_order) == list(default_order), (name, value)
                # (the page echoes the typed value in its links; no other full number is shown)
                assert not any(number in body for number in PHONES[1:] + ID_NUMBERS[1:]), name


@once
@pytest.mark.parametrize("view", sorted(LISTS))
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
@example(data=None)
def test_manager_cannot_sort_customers_or_orders_by_masked_number_under_any_argument_name(
        masked_rows, manager1, view, data):
    url, default_order, columns = LISTS[view]
    manager = manager1
    probes = [f"a_oc_{view}", f"_oc_{view}", f"_oc_{view}_", f"__oc_{view}"]
    if data is not None:
        probes = [data.draw(sort_names(view))]
    for name in probes:
        for column in columns:
            for direction in ("asc", "desc"):
                answer = manager.get(url, query_string={name: column, f"_od_{view}": direction})
                assert answer.status_code == expected_for_sort(name), (name, answer.status_code)
                if answer.status_code == 200:  # the list keeps its own order
                    body = answer.get_data(as_text=True)
                    assert _shown_in_order(body, default_order) == list(default_order), (name, column)


def test_the_exact_masked_filter_and_sort_say_which_field_is_refused(masked_rows, login_as):
    manager = login_as("manager1")
    refused = manager.get("/customerview/list/", query_string={"x_flt_0_phone": PHONES[0]})
    assert refused.status_code == 403 and "phone" in refused.get_data(as_text=True)
    refused = manager.get("/customerview/list/", query_string={"a_oc_CustomerView": "id_number",
                                                                "_od_CustomerView": "asc"})
    assert refused.status_code == 403 and "id_number" in refused.get_data(as_text=True)


def test_a_role_with_personal_data_filters_by_phone_but_not_under_a_decorated_name(masked_rows, login_as):
    leader = login_as("leader1")
    found = leader.get("/customerview/list/", query_string={"_flt_3_phone": PHONES[1]})
    assert found.status_code == 200
    assert _shown_in_order(found.get_data(as_text=True), CUSTOMERS) == [CUSTOMERS[1]]
    assert leader.get("/customerview/list/", query_string={"x_flt_3_phone": PHONES[1]}).status_code == 400


def _generated_lists(app):
    from flask_appbuilder import ModelView

    from app.extensions import appbuilder

    with app.app_context():
        return [(view.__class__.__name__, view.route_base) for view in appbuilder.baseviews
                if isinstance(view, ModelView)]


@once
def test_bad_page_page_size_and_sort_are_a_400_naming_the_argument_on_every_generated_list(app, login_as):
    admin = login_as("admin")
    checked = 0
    for name, base in _generated_lists(app):
        for query, named in [({f"page_{name}": "two"}, f"page_{name}"),
                             ({f"psize_{name}": "x"}, f"psize_{name}"),
                             ({f"psize_{name}": "100000"}, f"psize_{name}"),
                             ({f"page_{name}": "99999999999999999999"}, f"page_{name}"),
                             ({f"xpage_{name}": "1"}, f"xpage_{name}"),
                             ({f"_oc_{name}": "no_such_column", f"_od_{name}": "asc"}, "no_such_column"),
                             ({f"_od_{name}": "sideways"}, f"_od_{name}")]:
            answer = admin.get(f"{base}/list/", query_string=query)
            assert answer.status_code == 400, (name, query, answer.status_code)
            assert named in answer.get_data(as_text=True), (name, query)
        checked += 1
    assert checked >= 40
