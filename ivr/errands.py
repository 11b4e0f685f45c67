"""The errands of the voice menu: a form link, a status, a complaint, a call back.

Each works through `core.citizen_requests` (the same rules as the console and SMS) in the
request's transaction and says its answer with `texts.voice`; an errand that did work returns
the SMS it owes, and the view commits, remembers the reply under the call and step, then
dispatches.
"""

from __future__ import annotations

import phonenumbers

from core.applications import application_by_reference
from core.citizen_requests import ask_callback, ask_status, file_ticket, send_form_link
from core.phones import NotLebaneseMobile, normalise_mobile
from core.references import parse_reference
from core.sayings import Reply, Status
from core.tickets import MENU_CATEGORIES, TicketCategory
from ivr.flow import CallInput, Context, Outcome, back_to_menu, farewell, retry
from ivr.turns import Ask, Record, Target, Turn
from scoring.status import status_of
from texts import voice as prompts
from texts.sms import compose

MOBILE_DIGITS = 8  # every Lebanese mobile has 8 national digits (03 123 456, 71 123 456)
COMPLAINT_SECONDS = 120
TOWN_SECONDS = 10

# -- 1: a form link ---------------------------------------------------------------------------


def form_link(ctx: Context, call: CallInput) -> Outcome:
    """To the calling mobile at once; a landline or foreign caller keys in a mobile first."""
    if call.mobile is None:
        return Outcome(ask_mobile(call, 0, cannot_receive=True), "ask-mobile")
    return _send_link(ctx, call, call.mobile)


def ask_mobile(call: CallInput, attempt: int, cannot_receive: bool = False) -> Turn:
    target = Target("link/number", call.params(attempt))
    return Turn(
        (prompts.ask_mobile(call.language, cannot_receive),),
        Ask(target, num_digits=MOBILE_DIGITS, finish_on_key="#"),
    )


def keyed_mobile(ctx: Context, call: CallInput) -> Outcome:
    """The number the caller keyed in, read back digit by digit before anything is sent."""
    try:
        phone = normalise_mobile(call.digits)
    except NotLebaneseMobile:
        notice = prompts.not_a_mobile(call.language) if call.digits else None
        return retry(call, lambda n: ask_mobile(call, n), notice)
    return Outcome(read_back(call, phone, 0), "read-back")


def read_back(call: CallInput, phone: str, attempt: int) -> Turn:
    national = phonenumbers.format_number(
        phonenumbers.parse(phone), phonenumbers.PhoneNumberFormat.NATIONAL
    )
    # The number travels in the signed URL, as digits only (ASCII, no "+" to escape).
    target = Target("link/confirm", call.params(attempt, to=phone.lstrip("+")))
    return Turn((prompts.read_back(call.language, national),), Ask(target))


def confirm_mobile(ctx: Context, call: CallInput) -> Outcome:
    """1 sends the link to the number read back, 2 keys it in again."""
    try:
        phone = normalise_mobile("+" + call.args.get("to", ""))
    except NotLebaneseMobile:
        return Outcome(ask_mobile(call, 0), "ask-mobile")
    if call.digits == "1":
        return _send_link(ctx, call, phone)
    if call.digits == "2":
        return Outcome(ask_mobile(call, 0), "re-enter")
    return retry(call, lambda n: read_back(call, phone, n))


def _send_link(ctx: Context, call: CallInput, phone: str) -> Outcome:
    done = send_form_link(ctx.session, phone, call.language, ctx.settings, call.mobile, compose)
    said = prompts.reply(done.said, call.language)
    if done.said is Reply.LINK_SENT:
        return Outcome(farewell(call.language, said), "link-sent", done.owed)
    if done.owed.withheld is not None:  # STOP, or a keyed-in number's cap: no link was issued
        return Outcome(back_to_menu(call.language, said), f"withheld={done.owed.withheld.value}")
    event = "closed" if done.said is Reply.WINDOW_CLOSED else "limit"
    return Outcome(back_to_menu(call.language, said), event)


# -- 2: application status ----------------------------------------------------------------


