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
import re
import socket
import time
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Callable, Iterable

from sqlalchemy import delete, insert, select, tuple_, update
from sqlalchemy.orm import Session

from app import clock
from app.jobs.readers import FileFormatError, Reader, Record
from app.models.base import utcnow
from app.models.customer import Bill, Customer, EnergyIntention, customer_intention_link, phone_keys
from app.models.org import Grid, Transformer
from app.models.sync import QuarantinedRow, QuarantineStatus, SyncRun, SyncStatus
from app.workflow.calendar import LOCAL_TZ

log = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 10_000
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


def _limited(value: str, label: str, limit: int) -> str:
    if len(value) > limit:
        raise InvalidRow(f"{label} is longer than {limit} characters")
    return value


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

    def validate(self, values: dict[str, Any], staged: bool = False) -> dict[str, Any]:
        """The row's fields as the archive holds them, or ``InvalidRow``.  With ``staged`` (the
        bulk path) grid and transformer stay codes: the staging batch checks them all at once,
        after the row's own checks, and the phone's look-up keys are added."""
        number = text(values.get("customer_no"))
        if not number:
            raise InvalidRow("missing customer number")
        if not _CUSTOMER_NO.match(number):
            raise InvalidRow(f"customer number must be 10–13 digits: {number[:40]}")
        row: dict[str, Any] = {"customer_no": number}
        name = text(values.get("name"))
        if not name:
            raise InvalidRow("missing customer name")
        row["name"] = _limited(name, "name", 128)
        ctype = text(values.get("customer_type"))
        if ctype not in CUSTOMER_TYPES and ctype.lower() not in CUSTOMER_TYPES:
            raise InvalidRow(f"unknown customer type: {ctype[:40]}")
        row["customer_type"] = CUSTOMER_TYPES.get(ctype) or CUSTOMER_TYPES[ctype.lower()]
        address = text(values.get("address"))
        if not address:
            raise InvalidRow("missing address")
        row["address"] = _limited(address, "address", 255)
        grid_code = text(values.get("grid_code"))
        if staged and grid_code and len(grid_code) <= _CODE_LENGTH:
            row["grid_code"] = grid_code
        elif grid_code not in self.grids:
            raise InvalidRow(f"unknown grid: {grid_code[:40]}" if grid_code else "missing grid code")
        else:
            row["grid_id"] = self.grids[grid_code]
        if "phone" in self.present:
            phone = text(values.get("phone")).replace(" ", "")
            if phone.startswith("+86"):
                phone = phone[3:]
            if phone and not (_MOBILE.match(phone) or _LANDLINE.match(phone)):
                raise InvalidRow(f"invalid phone: {phone[:40]}")
            row["phone"] = phone or None
            if staged:
                row.update(phone_keys(phone or None))
        if "id_number" in self.present:
            id_number = text(values.get("id_number")).upper()
            if id_number and not (_RESIDENT_ID.match(id_number) or _CREDIT_CODE.match(id_number)):
                raise InvalidRow("invalid ID number (neither a resident ID nor a credit code)")
            row["id_number"] = id_number or None
        if "transformer_code" in self.present:
            code = text(values.get("transformer_code"))
            if staged:
                if len(code) > _CODE_LENGTH:
                    raise InvalidRow(f"unknown transformer: {code[:40]}")
                row["transformer_code"] = code or None
            elif code:
                found = self.transformers.get(code)
                if found is None:
                    raise InvalidRow(f"unknown transformer: {code[:40]}")
                if found[1] != row["grid_id"]:
                    raise InvalidRow(f"transformer {code} is not in grid {grid_code}")
                row["transformer_id"] = found[0]
            else:
                row["transformer_id"] = None
        if "meter_no" in self.present:
            row["meter_no"] = _limited(text(values.get("meter_no")), "meter number", 32) or None
        if "contract_capacity_kva" in self.present:
            row["contract_capacity_kva"] = decimal(values.get("contract_capacity_kva"),
                                                   "contract capacity", places="0.1")
        if "tariff" in self.present:
            row["tariff"] = _limited(text(values.get("tariff")), "tariff", 64) or None
        if "updated_at" in self.present:
            row["source_updated_at"] = moment(values.get("updated_at"), "updated_at")
        if self.sync_intentions:
            wanted: set[int] = set()
            for part in _LIST_SPLIT.split(text(values.get("intentions"))):
                if not part:
                    continue
                iid = self.intentions.get(part) or self.intentions.get(part.lower())
                if iid is None:
                    raise InvalidRow(f"unknown energy intention: {part[:40]}")
                wanted.add(iid)
            row["intentions"] = frozenset(wanted)
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

    def apply_staged(self, run_id: int, batch: list[tuple[int, Any, dict[str, Any], dict[str, Any]]],
                     now: dt.datetime) -> BatchResult:
        """Apply one batch of rows that passed ``validate(…, staged=True)``: (row number, the
        record as ``Record.kept()`` gives it, file fields, validated row) in file order."""
        from app.jobs.staging import StagedBatch

        staged = getattr(self, "_staged", None)
        if staged is None or staged.run_id != run_id:
            staged = self._staged = StagedBatch(self.session, run_id, self.compared)
        result = BatchResult()
        seen: set[str] = set()
        repeated: set[str] = set()
        tuples = []
        for row_number, _kept, _values, row in batch:
            number = row["customer_no"]
            if number in seen:
                repeated.add(number)
            seen.add(number)
            tuples.append(staged.stage_tuple(row_number, row))
        staged.load(tuples)
        del tuples
        reasons = staged.broken_references()
        if reasons:
            staged.drop(list(reasons))
            result.rejected = [(Record.from_kept(number, kept), values, reasons[number])
                               for number, kept, values, _ in batch if number in reasons]
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

    def _apply_with_intentions(self, staged: Any, batch: list, reasons: dict[int, str], now: dt.datetime,
                               result: BatchResult) -> None:
        """The file lists energy intentions too: the customers' links are compared and replaced
        per customer (a small table next to the archive's columns)."""
        wanted: dict[str, frozenset[int]] = {}
        for number, _kept, _values, row in batch:  # in file order: the later row wins
            if number not in reasons:
                wanted[row["customer_no"]] = row["intentions"]
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


