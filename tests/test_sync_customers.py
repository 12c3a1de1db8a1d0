"""Customer archive sync from marketing-system exports: big GBK files with broken rows,
re-runs that change nothing, headers in both languages, XLSX and JSON lines."""

from __future__ import annotations

import csv
import json
from decimal import Decimal
from pathlib import Path
from typing import Iterable

import pytest
from sqlalchemy import func, select

from app.models.customer import Customer, EnergyIntention
from app.models.sync import QuarantinedRow, SyncRun

ZH_HEADER = ["户号", "户名", "用电类别", "联系电话", "证件号码", "用电地址", "台区编号",
             "变压器编号", "电表资产号", "合同容量", "电价类别", "更新时间"]
EN_HEADER = ["customer_no", "name", "customer_type", "phone", "id_number", "address", "grid_code",
             "transformer_code", "meter_no", "contract_capacity_kva", "tariff", "updated_at"]
GRIDS = [f"ST00{s}-G0{g}" for s in (1, 2) for g in range(1, 7)]
TYPES = ["居民", "居民", "非居民", "农业", "大工业"]
BROKEN_KINDS = ("missing customer number", "invalid phone", "unknown grid", "bad date",
                "wrong column count")


def good_row(n: int) -> list[str]:
    grid = GRIDS[n % len(GRIDS)]
    return [f"35{n:09d}", f"客户{n}号", TYPES[n % len(TYPES)], f"139{n:08d}", "",
            f"示范县东城路{n}号", grid, f"{grid}-T{1 + n % 2}", f"M{n:010d}", str(4 + n % 5),
            "居民合表", "2026-11-01 08:00:00"]


