"""Lebanon's governorates, districts and localities, and the areas staff and records belong to.

Codes are OCHA p-codes: `LB` the country, `LB1`..`LB8` governorates, `LB11`.. districts,
five-digit cadastral codes for localities. District codes do not follow governorate codes
(Akkar district `LB51` is in Akkar governorate `LB7`), so every parent is stored explicitly.
A locality stands for a municipality in the demo data (see the README's note).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from sqlalchemy import Float, ForeignKey, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.db import Base

COUNTRY_CODE = "LB"
_GOVERNORATE = re.compile(r"LB[1-9]")
_DISTRICT = re.compile(r"LB[1-9][0-9]")
_LOCALITY = re.compile(r"[0-9]{5}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class AreaLevel(StrEnum):
    """How wide an area is, narrowest last."""

    NATIONAL = "national"  # the whole country
    GOVERNORATE = "governorate"  # a muhafaza
    DISTRICT = "district"  # a qada
    LOCALITY = "locality"  # a municipality (a cadastral area in the demo data)


class Governorate(Base):
    __tablename__ = "governorates"

    code: Mapped[str] = mapped_column(String(8), primary_key=True)
    name_ar: Mapped[str] = mapped_column(String(120))
    name_en: Mapped[str] = mapped_column(String(120))


class District(Base):
    __tablename__ = "districts"

    code: Mapped[str] = mapped_column(String(8), primary_key=True)
    governorate_code: Mapped[str] = mapped_column(ForeignKey("governorates.code"), index=True)
    name_ar: Mapped[str] = mapped_column(String(120))
    name_en: Mapped[str] = mapped_column(String(120))


class Locality(Base):
    __tablename__ = "localities"

    code: Mapped[str] = mapped_column(String(8), primary_key=True)
    district_code: Mapped[str] = mapped_column(ForeignKey("districts.code"), index=True)
    governorate_code: Mapped[str] = mapped_column(ForeignKey("governorates.code"), index=True)
    name_ar: Mapped[str] = mapped_column(String(120))
    name_en: Mapped[str] = mapped_column(String(120))
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)


@dataclass(frozen=True)
class Area:
    """A resolved area with all its parents; what scoping compares records against."""

    level: AreaLevel
    code: str
    governorate_code: str | None = None
    district_code: str | None = None
    locality_code: str | None = None


NATIONAL = Area(AreaLevel.NATIONAL, COUNTRY_CODE)


class UnknownArea(LookupError):
    """No governorate, district or locality has this code."""


def level_of(code: str) -> AreaLevel | None:
    """The level a code's shape names, or None for a code of no known shape."""
    if code == COUNTRY_CODE:
        return AreaLevel.NATIONAL
    if _GOVERNORATE.fullmatch(code):
        return AreaLevel.GOVERNORATE
    if _DISTRICT.fullmatch(code):
        return AreaLevel.DISTRICT
    if _LOCALITY.fullmatch(code):
        return AreaLevel.LOCALITY
    return None


def resolve_area(session: Session, code: str) -> Area:
    """The area a code names, with its parents; raises `UnknownArea`."""
    code = code.strip().upper()
    level = level_of(code)
    if level is AreaLevel.NATIONAL:
        return NATIONAL
    if level is AreaLevel.GOVERNORATE and session.get(Governorate, code) is not None:
        return Area(level, code, governorate_code=code)
    if level is AreaLevel.DISTRICT:
        district = session.get(District, code)
        if district:
            return Area(level, code, district.governorate_code, code)
    if level is AreaLevel.LOCALITY:
        loc = session.get(Locality, code)
        if loc:
            return Area(level, code, loc.governorate_code, loc.district_code, code)
    raise UnknownArea(code)


def locality_area(session: Session, locality_code: str) -> Area:
    """The area of a record that happened in a locality (the usual case)."""
    area = resolve_area(session, locality_code)
    if area.level is not AreaLevel.LOCALITY:
        raise UnknownArea(locality_code)
    return area


def locality_exists(session: Session, code: str) -> bool:
    """Whether a locality code is known (what the form's cleaners ask of the store)."""
    return session.get(Locality, code) is not None


# --- loading the CSV of localities -------------------------------------------------------

LOCALITY_COLUMNS = (
    "locality_code",
    "locality_name_en",
    "locality_name_ar",
    "district_code",
    "district_name_en",
    "district_name_ar",
    "governorate_code",
    "governorate_name_en",
    "governorate_name_ar",
    "center_lat",
    "center_lon",
)
MAX_NAME = 120
MAX_FILE_BYTES = 20 * 1024 * 1024


class GeoFileError(ValueError):
    """The file as a whole cannot be read (not CSV, wrong columns, too large, not UTF-8)."""


