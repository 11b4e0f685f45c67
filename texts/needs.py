"""The weekly-needs reminder SMS, in the focal point's language (texts.sms.compose sets it).

One segment wherever it can be: the Arabic text fits UCS-2's 70 characters, the English and
French ones GSM-7's 160 (no character outside the GSM alphabet).
"""

from __future__ import annotations

from flask_babel import gettext as _

from core.sayings import NeedsOverdue


def reminder_sms(overdue: NeedsOverdue) -> str:
    """What a focal point whose municipality has not filed the week's needs receives."""
    week_start = overdue.week_start
    return _(
        "1766: your municipality's weekly needs report (week of %(week)s) is overdue. "
        "Please file it in the console.",
        week=f"{week_start.day}/{week_start.month}",
    )
