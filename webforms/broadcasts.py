"""Information SMS to residents (`/console/broadcasts`): write, confirm or approve, follow.

Thin views over `core.broadcasts` (who may do what), `core.broadcast_audience` (who it reaches,
what it costs) and the `SEND_BROADCAST` job. Before anything is sent the page shows the
audience, the segments and encoding of one SMS, the total segments, the cost at
`SMS_SEGMENT_PRICE_USD` and the numbers skipped for STOP. A refused form or action writes
nothing (the request's transaction is rolled back) and says why. The progress page refreshes
itself with a meta refresh while the broadcast is being owed, so it needs no JavaScript.
"""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any

from flask import Blueprint, abort, current_app, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import lazy_gettext as _l
from redis.exceptions import RedisError

from core.broadcast_audience import Audience, broadcast_area, cost, count_audience, progress
from core.broadcasts import (
    LANGUAGES,
    MAX_SEGMENTS,
    NO_AUDIENCE,
    TOO_MANY_SEGMENTS,
    WEB_ADDRESS,
    Broadcast,
    BroadcastInvalid,
    BroadcastRefused,
    BroadcastStatus,
    Refusal,
    broadcast_for,
    broadcasts_visible_to,
    clean_broadcast,
    confirm,
    decide,
    may_decide,
    write_broadcast,
)
from core.fields import FieldError
from core.queue import Work
from core.roles import Permission
from texts.forms import error_text
from web import store
from web.auth import staff_required

log = logging.getLogger(__name__)
bp = Blueprint("broadcasts", __name__, template_folder="templates")

BROADCAST_ID = "int(max=2147483647)"
REFRESH_SECONDS = 5  # the progress page reloads itself this often while SMS are being owed

STATUSES = {
    BroadcastStatus.DRAFT: _l("Waiting for your confirmation"),
    BroadcastStatus.AWAITING_APPROVAL: _l("Waiting for a second account's approval"),
    BroadcastStatus.REFUSED: _l("Refused"),
    BroadcastStatus.SENDING: _l("Being sent"),
    BroadcastStatus.SENT: _l("Sent"),
}
LANGUAGE_NAMES = {"ar": _l("Arabic"), "en": _l("English"), "fr": _l("French")}
REFUSALS = {
    Refusal.NOT_A_SENDER: _l("Your account cannot send information SMS."),
    Refusal.OWN_BROADCAST: _l(
        "You wrote this SMS: another account must approve it (the four-eyes rule)."
    ),
    Refusal.OUTSIDE_AREA: _l("This SMS is for an area outside yours: you cannot approve it."),
    Refusal.ALREADY_DONE: _l("This SMS was already confirmed or decided: nothing was changed."),
    Refusal.NOT_THE_AUTHOR: _l("Only the account that wrote this SMS can confirm it."),
}
DONE = {
    "written": _l("The SMS is written. Check the figures below before it goes."),
    "sending": _l("The SMS is being sent. This page follows its progress."),
    "refused": _l("The SMS is refused. It will not be sent."),
}


def _errors(errors: list[FieldError]) -> dict[str, str]:
    """Each refused field's sentence, in the page's language."""
    special = {
        TOO_MANY_SEGMENTS: _l(
            "This text takes %(segments)s SMS segments; at most %(max)s are allowed. "
            "Shorten it (an Arabic text holds 67 characters a segment)."
        ),
        WEB_ADDRESS: _l(
            "Leave out web addresses: residents are told to trust only 1766 and their "
            "municipality, and a link in an SMS is what a fraud looks like."
        ),
        NO_AUDIENCE: _l("No number of your area can receive an SMS yet: nothing to send."),
    }
    return {
        e.field: str(special[e.code] % dict(e.params)) if e.code in special else error_text(e)
        for e in errors
    }


def _price() -> Decimal:
    return Decimal(current_app.config["INTAKE_SETTINGS"].sms_segment_price_usd)


@bp.context_processor
def _labels() -> dict[str, Any]:
    return {
        "statuses": STATUSES,
        "language_labels": LANGUAGE_NAMES,
        "languages": LANGUAGES,
        "max_segments": MAX_SEGMENTS,
        "price": _price(),
    }


@bp.get("/console/broadcasts")
@staff_required(Permission.SEND_BROADCASTS)
def index() -> ResponseReturnValue:
    """The form, with who it would reach; the broadcasts of the viewer's area, newest first."""
    return _index_page()


def _index_page(errors: dict[str, str] | None = None) -> ResponseReturnValue:
    session = store.db()
    return render_template(
        "broadcasts/index.html",
        audience=count_audience(session, g.user.area),
        rows=broadcasts_visible_to(session, g.user),
        form=request.form if errors else {},
        errors=errors or {},
    ), (400 if errors else 200)


