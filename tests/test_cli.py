"""The operators' CLI: what each command stores, prints and exits with, and what it refuses.

Every store test runs on SQLite and PostgreSQL, inside the test's rolled-back transaction (the
app is built on the test's session factory), so `db` sees what a command kept.
"""

from __future__ import annotations

import csv
import functools
import logging
import os
import stat
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import Result
from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

import core.geography
from core.audit import AuditEvent
from core.geography import LOCALITY_COLUMNS, District, Governorate, Locality
from core.programme import Programme, current_programme
from core.roles import Role
from core.settings import Environment
from core.users import SignInRefused, StaffUser, authenticate
from tests.conftest import settings_for
from tests.factories import (
    AKKAR,
    ELSEWHERE,
    HOME,
    LOCALITIES,
    NORTH,
    SAMPLE_CODES,
    load_sample_geography,
    make_user,
)
from web.app import create_app
from web.store import EXTENSION

GOOD_PASSWORD = "a-long-password-123"
IMPORT_HEADER = ["username", "role", "area_code"]
PASSWORDS_HEADER = ["username", "role", "area_code", "password"]


# --- helpers -------------------------------------------------------------------------------


def assert_refused(result: Result, *fragments: str) -> None:
    """Refused as an operator should see it: non-zero exit, a clear message, no traceback."""
    assert result.exit_code != 0, result.output
    assert isinstance(result.exception, SystemExit), f"uncaught {result.exception!r}"
    assert "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in result.output, result.output


def count(db: Session, model: type[object]) -> int:
    db.expire_all()
    return int(db.scalar(select(func.count()).select_from(model)) or 0)


def signs_in(db: Session, username: str, password: str, address: str = "127.0.0.1") -> bool:
    db.expire_all()
    try:
        authenticate(db, username, password, address)
    except SignInRefused:
        return False
    return True


@functools.cache
def _source_rows() -> dict[str, dict[str, str]]:
    with LOCALITIES.open(encoding="utf-8", newline="") as handle:
        return {row["locality_code"]: row for row in csv.DictReader(handle)}


def source_row(code: str, **changes: str) -> dict[str, str]:
    """The real row of one locality in data/lebanon_localities.csv, optionally changed."""
    return {**_source_rows()[code], **changes}


