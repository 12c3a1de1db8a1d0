"""Named locks held until the end of the caller's transaction, for checks that must see
each other's work: a repeat of a demand registered a moment ago in another transaction, a
neighbour's outage report of the same transformer area.

On PostgreSQL these are transaction-level advisory locks (``pg_advisory_xact_lock``): two
registrations of one phone wait for each other, two of unrelated phones never do.  On SQLite
(writers serialised by BEGIN IMMEDIATE) and MySQL (registrations serialised by the order
number counter, ``app/workflow/numbering.py``) the transactions are already one after the
other, and nothing is taken.  Locks are taken in the order of their names; callers take the
repeat locks before the area lock, so two transactions never wait for each other in a circle.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session


def hold(session: Session, *names: str) -> None:
    """Take the named locks (sorted) for the rest of the session's transaction."""
    if session.get_bind().dialect.name != "postgresql":
        return
    for name in sorted(set(names)):
        session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:name))"), {"name": name})
