"""The marketing-system sync (营销2.0 → GridCare): customer archive (with energy intentions)
and monthly bills, from CSV, XLSX or JSON lines.

How a file goes through:
1. its checksum is taken and its header mapped (Chinese or English names, see the column
   declarations below); a missing required column stops the file before anything is written;
2. rows stream in; each is validated on its own; bad rows go to the quarantine table with
   their row number, raw content and reason;
3. good rows are upserted in batches by their key (customer number; customer + period),
   and rows that would not change anything are not written;
4. each batch commits together with the run's ``last_row``, so a run that is killed
   resumes after the last committed row: nothing is lost, nothing doubled.

The service knows nothing of Flask; the CLI, the inbox job and the quarantine screen call it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import queue
import re
import socket
import threading
import time
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence

from sqlalchemy import delete, insert, select, tuple_, update
from sqlalchemy.orm import Session

from app import clock
from app.jobs.readers import FileFormatError, Reader, Record
from app.jobs.staging import STAGED, StagedBatch, storage_converters
from app.models.base import utcnow
from app.models.customer import Bill, Customer, EnergyIntention, customer_intention_link, phone_keys
from app.models.org import Grid, Transformer
from app.models.sync import QuarantinedRow, QuarantineStatus, SyncRun, SyncStatus
from app.workflow.calendar import LOCAL_TZ

log = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 10_000
# SQLite commits a run's batches in groups of at least this many rows (``commit_rows``): every
# commit writes each page the batch touched to the WAL and checkpoints it back, and 10,000
# rows with random phone digests touch most leaf pages of the two digest indexes at a million
# customers (a commit per 10,000 rows was a third of a 1,000,000-row sync). PostgreSQL and
# MariaDB commit every batch.
SQLITE_COMMIT_ROWS = 100_000
# A run whose process has not written for this long is considered dead and may be resumed.
STALE_AFTER = dt.timedelta(minutes=5)


class SyncError(Exception):
    """The file cannot be synced at all (nothing has been written)."""


class InvalidRow(Exception):
    """One row is bad; its reason goes to the quarantine."""


@dataclass(frozen=True)
class Column:
    name: str
    zh: str
    required: bool = False


CUSTOMER_COLUMNS = [
    Column("customer_no", "户号", True),
    Column("name", "户名", True),
    Column("customer_type", "用电类别", True),
    Column("phone", "联系电话"),
    Column("id_number", "证件号码"),
    Column("address", "用电地址", True),
    Column("grid_code", "台区编号", True),
    Column("transformer_code", "变压器编号"),
    Column("meter_no", "电表资产号"),
    Column("contract_capacity_kva", "合同容量"),
    Column("tariff", "电价类别"),
    Column("updated_at", "更新时间"),
    Column("intentions", "用能意向"),
]

BILL_COLUMNS = [
    Column("customer_no", "户号", True),
    Column("period", "账期", True),
    Column("total_kwh", "总电量", True),
    Column("sharp_kwh", "尖电量"),
    Column("peak_kwh", "峰电量"),
    Column("flat_kwh", "平电量"),
    Column("valley_kwh", "谷电量"),
    Column("amount_yuan", "电费金额", True),
]

CUSTOMER_TYPES = {
    "居民": "residential", "非居民": "non_residential", "大工业": "large_industry",
    "农业": "agricultural", "residential": "residential", "non_residential": "non_residential",
    "large_industry": "large_industry", "agricultural": "agricultural",
}

_CUSTOMER_NO = re.compile(r"^\d{10,13}$")
_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_LANDLINE = re.compile(r"^(0\d{2,3}-?)?[2-9]\d{6,7}(-\d{1,6})?$")
_RESIDENT_ID = re.compile(r"^\d{17}[\dX]$")
_CREDIT_CODE = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}$")
_PERIOD = re.compile(r"^(\d{4})(0[1-9]|1[0-2])$")
_LIST_SPLIT = re.compile(r"[;,，、|；\s]+")
_CODE_LENGTH = 32  # of a grid's or transformer's code (app/models/org.py)
_ISO_MOMENT = re.compile(r"^\d{4}-\d{2}-\d{2}( \d{2}:\d{2}:\d{2})?$")
# The last date text parsed and its result (one tuple, replaced whole: safe across threads).
_last_moment: tuple[str, dt.datetime | None] = ("", None)


@dataclass
class Summary:
    kind: str
    filename: str
    run_id: int | None = None
    read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    quarantined: int = 0
    seconds: float = 0.0
    resumed_after_row: int = 0
    encoding: str | None = None
    file_format: str = ""

    def line(self) -> str:
        return (f"read {self.read}, inserted {self.inserted}, updated {self.updated}, "
                f"unchanged {self.unchanged}, quarantined {self.quarantined}, "
                f"{self.seconds:.1f} s")


# --- header mapping --------------------------------------------------------------------
def map_header(header: list[str], columns: list[Column]) -> dict[str, int]:
    """Canonical column name → position in the header; extra columns are ignored."""
    aliases: dict[str, str] = {}
    for column in columns:
        aliases[column.zh] = column.name
        aliases[column.name.lower()] = column.name
    positions: dict[str, int] = {}
    for index, title in enumerate(header):
        key = title.strip().lstrip("\ufeff")
        name = aliases.get(key) or aliases.get(key.lower())
        if name and name not in positions:
            positions[name] = index
    missing = [f"{c.zh} ({c.name})" for c in columns if c.required and c.name not in positions]
    if missing:
        raise SyncError("missing required column(s): " + ", ".join(missing)
                        + "; nothing was written")
    return positions


# --- value parsing ----------------------------------------------------------------------
def text(value: Any) -> str:
    if type(value) is str:  # CSV cells: the common case first
        return value.strip()
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat(sep=" ")
    return str(value).strip()


def decimal(value: Any, label: str, required: bool = False, places: str = "0.01") -> Decimal | None:
    raw = text(value).replace(",", "")
    if not raw:
        if required:
            raise InvalidRow(f"missing {label}")
        return None
    try:
        number = Decimal(raw)
    except InvalidOperation:
        raise InvalidRow(f"{label} is not a number: {raw[:40]}") from None
    if not number.is_finite() or number < 0:
        raise InvalidRow(f"{label} is not a non-negative number: {raw[:40]}")
    return number.quantize(Decimal(places))


def moment(value: Any, label: str) -> dt.datetime | None:
    global _last_moment
    if value in (None, ""):
        return None
    if isinstance(value, dt.datetime):
        parsed = value
    else:
        raw = text(value)
        if not raw:
            return None
        last = _last_moment
        if raw == last[0]:
            return last[1]
        parsed = None
        if _ISO_MOMENT.match(raw):  # the export's own form: fromisoformat is ~20× strptime
            try:
                parsed = dt.datetime.fromisoformat(raw)
            except ValueError:
                pass
        for fmt in ([] if parsed is not None else ("%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M:%S", "%Y-%m-%d")):
            try:
                parsed = dt.datetime.strptime(raw, fmt)
                break
            except ValueError:
                pass
        if parsed is None:
            try:
                parsed = dt.datetime.fromisoformat(raw.replace("Z", "+00:00"))
            except ValueError:
                raise InvalidRow(f"bad date in {label}: {raw[:40]}") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=LOCAL_TZ)
    result = parsed.astimezone(dt.timezone.utc).replace(microsecond=0)
    if isinstance(value, str):
        _last_moment = (raw, result)  # exports stamp many rows alike
    return result


# --- targets: what a row becomes ----------------------------------------------------------
@dataclass
class BatchResult:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    superseded: int = 0  # earlier rows of a key given twice in the batch (bulk path)
    rejected: list[tuple[Record, dict[str, Any], str]] = field(default_factory=list)


class CustomerTarget:
    kind = "customers"
    columns = CUSTOMER_COLUMNS
    fields = ("name", "customer_type", "phone", "id_number", "address", "grid_id",
              "transformer_id", "meter_no", "contract_capacity_kva", "tariff", "source_updated_at")
    # file column → model fields it sets (only columns present in the file are compared)
    _sets = {"name": ("name",), "customer_type": ("customer_type",), "phone": ("phone",),
             "id_number": ("id_number",), "address": ("address",), "grid_code": ("grid_id",),
             "transformer_code": ("transformer_id",), "meter_no": ("meter_no",),
             "contract_capacity_kva": ("contract_capacity_kva",), "tariff": ("tariff",),
             "updated_at": ("source_updated_at",)}

    def __init__(self, session: Session, present: Iterable[str]) -> None:
        self.session = session
        self.present = set(present)
        self.grids = dict(session.execute(select(Grid.code, Grid.id)).all())
        self.transformers = {code: (tid, gid) for code, tid, gid in
                             session.execute(select(Transformer.code, Transformer.id, Transformer.grid_id))}
        self.intentions: dict[str, int] = {}
        for iid, code, name in session.execute(select(EnergyIntention.id, EnergyIntention.code,
                                                      EnergyIntention.name)):
            self.intentions[code.lower()] = iid
            self.intentions[name] = iid
        self.compared = tuple(f for col in self.present for f in self._sets.get(col, ()))
        self.sync_intentions = "intentions" in self.present

    def key(self, row: dict[str, Any]) -> Any:
        return row["customer_no"]

    @staticmethod
    def _derived(values: dict[str, Any]) -> dict[str, Any]:
        """Columns computed from the row: bulk writes skip the model's events, so the phone's
        look-up keys (app/models/customer.py) are set here."""
        return phone_keys(values["phone"]) if "phone" in values else {}

    def row_plan(self, positions: dict[str, int], run_id: int = 0,
                 stored: tuple[Callable[[Any], Any], Callable[[Any], Any]] | None = None,
                 ) -> Callable[[int, Sequence[str]], tuple[tuple, frozenset[int] | None]]:
        """The checks of one row, compiled once for a file's columns: ``plan(row number, cells)``
        gives the row's staging tuple (``app/jobs/staging.py``: run id, row number, then
        ``STAGED``) and its energy intentions, or raises ``InvalidRow``.

        ``cells`` are texts in header order (``positions``: column → index).  Each field is
        checked in the same order and with the same reasons as always; grid and transformer
        stay codes, checked against the archive's references afterwards for the whole batch
        (``reference_problem`` on the row path).  ``stored`` converts a datetime and a Decimal
        to the form the driver is handed (``staging.storage_converters``).  Why a plan: the
        per-row work was a dozen helper calls and two dicts; here the column positions and
        which columns the file has are settled once, and a repeated date or capacity text
        (exports stamp many rows alike) is parsed once."""
        datetime_value, decimal_value = stored or ((lambda d: d), (lambda n: n))
        i_no, i_name, i_type, i_address, i_grid = (
            positions[n] for n in ("customer_no", "name", "customer_type", "address", "grid_code"))
        i_phone, i_id, i_transformer, i_meter, i_capacity, i_tariff, i_when = (
            positions.get(n) for n in ("phone", "id_number", "transformer_code", "meter_no",
                                       "contract_capacity_kva", "tariff", "updated_at"))
        i_intentions = positions.get("intentions") if self.sync_intentions else None
        types, known_intentions = CUSTOMER_TYPES, self.intentions
        number_ok, mobile, landline = _CUSTOMER_NO.match, _MOBILE.match, _LANDLINE.match
        resident_id, credit_code, split = _RESIDENT_ID.match, _CREDIT_CODE.match, _LIST_SPLIT.split
        capacities: dict[str, Any] = {}  # capacity text → stored value
        last_when: list[Any] = ["", None]  # the last date text → stored value

        def plan(row_number: int, cells: Sequence[str]) -> tuple[tuple, frozenset[int] | None]:
            number = cells[i_no].strip()
            if not number:
                raise InvalidRow("missing customer number")
            if not number_ok(number):
                raise InvalidRow(f"customer number must be 10–13 digits: {number[:40]}")
            name = cells[i_name].strip()
            if not name:
                raise InvalidRow("missing customer name")
            if len(name) > 128:
                raise InvalidRow("name is longer than 128 characters")
            ctype = cells[i_type].strip()
            customer_type = types.get(ctype) or types.get(ctype.lower())
            if customer_type is None:
                raise InvalidRow(f"unknown customer type: {ctype[:40]}")
            address = cells[i_address].strip()
            if not address:
                raise InvalidRow("missing address")
            if len(address) > 255:
                raise InvalidRow("address is longer than 255 characters")
            grid_code = cells[i_grid].strip()
            if not grid_code:
                raise InvalidRow("missing grid code")
            if len(grid_code) > _CODE_LENGTH:
                raise InvalidRow(f"unknown grid: {grid_code[:40]}")
            phone = phone_key = phone_tail_key = id_number = transformer_code = None
            meter_no = capacity = tariff = when = intentions = None
            if i_phone is not None:
                phone = cells[i_phone].strip().replace(" ", "")
                if phone.startswith("+86"):
                    phone = phone[3:]
                if phone and not (mobile(phone) or landline(phone)):
                    raise InvalidRow(f"invalid phone: {phone[:40]}")
                phone = phone or None
                keys = phone_keys(phone)
                phone_key, phone_tail_key = keys["phone_key"], keys["phone_tail_key"]
            if i_id is not None:
                id_number = cells[i_id].strip().upper()
                if id_number and not (resident_id(id_number) or credit_code(id_number)):
                    raise InvalidRow("invalid ID number (neither a resident ID nor a credit code)")
                id_number = id_number or None
            if i_transformer is not None:
                transformer_code = cells[i_transformer].strip()
                if len(transformer_code) > _CODE_LENGTH:
                    raise InvalidRow(f"unknown transformer: {transformer_code[:40]}")
                transformer_code = transformer_code or None
            if i_meter is not None:
                meter_no = cells[i_meter].strip()
                if len(meter_no) > 32:
                    raise InvalidRow("meter number is longer than 32 characters")
                meter_no = meter_no or None
            if i_capacity is not None:
                raw = cells[i_capacity]
                if raw in capacities:
                    capacity = capacities[raw]
                else:
                    parsed = decimal(raw, "contract capacity", places="0.1")
                    capacity = None if parsed is None else decimal_value(parsed)
                    if len(capacities) < 1024:
                        capacities[raw] = capacity
            if i_tariff is not None:
                tariff = cells[i_tariff].strip()
                if len(tariff) > 64:
                    raise InvalidRow("tariff is longer than 64 characters")
                tariff = tariff or None
            if i_when is not None:
                raw = cells[i_when]
                if raw == last_when[0]:
                    when = last_when[1]
                else:
                    parsed_when = moment(raw, "updated_at")
                    when = None if parsed_when is None else datetime_value(parsed_when)
                    last_when[:] = [raw, when]
            if i_intentions is not None:
                wanted: set[int] = set()
                for part in split(cells[i_intentions].strip()):
                    if not part:
                        continue
                    iid = known_intentions.get(part) or known_intentions.get(part.lower())
                    if iid is None:
                        raise InvalidRow(f"unknown energy intention: {part[:40]}")
                    wanted.add(iid)
                intentions = frozenset(wanted)
            return ((run_id, row_number, number, name, customer_type, phone, phone_key, phone_tail_key,
                     id_number, address, grid_code, transformer_code, meter_no, capacity, tariff, when),
                    intentions)

        return plan

    def reference_problem(self, grid_code: str, transformer_code: str | None) -> str | None:
        """Why the row's grid or transformer does not hold (the reasons of
        ``StagedBatch.broken_references``), or None."""
        if grid_code not in self.grids:
            return f"unknown grid: {grid_code[:40]}"
        if transformer_code and "transformer_code" in self.present:
            found = self.transformers.get(transformer_code)
            if found is None:
                return f"unknown transformer: {transformer_code[:40]}"
            if found[1] != self.grids[grid_code]:
                return f"transformer {transformer_code} is not in grid {grid_code}"
        return None

    def validate(self, values: dict[str, Any]) -> dict[str, Any]:
        """One row's fields (by column name) as the archive holds them, or ``InvalidRow``: the
        row plan's checks, then its grid and transformer looked up (the re-play of a corrected
        row; a file goes through ``row_plan`` and the staging batch)."""
        names = [c.name for c in self.columns if c.required or c.name in self.present]
        plan = self.row_plan({name: index for index, name in enumerate(names)})
        staged, intentions = plan(0, [text(values.get(name)) for name in names])
        fields = dict(zip(STAGED, staged[2:]))
        problem = self.reference_problem(fields["grid_code"], fields["transformer_code"])
        if problem:
            raise InvalidRow(problem)
        row = {name: fields[name] for name in ("customer_no", "name", "customer_type", "address")}
        row["grid_id"] = self.grids[fields["grid_code"]]
        for name in ("phone", "id_number", "meter_no", "contract_capacity_kva", "tariff"):
            if name in self.present:
                row[name] = fields[name]
        if "transformer_code" in self.present:
            code = fields["transformer_code"]
            row["transformer_id"] = self.transformers[code][0] if code else None
        if "updated_at" in self.present:
            row["source_updated_at"] = fields["source_updated_at"]
        if self.sync_intentions:
            row["intentions"] = intentions
        return row

    def apply(self, rows: dict[Any, tuple[Record, dict[str, Any]]], now: dt.datetime) -> BatchResult:
        result = BatchResult()
        session = self.session
        numbers = list(rows)
        existing = {
            r.customer_no: r for r in session.execute(
                select(Customer.id, Customer.customer_no, *[getattr(Customer, f) for f in self.compared])
                .where(Customer.customer_no.in_(numbers))
            )
        }
        links: dict[int, set[int]] = {}
        if self.sync_intentions and existing:
            ids = [r.id for r in existing.values()]
            for cid, iid in session.execute(
                select(customer_intention_link.c.customer_id, customer_intention_link.c.intention_id)
                .where(customer_intention_link.c.customer_id.in_(ids))
            ):
                links.setdefault(cid, set()).add(iid)
        inserts, updates, relink = [], [], {}
        for number, (_record, row) in rows.items():
            values = {f: row.get(f) for f in self.compared}
            current = existing.get(number)
            if current is None:
                inserts.append({"customer_no": number, **values, **self._derived(values),
                                "created_at": now, "updated_at": now})
                continue
            changed = any(getattr(current, f) != values[f] for f in self.compared)
            if self.sync_intentions and links.get(current.id, set()) != set(row["intentions"]):
                relink[current.id] = row["intentions"]
                changed = True
            if not changed:
                result.unchanged += 1
            elif any(getattr(current, f) != values[f] for f in self.compared):
                updates.append({"id": current.id, **values, **self._derived(values), "updated_at": now})
                result.updated += 1
            else:
                result.updated += 1
        if inserts:
            session.execute(insert(Customer), inserts)
            result.inserted = len(inserts)
            if self.sync_intentions:
                new_numbers = [r["customer_no"] for r in inserts if rows[r["customer_no"]][1]["intentions"]]
                if new_numbers:
                    for cid, number in session.execute(
                        select(Customer.id, Customer.customer_no).where(Customer.customer_no.in_(new_numbers))
                    ):
                        relink[cid] = rows[number][1]["intentions"]
        if updates:
            session.execute(update(Customer), updates)
        _relink_intentions(session, relink)
        return result

    # --- the bulk path: staging table and set-based statements (app/jobs/staging.py) ---------
    bulk = True

    def staging_plan(self, run_id: int, positions: dict[str, int]) -> Callable[[int, Sequence[str]], Any]:
        """``row_plan`` for the bulk path: values in the driver's storage form, under ``run_id``."""
        self.positions = positions
        dialect = self.session.get_bind().dialect.name
        return self.row_plan(positions, run_id, storage_converters(dialect))

    def apply_staged(self, run_id: int, batch: list[tuple[int, Any, dict[str, Any] | None, tuple, Any]],
                     now: dt.datetime, loaded: Callable[[], None] = lambda: None) -> BatchResult:
        """Apply one batch of rows that passed the staging plan: (row number, the record as
        ``Record.kept()`` gives it, its fields by column — None for CSV rows, whose kept cells
        give them again —, staging tuple, energy intentions) in file order.  ``loaded`` is
        called once the batch is in the staging table (the rest is the database's work)."""
        staged = getattr(self, "_staged", None)
        if staged is None or staged.run_id != run_id:
            staged = self._staged = StagedBatch(self.session, run_id, self.compared)
        result = BatchResult()
        seen: set[str] = set()
        repeated: set[str] = set()
        for entry in batch:
            number = entry[3][2]
            if number in seen:
                repeated.add(number)
            seen.add(number)
        staged.load([entry[3] for entry in batch])
        loaded()
        reasons = staged.broken_references()
        if reasons:
            staged.drop(list(reasons))
            result.rejected = [(Record.from_kept(number, kept), self._fields(kept, values), reasons[number])
                               for number, kept, values, _, _ in batch if number in reasons]
        if repeated:
            result.superseded = staged.keep_last(repeated)
        if self.sync_intentions:
            self._apply_with_intentions(staged, batch, reasons, now, result)
        elif staged.dialect == "mysql":
            new, changed, total = staged.classify(now)
            result.inserted, result.updated = int(new or 0), int(changed or 0)
            result.unchanged = int(total or 0) - result.inserted - result.updated
            if result.inserted == int(total or 0):
                staged.insert_new(now)
            elif result.inserted or result.updated:
                staged.upsert(now)
        else:
            total = len(batch) - len(reasons) - result.superseded
            existing = staged.existing()
            if not existing:
                staged.insert_new(now)
                written = total
            elif staged.dialect == "postgresql":
                inserted, updated = staged.upsert_counted(now)
                written = inserted + updated
            else:
                written = staged.upsert(now)
            result.inserted = total - existing
            result.updated = written - result.inserted
            result.unchanged = existing - result.updated
        staged.clear()
        return result

    def _fields(self, kept: Any, values: dict[str, Any] | None) -> dict[str, Any]:
        """A staged row's fields by column name, for the quarantine."""
        if values is not None:
            return values
        return {name: kept[index] for name, index in self.positions.items()}

    def _apply_with_intentions(self, staged: Any, batch: list, reasons: dict[int, str], now: dt.datetime,
                               result: BatchResult) -> None:
        """The file lists energy intentions too: the customers' links are compared and replaced
        per customer (a small table next to the archive's columns)."""
        wanted: dict[str, frozenset[int]] = {}
        for number, _kept, _values, staged_row, intentions in batch:  # in file order: the later row wins
            if number not in reasons:
                wanted[staged_row[2]] = intentions
        classified = staged.classify(now, per_row=True)
        staged.upsert(now)
        session = self.session
        ids = dict(session.execute(select(Customer.customer_no, Customer.id)
                                   .where(Customer.customer_no.in_(list(wanted)))).all())
        links: dict[int, set[int]] = {}
        for cid, iid in session.execute(
                select(customer_intention_link.c.customer_id, customer_intention_link.c.intention_id)
                .where(customer_intention_link.c.customer_id.in_(list(ids.values())))):
            links.setdefault(cid, set()).add(iid)
        relink: dict[int, frozenset[int]] = {}
        for number, existing_id, differs in classified:
            cid = ids[number]
            relinked = links.get(cid, set()) != set(wanted[number])
            if relinked:
                relink[cid] = wanted[number]
            if existing_id is None:
                result.inserted += 1
            elif differs or relinked:
                result.updated += 1
            else:
                result.unchanged += 1
        _relink_intentions(session, relink)