def write_csv(
    path: Path,
    rows: list[dict[str, str]],
    columns: list[str] | tuple[str, ...] = LOCALITY_COLUMNS,
    encoding: str = "utf-8",
) -> Path:
    with path.open("w", encoding=encoding, newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(columns), extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


def sample_file(path: Path, codes: tuple[str, ...] = SAMPLE_CODES) -> Path:
    return write_csv(path, [source_row(code) for code in codes])


def geography(db: Session) -> dict[str, list[tuple[object, ...]]]:
    """Every stored area with every column, to compare before and after a load."""
    db.expire_all()
    return {
        "governorates": sorted(
            (g.code, g.name_en, g.name_ar) for g in db.scalars(select(Governorate))
        ),
        "districts": sorted(
            (d.code, d.governorate_code, d.name_en, d.name_ar) for d in db.scalars(select(District))
        ),
        "localities": sorted(
            (
                loc.code,
                loc.district_code,
                loc.governorate_code,
                loc.name_en,
                loc.name_ar,
                loc.latitude,
                loc.longitude,
            )
            for loc in db.scalars(select(Locality))
        ),
    }


def codes(db: Session, model: type[Governorate | District | Locality]) -> set[str]:
    db.expire_all()
    return set(db.scalars(select(model.code)))


def user(db: Session, username: str) -> StaffUser | None:
    db.expire_all()
    return db.scalar(select(StaffUser).where(StaffUser.username == username))


def add_user_args(username: str, role: str, area: str) -> list[str]:
    return ["users", "add", username, "--role", role, "--area", area, "--password-stdin"]


def write_import(path: Path, rows: list[list[str]], header: list[str] = IMPORT_HEADER) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def read_passwords(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        rows = list(reader)
        return list(reader.fieldnames or []), rows


def printed_demo_accounts(output: str) -> dict[str, tuple[str, str, str]]:
    """username -> (password, role, area) from the table `demo` prints."""
    lines = output.split("demo sign-ins (username / password / role / area):\n", 1)[1]
    accounts = {}
    for line in lines.splitlines():
        username, password, role, area = line.split()
        accounts[username] = (password, role, area)
    return accounts


# --- fixtures ------------------------------------------------------------------------------


def _dispose(app: Flask) -> None:
    factory: sessionmaker[Session] = app.extensions[EXTENSION]
    bind = factory.kw["bind"]
    assert isinstance(bind, Engine)
    bind.dispose()


@pytest.fixture
def fresh_app(tmp_path: Path) -> Iterator[Flask]:
    """An app on its own new, empty SQLite file: no tables until `db upgrade` runs."""
    app = create_app(settings_for(f"sqlite:///{tmp_path / 'fresh.sqlite3'}"))
    yield app
    _dispose(app)


@pytest.fixture
def fresh_runner(fresh_app: Flask) -> FlaskCliRunner:
    return fresh_app.test_cli_runner()


@pytest.fixture
def dev_runner(engine: Engine, session_factory: sessionmaker[Session]) -> FlaskCliRunner:
    """The CLI of an app whose settings say development, on the test's transaction."""
    url = engine.url.render_as_string(hide_password=False)
    app = create_app(
        settings_for(url, environment=Environment.DEVELOPMENT), session_factory=session_factory
    )
    return app.test_cli_runner()


@pytest.fixture
def geo(db: Session) -> None:
    """The six sample localities (Chiyah, Furn Ech-Chebbak, Bourj Hammoud, Halba, ...)."""
    load_sample_geography(db)
    db.commit()


# --- help ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "described"),
    [
        (["db", "upgrade"], "Apply every pending migration"),
        (["db", "check"], "models and the migrations disagree"),
        (["geo", "load"], "Add or update areas from PATH"),
        (["users", "add"], "Create one staff account"),
        (["users", "import"], "Create many accounts from a CSV"),
        (["programme", "set"], "Create the programme round or move its submission window"),
        (["demo"], "one demo account per role"),
        (["audit", "verify"], "Re-check the whole hash chain"),
    ],
    ids=lambda value: "-".join(value) if isinstance(value, list) else "",
)
def test_every_command_has_help(
    fresh_runner: FlaskCliRunner, command: list[str], described: str
) -> None:
    """`--help` answers for every command, with its usage line and what it does."""
    result = fresh_runner.invoke(args=[*command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output
    assert f"{' '.join(command)} [OPTIONS]" in result.output
    assert described in result.output


def test_top_level_help_lists_every_group(fresh_runner: FlaskCliRunner) -> None:
    """`flask --help` shows the operators' command groups."""
    result = fresh_runner.invoke(args=["--help"])
    assert result.exit_code == 0
    for name in ("db", "geo", "users", "programme", "audit", "demo"):
        assert f"  {name} " in result.output


# --- geo load ------------------------------------------------------------------------------


def test_geo_load_adds_areas_with_explicit_parents(
    runner: FlaskCliRunner, db: Session, tmp_path: Path
) -> None:
    """Halba (35111) lands in Akkar district LB51 under Akkar governorate LB7, as the file says."""
    path = sample_file(tmp_path / "sample.csv")
    result = runner.invoke(args=["geo", "load", str(path)])
    assert result.exit_code == 0, result.output
    assert "added 6, updated 0, unchanged 0, rejected 0" in result.output
    assert codes(db, Locality) == set(SAMPLE_CODES)
    assert codes(db, Governorate) == {"LB1", "LB3", "LB5", "LB7"}
    assert codes(db, District) == {"LB11", "LB32", "LB36", "LB51", "LB52"}
    halba = db.get(Locality, AKKAR)
    assert halba is not None
    assert (halba.name_en, halba.name_ar) == ("Halba", "حلبا")
    assert (halba.district_code, halba.governorate_code) == ("LB51", "LB7")
    assert halba.latitude == pytest.approx(34.55468929)
    akkar = db.get(District, "LB51")
    assert akkar is not None and akkar.governorate_code == "LB7"
    north = db.get(District, "LB52")
    assert north is not None and north.governorate_code == "LB5"


def test_geo_load_twice_changes_nothing(
    runner: FlaskCliRunner, db: Session, tmp_path: Path
) -> None:
    """The same file loaded again reports everything unchanged and leaves the store as it was."""
    path = sample_file(tmp_path / "sample.csv")
    assert runner.invoke(args=["geo", "load", str(path)]).exit_code == 0
    before = geography(db)
    result = runner.invoke(args=["geo", "load", str(path)])
    assert result.exit_code == 0, result.output
    assert "added 0, updated 0, unchanged 6, rejected 0" in result.output
    assert geography(db) == before


@pytest.mark.parametrize(
    ("column", "value", "stored"),
    [
        ("locality_name_en", "Halba (Akkar)", lambda loc: loc.name_en),
        ("locality_name_ar", "حلبا الجديدة", lambda loc: loc.name_ar),
        ("center_lat", "34.5", lambda loc: loc.latitude),
    ],
    ids=["english-name", "arabic-name", "latitude"],
)
def test_geo_load_reports_a_changed_locality_as_updated(
    runner: FlaskCliRunner,
    db: Session,
    tmp_path: Path,
    column: str,
    value: str,
    stored: Callable[[Locality], object],
) -> None:
    """A locality whose name or position changed in the file is updated and counted so."""
    assert runner.invoke(args=["geo", "load", str(sample_file(tmp_path / "a.csv"))]).exit_code == 0
    rows = [source_row(code) for code in SAMPLE_CODES if code != AKKAR]
    rows.append(source_row(AKKAR, **{column: value}))
    result = runner.invoke(args=["geo", "load", str(write_csv(tmp_path / "b.csv", rows))])
    assert result.exit_code == 0, result.output
    assert "added 0, updated 1, unchanged 5, rejected 0" in result.output
    db.expire_all()
    halba = db.get(Locality, AKKAR)
    assert halba is not None
    expected: object = float(value) if column == "center_lat" else value
    assert stored(halba) == expected


@pytest.mark.parametrize(
    ("column", "model", "code"),
    [("district_name_en", District, "LB51"), ("governorate_name_ar", Governorate, "LB7")],
    ids=["district-name", "governorate-name"],
)
def test_geo_load_reports_a_renamed_parent_area(
    runner: FlaskCliRunner,
    db: Session,
    tmp_path: Path,
    column: str,
    model: type[District | Governorate],
    code: str,
) -> None:
    """Renaming Akkar district or governorate is a change the operator is told about."""
    assert runner.invoke(args=["geo", "load", str(sample_file(tmp_path / "a.csv"))]).exit_code == 0
    rows = [source_row(code) for code in SAMPLE_CODES if code != AKKAR]
    rows.append(source_row(AKKAR, **{column: "عكار الجديدة"}))
    result = runner.invoke(args=["geo", "load", str(write_csv(tmp_path / "b.csv", rows))])
    assert result.exit_code == 0, result.output
    db.expire_all()
    area = db.get(model, code)
    assert area is not None and "عكار الجديدة" in (area.name_en, area.name_ar)  # it was written
    assert "unchanged 6" not in result.output  # ... and so must not be reported as unchanged


BAD_ROWS = [
    pytest.param(
        {"locality_code": "1011"}, "locality_code '1011' is not a valid code", id="bad-code"
    ),
    pytest.param(
        {"district_code": "LB1A"}, "district_code 'LB1A' is not a valid code", id="bad-district"
    ),
    pytest.param({"locality_name_ar": "   "}, "locality_name_ar is empty", id="empty-arabic-name"),
    pytest.param(
        {"locality_name_en": "x" * 121},
        "locality_name_en is longer than 120 characters",
        id="name-too-long",
    ),
    pytest.param(
        {"center_lat": "33,899"}, "center_lat '33,899' is not a number", id="latitude-not-a-number"
    ),
    pytest.param(
        {"center_lon": "235.5"}, "center_lon 235.5 is out of range", id="lon-out-of-range"
    ),
    pytest.param(
        {"locality_code": HOME, "locality_name_en": "Chiyah again"},
        f"locality_code {HOME} appears twice in the file",
        id="duplicate-code",
    ),
    pytest.param(
        {"district_code": "LB51"},
        "district LB51 belongs to governorate LB7, not LB1",
        id="district-of-another-governorate",
    ),
]


@pytest.mark.parametrize(("changes", "reason"), BAD_ROWS)
def test_geo_load_lists_a_bad_row_and_loads_the_good_ones(
    runner: FlaskCliRunner, db: Session, tmp_path: Path, changes: dict[str, str], reason: str
) -> None:
    """A bad row is named with its line and reason, exit 1; the good rows around it are kept."""
    rows = [
        source_row(HOME),  # line 2
        source_row(AKKAR),  # line 3: stores LB51 under LB7
        source_row(ELSEWHERE, **changes),  # line 4: the bad row (Ain el-Mreisseh, changed)
        source_row(NORTH),  # line 5
    ]
    result = runner.invoke(args=["geo", "load", str(write_csv(tmp_path / "bad.csv", rows))])
    assert result.exit_code == 1, result.output
    assert "added 3, updated 0, unchanged 0, rejected 1" in result.output
    assert f"line 4: {reason}" in result.stderr
    assert "Traceback" not in result.output
    assert codes(db, Locality) == {HOME, AKKAR, NORTH}
    assert codes(db, Governorate) == {"LB3", "LB5", "LB7"}
    assert codes(db, District) == {"LB32", "LB51", "LB52"}
    chiyah = db.get(Locality, HOME)
    assert chiyah is not None and chiyah.name_en == "Chiyah"
    akkar = db.get(District, "LB51")
    assert akkar is not None and akkar.governorate_code == "LB7"


def test_geo_load_lists_every_bad_row_of_a_file(
    runner: FlaskCliRunner, db: Session, tmp_path: Path
) -> None:
    """All refused rows are listed at once, each with its own line number."""
    rows = [
        source_row(HOME),  # line 2
        source_row(ELSEWHERE, locality_code="1O110"),  # line 3
        source_row(AKKAR, locality_name_ar=""),  # line 4
        source_row(NORTH, center_lat="north"),  # line 5
        source_row(HOME),  # line 6
        source_row(ELSEWHERE),  # line 7: good
    ]
    result = runner.invoke(args=["geo", "load", str(write_csv(tmp_path / "bad.csv", rows))])
    assert result.exit_code == 1
    assert "added 2, updated 0, unchanged 0, rejected 4" in result.output
    for expected in (
        "line 3: locality_code '1O110' is not a valid code",
        "line 4: locality_name_ar is empty",
        "line 5: center_lat 'north' is not a number",
        f"line 6: locality_code {HOME} appears twice in the file",
    ):
        assert expected in result.output
    assert codes(db, Locality) == {HOME, ELSEWHERE}


def test_geo_load_refuses_to_move_a_stored_district(
    runner: FlaskCliRunner, db: Session, tmp_path: Path
) -> None:
    """A file cannot re-parent Akkar district (stored under LB7) to the North governorate."""
    load_sample_geography(db, (AKKAR,))
    db.commit()
    before = geography(db)
    moved = source_row(AKKAR, governorate_code="LB5", governorate_name_en="North")
    result = runner.invoke(args=["geo", "load", str(write_csv(tmp_path / "m.csv", [moved]))])
    assert result.exit_code == 1
    assert "line 2: district LB51 belongs to governorate LB7, not LB5" in result.output
    assert "rejected 1" in result.output
    assert geography(db) == before


def _sample_text() -> str:
    header = ",".join(LOCALITY_COLUMNS)
    lines = [",".join(source_row(code)[c] for c in LOCALITY_COLUMNS) for code in SAMPLE_CODES]
    return "\n".join([header, *lines]) + "\n"


def _without_coordinates() -> bytes:
    rows = [source_row(code) for code in SAMPLE_CODES]
    columns = [c for c in LOCALITY_COLUMNS if c not in ("center_lat", "center_lon")]
    lines = [",".join(columns)] + [",".join(row[c] for c in columns) for row in rows]
    return ("\n".join(lines) + "\n").encode()


def _huge_field() -> bytes:
    row = source_row(HOME, locality_name_en="x" * 200_000)
    return (_sample_text() + ",".join(row[c] for c in LOCALITY_COLUMNS) + "\n").encode()


@pytest.mark.parametrize(
    ("content", "limit", "message"),
    [
        pytest.param(
            _without_coordinates, None, "missing columns: center_lat, center_lon", id="cols"
        ),
        pytest.param(lambda: b"", None, "missing columns: locality_code", id="empty-file"),
        pytest.param(lambda: _sample_text().encode("cp1256"), None, "not UTF-8", id="windows-1256"),
        pytest.param(lambda: _sample_text().encode(), 100, "larger than", id="too-large"),
        pytest.param(_huge_field, None, "field larger than field limit", id="unreadable-csv"),
    ],
)
def test_geo_load_refuses_a_bad_file_whole(
    runner: FlaskCliRunner,
    db: Session,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    content: Callable[[], bytes],
    limit: int | None,
    message: str,
) -> None:
    """A file that cannot be read as the localities CSV is refused with a reason; nothing loads."""
    if limit is not None:
        monkeypatch.setattr(core.geography, "MAX_FILE_BYTES", limit)
    path = tmp_path / "file.csv"
    path.write_bytes(content())
    result = runner.invoke(args=["geo", "load", str(path)])
    assert_refused(result, message, "nothing was loaded", str(path))
    assert count(db, Locality) == count(db, District) == count(db, Governorate) == 0


def test_geo_load_refuses_a_missing_file(runner: FlaskCliRunner, tmp_path: Path) -> None:
    """A path that does not exist is a usage error naming it, not a traceback."""
    result = runner.invoke(args=["geo", "load", str(tmp_path / "nowhere.csv")])
    assert result.exit_code == 2
    assert "does not exist" in result.output


def test_geo_load_of_the_full_file(
    runner: FlaskCliRunner, db: Session, localities_csv: Path
) -> None:
    """The shipped file loads whole: 1545 localities, 26 districts, 8 governorates."""
    result = runner.invoke(args=["geo", "load", str(localities_csv)])
    assert result.exit_code == 0, result.output
    assert "added 1545, updated 0, unchanged 0, rejected 0" in result.output
    assert count(db, Locality) == 1545
    assert count(db, District) == 26
    assert count(db, Governorate) == 8


def test_geo_load_names_a_row_with_a_nul_byte(
    runner: FlaskCliRunner, db: Session, tmp_path: Path
) -> None:
    """A stray NUL byte in one name is a bad row like any other: named, the rest loaded."""
    rows = [source_row(HOME), source_row(ELSEWHERE, locality_name_en="Ain\x00el-Mreisseh")]
    result = runner.invoke(args=["geo", "load", str(write_csv(tmp_path / "nul.csv", rows))])
    assert result.exit_code == 1
    assert "line 3: " in result.output
    assert codes(db, Locality) == {HOME}


# --- users add -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "area", "shown", "parents"),
    [
        ("focal_point", "21111", "focal_point, 21111", ("LB3", "LB32", "21111")),
        ("mukhtar", " 21133 ", "mukhtar, 21133", ("LB3", "LB32", "21133")),
        ("qaimaqam", "lb32", "qaimaqam, LB32", ("LB3", "LB32", None)),
        ("governor", "LB7", "governor, LB7", ("LB7", None, None)),
        ("army", "35111", "army, 35111", ("LB7", "LB51", "35111")),
        ("ministry", "LB", "ministry, LB", (None, None, None)),
        ("ADMIN", "lb", "admin, LB", (None, None, None)),
    ],
)
def test_users_add_creates_the_account(
    runner: FlaskCliRunner,
    db: Session,
    geo: None,
    role: str,
    area: str,
    shown: str,
    parents: tuple[str | None, str | None, str | None],
) -> None:
    """The account gets its role and its area with every parent; the password is hashed."""
    result = runner.invoke(args=add_user_args("alice", role, area), input=GOOD_PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    assert f"created alice ({shown})" in result.output
    assert GOOD_PASSWORD not in result.output
    account = user(db, "alice")
    assert account is not None
    assert account.role is Role(role.lower())
    assert account.area_code == shown.split(", ")[1]
    assert (account.governorate_code, account.district_code, account.locality_code) == parents
    assert account.password_hash.startswith("$argon2")
    assert GOOD_PASSWORD not in account.password_hash
    assert account.is_active and account.needs_pledge
    events = list(db.scalars(select(AuditEvent).where(AuditEvent.action == "staff.created")))
    assert [(e.object_id, e.actor.startswith("cli")) for e in events] == [(str(account.id), True)]
    assert GOOD_PASSWORD not in events[0].details
    assert signs_in(db, "alice", GOOD_PASSWORD)


def test_users_add_prompts_twice_for_the_password(
    runner: FlaskCliRunner, db: Session, geo: None
) -> None:
    """Without --password-stdin the password is asked for twice and never echoed."""
    result = runner.invoke(
        args=["users", "add", "bob", "--role", "focal_point", "--area", HOME],
        input=f"{GOOD_PASSWORD}\n{GOOD_PASSWORD}\n",
    )
    assert result.exit_code == 0, result.output
    assert result.output.count("Password") == 1 and "Repeat for confirmation" in result.output
    assert GOOD_PASSWORD not in result.output
    assert "created bob (focal_point, 21111)" in result.output
    assert signs_in(db, "bob", GOOD_PASSWORD)


def test_users_add_prompt_refuses_a_mismatched_confirmation(
    runner: FlaskCliRunner, db: Session, geo: None
) -> None:
    """Two different passwords at the prompt create nothing."""
    result = runner.invoke(
        args=["users", "add", "bob", "--role", "focal_point", "--area", HOME],
        input=f"{GOOD_PASSWORD}\n{GOOD_PASSWORD}-typo\n",
    )
    assert_refused(result, "do not match")
    assert count(db, StaffUser) == 0


ALL_ROLES = ", ".join(role.value for role in Role)


@pytest.mark.parametrize(
    ("username", "role", "area", "password", "message"),
    [
        pytest.param(
            "alice",
            "mayor",
            HOME,
            GOOD_PASSWORD,
            f"unknown role 'mayor' (one of: {ALL_ROLES})",
            id="unknown-role",
        ),
        pytest.param(
            "alice", "focal_point", "29999", GOOD_PASSWORD, "unknown area '29999'", id="no-area"
        ),
        pytest.param(
            "alice", "focal_point", "Beirut", GOOD_PASSWORD, "unknown area 'Beirut'", id="name"
        ),
        pytest.param(
            "alice",
            "focal_point",
            "LB32",
            GOOD_PASSWORD,
            "role focal_point needs a locality area, not a district",
            id="focal-on-district",
        ),
        pytest.param(
            "alice",
            "qaimaqam",
            HOME,
            GOOD_PASSWORD,
            "role qaimaqam needs a district area, not a locality",
            id="qaimaqam-on-locality",
        ),
        pytest.param(
            "alice",
            "governor",
            "LB",
            GOOD_PASSWORD,
            "role governor needs a governorate area, not a national",
            id="governor-national",
        ),
        pytest.param(
            "alice",
            "ministry",
            "LB3",
            GOOD_PASSWORD,
            "role ministry needs a national area, not a governorate",
            id="ministry-on-governorate",
        ),
        pytest.param(
            "alice", "focal_point", HOME, "short-pw", "at least 12 characters", id="short-password"
        ),
        pytest.param("alice", "focal_point", HOME, "", "at least 12 characters", id="no-password"),
        pytest.param(
            "alice", "focal_point", HOME, "p" * 257, "at most 256 characters", id="long-password"
        ),
        pytest.param(
            "../../etc", "focal_point", HOME, GOOD_PASSWORD, "username must be", id="path"
        ),
        pytest.param("a" * 500, "focal_point", HOME, GOOD_PASSWORD, "username must be", id="500"),
        pytest.param("عمر", "focal_point", HOME, GOOD_PASSWORD, "username must be", id="arabic"),
        pytest.param("al", "focal_point", HOME, GOOD_PASSWORD, "username must be", id="too-short"),
        pytest.param(
            "alice smith", "focal_point", HOME, GOOD_PASSWORD, "username must be", id="space"
        ),
        pytest.param(
            "bob');--", "focal_point", HOME, GOOD_PASSWORD, "username must be", id="quote"
        ),
    ],
)
def test_users_add_refuses(
    runner: FlaskCliRunner,
    db: Session,
    geo: None,
    username: str,
    role: str,
    area: str,
    password: str,
    message: str,
) -> None:
    """Each refusal says why, exits non-zero and writes no account and no audit event."""
    result = runner.invoke(args=add_user_args(username, role, area), input=password + "\n")
    assert_refused(result, message)
    if password:
        assert password not in result.output
    assert count(db, StaffUser) == 0
    assert count(db, AuditEvent) == 0


def test_users_add_refuses_a_taken_username(runner: FlaskCliRunner, db: Session, geo: None) -> None:
    """A username is taken whatever its case; the existing account is untouched."""
    existing = make_user(db, Role.FOCAL_POINT, HOME, username="alice")
    db.commit()
    hash_before = existing.password_hash
    result = runner.invoke(
        args=add_user_args("ALICE", "governor", "LB3"), input=GOOD_PASSWORD + "\n"
    )
    assert_refused(result, "username 'alice' is taken")
    assert count(db, StaffUser) == 1
    account = user(db, "alice")
    assert account is not None
    assert (account.role, account.password_hash) == (Role.FOCAL_POINT, hash_before)


# --- users import --------------------------------------------------------------------------


def test_users_import_creates_every_account_and_writes_passwords_only_to_the_file(
    runner: FlaskCliRunner,
    db: Session,
    geo: None,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """All accounts exist; their passwords are in the 0600 file only, and each one signs in."""
    caplog.set_level(logging.DEBUG)
    source = write_import(
        tmp_path / "staff.csv",
        [
            ["chiyah-focal", "focal_point", HOME],
            ["baabda", "qaimaqam", "LB32"],
            [" Akkar.Gov ", "GOVERNOR", " lb7 "],
            ["ministry-1", "ministry", "LB"],
        ],
    )
    out = tmp_path / "passwords.csv"
    result = runner.invoke(args=["users", "import", str(source), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert f"created 4 accounts; passwords are in {out}" in result.output
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    header, rows = read_passwords(out)
    assert header == PASSWORDS_HEADER
    assert [(r["username"], r["role"], r["area_code"]) for r in rows] == [
        ("chiyah-focal", "focal_point", HOME),
        ("baabda", "qaimaqam", "LB32"),
        ("akkar.gov", "governor", "LB7"),
        ("ministry-1", "ministry", "LB"),
    ]
    passwords = [r["password"] for r in rows]
    assert len(set(passwords)) == 4 and all(len(p) >= 12 for p in passwords)
    audit_details = " ".join(db.scalars(select(AuditEvent.details)))
    for password in passwords:
        assert password not in result.output
        assert password not in caplog.text
        assert password not in audit_details
    assert count(db, StaffUser) == 4
    for n, row in enumerate(rows):
        account = user(db, row["username"])
        assert account is not None and account.role.value == row["role"]
        assert signs_in(db, row["username"], row["password"], f"10.0.0.{n}")


def test_users_import_accepts_a_spreadsheet_bom(
    runner: FlaskCliRunner, db: Session, geo: None, tmp_path: Path
) -> None:
    """A CSV saved by a spreadsheet with a UTF-8 byte-order mark imports like any other."""
    source = tmp_path / "staff.csv"
    source.write_bytes(b"\xef\xbb\xbfusername,role,area_code\r\nhalba-focal,focal_point,35111\r\n")
    out = tmp_path / "passwords.csv"
    result = runner.invoke(args=["users", "import", str(source), "--out", str(out)])
    assert result.exit_code == 0, result.output
    account = user(db, "halba-focal")
    assert account is not None and account.district_code == "LB51"


GOOD_IMPORT_ROWS = [["chiyah-focal", "focal_point", HOME], ["baabda", "qaimaqam", "LB32"]]


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (["x-mayor", "mayor", HOME], "line 4: unknown role 'mayor'"),
        (["x-nowhere", "focal_point", "29999"], "line 4: unknown area '29999'"),
        (["chiyah-focal", "mukhtar", HOME], "line 4: username 'chiyah-focal' is taken"),
        (["x-wrong", "focal_point", "LB32"], "line 4: role focal_point needs a locality area"),
        (["../etc", "focal_point", HOME], "line 4: username must be"),
        (["", "focal_point", HOME], "line 4: username must be"),
    ],
    ids=["unknown-role", "unknown-area", "duplicate-in-file", "wrong-level", "hostile", "empty"],
)
def test_users_import_with_a_bad_row_creates_nothing(
    runner: FlaskCliRunner,
    db: Session,
    geo: None,
    tmp_path: Path,
    bad: list[str],
    message: str,
) -> None:
    """One bad row among good ones: it is named by line, and no account or file is left."""
    source = write_import(tmp_path / "staff.csv", [*GOOD_IMPORT_ROWS, bad])
    out = tmp_path / "passwords.csv"
    result = runner.invoke(args=["users", "import", str(source), "--out", str(out)])
    assert_refused(result, message, "1 row(s) refused; no account was created")
    assert count(db, StaffUser) == 0
    assert count(db, AuditEvent) == 0
    assert not out.exists()


def test_users_import_lists_every_problem(
    runner: FlaskCliRunner, db: Session, geo: None, tmp_path: Path
) -> None:
    """Every bad row is listed with its line number in one run, not just the first."""
    source = write_import(
        tmp_path / "staff.csv",
        [
            ["chiyah-focal", "focal_point", HOME],  # line 2
            ["x-mayor", "mayor", HOME],  # line 3
            ["x-nowhere", "focal_point", "29999"],  # line 4
            ["baabda", "qaimaqam", "LB32"],  # line 5
            ["chiyah-focal", "mukhtar", HOME],  # line 6
        ],
    )
    out = tmp_path / "passwords.csv"
    result = runner.invoke(args=["users", "import", str(source), "--out", str(out)])
    assert_refused(
        result,
        "line 3: unknown role 'mayor'",
        "line 4: unknown area '29999'",
        "line 6: username 'chiyah-focal' is taken",
        "3 row(s) refused; no account was created",
    )
    assert "line 2" not in result.output and "line 5" not in result.output
    assert count(db, StaffUser) == 0
    assert not out.exists()


def test_users_import_never_overwrites_an_existing_file(
    runner: FlaskCliRunner, db: Session, geo: None, tmp_path: Path
) -> None:
    """An --out file that exists is refused and keeps its content; no account is made."""
    source = write_import(tmp_path / "staff.csv", GOOD_IMPORT_ROWS)
    out = tmp_path / "passwords.csv"
    out.write_text("the previous batch's passwords\n")
    result = runner.invoke(args=["users", "import", str(source), "--out", str(out)])
    assert_refused(result, f"{out} exists; choose a new file")
    assert out.read_text() == "the previous batch's passwords\n"
    assert count(db, StaffUser) == 0


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"username,role\nchiyah-focal,focal_point\n", "missing columns: area_code"),
        (b"user;role;area\nchiyah-focal;focal_point;21111\n", "missing columns: username, role"),
        (b"", "missing columns: username, role, area_code"),
        ("username,role,area_code\nعمر,focal_point,21111\n".encode("cp1256"), "is not UTF-8"),
    ],
    ids=["no-area-column", "semicolons", "empty", "windows-1256"],
)
def test_users_import_refuses_an_unreadable_file(
    runner: FlaskCliRunner,
    db: Session,
    geo: None,
    tmp_path: Path,
    content: bytes,
    message: str,
) -> None:
    """A file without the three columns (or not UTF-8) is refused whole, with the reason."""
    source = tmp_path / "staff.csv"
    source.write_bytes(content)
    out = tmp_path / "passwords.csv"
    result = runner.invoke(args=["users", "import", str(source), "--out", str(out)])
    assert_refused(result, message)
    assert count(db, StaffUser) == 0
    assert not out.exists()


@pytest.mark.parametrize("kind", ["missing-directory", "dangling-symlink"])
def test_users_import_refuses_an_unusable_out_path(
    runner: FlaskCliRunner, db: Session, geo: None, tmp_path: Path, kind: str
) -> None:
    """An --out that cannot be created is a clear refusal; no account, and nothing deleted."""
    source = write_import(tmp_path / "staff.csv", GOOD_IMPORT_ROWS)
    if kind == "missing-directory":
        out = tmp_path / "no-such-dir" / "passwords.csv"
    else:
        out = tmp_path / "passwords.csv"
        out.symlink_to(tmp_path / "elsewhere.csv")
    result = runner.invoke(args=["users", "import", str(source), "--out", str(out)])
    assert count(db, StaffUser) == 0
    assert kind != "dangling-symlink" or out.is_symlink(), "the operator's link was deleted"
    assert_refused(result, str(out))


def test_users_import_file_is_private_even_with_a_loose_umask(
    runner: FlaskCliRunner, geo: None, tmp_path: Path
) -> None:
    """The passwords file is 0600 even when the operator's umask would allow more."""
    source = write_import(tmp_path / "staff.csv", GOOD_IMPORT_ROWS)
    out = tmp_path / "passwords.csv"
    previous = os.umask(0)
    try:
        result = runner.invoke(args=["users", "import", str(source), "--out", str(out)])
    finally:
        os.umask(previous)
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(out.stat().st_mode) == 0o600


# --- programme set -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("opens", "closes", "stored", "shown"),
    [
        (
            "2020-04-20T00:00",
            "2020-05-04T24:00",
            (datetime(2020, 4, 19, 21, tzinfo=UTC), datetime(2020, 5, 4, 21, tzinfo=UTC)),
            "opens 2020-04-20 00:00, closes 2020-05-05 00:00 (Beirut)",
        ),
        (  # winter: Beirut is UTC+2
            "2020-01-10 08:00",
            "2020-01-10 24:00:00",
            (datetime(2020, 1, 10, 6, tzinfo=UTC), datetime(2020, 1, 10, 22, tzinfo=UTC)),
            "opens 2020-01-10 08:00, closes 2020-01-11 00:00 (Beirut)",
        ),
        (  # explicit offsets are kept
            "2020-04-20T00:00+00:00",
            "2020-05-04T21:00Z",
            (datetime(2020, 4, 20, tzinfo=UTC), datetime(2020, 5, 4, 21, tzinfo=UTC)),
            "opens 2020-04-20 03:00, closes 2020-05-05 00:00 (Beirut)",
        ),
        (  # 24:00 with an offset is that offset's next midnight
            "2020-04-20T00:00+03:00",
            "2020-05-04T24:00+03:00",
            (datetime(2020, 4, 19, 21, tzinfo=UTC), datetime(2020, 5, 4, 21, tzinfo=UTC)),
            "opens 2020-04-20 00:00, closes 2020-05-05 00:00 (Beirut)",
        ),
    ],
    ids=["circular-2020", "winter", "with-offsets", "midnight-24-with-offset"],
)
def test_programme_set_stores_utc_and_shows_beirut_time(
    runner: FlaskCliRunner,
    db: Session,
    opens: str,
    closes: str,
    stored: tuple[datetime, datetime],
    shown: str,
) -> None:
    """Times typed in Beirut (24:00 is the next midnight) are stored in UTC and shown back."""
    result = runner.invoke(args=["programme", "set", "--opens", opens, "--closes", closes])
    assert result.exit_code == 0, result.output
    assert f"impact-2020: {shown}" in result.output
    db.expire_all()
    programme = current_programme(db)
    assert programme is not None and programme.code == "impact-2020"
    assert (programme.opens_at, programme.closes_at) == stored
    events = list(db.scalars(select(AuditEvent).where(AuditEvent.action == "programme.window_set")))
    assert [(e.object_type, e.object_id) for e in events] == [("programme", "impact-2020")]


