"""The set-based half of the customer archive sync: one batch of validated rows goes into the
staging table with the driver's own bulk path, and a few statements over the whole batch do
what the per-row loop used to do one row at a time.

For each batch, inside the transaction that also moves the run's ``last_row``:

1. the rows are loaded into ``sync_staging_customer`` under the run's id: ``COPY`` on
   PostgreSQL (psycopg), ``executemany`` on SQLite and MariaDB (plain tuples, already in the
   column's storage form, so no per-value conversion runs on the way);
2. one join against the grids and transformers finds the rows whose references do not hold;
   they are quarantined with the same reasons as before and dropped from the batch;
3. a customer number given twice in the batch keeps its last good row (the later row wins);
4. one query counts the staged rows whose customer is already archived (on MariaDB, whose
   affected-rows count says less, one query counts new and changed rows outright; on
   PostgreSQL the upsert's ``RETURNING xmax = 0`` tells inserted from updated);
5. one ``INSERT … SELECT … ON CONFLICT (customer_no) DO UPDATE … WHERE <a column differs>``
   (``ON DUPLICATE KEY UPDATE`` on MariaDB) writes new and changed customers: a row that would
   change nothing is not written, so its ``updated_at`` stays; the rows it wrote, beside the
   count of step 4, tell inserted from updated from unchanged.  A batch that names no
   archived customer (a first load) is written by a plain ``INSERT … SELECT`` instead;
6. the batch's staging rows are deleted.  Nothing in the table outlives the transaction, so a
   run killed part-way leaves no rows behind and resumes from ``last_row`` as before.  On
   PostgreSQL the rows go into a temporary twin of the table, private to the connection and
   truncated at commit (``_private_twin``): deleted rows would otherwise wait for a vacuum.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import and_, case, delete, false, func, literal, literal_column, or_, select
from sqlalchemy.orm import Session

from app.models.base import UTCDateTime
from app.models.customer import Customer
from app.models.org import Grid, Transformer
from app.models.sync import customer_staging

STAGED = ("customer_no", "name", "customer_type", "phone", "phone_key", "phone_tail_key", "id_number",
          "address", "grid_code", "transformer_code", "meter_no", "contract_capacity_kva", "tariff",
          "source_updated_at")
# Staged column → the customer column it becomes (grid and transformer arrive as codes).
_TARGET = {"grid_code": "grid_id", "transformer_code": "transformer_id"}


# True when this connection's temporary twin exists and has the shared table's columns.
_TWIN_IS_CURRENT = """
SELECT coalesce((SELECT string_agg(attname::text, ',' ORDER BY attnum) FROM pg_attribute
                 WHERE attrelid = to_regclass('pg_temp.sync_staging_customer') AND attnum > 0
                   AND NOT attisdropped)
                = (SELECT string_agg(attname::text, ',' ORDER BY attnum) FROM pg_attribute
                   WHERE attrelid = to_regclass(quote_ident(current_schema()) || '.sync_staging_customer')
                     AND attnum > 0 AND NOT attisdropped), false)
"""


def storage_converters(dialect: str) -> tuple[Any, Any]:
    """How a datetime (aware, UTC) and a Decimal are handed to the driver on ``dialect``:
    the form SQLAlchemy's own types would store, so staged and archived values compare equal."""
    if dialect == "sqlite":
        # SQLAlchemy's SQLite DateTime storage format, and Numeric as REAL.
        return (lambda d: d.replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds"),
                float)
    return (lambda d: d.replace(tzinfo=None)), (lambda n: n)


