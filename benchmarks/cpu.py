"""Whose CPU a benchmark's requests cost, from /proc: the gunicorn workers', PostgreSQL's and
the load generator's. On two shared cores, wall-clock rates measure the queue; CPU seconds per
request say where the machine's time went."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path


def children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (gunicorn's workers), from /proc; none elsewhere."""
    found = []
    for entry in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(entry.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.parent.name))
        except (OSError, IndexError, ValueError):
            continue
    return found


def process_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (/proc/<pid>/stat)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def postgres_seconds() -> float:
    """CPU time so far of every process named postgres (the server's backends and workers)."""
    total = 0.0
    for entry in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = entry.read_text()
        except OSError:
            continue
        if text.split("(", 1)[1].split(")", 1)[0] == "postgres":
            fields = text.rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def finished_children_seconds() -> float:
    """CPU time of this process's finished children (locust, once it has exited)."""
    times = os.times()
    return times.children_user + times.children_system


@dataclass(frozen=True)
class Spent:
    """CPU seconds spent between two readings."""
    workers: float
    database: float
    client: float

    def per_request_ms(self, requests: int) -> tuple[float, float, float]:
        n = max(requests, 1)
        return (self.workers * 1000 / n, self.database * 1000 / n, self.client * 1000 / n)


class CpuMeter:
    """Reads the CPU of a gunicorn master's workers, of PostgreSQL and of the load generator
    (``client``: this process's threads, or with ``client_children`` its finished children)."""

    def __init__(self, gunicorn_pid: int, client_children: bool = False) -> None:
        self.workers = children(gunicorn_pid)
        self.client_children = client_children

    def _client(self) -> float:
        return finished_children_seconds() if self.client_children else time.process_time()

    def reading(self) -> tuple[float, float, float]:
        return (sum(process_seconds(pid) for pid in self.workers), postgres_seconds(), self._client())

    def since(self, before: tuple[float, float, float]) -> Spent:
        after = self.reading()
        return Spent(*(a - b for a, b in zip(after, before)))