def _relink_intentions(session: Session, relink: dict[int, list[int]]) -> None:
    """Each customer of ``relink`` holds exactly the energy intentions given (ids)."""
    if not relink:
        return
    session.execute(delete(customer_intention_link)
                    .where(customer_intention_link.c.customer_id.in_(list(relink))))
    pairs = [{"customer_id": cid, "intention_id": iid} for cid, ids in relink.items() for iid in ids]
    if pairs:
        session.execute(insert(customer_intention_link), pairs)


class BillTarget:
    kind = "bills"
    columns = BILL_COLUMNS
    amounts = ("total_kwh", "sharp_kwh", "peak_kwh", "flat_kwh", "valley_kwh", "amount_yuan")

    def __init__(self, session: Session, present: Iterable[str]) -> None:
        self.session = session
        self.present = set(present)
        self.compared = tuple(f for f in self.amounts if f in self.present)

    def key(self, row: dict[str, Any]) -> Any:
        return (row["customer_no"], row["period"])

    def validate(self, values: dict[str, Any]) -> dict[str, Any]:
        number = text(values.get("customer_no"))
        if not number:
            raise InvalidRow("missing customer number")
        if not _CUSTOMER_NO.match(number):
            raise InvalidRow(f"customer number must be 10–13 digits: {number[:40]}")
        period = text(values.get("period")).replace("-", "")
        if not _PERIOD.match(period):
            raise InvalidRow(f"bad period (YYYYMM expected): {period[:40]}")
        row: dict[str, Any] = {"customer_no": number, "period": period}
        for name in self.compared:
            required = name in ("total_kwh", "amount_yuan")
            row[name] = decimal(values.get(name), name, required=required) or Decimal("0.00")
        return row

    def apply(self, rows: dict[Any, tuple[Record, dict[str, Any]]], now: dt.datetime) -> BatchResult:
        result = BatchResult()
        session = self.session
        numbers = {number for number, _ in rows}
        customers = dict(session.execute(
            select(Customer.customer_no, Customer.id).where(Customer.customer_no.in_(numbers))
        ).all())
        known = {}
        for (number, period), (record, row) in rows.items():
            if number not in customers:
                result.rejected.append((record, row, f"unknown customer: {number}"))
            else:
                known[(customers[number], period)] = row
        if not known:
            return result
        existing = {
            (r.customer_id, r.period): r for r in session.execute(
                select(Bill.id, Bill.customer_id, Bill.period, *[getattr(Bill, f) for f in self.compared])
                .where(tuple_(Bill.customer_id, Bill.period).in_(list(known)))
            )
        }
        inserts, updates = [], []
        for (cid, period), row in known.items():
            values = {f: row[f] for f in self.compared}
            current = existing.get((cid, period))
            if current is None:
                full = {f: Decimal("0.00") for f in self.amounts}
                full.update(values)
                inserts.append({"customer_id": cid, "period": period, **full})
            elif any(getattr(current, f) != values[f] for f in self.compared):
                updates.append({"id": current.id, **values})
            else:
                result.unchanged += 1
        if inserts:
            session.execute(insert(Bill), inserts)
        if updates:
            session.execute(update(Bill), updates)
        result.inserted, result.updated = len(inserts), len(updates)
        return result


