"""The work-point ledger (工分台账): reading it in the viewer's scope, per entry and per person
and month.  Booking is the scoring rules' job (``app/rules/scoring.py``)."""
