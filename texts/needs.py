"""The weekly-needs reminder SMS, in the focal point's language.

One segment wherever it can be: the Arabic text fits UCS-2's 70 characters, the English and
French ones GSM-7's 160 (no character outside the GSM alphabet).
"""

from __future__ import annotations

from datetime import date

from flask_babel import force_locale
from flask_babel import gettext as _

from core.segments import strip_invisibles
from core.users import StaffUser


def reminder_sms(user: StaffUser, week_start: date) -> str:
    """What a focal point whose municipality has not filed the week's needs receives."""
    with force_locale(user.language):
        body = _(
            "1766: your municipality's weekly needs report (week of %(week)s) is overdue. "
            "Please file it in the console.",
            week=f"{week_start.day}/{week_start.month}",
        )
    return strip_invisibles(body)
