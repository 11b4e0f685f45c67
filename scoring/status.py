"""An application's status as its family is told it, by voice or SMS (core/citizen_requests.py).

Once a list is published, the status is the family's outcome on it; before, where the
assessment stands.
"""

from __future__ import annotations

from sqlalchemy.orm import object_session

from core.applications import Application, ApplicationStatus
from core.sayings import Stage, Status
from scoring.explain import published_entry
from scoring.lists import ListEntry, Outcome

STAGES: dict[str, Stage] = {
    ApplicationStatus.INELIGIBLE: Stage.INELIGIBLE,
    ApplicationStatus.NEEDS_REVIEW: Stage.UNDER_REVIEW,
}


def status_of(application: Application) -> Status:
    entry = _published(application)
    if entry is None:
        stage = STAGES.get(application.status, Stage.BEING_ASSESSED)
        return Status(application.reference, stage)
    if entry.outcome == Outcome.SELECTED:
        return Status(application.reference, Stage.ON_LIST)
    return Status(application.reference, Stage.OFF_LIST, entry.reason)


def _published(application: Application) -> ListEntry | None:
    session = object_session(application)
    return published_entry(session, application.id) if session is not None else None