TARGETS: dict[str, type] = {"customers": CustomerTarget, "bills": BillTarget}


# --- the run -----------------------------------------------------------------------------
def file_checksum(path: Path) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _holder() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _holder_alive(holder: str | None) -> bool:
    if not holder or ":" not in holder:
        return False
    host, _, pid = holder.rpartition(":")
    if host != socket.gethostname():
        return True  # another machine: trust the heartbeat instead
    try:
        os.kill(int(pid), 0)
    except (ProcessLookupError, ValueError):
        return False
    except PermissionError:
        return True
    return True


def _resumable_run(session: Session, kind: str, checksum: str, now: dt.datetime) -> SyncRun | None:
    run = session.scalar(select(SyncRun).where(SyncRun.kind == kind, SyncRun.checksum == checksum)
                         .order_by(SyncRun.id.desc()).limit(1))
    if run is None or run.status == SyncStatus.COMPLETED.value:
        return None
    if run.status == SyncStatus.RUNNING.value:
        fresh = run.heartbeat_at is not None and now - run.heartbeat_at < STALE_AFTER
        if fresh and _holder_alive(run.holder):
            raise SyncError(f"this file is being synced right now by {run.holder} (run {run.id})")
    return run


def _in_header_order(record: Record, header: list[str]) -> Sequence[Any]:
    """A row's values in header order: a CSV row's cells as they are, a JSON or XLSX row's
    values found by their column's title (case and surrounding spaces aside)."""
    if record.values is not None:
        lowered = {str(k).strip().lower(): v for k, v in record.values.items()}
        return [lowered.get(title.lower()) for title in header]
    return record.cells or ()


