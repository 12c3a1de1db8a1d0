"""Picked up by the benchmark harness (``make bench``): see report_bench.py."""

from benchmarks.report_bench import run  # noqa: F401