def test_programme_set_again_moves_the_window(runner: FlaskCliRunner, db: Session) -> None:
    """A second run moves the same round's window; each move is an audit event."""
    first = ["programme", "set", "--opens", "2020-04-20T00:00", "--closes", "2020-05-04T24:00"]
    second = ["programme", "set", "--opens", "2020-04-20T00:00", "--closes", "2020-05-11T24:00"]
    assert runner.invoke(args=first).exit_code == 0
    result = runner.invoke(args=second)
    assert result.exit_code == 0, result.output
    assert "closes 2020-05-12 00:00 (Beirut)" in result.output
    assert count(db, Programme) == 1
    programme = current_programme(db)
    assert programme is not None
    assert programme.closes_at == datetime(2020, 5, 11, 21, tzinfo=UTC)
    moves = db.scalar(select(func.count()).where(AuditEvent.action == "programme.window_set"))
    assert moves == 2


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            ["--opens", "2020-05-04T24:00", "--closes", "2020-04-20T00:00"],
            "the window must close after it opens",
        ),
        (  # the same instant written two ways
            ["--opens", "2020-05-05T00:00", "--closes", "2020-05-04T24:00"],
            "the window must close after it opens",
        ),
        (
            ["--opens", "next monday", "--closes", "2020-05-04T24:00"],
            "'next monday' is not an ISO date-time such as 2020-05-04T24:00",
        ),
        (["--opens", "2020-04-20", "--closes", "2020-05-04T25:00"], "'2020-05-04T25:00' is not"),
        (["--opens", "2020-02-30T00:00", "--closes", "2020-05-04"], "'2020-02-30T00:00' is not"),
        (
            ["--opens", "2020-04-20", "--closes", "2020-05-04", "--code", "Impact 2020"],
            "programme code 'Impact 2020' must be",
        ),
    ],
    ids=["closes-first", "empty-window", "words", "hour-25", "february-30", "bad-code"],
)
def test_programme_set_refuses(
    runner: FlaskCliRunner, db: Session, options: list[str], message: str
) -> None:
    """A window that cannot be is refused with the reason; nothing is stored or audited."""
    result = runner.invoke(args=["programme", "set", *options])
    assert_refused(result, message)
    assert count(db, Programme) == 0
    assert count(db, AuditEvent) == 0