def _row_values(record: Record, header: list[str], positions: dict[str, int]) -> dict[str, Any]:
    values = _in_header_order(record, header)
    return {name: values[index] for name, index in positions.items()}


def _check_shape(record: Record, header: list[str]) -> None:
    if record.cells is None and record.values is None:
        raise InvalidRow("unreadable row: " + record.raw[:120])
    if record.cells is not None and len(record.cells) != len(header):
        raise InvalidRow(f"wrong column count: expected {len(header)}, got {len(record.cells)}")
    if record.undecodable():
        raise InvalidRow("undecodable characters (neither UTF-8 nor GBK)")


def run_sync(
    session: Session,
    kind: str,
    path: str | Path,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    commit_rows: int | None = None,
    progress: Callable[[float, Summary], None] | None = None,
    now: Callable[[], dt.datetime] = utcnow,
) -> Summary:
    """Sync one export file; resumes an interrupted run of the same file.  Commits once
    ``commit_rows`` rows have been applied since the last commit (default: every batch on
    PostgreSQL and MariaDB, every ``SQLITE_COMMIT_ROWS`` on SQLite), and at the end: a run
    killed part-way resumes after its last committed row."""
    if kind not in TARGETS:
        raise SyncError(f"unknown sync kind: {kind}")
    path = Path(path)
    if not path.is_file():
        raise SyncError(f"no such file: {path}")
    started = time.monotonic()
    checksum = file_checksum(path)
    try:
        reader = Reader(path)
    except FileFormatError as error:
        raise SyncError(str(error)) from None
    try:
        target_class = TARGETS[kind]
        positions = map_header(reader.header, target_class.columns)
        target = target_class(session, positions)
        run = _resumable_run(session, kind, checksum, now())
        if run is None:
            run = SyncRun(kind=kind, filename=path.name[:255], checksum=checksum,
                          file_size=reader.size, file_format=reader.format, encoding=reader.encoding,
                          status=SyncStatus.RUNNING.value, holder=_holder(), started_at=now(),
                          heartbeat_at=now())
            session.add(run)
        else:
            run.status, run.holder, run.heartbeat_at = SyncStatus.RUNNING.value, _holder(), now()
            run.resumed_count += 1
            run.error = None
            log.info("resuming sync run %s of %s after row %s", run.id, path.name, run.last_row)
        session.commit()
        summary = Summary(kind=kind, filename=path.name, run_id=run.id, resumed_after_row=run.last_row,
                          encoding=reader.encoding, file_format=reader.format)
        try:
            if commit_rows is None:
                sqlite = session.get_bind().dialect.name == "sqlite"
                commit_rows = max(batch_size, SQLITE_COMMIT_ROWS) if sqlite else batch_size
            _stream(session, run, reader, target, positions, batch_size, commit_rows, progress, summary, now)
        except Exception as error:
            session.rollback()
            failed = session.get(SyncRun, summary.run_id)
            if failed is not None:
                failed.status, failed.error, failed.finished_at = SyncStatus.FAILED.value, str(error)[:2000], now()
                session.commit()
            raise
        run = session.get(SyncRun, summary.run_id)
        run.status, run.finished_at = SyncStatus.COMPLETED.value, now()
        run.seconds = round(time.monotonic() - started, 3)
        session.commit()
        summary.read, summary.inserted, summary.updated = run.rows_read, run.inserted, run.updated
        summary.unchanged, summary.quarantined = run.unchanged, run.quarantined
        summary.seconds = time.monotonic() - started
        if progress:
            progress(1.0, summary)
        return summary
    finally:
        reader.close()


