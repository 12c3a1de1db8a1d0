"""Channel services: intake of external platforms, feedback to them, duplicate detection,
parent/child grouping of outage reports, branch channels (service points, love
supermarkets), community points and internal tasks.  No Flask imports here."""

from __future__ import annotations
