"""An application's status in one sentence, in the asker's language: for speech and SMS alike."""

from __future__ import annotations

from flask_babel import force_locale
from flask_babel import gettext as _

from core.references import grouped
from core.sayings import Stage, Status
from texts.lists import reason_text


def status_text(status: Status, language: str) -> str:
    """Where the application stands; once a list is published, the family's outcome on it."""
    with force_locale(language):
        reference = grouped(status.reference)
        if status.stage is Stage.ON_LIST:
            return _(
                "Application %(reference)s: on the assistance list. The army will hand the aid "
                "over; the head of household must show an ID.",
                reference=reference,
            )
        if status.stage is Stage.OFF_LIST:
            return _(
                "Application %(reference)s: not on the assistance list: %(reason)s. "
                "Call 1766 to complain.",
                reference=reference,
                reason=reason_text(status.reason),
            )
        if status.stage is Stage.INELIGIBLE:
            return _(
                "Application %(reference)s: received, but not eligible under the programme's "
                "rules. Call 1766 to complain.",
                reference=reference,
            )
        if status.stage is Stage.UNDER_REVIEW:
            return _(
                "Application %(reference)s: received, under review by the committee.",
                reference=reference,
            )
        return _("Application %(reference)s: received, being assessed.", reference=reference)