@dataclass
class _Batch:
    """One batch as the reading thread hands it over: its rows checked, nothing written yet."""

    good: dict[Any, tuple[Record, dict[str, Any]]] = field(default_factory=dict)  # the row path
    staged: list[tuple[int, Any, dict[str, Any] | None, tuple, Any]] = field(default_factory=list)
    bad: list[tuple[Record, dict[str, Any], str]] = field(default_factory=list)
    count: int = 0
    last_number: int = 0
    superseded: int = 0
    progress: float = 0.0
    # Lets the reading thread start on the next batch (``_read_ahead``); called when this
    # batch's own Python work is done and the database's begins.
    read_next: Callable[[], None] = lambda: None


def _text_cells(record: Record, header: list[str]) -> list[str]:
    """A JSON or XLSX row's values as the texts a CSV row has, in header order."""
    return [text(value) for value in _in_header_order(record, header)]


def _read_batches(reader: Reader, target: Any, plan: Callable[[int, Sequence[str]], Any] | None,
                  positions: dict[str, int], batch_size: int, skip_until: int) -> Iterator[_Batch]:
    """The file's rows after ``skip_until``, checked (by ``plan`` on the bulk path, else by the
    target's ``validate``), in batches of ``batch_size``.  Touches no session: it runs in the
    reading thread."""
    header = reader.header
    plain = reader.format == "csv"  # cells are already texts
    batch = _Batch()
    for record in reader.records():
        if record.number <= skip_until:
            continue
        batch.count += 1
        batch.last_number = record.number
        shaped = False
        try:
            _check_shape(record, header)
            shaped = True
            if plan is not None:
                staged_row, intentions = plan(record.number, record.cells if plain else _text_cells(record, header))
                values = None if plain else _row_values(record, header, positions)
                batch.staged.append((record.number, record.kept(), values, staged_row, intentions))
            else:
                row = target.validate(_row_values(record, header, positions))
                key = target.key(row)
                if key in batch.good:
                    batch.superseded += 1  # the same key twice in one batch: the later row wins
                batch.good[key] = (record, row)
        except InvalidRow as error:
            if shaped:
                values = _row_values(record, header, positions)
            elif record.cells is not None:
                # A short or long row: keep what lines up, so the correction form is prefilled.
                values = {n: record.cells[i] for n, i in positions.items() if i < len(record.cells)}
            else:
                values = {}
            batch.bad.append((record, values, str(error)))
        if batch.count >= batch_size:
            batch.progress = reader.progress()
            yield batch
            batch = _Batch()
    if batch.count:
        batch.progress = reader.progress()
        yield batch


