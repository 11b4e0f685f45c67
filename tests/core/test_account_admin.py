"""Running staff accounts in core: disable and enable, role changes, the last admin, lists,
and the CSV import's checks (core/account_admin.py, core/account_import.py)."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.account_admin import (
    AccountFilter,
    AccountState,
    LastAdmin,
    UnknownArea,
    WrongLevel,
    change_role_and_area,
    disable_user,
    enable_user,
    find_user,
    list_accounts,
)
from core.account_import import (
    ImportProblem,
    ImportRefused,
    check_rows,
    create_accounts,
    read_rows,
)
from core.audit import AuditEvent
from core.roles import Role
from core.users import SignInRefused, StaffUser, authenticate, user_by_id
from tests.support.factories import ELSEWHERE, HOME, PASSWORD, make_user


def events(db: Session, action: str) -> list[AuditEvent]:
    return list(db.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def test_a_disabled_account_loses_its_sessions_and_cannot_sign_in(db: Session, geo: None) -> None:
    admin = make_user(db, Role.ADMIN, "LB", "root")
    focal = make_user(db, Role.FOCAL_POINT, HOME, "chiyah-focal")
    epoch = focal.session_epoch
    assert disable_user(db, focal, admin.username)
    assert focal.session_epoch == epoch + 1
    assert user_by_id(db, focal.id) is None
    with pytest.raises(SignInRefused):
        authenticate(db, "chiyah-focal", PASSWORD, "10.0.0.1")
    assert not disable_user(db, focal, admin.username)  # once is enough
    assert enable_user(db, focal, admin.username)
    assert authenticate(db, "chiyah-focal", PASSWORD, "10.0.0.2").id == focal.id
    assert [e.object_id for e in events(db, "staff.disabled")] == [str(focal.id)]
    assert [e.actor for e in events(db, "staff.enabled")] == ["root"]


def test_the_last_active_admin_cannot_be_disabled_or_demoted(db: Session, geo: None) -> None:
    root = make_user(db, Role.ADMIN, "LB", "root")
    with pytest.raises(LastAdmin):
        disable_user(db, root, root.username)  # not themselves either
    with pytest.raises(LastAdmin):
        change_role_and_area(db, root, Role.MINISTRY, "LB", root.username)
    assert root.is_active and root.role is Role.ADMIN
    other = make_user(db, Role.ADMIN, "LB", "second-admin")
    assert disable_user(db, root, other.username)  # two admins: one may go
    with pytest.raises(LastAdmin):
        disable_user(db, other, other.username)
    # A disabled admin does not count: enabling it back makes two again.
    assert enable_user(db, root, other.username)
    assert change_role_and_area(db, other, Role.INSPECTOR, "LB", root.username)


def test_a_role_change_is_audited_with_old_and_new_values(db: Session, geo: None) -> None:
    user = make_user(db, Role.MUKHTAR, HOME, "mukhtar-a")
    assert change_role_and_area(db, user, Role.QAIMAQAM, "lb32", "root")
    assert (user.role, user.area_code, user.district_code, user.locality_code) == (
        Role.QAIMAQAM,
        "LB32",
        "LB32",
        None,
    )
    [event] = events(db, "staff.role_changed")
    assert json.loads(event.details) == {
        "old_role": "mukhtar",
        "old_area": HOME,
        "new_role": "qaimaqam",
        "new_area": "LB32",
    }
    assert not change_role_and_area(db, user, Role.QAIMAQAM, "LB32", "root")


@pytest.mark.parametrize(
    ("role", "area", "error"),
    [(Role.FOCAL_POINT, "LB32", WrongLevel), (Role.MUKHTAR, "29999", UnknownArea)],
)
def test_a_role_change_to_a_wrong_area_changes_nothing(
    db: Session, geo: None, role: Role, area: str, error: type[Exception]
) -> None:
    user = make_user(db, Role.VOLUNTEER, HOME, "volunteer-a")
    with pytest.raises(error):
        change_role_and_area(db, user, role, area, "root")
    assert (user.role, user.area_code) == (Role.VOLUNTEER, HOME)
    assert events(db, "staff.role_changed") == []


def test_accounts_are_listed_by_area_role_state_and_name(db: Session, geo: None) -> None:
    admin = make_user(db, Role.ADMIN, "LB", "root")
    make_user(db, Role.FOCAL_POINT, HOME, "chiyah-focal")
    make_user(db, Role.MUKHTAR, HOME, "chiyah-mukhtar")
    make_user(db, Role.FOCAL_POINT, ELSEWHERE, "beirut-focal")
    make_user(db, Role.QAIMAQAM, "LB32", "baabda")
    disable_user(db, find_user(db, "chiyah-mukhtar") or admin, "root")

    def names(**wanted: object) -> list[str]:
        return [u.username for u in list_accounts(db, admin, AccountFilter(**wanted))]  # type: ignore[arg-type]

    assert names(area_code="LB32") == ["baabda", "chiyah-focal", "chiyah-mukhtar"]
    assert names(role=Role.FOCAL_POINT) == ["beirut-focal", "chiyah-focal"]
    assert names(state=AccountState.DISABLED) == ["chiyah-mukhtar"]
    assert names(search="CHIYAH", state=AccountState.ACTIVE) == ["chiyah-focal"]
    assert names(search="%") == []  # typed text, not a pattern
    focal = find_user(db, " Chiyah-Focal ")
    assert focal is not None
    assert list_accounts(db, focal, AccountFilter()) == []  # only an admin manages accounts


def test_an_import_lists_every_row_problem_and_writes_nothing(db: Session, geo: None) -> None:
    make_user(db, Role.MUKHTAR, HOME, "taken-name")
    data = (
        b"username,role,area_code,phone\n"
        b"good-one,focal_point,21111,03 123 456\n"
        b"taken-name,mukhtar,21111,\n"
        b"x,mukhtar,21111,\n"
        b"y-mayor,mayor,21111,\n"
        b"y-nowhere,mukhtar,29999,\n"
        b"y-level,focal_point,LB32,\n"
        b"y-phone,mukhtar,21111,01 123 456\n"
        b"good-one,volunteer,21111,\n"
    )
    accounts, problems = check_rows(db, read_rows(data))
    assert [(p.line, p.problem) for p in problems] == [
        (3, ImportProblem.USERNAME_TAKEN),
        (4, ImportProblem.BAD_USERNAME),
        (5, ImportProblem.UNKNOWN_ROLE),
        (6, ImportProblem.UNKNOWN_AREA),
        (7, ImportProblem.WRONG_LEVEL),
        (8, ImportProblem.BAD_PHONE),
        (9, ImportProblem.USERNAME_TAKEN),  # an earlier row of the file has it
    ]
    assert [a.username for a in accounts] == ["good-one"]
    assert accounts[0].phone == "+9613123456"
    assert db.scalar(select(StaffUser).where(StaffUser.username == "good-one")) is None


def test_an_import_creates_the_checked_accounts(db: Session, geo: None) -> None:
    rows = read_rows(b"\xef\xbb\xbfusername,role,area_code\nhalba-focal,focal_point,35111\n")
    accounts, problems = check_rows(db, rows)
    assert problems == []
    [(user, secret)] = create_accounts(db, accounts, "root", lambda: "a-long-generated-secret")
    assert (user.username, user.district_code, secret) == (
        "halba-focal",
        "LB51",
        "a-long-generated-secret",
    )


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"x" * (5 * 1024 * 1024 + 1), ImportProblem.TOO_LARGE),
        ("username,role,area_code\nعمر,mukhtar,21111\n".encode("cp1256"), ImportProblem.NOT_UTF8),
        (b"user;role\n", ImportProblem.MISSING_COLUMNS),
    ],
    ids=["over-5-mb", "windows-1256", "no-columns"],
)
def test_an_unreadable_import_is_refused_whole(data: bytes, problem: ImportProblem) -> None:
    with pytest.raises(ImportRefused) as refused:
        read_rows(data)
    assert refused.value.problem is problem