@dataclass
class LoadReport:
    """What a load did, row by row where it refused something."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)  # (line number, reason)


def parse_locality_csv(data: bytes) -> list[tuple[int, dict[str, str]]]:
    """Rows of a localities file with their line numbers; raises `GeoFileError` on a bad file."""
    if len(data) > MAX_FILE_BYTES:
        raise GeoFileError(f"file is larger than {MAX_FILE_BYTES:,} bytes")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise GeoFileError(f"file is not UTF-8 (byte {exc.start})") from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        missing = [c for c in LOCALITY_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise GeoFileError(f"missing columns: {', '.join(missing)}")
        return [(reader.line_num, row) for row in reader]
    except csv.Error as exc:
        raise GeoFileError(f"line {reader.line_num}: {exc}") from None


def load_localities(session: Session, rows: Iterable[tuple[int, Mapping[str, str]]]) -> LoadReport:
    """Add or update every valid row (idempotent); report each refused row with its reason."""
    known = _Known.read(session)
    report = LoadReport()
    seen: set[str] = set()
    for line, raw in rows:
        row = {k: (raw.get(k) or "").strip() for k in LOCALITY_COLUMNS}
        reason = _row_problem(row, seen) or _parent_conflict(known, row)
        if reason:
            report.rejected.append((line, reason))
            continue
        seen.add(row["locality_code"])
        parents_changed = _upsert_governorate(session, known, row)
        parents_changed |= _upsert_district(session, known, row)
        outcome = _upsert_locality(session, known, row)
        if outcome == "unchanged" and parents_changed:
            outcome = "updated"  # a renamed district or governorate is a change too
        setattr(report, outcome, getattr(report, outcome) + 1)
    session.flush()
    return report


@dataclass
class _Known:
    """Every area already stored, read once: a national file is 1,545 rows, not 4,635 queries."""

    governorates: dict[str, Governorate]
    districts: dict[str, District]
    localities: dict[str, Locality]

    @classmethod
    def read(cls, session: Session) -> _Known:
        return cls(
            {g.code: g for g in session.scalars(select(Governorate))},
            {d.code: d for d in session.scalars(select(District))},
            {loc.code: loc for loc in session.scalars(select(Locality))},
        )


def _row_problem(row: dict[str, str], seen: set[str]) -> str | None:
    checks = (
        ("locality_code", _LOCALITY),
        ("district_code", _DISTRICT),
        ("governorate_code", _GOVERNORATE),
    )
    for column, pattern in checks:
        if not pattern.fullmatch(row[column]):
            return f"{column} {row[column]!r} is not a valid code"
    for column in LOCALITY_COLUMNS:
        if _CONTROL.search(row[column]):
            return f"{column} contains a control character"
        if column.endswith(("_en", "_ar")):
            if not row[column]:
                return f"{column} is empty"
            if len(row[column]) > MAX_NAME:
                return f"{column} is longer than {MAX_NAME} characters"
    if row["locality_code"] in seen:
        return f"locality_code {row['locality_code']} appears twice in the file"
    return _coordinate_problem(row)


def _coordinate_problem(row: dict[str, str]) -> str | None:
    for column, limit in (("center_lat", 90.0), ("center_lon", 180.0)):
        if not row[column]:
            continue
        try:
            value = float(row[column])
        except ValueError:
            return f"{column} {row[column]!r} is not a number"
        if not -limit <= value <= limit:
            return f"{column} {value} is out of range"
    return None


def _parent_conflict(known: _Known, row: dict[str, str]) -> str | None:
    district = known.districts.get(row["district_code"])
    if district and district.governorate_code != row["governorate_code"]:
        return (
            f"district {district.code} belongs to governorate {district.governorate_code}, "
            f"not {row['governorate_code']}"
        )
    return None


def _upsert_governorate(session: Session, known: _Known, row: dict[str, str]) -> bool:
    code = row["governorate_code"]
    gov = known.governorates.get(code)
    if gov is None:
        gov = known.governorates[code] = Governorate(code=code)
        gov.name_en, gov.name_ar = row["governorate_name_en"], row["governorate_name_ar"]
        session.add(gov)
        session.flush()  # parents are written before the rows that point to them
    return _rename(gov, row["governorate_name_en"], row["governorate_name_ar"])


def _upsert_district(session: Session, known: _Known, row: dict[str, str]) -> bool:
    code = row["district_code"]
    district = known.districts.get(code)
    if district is None:
        district = District(code=code, governorate_code=row["governorate_code"])
        known.districts[code] = district
        district.name_en, district.name_ar = row["district_name_en"], row["district_name_ar"]
        session.add(district)
        session.flush()
    return _rename(district, row["district_name_en"], row["district_name_ar"])


def _rename(area: Governorate | District, name_en: str, name_ar: str) -> bool:
    """Set the names; True when they changed."""
    if (area.name_en, area.name_ar) == (name_en, name_ar):
        return False
    area.name_en, area.name_ar = name_en, name_ar
    return True


def _upsert_locality(session: Session, known: _Known, row: dict[str, str]) -> str:
    values = {
        "district_code": row["district_code"],
        "governorate_code": row["governorate_code"],
        "name_en": row["locality_name_en"],
        "name_ar": row["locality_name_ar"],
        "latitude": float(row["center_lat"]) if row["center_lat"] else None,
        "longitude": float(row["center_lon"]) if row["center_lon"] else None,
    }
    loc = known.localities.get(row["locality_code"])
    if loc is None:
        loc = Locality(code=row["locality_code"], **values)
        known.localities[loc.code] = loc
        session.add(loc)
        return "added"
    if all(getattr(loc, k) == v for k, v in values.items()):
        return "unchanged"
    for key, value in values.items():
        setattr(loc, key, value)
    return "updated"
