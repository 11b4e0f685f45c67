"""Set-password links (core/password_resets.py): one use, 30 minutes, only a hash at rest,
every session ended; and account requests, scoped to the focal point's municipality."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from types import ModuleType

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.account_requests import (
    AccountRequest,
    RequestInvalid,
    RequestState,
    approve,
    refuse,
    request_account,
    request_for,
    requests_visible_to,
)
from core.geography import resolve_area
from core.link_tokens import with_tokens
from core.messages import Message
from core.opt_outs import stop
from core.password_resets import (
    ResetProblem,
    ResetUnavailable,
    Sender,
    SmsRefused,
    issue_link,
    open_link,
    use_link,
)
from core.reset_tokens import PasswordReset
from core.roles import Role
from core.sayings import Saying, SetPasswordLink
from core.scopes import OutsideArea
from core.users import PasswordRefused, SignInRefused, authenticate
from tests.support.factories import ELSEWHERE, HOME, load_sample_geography, make_user
from tests.support.quick_accounts import account
from tests.support.scope_matrix import MATRIX, MATRIX_IDS, NO_AREA, PLACES

KEY = "a-test-secret-key-of-enough-length"
NEW_PASSWORD = "a brand new passphrase 42"


def words(said: Saying, language: str) -> str:
    assert isinstance(said, SetPasswordLink)
    return f"[{language}] {said.username} {said.minutes} {said.url}"


SENDER = Sender(KEY, "https://intake.example", words)


def token_of(url: str) -> str:
    return url.rsplit("/", 1)[1]


def test_a_shown_link_sets_the_password_once_and_ends_every_session(db: Session, geo: None) -> None:
    user = make_user(db, Role.FOCAL_POINT, HOME, "chiyah-focal")
    epoch = user.session_epoch
    delivery = issue_link(db, user, "root", SENDER)
    assert delivery.shown and delivery.to_dispatch == ()
    token = token_of(delivery.shown)
    stored = db.scalars(select(PasswordReset)).one()
    assert token not in (stored.token_hash, stored.token_salt)
    assert use_link(db, token, NEW_PASSWORD, "10.0.0.1").id == user.id
    assert user.session_epoch > epoch  # every other session is out
    assert authenticate(db, "chiyah-focal", NEW_PASSWORD, "10.0.0.1").id == user.id
    with pytest.raises(ResetUnavailable) as again:
        use_link(db, token, "yet another passphrase 7", "10.0.0.1")
    assert again.value.problem is ResetProblem.USED


def test_a_link_expires_after_30_minutes(db: Session, geo: None, clock: ModuleType) -> None:
    clock.freeze(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    user = make_user(db, Role.MUKHTAR, HOME, "mukhtar-a")
    token = token_of(issue_link(db, user, "root", SENDER).shown or "")
    clock.advance(timedelta(minutes=29))
    open_link(db, token, "10.0.0.1")
    clock.advance(timedelta(minutes=1))
    with pytest.raises(ResetUnavailable) as late:
        use_link(db, token, NEW_PASSWORD, "10.0.0.1")
    assert late.value.problem is ResetProblem.EXPIRED
    with pytest.raises(SignInRefused):
        authenticate(db, "mukhtar-a", NEW_PASSWORD, "10.0.0.1")


def test_a_new_link_replaces_the_earlier_one(db: Session, geo: None) -> None:
    user = make_user(db, Role.MUKHTAR, HOME, "mukhtar-b")
    first = token_of(issue_link(db, user, "root", SENDER).shown or "")
    second = token_of(issue_link(db, user, "root", SENDER).shown or "")
    with pytest.raises(ResetUnavailable) as old:
        open_link(db, first, "10.0.0.1")
    assert old.value.problem is ResetProblem.USED
    open_link(db, second, "10.0.0.1")


def test_a_weak_password_is_refused_and_the_link_still_works(db: Session, geo: None) -> None:
    user = make_user(db, Role.MUKHTAR, HOME, "mukhtar-c")
    token = token_of(issue_link(db, user, "root", SENDER).shown or "")
    with pytest.raises(PasswordRefused):
        use_link(db, token, "short", "10.0.0.1")
    open_link(db, token, "10.0.0.1")


def test_unknown_tokens_are_refused_then_throttled(db: Session, geo: None) -> None:
    for _ in range(30):
        with pytest.raises(ResetUnavailable) as unknown:
            open_link(db, "A" * 24, "10.9.9.9")
        assert unknown.value.problem is ResetProblem.UNKNOWN
    with pytest.raises(ResetUnavailable) as throttled:
        open_link(db, "B" * 24, "10.9.9.9")
    assert throttled.value.problem is ResetProblem.THROTTLED


def test_by_sms_the_store_holds_no_token_and_the_send_derives_it(db: Session, geo: None) -> None:
    user = account(db, "agent-sms", Role.AGENT, "LB", phone="+9613123456", language="en")
    delivery = issue_link(db, user, "root", SENDER)
    assert delivery.shown is None
    [message_id] = delivery.to_dispatch
    message = db.get(Message, message_id)
    assert message is not None and message.purpose == "set_password"
    assert re.fullmatch(
        r"\[en\] agent-sms 30 https://intake\.example/console/set-password/<reset \d+>",
        message.body,
    )
    sent = with_tokens(db, message.body, KEY)
    use_link(db, token_of(sent), NEW_PASSWORD, "10.0.0.1")


def test_a_phone_that_sent_stop_gets_no_link_and_nothing_is_written(db: Session, geo: None) -> None:
    user = account(db, "agent-stop", Role.AGENT, "LB", phone="+9613123457")
    stop(db, "+9613123457")
    with pytest.raises(SmsRefused):
        issue_link(db, user, "root", SENDER)
    assert db.scalars(select(PasswordReset)).all() == []
    assert issue_link(db, user, "root", SENDER, show=True).shown


# --- account requests ----------------------------------------------------------------------


def test_a_focal_point_requests_and_the_admin_approves(db: Session, geo: None) -> None:
    focal = make_user(db, Role.FOCAL_POINT, HOME, "chiyah-focal")
    admin = make_user(db, Role.ADMIN, "LB", "root")
    made = request_account(db, focal, " New-Mukhtar ", "mukhtar", "03 123 456", "the  old one left")
    assert (made.username, made.phone, made.reason, made.locality_code) == (
        "new-mukhtar",
        "+9613123456",
        "the old one left",
        HOME,
    )
    delivery = approve(db, made, admin, SENDER)
    assert made.state == RequestState.APPROVED and delivery.to_dispatch
    user = db.get(type(focal), made.account_id)
    assert user is not None and (user.role, user.locality_code, user.phone) == (
        Role.MUKHTAR,
        HOME,
        "+9613123456",
    )
    reset = db.scalars(select(PasswordReset)).one()
    assert reset.expires_at - reset.created_at == timedelta(hours=24)  # a first password
    with pytest.raises(RequestInvalid):
        approve(db, made, admin, SENDER)  # decided once


def test_bad_requests_are_refused_field_by_field(db: Session, geo: None) -> None:
    focal = make_user(db, Role.FOCAL_POINT, HOME, "chiyah-focal")
    with pytest.raises(RequestInvalid) as bad:
        request_account(db, focal, "chiyah-focal", "admin", "01 123 456", "  ")
    assert bad.value.problems == {
        "username": "taken",
        "role": "invalid",
        "phone": "not_mobile",
        "reason": "empty",
    }
    assert db.scalars(select(AccountRequest)).all() == []
    mukhtar = make_user(db, Role.MUKHTAR, HOME)
    with pytest.raises(OutsideArea):
        request_account(db, mukhtar, "new-one", "mukhtar", "03 123 456", "needed")


def test_a_refusal_needs_a_reason_and_only_the_admin_decides(db: Session, geo: None) -> None:
    focal = make_user(db, Role.FOCAL_POINT, HOME, "chiyah-focal")
    admin = make_user(db, Role.ADMIN, "LB", "root")
    made = request_account(db, focal, "new-volunteer", "volunteer", "03 123 456", "flood")
    with pytest.raises(RequestInvalid):
        refuse(db, made, admin, " ")
    with pytest.raises(OutsideArea):
        refuse(db, made, focal, "no")
    refuse(db, made, admin, "one volunteer is enough")
    assert (made.state, made.refusal, made.decided_by) == (
        "refused",
        "one volunteer is enough",
        "root",
    )
    other = make_user(db, Role.FOCAL_POINT, ELSEWHERE)
    assert request_for(db, other, made.id) is None
    assert request_for(db, focal, made.id) is made


@pytest.mark.parametrize(("role", "area_code", "expected"), MATRIX, ids=MATRIX_IDS)
def test_account_requests_are_the_municipalitys_and_the_admins(
    db: Session, role: Role, area_code: str, expected: set[str]
) -> None:
    """A focal point sees its municipality's requests; the admin every one; nobody else any."""
    load_sample_geography(db)
    requester = make_user(db, Role.FOCAL_POINT, HOME, "requester")
    for place in PLACES:
        request = AccountRequest(
            requested_by_id=requester.id,
            username="",
            role_value="mukhtar",
            phone="+9613123456",
            reason="test",
            state=RequestState.PENDING,
        )
        if place != NO_AREA:
            request.place_in(resolve_area(db, place))
        request.username = f"asked-{place}"
        db.add(request)
    db.flush()
    viewer = account(db, f"viewer-{role.value}", role, area_code)
    seen = {r.username.removeprefix("asked-") for r in requests_visible_to(db, viewer)}
    if role is Role.ADMIN:
        want = set(PLACES)
    elif role is Role.FOCAL_POINT:
        want = expected
    else:
        want = set()
    assert seen == want
