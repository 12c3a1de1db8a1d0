"""Scheduled work: the scheduler (``scheduler.py``), the job runner and its run history
(``runner.py``), the marketing-system sync (``sync.py``), SLA sweeps (``sla.py``) and the
command-line edges (``cli.py``)."""