# --- demo ----------------------------------------------------------------------------------


def test_demo_refuses_outside_development(runner: FlaskCliRunner, db: Session) -> None:
    """On a non-development service `demo` creates no accounts, areas or window."""
    result = runner.invoke(args=["demo"])
    assert_refused(result, "demo refuses to run outside development")
    assert count(db, StaffUser) == count(db, Locality) == count(db, Programme) == 0


def test_demo_creates_one_working_account_per_role(dev_runner: FlaskCliRunner, db: Session) -> None:
    """Development: the localities, an open window and one account per role, whose printed
    passwords sign in."""
    result = dev_runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    assert "localities: added 1545, updated 0, unchanged 0" in result.output
    printed = printed_demo_accounts(result.output)
    accounts = list(db.scalars(select(StaffUser)))
    assert sorted(a.role for a in accounts) == sorted(Role)
    assert {a.username for a in accounts} == set(printed)
    for n, account in enumerate(accounts):
        password, role, area = printed[account.username]
        assert (role, area) == (account.role.value, account.area_code)
        assert signs_in(db, account.username, password, f"10.1.0.{n}")
    programme = current_programme(db)
    assert programme is not None and programme.is_open()
    assert count(db, Locality) == 1545


def test_demo_again_resets_the_passwords_and_nothing_else(
    dev_runner: FlaskCliRunner, db: Session
) -> None:
    """A second run keeps one account per role and the window; only new passwords work."""
    first = dev_runner.invoke(args=["demo"])
    assert first.exit_code == 0, first.output
    window = current_programme(db)
    assert window is not None
    opened = window.opens_at
    second = dev_runner.invoke(args=["demo"])
    assert second.exit_code == 0, second.output
    assert "localities: added 0, updated 0, unchanged 1545" in second.output
    old, new = printed_demo_accounts(first.output), printed_demo_accounts(second.output)
    assert count(db, StaffUser) == len(Role) == len(new)
    assert count(db, Programme) == 1
    window = current_programme(db)
    assert window is not None and window.opens_at == opened
    for n, username in enumerate(sorted(new)):
        assert new[username][0] != old[username][0]
        assert signs_in(db, username, new[username][0], f"10.2.0.{n}")
        assert not signs_in(db, username, old[username][0], f"10.3.0.{n}")
    resets = db.scalar(select(func.count()).where(AuditEvent.action == "staff.credentials_reset"))
    assert resets == len(new)  # every reset is on the record


