"""The complaint room's blueprint (`/hotline`) and what its pages share.

The console (`hotline/console.py`) and the corrections (`hotline/corrections.py`) both register
their routes on `bp`; the helpers are here so that neither imports the other for them.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from flask import Blueprint, abort, current_app, g, request
from flask.typing import ResponseReturnValue

from core.notifications import Sms, dispatch, owe_text
from core.references import grouped_ticket
from core.roles import Permission, can
from core.settings import Settings
from core.sms_policy import Occasion
from core.tickets import Ticket, ticket_for
from core.users import StaffUser
from web import store
from web.auth import staff_required

bp = Blueprint("hotline", __name__, url_prefix="/hotline", template_folder="templates")
F = TypeVar("F", bound=Callable[..., ResponseReturnValue])
MAX_TEXT = 1000


@bp.context_processor
def _ticket_numbers() -> dict[str, Callable[[str], str]]:
    """The room's pages write a ticket's number as the citizen is told it."""
    return {"grouped_ticket": grouped_ticket}


def room_required(view: F) -> F:
    """Agents and committee members: the two roles that work in the room."""

    @staff_required()
    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> ResponseReturnValue:
        user: StaffUser = g.user
        if not (
            can(user.role, Permission.HANDLE_COMPLAINTS)
            or can(user.role, Permission.DECIDE_CORRECTIONS)
        ):
            abort(403)
        return view(*args, **kwargs)

    return cast(F, wrapped)


def settings() -> Settings:
    return cast(Settings, current_app.config["INTAKE_SETTINGS"])


def owe_and_send(sms: Sms, occasion: Occasion) -> str:
    """Owe the SMS in this transaction, commit, then queue it (the outbox's order).

    Returns what the page says of it: "sent", or why it was withheld (`sms=` in the URL).
    """
    session = store.db()
    owing = owe_text(session, sms, occasion)
    session.commit()
    dispatch(current_app.extensions["intake.jobs"], owing.to_dispatch, new=True)
    return "sent" if owing.withheld is None else owing.withheld.value


def ticket_or_404(ticket_id: int) -> Ticket:
    """The ticket if the signed-in user may see it (misconduct rules included), else 404."""
    found = ticket_for(store.db(), g.user, ticket_id)
    if found is None:
        abort(404)
    return found


def form_text(name: str, limit: int = MAX_TEXT) -> str:
    return request.form.get(name, "")[:limit].strip()
