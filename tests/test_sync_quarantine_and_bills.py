"""Quarantined rows are viewed, corrected and re-played in the browser; bills sync the same
way as the archive (upsert by customer and period, bad rows quarantined, re-runs idle)."""

from __future__ import annotations

import csv
import datetime as dt
from decimal import Decimal

from sqlalchemy import select

from app.models.customer import Bill, Customer
from app.models.jobs import JobRun
from app.models.sync import QuarantinedRow
from tests.conftest import csrf_from
from tests.test_sync_customers import ZH_HEADER, good_row, summary_of, sync, write_archive


def _write(path, header, rows, encoding="gbk"):  # type: ignore[no-untyped-def]
    with path.open("w", encoding=encoding, newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def test_admin_corrects_a_quarantined_row_and_replays_it(app, db_session, login_as, tmp_path):
    bad = good_row(7)
    bad[3] = "1380013"  # a phone number cut short
    path = _write(tmp_path / "archive.csv", ZH_HEADER, [good_row(6), bad])
    assert summary_of(sync(app, "customers", str(path)).output)["quarantined"] == 1
    item = db_session.scalar(select(QuarantinedRow))

    admin = login_as("admin")
    listing = admin.get("/quarantinedrowview/list/").get_data(as_text=True)
    assert "invalid phone: 1380013" in listing
    page = admin.get(f"/quarantinedrowview/show/{item.id}").get_data(as_text=True)
    assert 'value="客户7号"' in page and "1380013" in page  # the form holds the row's fields
    fields = {"csrf_token": csrf_from(page), **dict(zip(
        ["customer_no", "name", "customer_type", "phone", "id_number", "address", "grid_code",
         "transformer_code", "meter_no", "contract_capacity_kva", "tariff", "updated_at"], bad))}

    still_bad = admin.post(f"/quarantinedrowview/replay/{item.id}", data=fields)
    assert "invalid phone" in still_bad.get_data(as_text=True)
    db_session.rollback()
    assert db_session.scalar(select(Customer).where(Customer.customer_no == bad[0])) is None

    fields["phone"] = "13800138000"
    done = admin.post(f"/quarantinedrowview/replay/{item.id}", data=fields)
    assert done.status_code == 302
    db_session.rollback()
    customer = db_session.scalar(select(Customer).where(Customer.customer_no == bad[0]))
    assert customer.phone == "13800138000" and customer.name == "客户7号"
    assert db_session.get(QuarantinedRow, item.id).status == "replayed"


BILL_HEADER = ["户号", "账期", "总电量", "尖电量", "峰电量", "平电量", "谷电量", "电费金额"]


def test_bills_sync_upserts_by_customer_and_period(app, db_session, tmp_path):
    write_archive(tmp_path / "archive.csv", 20)
    assert sync(app, "customers", str(tmp_path / "archive.csv")).exit_code == 0
    rows = [[good_row(n)[0], "202610", "320.5", "0", "150", "100.5", "70", "172.43"] for n in range(1, 11)]
    rows.append(["35999999999", "202610", "10", "0", "5", "3", "2", "5.38"])  # not in the archive
    rows.append([good_row(1)[0], "2026-13", "10", "0", "5", "3", "2", "5.38"])  # bad period
    rows.append([good_row(2)[0], "202610", "很多", "0", "5", "3", "2", "5.38"])  # not a number
    path = _write(tmp_path / "电费.csv", BILL_HEADER, rows)

    first = sync(app, "bills", str(path))
    assert first.exit_code == 0, first.output
    assert summary_of(first.output) == {"read": 13, "inserted": 10, "updated": 0, "unchanged": 0,
                                        "quarantined": 3}
    reasons = set(db_session.scalars(select(QuarantinedRow.reason)))
    assert reasons == {"unknown customer: 35999999999", "bad period (YYYYMM expected): 202613",
                       "total_kwh is not a number: 很多"}
    assert summary_of(sync(app, "bills", str(path)).output)["unchanged"] == 10

    rows[0][7] = "180.00"
    changed = sync(app, "bills", str(_write(tmp_path / "电费2.csv", BILL_HEADER, rows)))
    assert summary_of(changed.output)["updated"] == 1
    db_session.rollback()
    bill = db_session.scalar(select(Bill).join(Customer).where(Customer.customer_no == good_row(1)[0]))
    assert bill.amount_yuan == Decimal("180.00") and bill.valley_kwh == Decimal("70.00")


def test_the_inbox_job_syncs_waiting_exports_and_files_them_away(app, db_session, tmp_path):
    from app.jobs import runner
    from app.jobs.scheduler import ensure_default_jobs

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    write_archive(inbox / "customers-20261129.csv", 150)
    _write(inbox / "bills-202610.csv", BILL_HEADER,
           [[good_row(n)[0], "202610", "100", "0", "40", "30", "30", "53.80"] for n in range(1, 6)])
    _write(inbox / "customers-broken.csv", ["户号", "户名"], [["3500000000001", "某某"]])
    (inbox / "readme.txt").write_text("not an export")
    ensure_default_jobs(db_session)
    app.config["SYNC_INBOX_DIR"] = str(inbox)
    try:
        runner.bind_app(app)
        runner.run_definition("sync_inbox", scheduled_at=dt.datetime(2026, 11, 29, 1, 0, tzinfo=dt.timezone.utc))
    finally:
        app.config["SYNC_INBOX_DIR"] = str(tmp_path / "nowhere")
    db_session.rollback()
    run = db_session.scalar(select(JobRun).where(JobRun.job_name == "sync_inbox"))
    assert run.outcome == "success", run.error
    assert run.counts["files"] == 2 and run.counts["rejected_files"] == 1
    assert run.counts["inserted"] == 148 + 5 and run.counts["quarantined"] == 2
    assert sorted(p.name for p in inbox.iterdir() if p.is_file()) == ["readme.txt"]
    assert len(list((inbox / "done").iterdir())) == 2 and len(list((inbox / "rejected").iterdir())) == 1
