"""The four pages of the household form, shared by the citizen's link and assisted entry.

Each page posts to the server and is validated there (no JavaScript needed); a valid page
is saved on the link at once, so closing the browser loses nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import abort, current_app, redirect, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import get_locale
from werkzeug.datastructures import MultiDict

from core.applications import Application, application_for_link
from core.clock import beirut_day, beirut_today
from core.fields import FieldError
from core.geography import Locality
from core.household import MAX_MEMBERS, PAGES, clean_page, provided_members
from core.link_lifecycle import OutsideWindow
from core.links import Link, LinkUnavailable, save_page
from core.notifications import dispatch
from core.receipts import owe_receipt
from core.score_requests import dispatch_scoring
from core.submissions import DuplicateFamily, IncompleteForm, submit
from texts import forms as form_text
from texts.sms import compose
from web import store
from webforms.localities import resolve_locality_fields


@dataclass(frozen=True)
class FlowUrls:
    """Where a page posts and links to: the citizen's /f/<token>/… or the console's."""

    page: Callable[[str], str]
    on_unavailable: Callable[[], ResponseReturnValue]
    layout: str  # the template the pages extend


def show_page(link: Link, page: str, urls: FlowUrls) -> ResponseReturnValue:
    """A page with what was saved for it; pages are filled in order."""
    if page not in PAGES:
        abort(404)
    first_open = link.next_page()
    if first_open is not None and PAGES.index(page) > PAGES.index(first_open):
        return redirect(urls.page(first_open))
    saved = link.pages().get(page, {})
    return _render(link, page, _as_form(page, saved, link), [], urls)


def post_page(
    link: Link, page: str, urls: FlowUrls, entered_by_id: int | None
) -> ResponseReturnValue:
    """Validate and keep one page; the last one submits the whole form."""
    if page not in PAGES:
        abort(404)
    form = MultiDict(request.form)
    if page == "family" and request.form.get("action", "").startswith(("add", "remove")):
        return _render(link, page, _rearrange_members(form), [], urls)
    values = form.to_dict(flat=False)
    values, candidates = resolve_locality_fields(store.db(), page, values)
    data, errors = clean_page(page, values, today=beirut_today(), session=store.db())
    if errors:
        return _render(link, page, form, errors, urls, candidates), 400
    if page != PAGES[-1]:
        save_page(link, page, data)
        store.commit()
        return redirect(urls.page(PAGES[PAGES.index(page) + 1]))
    return _submit(link, {**link.pages(), page: data}, urls, entered_by_id)


def _submit(
    link: Link, pages: dict[str, Any], urls: FlowUrls, entered_by_id: int | None
) -> ResponseReturnValue:
    """The last page goes straight into the application, not into the link's draft."""
    session = store.db()
    language = str(get_locale() or link.language)
    try:
        application = submit(session, link, pages, language, entered_by_id)
    except (LinkUnavailable, DuplicateFamily, IncompleteForm, OutsideWindow) as refusal:
        session.rollback()
        late = application_for_link(session, link.id)
        if late is not None:  # a double click or a second tab: the first one won
            return receipt(late, urls)
        return refused(refusal, urls)
    message_id = owe_receipt(session, application, compose)
    session.commit()
    jobs = current_app.extensions["intake.jobs"]
    dispatch(jobs, [message_id], new=True)
    dispatch_scoring(jobs, application.id, application.version)
    return receipt(application, urls)


def refused(refusal: Exception, urls: FlowUrls) -> ResponseReturnValue:
    """Why a submission was not taken, in words; a double submission sees its receipt."""
    if isinstance(refusal, LinkUnavailable):
        return urls.on_unavailable()
    if isinstance(refusal, DuplicateFamily):
        return render_template(
            "form/refused.html", layout=urls.layout, reason=form_text.DUPLICATE_FAMILY
        ), 409
    if isinstance(refusal, OutsideWindow):
        return render_template(
            "form/refused.html", layout=urls.layout, reason=form_text.WINDOW_CLOSED
        ), 403
    return redirect(urls.page(PAGES[0]))


def receipt(application: Application, urls: FlowUrls) -> ResponseReturnValue:
    """The reference, its check digit and the day it was sent: what a family keeps, on paper."""
    from core.references import grouped

    reason = form_text.INELIGIBLE_REASONS.get(application.reason or "")
    sent_on = application.submitted_on or beirut_day(application.submitted_at)
    return render_template(
        "form/receipt.html",
        layout=urls.layout,
        reference=grouped(application.reference),
        # core.references: the last of the ten digits is the Verhoeff check digit.
        check_digit=application.reference[-1],
        sent_on=sent_on,
        reason=reason,
    )


def _render(
    link: Link,
    page: str,
    form: MultiDict[str, str],
    errors: list[FieldError],
    urls: FlowUrls,
    candidates: dict[str, list[Locality]] | None = None,
) -> str:
    by_field = {error.field: form_text.error_text(error) for error in errors}
    members = provided_members(form.to_dict(flat=False)) if page == "family" else []
    return render_template(
        f"form/{page}.html",
        layout=urls.layout,
        page=page,
        pages=PAGES,
        step=PAGES.index(page) + 1,
        form=form,
        errors=by_field,
        members=members,
        action=urls.page(page),
        back=urls.page(PAGES[PAGES.index(page) - 1]) if page != PAGES[0] else None,
        text=form_text,
        candidates=candidates or {},
        max_members=MAX_MEMBERS,
    )


def _rearrange_members(form: MultiDict[str, str]) -> MultiDict[str, str]:
    """Add a blank member block, or drop one, without validating (the no-JavaScript way)."""
    action = form.get("action", "")
    members = provided_members(form.to_dict(flat=False))
    if action.startswith("remove-"):
        index = action.removeprefix("remove-")
        form = MultiDict(
            [(k, v) for k, v in form.items(multi=True) if not k.startswith(f"members-{index}-")]
        )
    elif len(members) < MAX_MEMBERS:
        form.add(f"members-{max(members, default=-1) + 1}-first_name", "")
    return form


def _as_form(page: str, saved: dict[str, Any], link: Link) -> MultiDict[str, str]:
    """Saved page data back into form values, so a resumed page shows what was entered."""
    form: MultiDict[str, str] = MultiDict()
    for name, value in saved.items():
        if name == "members":
            for n, member in enumerate(value):
                for key, item in member.items():
                    _add(form, f"members-{n}-{key}", item)
        else:
            _add(form, name, value)
    if page == "personal" and "phone" not in form and link.phone:
        form.add("phone", "0" + link.phone.removeprefix("+961"))
    if page == "housing" and "residence_locality" not in form and link.locality_code:
        form.add("residence_locality", link.locality_code)
    if page == "family" and not saved:
        form.add("members-0-first_name", "")
    return form


def _add(form: MultiDict[str, str], name: str, value: Any) -> None:
    if isinstance(value, list):
        for item in value:
            form.add(name, str(item))
    elif isinstance(value, bool):
        if value:
            form.add(name, "1")
    elif value is not None:
        form.add(name, str(value))
