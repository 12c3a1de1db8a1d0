"""The work-order core: state machine, SLA clock and numbering.  No Flask imports here:
screens, the REST API, the CLI and the jobs all call into this package with plain values
and a SQLAlchemy session, and translate its domain errors at their edge."""

from app.workflow.actor import Actor, actor_for_user  # noqa: F401
from app.workflow.errors import (  # noqa: F401
    DomainError,
    Forbidden,
    IllegalTransition,
    InvalidInput,
    NotFound,
    OutOfScope,
    StaleVersion,
)