def ask_reference(call: CallInput, attempt: int) -> Turn:
    target = Target("status", call.params(attempt))
    return Turn((prompts.ask_reference(call.language),), Ask(target, num_digits=10))


def status(ctx: Context, call: CallInput) -> Outcome:
    """Spoken only to the application's own phone; anyone else gets it sent there by SMS."""
    reference = parse_reference(call.digits) if call.digits else None
    if reference is None:
        notice = prompts.invalid_reference(call.language) if call.digits else None
        return retry(call, lambda n: ask_reference(call, n), notice)
    application = application_by_reference(ctx.session, reference)
    if application is None:
        notice = prompts.unknown_reference(call.language, reference)
        return retry(call, lambda n: ask_reference(call, n), notice)
    done = ask_status(ctx.session, application, status_of(application), call.mobile, compose)
    if isinstance(done.said, Status):  # the caller's own application
        said = prompts.spoken_status(call.language, done.said)
        return Outcome(farewell(call.language, said), "status-spoken")
    # The family reads the SMS: in the language of its application, not the caller's. STOP
    # and the daily cap decide whether it goes (core/sms_policy.py); the caller hears the
    # same either way, so a stranger holding a reference learns nothing from it.
    withheld = done.owed.withheld
    outcome = "status-sms" if withheld is None else f"status-withheld={withheld.value}"
    sent = prompts.reply(done.said, call.language)
    return Outcome(farewell(call.language, sent), outcome, done.owed)


# -- 3: complaint or correction -------------------------------------------------------------


def complaint_menu(call: CallInput, attempt: int) -> Turn:
    target = Target("complaint", call.params(attempt))
    return Turn((prompts.complaint_categories(call.language),), Ask(target))


def choose_category(ctx: Context, call: CallInput) -> Outcome:
    category = _category_for_digit(call.digits)
    if category is None:
        return retry(call, lambda n: complaint_menu(call, n))
    return Outcome(record_complaint(call, category, 0), f"category={category.value}")


def record_complaint(call: CallInput, category: TicketCategory, attempt: int) -> Turn:
    target = Target("complaint/record", call.params(attempt, category=category.value))
    return Turn(
        (prompts.record_complaint(call.language),),
        Record(target, max_length=COMPLAINT_SECONDS, fallback=target),
    )


def file_complaint(ctx: Context, call: CallInput) -> Outcome:
    """The recorded complaint becomes a ticket; its number is said and sent by SMS."""
    try:
        category = TicketCategory(call.args.get("category", ""))
    except ValueError:
        return Outcome(complaint_menu(call, 0), "ask-category")
    if call.recording_url is None:
        notice = prompts.nothing_recorded(call.language)
        return retry(call, lambda n: record_complaint(call, category, n), notice)
    _ticket, done = file_ticket(
        ctx.session,
        phone=caller_phone(call),
        channel="ivr",
        language=call.language,
        category=category,
        settings=ctx.settings,
        compose=compose,
        recording_url=call.recording_url,
    )
    said = prompts.ticket_registered(call.language, done.said)
    return Outcome(farewell(call.language, said), "ticket", done.owed)


def _category_for_digit(digits: str) -> TicketCategory | None:
    if len(digits) == 1 and "1" <= digits <= str(len(MENU_CATEGORIES)):
        return MENU_CATEGORIES[int(digits) - 1]
    return None


# -- 5: a call back -------------------------------------------------------------------------


def ask_town(ctx: Context, call: CallInput) -> Outcome:
    target = Target("callback", {"lang": call.language})
    # Nothing recorded still asks for the call back: the town helps, the call back matters.
    turn = Turn(
        (prompts.record_town(call.language),),
        Record(target, max_length=TOWN_SECONDS, fallback=target),
    )
    return Outcome(turn, "record-town")


def callback(ctx: Context, call: CallInput) -> Outcome:
    done = ask_callback(ctx.session, caller_phone(call), call.language, call.recording_url)
    said = prompts.reply(done.said, call.language)
    return Outcome(farewell(call.language, said), "callback", done.owed)


def caller_phone(call: CallInput) -> str:
    """Who to answer: the caller's mobile, else the number as Twilio gave it (a landline)."""
    return call.mobile or call.number[:20]