_DONE = object()


def _read_ahead(batches: Iterator[_Batch]) -> Iterator[_Batch]:
    """``batches`` produced by a thread of its own, one batch ahead: the next batch is read and
    checked while the database writes this one (the drivers let go of the interpreter while
    they wait for the server, and SQLite while a statement runs).  The caller alone touches the
    session and commits, batch after batch in file order, so the resume point means what it
    did.  The thread starts on the next batch when the caller calls the batch's ``read_next``
    (once its rows are bulk-loaded: the load is Python work too, which the thread would slow
    down) or takes the batch after — so at most two batches are alive at once.  An error in
    the reading thread is raised here; when the caller stops early the thread stops after its
    batch."""
    handed: queue.SimpleQueue = queue.SimpleQueue()
    permit = threading.Semaphore(1)
    stop = threading.Event()

    def produce() -> None:
        try:
            while True:
                permit.acquire()
                if stop.is_set():
                    return
                batch = next(batches, _DONE)
                handed.put((batch, None))
                if batch is _DONE:
                    return
        except BaseException as error:  # noqa: BLE001 - handed to the caller, which raises it
            handed.put((_DONE, error))

    def once() -> Callable[[], None]:
        released = []

        def read_next() -> None:
            if not released:
                released.append(True)
                permit.release()
        return read_next

    thread = threading.Thread(target=produce, name="sync-reader", daemon=True)
    thread.start()
    try:
        while True:
            batch, error = handed.get()
            if error is not None:
                raise error
            if batch is _DONE:
                return
            batch.read_next = once()
            yield batch
            batch.read_next()
            del batch
    finally:
        stop.set()
        permit.release()
        thread.join()


