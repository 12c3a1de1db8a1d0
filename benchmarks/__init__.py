"""`make bench`: GridCare's benchmark suite.  Each figure is written to BENCHMARKS.md beside
its limit measured in the same run (the same work done the plainest way: raw SQL through the
driver, a bare endpoint, a driver bulk insert)."""