class StagedBatch:
    """Loads and applies the batches of one run of the customer archive."""

    def __init__(self, session: Session, run_id: int, compared: tuple[str, ...]) -> None:
        self.session = session
        self.run_id = run_id
        self.dialect = session.get_bind().dialect.name
        # Customer columns the file sets (the others are neither compared nor overwritten).
        self.compared = compared
        self.phone = "phone" in compared
        written = [c for c in compared if c not in ("grid_id", "transformer_id")]
        self.written = written + (["phone_key", "phone_tail_key"] if self.phone else [])
        self._statements: dict[str, Any] = {}
        self.session.execute(delete(customer_staging).where(customer_staging.c.run_id == run_id))

    # --- 1. the bulk load -------------------------------------------------------------------
    def load(self, rows: list[tuple]) -> None:
        """Bulk-load staging tuples (run id, row number, then ``STAGED``; the customer target's
        staging plan makes them, values already in ``storage_converters`` form)."""
        connection = self.session.connection()
        quote = connection.dialect.identifier_preparer.quote  # row_number is a word of MariaDB's
        columns = ", ".join(quote(name) for name in ("run_id", "row_number") + STAGED)
        driver = connection.connection.driver_connection
        if self.dialect == "postgresql":
            self._private_twin(connection)
            with driver.cursor() as cursor:
                with cursor.copy(f"COPY sync_staging_customer ({columns}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            return
        mark = "?" if self.dialect == "sqlite" else "%s"
        cursor = driver.cursor()
        try:
            cursor.executemany(f"INSERT INTO sync_staging_customer ({columns}) "
                               f"VALUES ({', '.join([mark] * (2 + len(STAGED)))})", rows)
        finally:
            cursor.close()

    @staticmethod
    def _private_twin(connection: Any) -> None:
        """PostgreSQL: the batch goes into a temporary twin of the staging table, private to
        the connection and emptied at every commit (``ON COMMIT DELETE ROWS``: a truncation,
        not a delete).  Rows deleted from the shared table stay behind as dead tuples until a
        vacuum; with autovacuum off or behind, each batch's look-ups by run id waded through
        every row the run had staged so far (after 910,000 rows of one run the table was
        294 MB for 10,000 live rows), so the sync slowed down as the file went on.  The twin
        has the shared table's name and columns: the session's temporary schema comes first on
        the search path, so every statement here reaches it unchanged.  A pooled connection
        keeps its twin across runs: one made before a migration changed the shared table's
        columns is made again (the check that the twin exists compares the columns too)."""
        if not connection.exec_driver_sql(_TWIN_IS_CURRENT).scalar():
            connection.exec_driver_sql("DROP TABLE IF EXISTS pg_temp.sync_staging_customer")
            connection.exec_driver_sql(
                "CREATE TEMPORARY TABLE sync_staging_customer (LIKE sync_staging_customer INCLUDING ALL)"
                " ON COMMIT DELETE ROWS")

    # --- 2. references --------------------------------------------------------------------
    def broken_references(self) -> dict[int, str]:
        """Row number → quarantine reason for the staged rows whose grid or transformer is
        unknown, or whose transformer belongs to another grid."""
        s, g, t = customer_staging, Grid.__table__, Transformer.__table__
        checks = [g.c.id.is_(None)]
        if "transformer_id" in self.compared:
            checks.append(and_(s.c.transformer_code.is_not(None),
                               or_(t.c.id.is_(None), t.c.grid_id != g.c.id)))
        query = (select(s.c.row_number, s.c.grid_code, s.c.transformer_code, g.c.id, t.c.id)
                 .select_from(s.outerjoin(g, g.c.code == s.c.grid_code)
                              .outerjoin(t, t.c.code == s.c.transformer_code))
                 .where(s.c.run_id == self.run_id, or_(*checks)))
        reasons = {}
        for number, grid_code, transformer_code, grid_id, transformer_id in self.session.execute(query):
            if grid_id is None:
                reasons[number] = f"unknown grid: {grid_code[:40]}" if grid_code else "missing grid code"
            elif transformer_id is None:
                reasons[number] = f"unknown transformer: {transformer_code[:40]}"
            else:
                reasons[number] = f"transformer {transformer_code} is not in grid {grid_code}"
        return reasons

    def drop(self, numbers: list[int]) -> None:
        s = customer_staging
        for first in range(0, len(numbers), 500):
            self.session.execute(delete(s).where(s.c.run_id == self.run_id,
                                                 s.c.row_number.in_(numbers[first:first + 500])))

    # --- 3. the later row wins ------------------------------------------------------------
    def keep_last(self, customer_numbers: set[str]) -> int:
        """Of the staged rows of each of ``customer_numbers`` (given more than once in the
        batch), keep the last one; returns how many earlier rows were superseded."""
        s = customer_staging
        last: dict[str, int] = {}
        earlier: list[int] = []
        found = self.session.execute(
            select(s.c.customer_no, s.c.row_number)
            .where(s.c.run_id == self.run_id, s.c.customer_no.in_(customer_numbers))
            .order_by(s.c.row_number.desc()))
        for customer_no, number in found:
            if customer_no in last:
                earlier.append(number)
            else:
                last[customer_no] = number
        if earlier:
            self.drop(earlier)
        return len(earlier)

    # --- 4. and 5. count, then upsert -------------------------------------------------------
    def _source(self, now: dt.datetime) -> Any:
        s, g, t = customer_staging, Grid.__table__, Transformer.__table__
        columns = [s.c.customer_no]
        for name in self.written:
            columns.append(s.c[name])
        if "grid_id" in self.compared:
            columns.append(g.c.id.label("grid_id"))
        if "transformer_id" in self.compared:
            columns.append(t.c.id.label("transformer_id"))
        stamp = literal(now, UTCDateTime())
        columns += [stamp.label("created_at"), stamp.label("updated_at")]
        joined = s.join(g, g.c.code == s.c.grid_code)
        if "transformer_id" in self.compared:
            joined = joined.outerjoin(t, t.c.code == s.c.transformer_code)
        return select(*columns).select_from(joined).where(s.c.run_id == self.run_id)

    def _differs(self, current: Any, incoming: Any) -> Any:
        """SQL true when the archived customer ``current`` differs from ``incoming`` in a
        compared column (NULL-safe: IS DISTINCT FROM, IS NOT, NOT <=>)."""
        if not self.compared:
            return false()
        return or_(*(current.c[name].is_distinct_from(incoming.c[name]) for name in self.compared))

    def classify(self, now: dt.datetime, per_row: bool = False) -> Any:
        """(new, changed, total) over the batch; with ``per_row``, the customer numbers of
        the changed existing customers instead of their count."""
        c = Customer.__table__
        incoming = self._source(now).subquery("incoming")
        differs = self._differs(c, incoming)
        joined = incoming.outerjoin(c, c.c.customer_no == incoming.c.customer_no)
        if per_row:
            return self.session.execute(
                select(incoming.c.customer_no, c.c.id, differs).select_from(joined)).all()
        new = func.sum(case((c.c.id.is_(None), 1), else_=0))
        changed = func.sum(case((and_(c.c.id.is_not(None), differs), 1), else_=0))
        return self.session.execute(select(new, changed, func.count()).select_from(joined)).one()

    def existing(self) -> int:
        """How many of the staged rows name a customer already in the archive."""
        s, c = customer_staging, Customer.__table__
        return self.session.scalar(select(func.count()).select_from(
            s.join(c, c.c.customer_no == s.c.customer_no)).where(s.c.run_id == self.run_id)) or 0

    def upsert(self, now: dt.datetime) -> int:
        """Insert the new customers and update the changed ones; returns how many rows the
        database wrote (inserted + updated) on PostgreSQL and SQLite."""
        if self.dialect == "mysql":
            from sqlalchemy.dialects.mysql import insert as mysql_insert

            c = Customer.__table__
            source = self._source(now)
            names = [col.name for col in source.selected_columns]
            statement = mysql_insert(c).from_select(names, source)
            incoming = statement.inserted
            if self.compared:
                differs = or_(*(c.c[n].is_distinct_from(incoming[n]) for n in self.compared))
                # MariaDB assigns left to right: updated_at is decided before the columns move.
                assignments = [("updated_at", case((differs, incoming.updated_at), else_=c.c.updated_at))]
                assignments += [(n, incoming[n]) for n in names if n not in ("customer_no", "created_at",
                                                                            "updated_at")]
            else:
                assignments = [("customer_no", c.c.customer_no)]
            self.session.execute(statement.on_duplicate_key_update(assignments))
            return -1
        return self.session.execute(self._on_conflict(now)).rowcount

    def insert_new(self, now: dt.datetime) -> None:
        """The batch names no archived customer (a first load): a plain ``INSERT … SELECT``,
        without the conflict check the upsert makes for every row."""
        c = Customer.__table__
        source = self._source(now)
        self.session.execute(c.insert().from_select([col.name for col in source.selected_columns], source))

    def upsert_counted(self, now: dt.datetime) -> tuple[int, int]:
        """PostgreSQL: the upsert, returning (inserted, updated) — a row the statement inserted
        has no deleting transaction (``xmax = 0``), an updated one has."""
        statement = self._on_conflict(now).returning(literal_column("xmax = 0"))
        fresh = self.session.execute(statement).scalars().all()
        inserted = sum(1 for f in fresh if f)
        return inserted, len(fresh) - inserted

    def _on_conflict(self, now: dt.datetime) -> Any:
        """``INSERT … SELECT … ON CONFLICT DO UPDATE … WHERE <changed>`` (PostgreSQL, SQLite)."""
        c = Customer.__table__
        if self.dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as dialect_insert
        else:
            from sqlalchemy.dialects.sqlite import insert as dialect_insert
        source = self._source(now)
        names = [col.name for col in source.selected_columns]
        statement = dialect_insert(c).from_select(names, source)
        excluded = statement.excluded
        if not self.compared:
            return statement.on_conflict_do_nothing(index_elements=[c.c.customer_no])
        return statement.on_conflict_do_update(
            index_elements=[c.c.customer_no],
            set_={n: excluded[n] for n in names if n not in ("customer_no", "created_at")},
            where=or_(*(c.c[n].is_distinct_from(excluded[n]) for n in self.compared)))

    # --- 6. ---------------------------------------------------------------------------------
    def clear(self) -> None:
        self.session.execute(delete(customer_staging).where(customer_staging.c.run_id == self.run_id))