@bp.post("/console/broadcasts")
@staff_required(Permission.SEND_BROADCASTS)
def write() -> ResponseReturnValue:
    session = store.db()
    try:
        draft = clean_broadcast(request.form.to_dict(flat=False))
        audience = count_audience(session, g.user.area)
        broadcast = write_broadcast(session, g.user, draft, audience.total, audience.stopped)
    except BroadcastInvalid as invalid:
        session.rollback()
        return _index_page(_errors(invalid.errors))
    session.commit()
    return redirect(url_for("broadcasts.show", broadcast_id=broadcast.id, done="written"))


@bp.get(f"/console/broadcasts/<{BROADCAST_ID}:broadcast_id>")
@staff_required(Permission.SEND_BROADCASTS)
def show(broadcast_id: int) -> ResponseReturnValue:
    """Before sending: the figures and the buttons; after: the progress."""
    return _show_page(_broadcast(broadcast_id), DONE.get(request.args.get("done", "")))


def _broadcast(broadcast_id: int) -> Broadcast:
    broadcast = broadcast_for(store.db(), g.user, broadcast_id)
    if broadcast is None:
        abort(404)
    return broadcast


def _show_page(broadcast: Broadcast, done: Any = None, refused: Any = None) -> ResponseReturnValue:
    session = store.db()
    pending = broadcast.status in (BroadcastStatus.DRAFT, BroadcastStatus.AWAITING_APPROVAL)
    if pending:
        audience = count_audience(session, broadcast_area(broadcast))
    elif broadcast.recipients is None:  # approved, recipients not written yet
        audience = Audience(broadcast.audience, broadcast.stopped)
    else:
        audience = Audience(broadcast.recipients, broadcast.skipped or 0)
    sending = broadcast.status == BroadcastStatus.SENDING
    return render_template(
        "broadcasts/show.html",
        broadcast=broadcast,
        audience=audience,
        total_segments=audience.sendable * broadcast.segments,
        cost=cost(broadcast.segments, audience.sendable, _price()),
        progress=None if pending else progress(session, broadcast),
        may_confirm=broadcast.status == BroadcastStatus.DRAFT and broadcast.author_id == g.user.id,
        may_decide=may_decide(g.user, broadcast),
        refresh=REFRESH_SECONDS if sending else None,
        done=done,
        refused=refused,
    ), (409 if refused else 200)


@bp.post(f"/console/broadcasts/<{BROADCAST_ID}:broadcast_id>/send")
@staff_required(Permission.SEND_BROADCASTS)
def send(broadcast_id: int) -> ResponseReturnValue:
    """The author's confirmation of a district or municipality broadcast."""
    broadcast = _broadcast(broadcast_id)
    return _act(broadcast, lambda: confirm(store.db(), g.user, broadcast), "sending")


@bp.post(f"/console/broadcasts/<{BROADCAST_ID}:broadcast_id>/decide")
@staff_required(Permission.SEND_BROADCASTS)
def decide_view(broadcast_id: int) -> ResponseReturnValue:
    """A second account approves or refuses a national or governorate broadcast."""
    broadcast = _broadcast(broadcast_id)
    approve = request.form.get("decision", "") == "approve"
    if request.form.get("decision", "") not in ("approve", "refuse"):
        abort(400)
    done = "sending" if approve else "refused"
    return _act(broadcast, lambda: decide(store.db(), g.user, broadcast, approve), done)


def _act(broadcast: Broadcast, action: Any, done: str) -> ResponseReturnValue:
    """Take the action and commit, then queue the sending; or the page again with why not."""
    session = store.db()
    try:
        action()
    except BroadcastRefused as refusal:
        session.rollback()
        session.refresh(broadcast)
        return _show_page(broadcast, refused=REFUSALS[refusal.reason])
    session.commit()
    if broadcast.status == BroadcastStatus.SENDING:
        _enqueue(broadcast.id)
    return redirect(url_for("broadcasts.show", broadcast_id=broadcast.id, done=done))


@bp.post(f"/console/broadcasts/<{BROADCAST_ID}:broadcast_id>/resume")
@staff_required(Permission.SEND_BROADCASTS)
def resume(broadcast_id: int) -> ResponseReturnValue:
    """Queue a sending broadcast's job again (Redis was down, a worker lost it): the job
    owes only what is not owed yet, and a job still queued is not queued twice."""
    broadcast = _broadcast(broadcast_id)
    store.db().commit()  # ends the request's transaction: an inline job works on the store now
    if broadcast.status == BroadcastStatus.SENDING:
        _enqueue(broadcast.id)
    return redirect(url_for("broadcasts.show", broadcast_id=broadcast.id))


def _enqueue(broadcast_id: int) -> None:
    """Queue the job after the commit; if Redis is down, "Resume sending" queues it later."""
    try:
        current_app.extensions["intake.jobs"].enqueue(
            "default", Work.SEND_BROADCAST, broadcast_id, job_id=f"broadcast-{broadcast_id}"
        )
    except (RedisError, OSError) as exc:
        log.warning("broadcast %s not queued yet (%s)", broadcast_id, type(exc).__name__)