def _stream(session: Session, run: SyncRun, reader: Reader, target: Any, positions: dict[str, int],
            batch_size: int, commit_rows: int, progress: Callable[[float, Summary], None] | None,
            summary: Summary, now: Callable[[], dt.datetime]) -> None:
    run_id, kind, checksum, filename = run.id, run.kind, run.checksum, run.filename
    uncommitted = [0]  # rows applied since the last commit

    def flush(batch: _Batch) -> None:
        moment_now = now()
        if batch.staged:
            result = target.apply_staged(run_id, batch.staged, moment_now, loaded=batch.read_next)
        else:
            result = target.apply(batch.good, moment_now) if batch.good else BatchResult()
        superseded = batch.superseded + result.superseded
        rejected = batch.bad + result.rejected
        if rejected:
            numbers = [r.number for r, _, _ in rejected]
            already = set(session.scalars(
                select(QuarantinedRow.row_number).where(
                    QuarantinedRow.kind == kind, QuarantinedRow.checksum == checksum,
                    QuarantinedRow.row_number.in_(numbers))
            ))
            fresh = [
                {"run_id": run_id, "kind": kind, "checksum": checksum, "filename": filename,
                 "row_number": record.number, "raw": record.raw[:20000], "data": _jsonable(data),
                 "reason": reason[:255], "status": QuarantineStatus.OPEN.value, "created_at": moment_now}
                for record, data, reason in rejected if record.number not in already
            ]
            if fresh:
                session.execute(insert(QuarantinedRow), fresh)
        # The batch's effects and the run's position commit together: the resume point.
        uncommitted[0] += batch.count
        session.execute(update(SyncRun).where(SyncRun.id == run_id).values(
            last_row=batch.last_number, heartbeat_at=moment_now,
            rows_read=SyncRun.rows_read + batch.count,
            inserted=SyncRun.inserted + result.inserted,
            updated=SyncRun.updated + result.updated + superseded,
            unchanged=SyncRun.unchanged + result.unchanged,
            quarantined=SyncRun.quarantined + len(rejected),
        ))
        if uncommitted[0] >= commit_rows:
            session.commit()
            uncommitted[0] = 0
        summary.read += batch.count
        summary.inserted += result.inserted
        summary.updated += result.updated + superseded
        summary.unchanged += result.unchanged
        summary.quarantined += len(rejected)
        if progress:
            progress(batch.progress, summary)

    plan = target.staging_plan(run_id, positions) if getattr(target, "bulk", False) else None
    batches = _read_ahead(_read_batches(reader, target, plan, positions, batch_size, run.last_row))
    try:
        for batch in batches:
            flush(batch)
        session.commit()
    finally:
        batches.close()


