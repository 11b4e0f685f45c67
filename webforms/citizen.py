"""The citizen's one-time link: `/f/<token>` and its four pages.

The token in the URL is the only credential, so these forms carry no CSRF token (the token
itself is unguessable and bound to this one form). Unknown, expired, revoked and used links
all get the same page. A correction link (sent by 1766) opens the correction page instead of
the household form, and never the form's pages.
"""

from __future__ import annotations

from flask import Blueprint, g, render_template, request, url_for
from flask.typing import ResponseReturnValue

from core.applications import application_for_link
from core.link_tokens import TooManyGuesses, link_for_token
from core.links import Channel, Link, LinkUnavailable, mark_opened, usable
from web import store
from web.overload import retry_after
from webforms import correction_link
from webforms.flow import FlowUrls, post_page, receipt, show_page

bp = Blueprint("citizen", __name__, url_prefix="/f", template_folder="templates")


def unavailable() -> ResponseReturnValue:
    return render_template("form/unavailable.html", layout="form/citizen_layout.html"), 404


def busy() -> ResponseReturnValue:
    """Past the form's limit, or the store unable to answer: nothing read, nothing written.

    Each page is saved as it is sent, so what the family sent before is kept; the page that
    met this answer saved nothing, and the browser's back button still holds it.
    """
    page = render_template("form/busy.html", layout="form/citizen_layout.html")
    return page, 503, retry_after()


def _urls(token: str) -> FlowUrls:
    return FlowUrls(
        page=lambda page: url_for("citizen.page", token=token, page=page),
        on_unavailable=unavailable,
        layout="form/citizen_layout.html",
    )


def _link(token: str) -> Link | ResponseReturnValue:
    try:
        link = link_for_token(store.db(), token, request.remote_addr or "unknown")
    except TooManyGuesses:
        store.commit()
        return render_template(
            "form/unavailable.html", layout="form/citizen_layout.html", throttled=True
        ), 429
    except LinkUnavailable:
        store.commit()  # keep the count of guesses
        return unavailable()
    g.page_language = link.language
    return link


@bp.get("/<token>")
def start(token: str) -> ResponseReturnValue:
    found = _link(token)
    if not isinstance(found, Link):
        return found
    try:
        link = usable(found)
    except LinkUnavailable:
        return unavailable()
    mark_opened(link)
    store.commit()
    if link.channel == Channel.CORRECTION:
        return correction_link.show(link, url_for("citizen.start", token=token), unavailable)
    return show_page(link, link.next_page() or "finances", _urls(token))


@bp.post("/<token>")
def correct(token: str) -> ResponseReturnValue:
    """What a correction link sends; a used one (a second tab, a retry) is unavailable."""
    found = _link(token)
    if not isinstance(found, Link):
        return found
    if found.channel != Channel.CORRECTION or not found.is_usable():
        return unavailable()
    return correction_link.send(found, url_for("citizen.start", token=token), unavailable)


@bp.route("/<token>/<page>", methods=["GET", "POST"])
def page(token: str, page: str) -> ResponseReturnValue:
    found = _link(token)
    if not isinstance(found, Link):
        return found
    if found.channel == Channel.CORRECTION:  # a correction never reaches the form's pages
        return unavailable()
    if not found.is_usable():
        return _late(found, token)
    mark_opened(found)
    if request.method == "GET":
        return show_page(found, page, _urls(token))
    return post_page(found, page, _urls(token), entered_by_id=None)


def _late(link: Link, token: str) -> ResponseReturnValue:
    """A second tab or a retried final post: the receipt, not an error (GETs get nothing)."""
    application = application_for_link(store.db(), link.id)
    if request.method == "POST" and application is not None:
        return receipt(application, _urls(token))
    return unavailable()
