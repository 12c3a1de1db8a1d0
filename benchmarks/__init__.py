"""Benchmarks (`make bench`), outside the test suite; each ``*_bench.py`` has a ``main()``."""
