"""`/help`: the circular's support numbers, the 1766 hotline and a short guide per role.

Open to everyone, signed in or not: a member of staff who cannot sign in is the one who needs
the support numbers most. Linked from the sign-in page and from every console page's header.
The numbers are `tel:` links so a cheap phone dials them with one tap.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue
from flask_babel import lazy_gettext as _l

from core.roles import Role
from webforms.console import ROLE_LABELS

bp = Blueprint("help", __name__, template_folder="templates")


@dataclass(frozen=True)
class Number:
    """A number as the circular writes it, and as a phone dials it from Lebanon."""

    shown: str
    dial: str


# The circular's support numbers for the programme's users (municipalities and authorities).
SUPPORT = (
    Number("04/548393", "+9614548393"),
    Number("81/117725", "+96181117725"),
    Number("01/990011", "+9611990011"),
)
HOTLINE = Number("1766", "1766")  # the citizens' hotline: questions, complaints, corrections

GUIDES = {
    Role.FOCAL_POINT: _l(
        "Send families one-time form links by SMS, or fill the form with them during a call. "
        "Follow your municipality's forms, complaints and cases, record its decisions, file "
        "its weekly needs, review what mukhtars and volunteers flagged, and request accounts "
        "for your helpers."
    ),
    Role.MUKHTAR: _l(
        "Help the families of your municipality: send form links or fill a form during a call, "
        "and flag a form whose data look wrong so the focal point checks it."
    ),
    Role.VOLUNTEER: _l(
        "Like a mukhtar: send form links, fill forms with families who cannot, and flag a form "
        "whose data look wrong."
    ),
    Role.QAIMAQAM: _l(
        "Follow the forms, complaints and reports of your district's municipalities, record "
        "the district's decisions (every municipality of the district reads them), send "
        "information SMS to its residents and follow each account's work."
    ),
    Role.GOVERNOR: _l(
        "The same as a qaimaqam, for the whole governorate: its reports, its decisions, "
        "information SMS to its residents and each account's work."
    ),
    Role.MINISTRY: _l(
        "Follow the programme nationally: reports, beneficiary lists, circulars, information "
        "SMS, samples of forms for home visits and each account's daily work."
    ),
    Role.HEALTH_MINISTRY: _l(
        "Follow COVID-19 cases in full and publish the ministry's circulars to everyone."
    ),
    Role.INSPECTOR: _l(
        "Read everything, change nothing: forms, lists, the audit trail and each account's "
        "daily work, nationally."
    ),
    Role.AGENT: _l(
        "Answer 1766 calls: find a family's form, log complaints and correction requests, and "
        "call back those who asked."
    ),
    Role.COMMITTEE: _l(
        "Approve or reject correction requests (never your own), watch the complaint room's "
        "overdue tickets, and approve each published list (two members) before the army "
        "distributes it."
    ),
    Role.ARMY: _l("Read the final beneficiary lists, check vouchers and record each handover."),
    Role.ADMIN: _l(
        "Create, disable and reset staff accounts and answer account requests; an admin reads "
        "no family's data."
    ),
}


@bp.get("/help")
def page() -> ResponseReturnValue:
    """The help page, in the visitor's language."""
    guides = [(ROLE_LABELS[role], GUIDES[role]) for role in Role]
    return render_template("help/index.html", support=SUPPORT, hotline=HOTLINE, guides=guides)