def broken_kind(n: int) -> int | None:
    """1 % of the rows are broken, in five kinds, evenly."""
    return (n // 100) % 5 if n % 100 == 37 else None


def write_rows(path: Path, rows: Iterable[list[str]], encoding: str = "utf-8") -> None:
    """A customer export of exactly ``rows``, under the Chinese header."""
    with path.open("w", encoding=encoding, newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(ZH_HEADER)
        writer.writerows(rows)


def write_archive(path: Path, rows: int, encoding: str = "gbk", header: list[str] = ZH_HEADER) -> dict[int, str]:
    """A customer export of ``rows`` data rows; returns {file row number: broken kind}."""
    broken: dict[int, str] = {}
    with path.open("w", encoding=encoding, newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for n in range(1, rows + 1):
            row = good_row(n)
            kind = broken_kind(n)
            if kind == 0:
                row[0] = ""
            elif kind == 1:
                row[3] = "12345"
            elif kind == 2:
                row[6] = "ST009-G99"
            elif kind == 3:
                row[11] = "2026-13-45 99:00:00"
            elif kind == 4:
                row = row[:-1]
            if kind is not None:
                broken[n + 1] = BROKEN_KINDS[kind]
            writer.writerow(row)
    return broken


def sync(app, *args: str):  # type: ignore[no-untyped-def]
    return app.test_cli_runner().invoke(args=["gridcare", "sync", *args])


def summary_of(output: str) -> dict[str, int]:
    found = {}
    for line in output.splitlines():
        key, _, value = line.partition(": ")
        if key in ("read", "inserted", "updated", "unchanged", "quarantined"):
            found[key] = int(value)
    return found


def test_gbk_export_with_broken_rows_loads_good_rows_quarantines_bad_ones_and_a_rerun_changes_nothing(
        app, db_session, tmp_path):
    path = tmp_path / "客户档案.csv"
    broken = write_archive(path, 100_000)
    assert len(broken) == 1000

    result = sync(app, "customers", str(path))

    assert result.exit_code == 0, result.output
    assert summary_of(result.output) == {"read": 100_000, "inserted": 99_000, "updated": 0,
                                         "unchanged": 0, "quarantined": 1000}
    assert db_session.scalar(select(func.count()).select_from(Customer)) == 99_000
    quarantined = {q.row_number: q for q in db_session.scalars(select(QuarantinedRow))}
    assert set(quarantined) == set(broken)
    for number, kind in broken.items():
        assert quarantined[number].reason.startswith(kind), (number, quarantined[number].reason)
        assert quarantined[number].raw  # the row as it was in the file
    sample = db_session.scalar(select(Customer).where(Customer.customer_no == "35000012345"))
    assert sample.name == "客户12345号" and sample.address == "示范县东城路12345号"
    assert sample.grid.code == GRIDS[12345 % 12] and sample.contract_capacity_kva == Decimal(4 + 12345 % 5)
    assert sample.customer_type == "residential"
    missing_no = quarantined[38]  # data row 37 of the file, broken kind 0
    assert missing_no.data["name"] == "客户37号"

    # A second run of the same file changes nothing.
    before = db_session.execute(
        select(func.count(), func.max(Customer.updated_at), func.sum(Customer.id)).select_from(Customer)
    ).one()
    quarantine_before = db_session.scalar(select(func.count()).select_from(QuarantinedRow))

    again = sync(app, "customers", str(path))

    assert again.exit_code == 0, again.output
    assert summary_of(again.output) == {"read": 100_000, "inserted": 0, "updated": 0,
                                        "unchanged": 99_000, "quarantined": 1000}
    db_session.rollback()
    after = db_session.execute(
        select(func.count(), func.max(Customer.updated_at), func.sum(Customer.id)).select_from(Customer)
    ).one()
    assert after == before
    assert db_session.scalar(select(func.count()).select_from(QuarantinedRow)) == quarantine_before


def test_a_changed_row_is_updated_and_the_others_left_alone(app, db_session, tmp_path):
    first = tmp_path / "a.csv"
    write_archive(first, 300, encoding="utf-8")
    assert sync(app, "customers", str(first)).exit_code == 0
    second = tmp_path / "b.csv"

    def rows():  # type: ignore[no-untyped-def]
        for n in range(1, 301):
            row = good_row(n)
            if n == 5:
                row[5] = "示范县新址路1号"
            if broken_kind(n) is None:
                yield row

    write_rows(second, rows())
    result = sync(app, "customers", str(second))
    assert summary_of(result.output) == {"read": 297, "inserted": 0, "updated": 1,
                                         "unchanged": 296, "quarantined": 0}
    moved = db_session.scalar(select(Customer).where(Customer.customer_no == "35000000005"))
    assert moved.address == "示范县新址路1号"


def test_missing_required_column_stops_the_file_before_anything_is_written(app, db_session, tmp_path):
    path = tmp_path / "no-grid.csv"
    with path.open("w", encoding="gbk", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([h for h in ZH_HEADER if h != "台区编号"])
        writer.writerow([c for i, c in enumerate(good_row(1)) if i != 6])

    result = sync(app, "customers", str(path))

    assert result.exit_code == 1
    assert "missing required column(s): 台区编号 (grid_code)" in result.output
    assert db_session.scalar(select(func.count()).select_from(Customer)) == 0
    assert db_session.scalar(select(func.count()).select_from(SyncRun)) == 0


def test_english_headers_in_utf8_with_bom_and_energy_intentions(app, db_session, tmp_path):
    path = tmp_path / "archive-en.csv"
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([*EN_HEADER, "intentions", "ignored_extra"])
        writer.writerow([*good_row(1), "pv;ev_charging", "x"])
        writer.writerow([*good_row(2), "热泵", "y"])
        writer.writerow([*good_row(3), "teleportation", "z"])
    result = sync(app, "customers", str(path))
    assert result.exit_code == 0, result.output
    assert summary_of(result.output)["inserted"] == 2
    one = db_session.scalar(select(Customer).where(Customer.customer_no == "35000000001"))
    assert sorted(i.code for i in one.intentions) == ["ev_charging", "pv"]
    bad = db_session.scalar(select(QuarantinedRow))
    assert bad.row_number == 4 and bad.reason == "unknown energy intention: teleportation"

    # The marketing system drops an intention: the link goes too.
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([*EN_HEADER, "intentions"])
        writer.writerow([*good_row(1), "pv"])
    assert summary_of(sync(app, "customers", str(path)).output)["updated"] == 1
    db_session.rollback()
    one = db_session.scalar(select(Customer).where(Customer.customer_no == "35000000001"))
    assert [i.code for i in one.intentions] == ["pv"]
    assert db_session.scalar(select(func.count()).select_from(EnergyIntention)) == 5


def test_xlsx_and_json_lines_exports_are_read_too(app, db_session, tmp_path):
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(ZH_HEADER)
    for n in range(1, 51):
        row: list = good_row(n)
        row[0] = int(row[0])  # Excel keeps customer numbers as numbers
        sheet.append(row)
    xlsx = tmp_path / "archive.xlsx"
    book.save(xlsx)
    jsonl = tmp_path / "archive.jsonl"
    with jsonl.open("w", encoding="utf-8") as handle:
        for n in range(51, 101):
            handle.write(json.dumps(dict(zip(EN_HEADER, good_row(n))), ensure_ascii=False) + "\n")
        handle.write("{not json\n")

    from_xlsx = sync(app, "customers", str(xlsx))
    from_jsonl = sync(app, "customers", str(jsonl))

    assert from_xlsx.exit_code == 0 and from_jsonl.exit_code == 0, from_xlsx.output + from_jsonl.output
    assert summary_of(from_xlsx.output)["inserted"] == 50
    assert summary_of(from_jsonl.output) == {"read": 51, "inserted": 50, "updated": 0,
                                             "unchanged": 0, "quarantined": 1}
    assert db_session.scalar(select(func.count()).select_from(Customer)) == 100
    assert db_session.scalar(select(QuarantinedRow.row_number)) == 51


def test_an_error_while_reading_ahead_fails_the_run_and_keeps_the_batches_already_committed(
        app, db_session, tmp_path, monkeypatch):
    import threading

    from app.extensions import db
    from app.jobs import sync as sync_module

    path = tmp_path / "archive.csv"

    def rows():  # type: ignore[no-untyped-def]
        for n in range(1, 1201):
            row = good_row(n)
            if n == 700:
                row[11] = "2026-11-02 08:00:00"
            yield row

    write_rows(path, rows())
    parse = sync_module.moment

    def moment(value, label):  # type: ignore[no-untyped-def]
        if value == "2026-11-02 08:00:00":
            raise RuntimeError("the disk went away")
        return parse(value, label)

    monkeypatch.setattr(sync_module, "moment", moment)

    with app.app_context(), pytest.raises(RuntimeError, match="the disk went away"):
        sync_module.run_sync(db.session, "customers", path, batch_size=500, commit_rows=500)

    run = db_session.scalar(select(SyncRun))
    assert run.status == "failed" and run.error == "the disk went away"
    assert run.last_row == 501  # the first batch (file rows 2–501) committed, nothing after it
    assert db_session.scalar(select(func.count()).select_from(Customer)) == 500
    assert not [t for t in threading.enumerate() if t.name == "sync-reader"]


@pytest.mark.databases("postgresql")
def test_a_pooled_connections_staging_twin_of_an_older_table_shape_is_made_again(db_session):
    """PostgreSQL stages each batch in a temporary twin of the staging table that a pooled
    connection keeps; a twin made before a migration changed the table's columns must not
    take the next run's COPY (which names the new columns)."""
    from sqlalchemy import text

    from app.jobs.staging import StagedBatch

    def columns(relation: str) -> list[str]:
        return list(db_session.scalars(text(
            "SELECT attname FROM pg_attribute WHERE attrelid = to_regclass(:r) AND attnum > 0 "
            "AND NOT attisdropped ORDER BY attnum"), {"r": relation}))

    shared = columns("public.sync_staging_customer")
    connection = db_session.connection()
    connection.exec_driver_sql("CREATE TEMPORARY TABLE sync_staging_customer (run_id integer, row_number integer)"
                               " ON COMMIT PRESERVE ROWS")
    assert columns("pg_temp.sync_staging_customer") == ["run_id", "row_number"]

    StagedBatch._private_twin(connection)

    assert columns("pg_temp.sync_staging_customer") == shared
    # A twin of the current shape is kept as it is (no DDL per batch): a row put in it stays.
    connection.exec_driver_sql("INSERT INTO pg_temp.sync_staging_customer (run_id, row_number, customer_no) "
                               "VALUES (1, 1, 'kept')")
    StagedBatch._private_twin(connection)
    assert db_session.scalar(text("SELECT count(*) FROM pg_temp.sync_staging_customer")) == 1
    db_session.rollback()
