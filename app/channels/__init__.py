"""Channel services: intake of external platforms, feedback to them, duplicate detection,
parent/child grouping of outage reports, branch channels (service points, love
supermarkets), community points and internal tasks.  No Flask imports here."""

from __future__ import annotations


def install_hooks() -> None:
    """Register the channel hooks on the workflow service (idempotent)."""
    from app.channels import duplicates, feedback, grouping, tasks
    from app.workflow import service

    service.add_hook(feedback.record_feedback)
    service.add_hook(duplicates.flag_duplicate)
    service.add_hook(grouping.group_outage)
    service.add_hook(grouping.cascade_resolution)
    service.add_hook(tasks.award_points_on_completion)
