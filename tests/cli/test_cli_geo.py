"""`geo load`: areas added, updated and left unchanged, and bad rows and files refused."""

from __future__ import annotations

import csv
import functools
from collections.abc import Callable
from pathlib import Path

import pytest
from flask.testing import FlaskCliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session

import core.geography
from core.geography import LOCALITY_COLUMNS, District, Governorate, Locality
from tests.plugins.cli import assert_refused, count
from tests.support.factories import (
    AKKAR,
    ELSEWHERE,
    HOME,
    LOCALITIES,
    NORTH,
    SAMPLE_CODES,
    load_sample_geography,
)

# --- helpers -------------------------------------------------------------------------------


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