# --- audit verify --------------------------------------------------------------------------


def test_audit_verify_on_an_intact_trail(runner: FlaskCliRunner, db: Session, geo: None) -> None:
    """After real CLI actions the chain checks out, counting every event."""
    assert count(db, AuditEvent) == 0
    empty = runner.invoke(args=["audit", "verify"])
    assert (empty.exit_code, "audit trail intact: 0 events" in empty.output) == (0, True)
    added = runner.invoke(args=add_user_args("alice", "focal_point", HOME), input=GOOD_PASSWORD)
    assert added.exit_code == 0, added.output
    window = ["programme", "set", "--opens", "2020-04-20", "--closes", "2020-05-04T24:00"]
    assert runner.invoke(args=window).exit_code == 0
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert "audit trail intact: 2 events" in result.output


# --- db upgrade / db check on a new store --------------------------------------------------


def test_db_upgrade_then_check_on_a_new_store(fresh_runner: FlaskCliRunner) -> None:
    """A new SQLite file is migrated (twice is harmless), agrees with the models, and works."""
    first = fresh_runner.invoke(args=["db", "upgrade"])
    assert first.exit_code == 0, first.output
    assert "store is up to date" in first.output
    again = fresh_runner.invoke(args=["db", "upgrade"])
    assert again.exit_code == 0, again.output
    assert "store is up to date" in again.output
    check = fresh_runner.invoke(args=["db", "check"])
    assert check.exit_code == 0, check.output
    assert "models and migrations agree" in check.output
    added = fresh_runner.invoke(
        args=add_user_args("minister", "ministry", "LB"), input=GOOD_PASSWORD + "\n"
    )
    assert added.exit_code == 0, added.output
    verify = fresh_runner.invoke(args=["audit", "verify"])
    assert "audit trail intact: 1 events" in verify.output


@pytest.mark.parametrize(
    ("command", "stdin"),
    [
        (add_user_args("minister", "ministry", "LB"), GOOD_PASSWORD + "\n"),
        (add_user_args("chiyah", "focal_point", HOME), GOOD_PASSWORD + "\n"),
        (["programme", "set", "--opens", "2020-04-20", "--closes", "2020-05-04T24:00"], None),
        (["audit", "verify"], None),
        (["geo", "load", str(LOCALITIES)], None),
    ],
    ids=["users-add-national", "users-add-locality", "programme-set", "audit-verify", "geo-load"],
)
def test_commands_on_a_store_without_tables_say_to_upgrade(
    fresh_runner: FlaskCliRunner, command: list[str], stdin: str | None
) -> None:
    """Before `db upgrade`, a command that needs the tables says so instead of a traceback."""
    result = fresh_runner.invoke(args=command, input=stdin)
    assert_refused(result, "the store is not set up: run `flask --app wsgi db upgrade` first")


def test_db_check_on_a_store_without_tables(fresh_runner: FlaskCliRunner) -> None:
    """`db check` before `db upgrade` exits non-zero with a message, not a traceback."""
    result = fresh_runner.invoke(args=["db", "check"])
    assert_refused(result)