def _jsonable(data: dict[str, Any]) -> dict[str, Any]:
    return {k: (v if isinstance(v, (str, int, float, bool)) or v is None else text(v)) for k, v in data.items()}


# --- re-play of a corrected quarantined row ------------------------------------------------
def replay_quarantined(session: Session, row_id: int, corrected: dict[str, Any],
                       user_id: int | None = None) -> str:
    """Validate the corrected fields and upsert them; the row is marked re-played.

    Raises ``InvalidRow`` with the reason when the correction is still bad.  The caller commits.
    """
    item = session.get(QuarantinedRow, row_id)
    if item is None:
        raise InvalidRow("no such quarantined row")
    if item.status != QuarantineStatus.OPEN.value:
        raise InvalidRow("this row has already been handled")
    target_class = TARGETS[item.kind]
    names = [c.name for c in target_class.columns]
    values = {name: corrected.get(name, "") for name in names}
    present = [name for name in names if name in corrected]
    target = target_class(session, present)
    missing = [c.name for c in target_class.columns if c.required and c.name not in present]
    if missing:
        raise InvalidRow("missing required field(s): " + ", ".join(missing))
    row = target.validate(values)
    record = Record(item.row_number, None, values, item.raw)
    result = target.apply({target.key(row): (record, row)}, utcnow())
    if result.rejected:
        raise InvalidRow(result.rejected[0][2])
    item.data = _jsonable(values)
    item.status = QuarantineStatus.REPLAYED.value
    item.resolved_at = utcnow()
    item.resolved_by_id = user_id
    return "inserted" if result.inserted else "updated" if result.updated else "unchanged"


# --- the scheduled inbox job ----------------------------------------------------------------
_INBOX_KINDS = (("customers", ("customers", "customer", "客户")), ("bills", ("bills", "bill", "电费")))


def sync_inbox(session: Session, now: dt.datetime, inbox_dir: str | None = None) -> dict[str, int]:
    """Sync every export waiting in the inbox folder (``SYNC_INBOX_DIR``); a file whose name
    starts with customers/客户 is an archive, bills/电费 a bill export.  Processed files move
    to ``done/``, unreadable ones to ``rejected/``."""
    if inbox_dir is None:
        try:
            from flask import current_app

            inbox_dir = current_app.config.get("SYNC_INBOX_DIR")
        except RuntimeError:
            inbox_dir = None
    folder = Path(inbox_dir or os.environ.get("SYNC_INBOX_DIR", "instance/inbox"))
    counts = {"files": 0, "read": 0, "inserted": 0, "updated": 0, "unchanged": 0, "quarantined": 0,
              "rejected_files": 0}
    if not folder.is_dir():
        return counts
    waiting = []
    for path in folder.iterdir():
        kind = next((k for k, prefixes in _INBOX_KINDS if path.name.lower().startswith(prefixes)), None)
        if path.is_file() and kind is not None:
            waiting.append((kind, path))
    # Archives before bills: a bill names a customer the archive of the same day may add.
    order = [k for k, _ in _INBOX_KINDS]
    for kind, path in sorted(waiting, key=lambda item: (order.index(item[0]), item[1].name)):
        try:
            summary = run_sync(session, kind, path)
        except SyncError as error:
            log.error("inbox file %s rejected: %s", path.name, error)
            counts["rejected_files"] += 1
            _move(path, folder / "rejected")
            continue
        counts["files"] += 1
        for key in ("read", "inserted", "updated", "unchanged", "quarantined"):
            counts[key] += getattr(summary, key)
        _move(path, folder / "done")
    return counts


def _move(path: Path, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    stamp = clock.local_now().strftime("%Y%m%d%H%M%S")
    path.replace(folder / f"{stamp}-{path.name}")


def sync_inbox_job(session: Session, now: dt.datetime) -> dict[str, int]:
    return sync_inbox(session, now)


__all__ = ["run_sync", "replay_quarantined", "sync_inbox", "SyncError", "InvalidRow", "Summary",
           "CUSTOMER_COLUMNS", "BILL_COLUMNS", "map_header"]
