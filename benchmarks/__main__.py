"""`python -m benchmarks`: run every ``benchmarks/*_bench.py`` module's ``main()``."""

from __future__ import annotations

import importlib
from pathlib import Path

for path in sorted(Path(__file__).resolve().parent.glob("*_bench.py")):
    module = importlib.import_module(f"benchmarks.{path.stem}")
    module.main()