def _row_values(record: Record, header: list[str], positions: dict[str, int]) -> dict[str, Any]:
    if record.values is not None:
        lowered = {str(k).strip().lower(): v for k, v in record.values.items()}
        return {name: lowered.get(header[index].lower()) for name, index in positions.items()}
    assert record.cells is not None
    return {name: record.cells[index] for name, index in positions.items()}


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
    progress: Callable[[float, Summary], None] | None = None,
    now: Callable[[], dt.datetime] = utcnow,
) -> Summary:
    """Sync one export file; resumes an interrupted run of the same file.  Commits per batch."""
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
            _stream(session, run, reader, target, positions, batch_size, progress, summary, now)
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


def _stream(session: Session, run: SyncRun, reader: Reader, target: Any, positions: dict[str, int],
            batch_size: int, progress: Callable[[float, Summary], None] | None, summary: Summary,
            now: Callable[[], dt.datetime]) -> None:
    skip_until = run.last_row
    run_id, kind, checksum, filename = run.id, run.kind, run.checksum, run.filename
    bulk = getattr(target, "bulk", False)
    good: dict[Any, tuple[Record, dict[str, Any]]] = {}
    staged: list[tuple[int, Any, dict[str, Any], dict[str, Any]]] = []  # the bulk path's batch
    bad: list[tuple[Record, dict[str, Any], str]] = []
    count, last_number, superseded = 0, 0, 0

    def flush() -> None:
        nonlocal good, staged, bad, count, superseded
        moment_now = now()
        if staged:
            result = target.apply_staged(run_id, staged, moment_now)
        else:
            result = target.apply(good, moment_now) if good else BatchResult()
        superseded += result.superseded
        rejected = bad + result.rejected
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
        session.execute(update(SyncRun).where(SyncRun.id == run_id).values(
            last_row=last_number, heartbeat_at=moment_now,
            rows_read=SyncRun.rows_read + count,
            inserted=SyncRun.inserted + result.inserted,
            updated=SyncRun.updated + result.updated + superseded,
            unchanged=SyncRun.unchanged + result.unchanged,
            quarantined=SyncRun.quarantined + len(rejected),
        ))
        session.commit()
        summary.read += count
        summary.inserted += result.inserted
        summary.updated += result.updated + superseded
        summary.unchanged += result.unchanged
        summary.quarantined += len(rejected)
        good, staged, bad, count, superseded = {}, [], [], 0, 0
        if progress:
            progress(reader.progress(), summary)

    for record in reader.records():
        if record.number <= skip_until:
            continue
        count += 1
        last_number = record.number
        values: dict[str, Any] = {}
        try:
            _check_shape(record, reader.header)
            values = _row_values(record, reader.header, positions)
            row = target.validate(values, staged=True) if bulk else target.validate(values)
        except InvalidRow as error:
            if not values and record.cells is not None:
                # A short or long row: keep what lines up, so the correction form is prefilled.
                values = {n: record.cells[i] for n, i in positions.items() if i < len(record.cells)}
            bad.append((record, values, str(error)))
        else:
            if bulk:
                staged.append((record.number, record.kept(), values, row))
                if count >= batch_size:
                    flush()
                continue
            key = target.key(row)
            if key in good:
                superseded += 1  # the same key twice in one batch: the later row wins
            good[key] = (record, row)
        if count >= batch_size:
            flush()
    if count:
        flush()


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
