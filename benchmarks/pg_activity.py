"""What PostgreSQL was busy with during a benchmark: pg_stat_activity sampled twice a second
from a thread of the benchmark's process. CPU seconds say how much the server worked; the
samples say on what (a statement of the benchmark's own, another database's, a checkpointer or
a background writer), so a slow run explains itself instead of needing a second one."""

from __future__ import annotations

import threading
from collections import Counter

# Every backend that is doing something, the sampler's own connection aside; a client
# backend's statement is cut to its first 60 characters so that the same statement with other
# parameters counts as one.
_ACTIVE = """
SELECT backend_type, coalesce(datname, ''), coalesce(wait_event_type, 'CPU'),
       left(regexp_replace(coalesce(query, ''), '\\s+', ' ', 'g'), 60)
FROM pg_stat_activity
WHERE pid <> pg_backend_pid()
  AND (state = 'active' OR backend_type NOT IN ('client backend', 'autovacuum launcher',
       'logical replication launcher', 'walwriter', 'background writer', 'checkpointer',
       'archiver', 'startup'))
"""
# Background processes are idle most of the time; they count only while they write.
_BACKGROUND = """
SELECT backend_type, wait_event FROM pg_stat_activity
WHERE backend_type IN ('checkpointer', 'background writer', 'walwriter') AND wait_event NOT LIKE '%Main'
"""


class ActivitySampler:
    """``with ActivitySampler(url) as sampler: …`` then ``sampler.summary()``: the most
    frequent kinds of work among the samples, each with its share of samples."""

    def __init__(self, database_url: str, interval: float = 0.5) -> None:
        self.url = database_url.replace("postgresql+psycopg://", "postgresql://")
        self.interval = interval
        self.samples = 0
        self.seen: Counter[str] = Counter()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, name="pg-activity", daemon=True)

    def __enter__(self) -> "ActivitySampler":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _sample(self) -> None:
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as conn:
            while not self._stop.wait(self.interval):
                rows = conn.execute(_ACTIVE).fetchall()
                rows += [(kind, "", "IO", event) for kind, event in conn.execute(_BACKGROUND).fetchall()]
                self.samples += 1
                for kind, database, wait, query in rows:
                    label = (f"{kind}: {query}" if kind == "client backend" else f"{kind} {query}".strip())
                    self.seen[f"{label} [{database or '-'}, {wait}]"] += 1

    def summary(self, top: int = 4) -> str:
        """``"<work> in 63 % of samples; …"`` (a statement counted once per backend running it)."""
        if not self.samples:
            return "no sample of PostgreSQL's activity"
        parts = [f"{label} in {count * 100 // self.samples} % of samples" for label, count in self.seen.most_common(top)]
        return f"{self.samples} samples of pg_stat_activity: " + ("; ".join(parts) or "nothing active")
