"""What the household form says, turned into the raw numbers a formula reads.

Every variable is a float. Counts are persons or things; `crowding` is persons per room;
`income_per_capita` is the month's household income divided by the household size, in LBP.
Categorical variables (`CATEGORIES`) hold the 0-based index of the answer in the form's own
option list (`core.household.OPTIONS`), or -1 when the answer is missing or unknown; a formula
reads them only through `equals:<answer>` indicator terms, so the index itself carries no
order. Missing optional answers take the defaults written beside each rule below; a missing
page or key never raises, it is read as absent (zero, false, unknown).

Ages are whole years on `HouseholdInput.as_of` (the programme's opening date), so a score does
not drift with the day the worker runs. A person whose birth date is missing counts as a
working-age adult.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from itertools import combinations
from typing import Any, TypeGuard

from core.household import OPTIONS
from scoring.digest import digest

GOVERNORATES = ("LB1", "LB2", "LB3", "LB4", "LB5", "LB6", "LB7", "LB8")
ASSETS: tuple[str, ...] = OPTIONS["assets"]
UNKNOWN = -1.0  # the code of a missing or unknown categorical answer
NO_AGE = -1  # a missing or malformed birth date: counted as a working-age adult
MAX_AMOUNT = 10**15  # amounts are capped here (the form refuses anything above 10**12 LBP)

# Categorical variable -> its answers, in the form's order (the code is the index).
CATEGORIES: dict[str, tuple[str, ...]] = {
    "head_education": OPTIONS["education"],
    "head_work": OPTIONS["work"],
    "housing_tenure": OPTIONS["housing_tenure"],
    "housing_type": OPTIONS["housing_type"],
    "governorate": GOVERNORATES,
}

CHILD_BELOW = 15  # children are under 15 ...
ELDERLY_FROM = 65  # ... the elderly 65 and over; the others are of working age
SCHOOL_AGES = (6, 14)  # compulsory schooling ages, both included
# Work that brings an income; retirees, the unemployed and those unable to work do not count.
WORKING = frozenset({"public_sector", "private_employee", "self_employed", "daily_worker"})

VARIABLES: tuple[str, ...] = (
    "household_size",  # the head and the members
    "children",  # persons under CHILD_BELOW
    "elderly",  # persons ELDERLY_FROM and over
    "dependency_ratio",  # (children + elderly) / max(working-age persons, 1)
    "disabled",  # members with a disability (the form does not ask it of the head)
    "chronically_ill",  # members with a chronic illness
    "out_of_school",  # members of SCHOOL_AGES not in school
    "female_head",  # 1 when the head is a woman
    "head_education",  # categorical
    "head_work",  # categorical
    "members_working",  # the head and members whose work is in WORKING
    "housing_tenure",  # categorical
    "housing_type",  # categorical
    "crowding",  # persons per room; a missing room count reads as one room
    "assets_count",  # how many of the form's assets the household has (0-8)
    *(f"asset_{name}" for name in ASSETS),  # 1 when the household ticked that asset
    "cars",  # the number given; when left empty, 1 if "car" was ticked, else 0
    "income_per_capita",  # monthly household income / household size (LBP); missing is 0
    "lost_income_covid",  # 1 when income was lost or cut since the general mobilisation
    "governorate",  # categorical, from HouseholdInput.governorate
)

_CODES = {name: {answer: float(i) for i, answer in enumerate(a)} for name, a in CATEGORIES.items()}
_ASSET_SET = frozenset(ASSETS)
# Every set of assets a household can tick (2**8) -> assets_count and the asset_* flags,
# computed once: looking a set up is cheaper than testing eight names per household.
_ASSET_VALUES = {
    frozenset(chosen): (float(k), *(1.0 if name in chosen else 0.0 for name in ASSETS))
    for k in range(len(ASSETS) + 1)
    for chosen in combinations(ASSETS, k)
}


@dataclass(frozen=True)
class HouseholdInput:
    """Everything a score depends on: the cleaned pages, the date ages are taken on, the region."""

    pages: Mapping[str, Any]
    as_of: date
    governorate: str | None


def input_digest(household: HouseholdInput, *, parsed: bool = False) -> str:
    """The digest of everything a score depends on: stored beside the score to prove its inputs.

    `parsed`: the pages are as `scoring.digest.parse` read them (see `digest`)."""
    return digest(
        {
            "pages": household.pages,
            "as_of": household.as_of.isoformat(),
            "governorate": household.governorate,
        },
        parsed=parsed,
    )


def household_variables(household: HouseholdInput) -> dict[str, float]:
    """The raw variables of one household, in VARIABLES order (hot: a million runs a round)."""
    pages = household.pages if _is_mapping(household.pages) else {}
    personal, housing = _page(pages, "personal"), _page(pages, "housing")
    people = _people(personal, _members(pages), household.as_of)
    size = people[0]
    values = people + _housing(housing, size) + _finances(_page(pages, "finances"), size)
    values.append(_code("governorate", household.governorate))
    return dict(zip(VARIABLES, values, strict=False))  # the tests hold the lengths equal


def _is_mapping(value: object) -> TypeGuard[Mapping[str, Any]]:
    # A plain dict first: the ABC check costs more than everything else on the hot path.
    return type(value) is dict or isinstance(value, Mapping)


def _is_list(value: object) -> TypeGuard[Sequence[Any]]:
    return type(value) is list or (isinstance(value, Sequence) and not isinstance(value, str))


def _page(pages: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    page = pages.get(name)
    return page if _is_mapping(page) else {}


def _members(pages: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    members = _page(pages, "family").get("members")
    return [m for m in members if _is_mapping(m)] if _is_list(members) else []


def _code(variable: str, answer: object) -> float:
    return _CODES[variable].get(answer, UNKNOWN) if type(answer) is str else UNKNOWN


def _number(value: object) -> float:
    """A cleaned count or amount, capped at MAX_AMOUNT; anything else (None, garbage) reads as 0."""
    if type(value) is int and 0 <= value <= MAX_AMOUNT:  # what the form stores
        return float(value)
    if type(value) is int or (type(value) is float and value == value):  # not NaN
        return float(min(max(value, 0), MAX_AMOUNT))
    return 0.0


def _age(born: Any, year: int, month_day: str) -> int:
    """Whole years on `month_day` of `year` from an ISO date string, without building a date.

    Born after that day: 0. Missing or malformed: NO_AGE. Inlined in `_people`'s loop, which
    runs for every member of a million households.
    """
    try:
        age: int = year - int(born[:4]) - (born[5:10] > month_day)
    except (TypeError, ValueError, KeyError):
        return NO_AGE
    return age if age > 0 else 0


def _people(
    personal: Mapping[str, Any], members: list[Mapping[str, Any]], as_of: date
) -> list[float]:
    """household_size .. members_working: one pass over the head and the members."""
    year, month_day = as_of.year, as_of.isoformat()[5:10]  # "MM-DD", as in the ISO dates
    head_age = _age(personal.get("head_birth_date"), year, month_day)
    children, elderly = int(0 <= head_age < CHILD_BELOW), int(head_age >= ELDERLY_FROM)
    head_work = personal.get("head_work")
    working = int(type(head_work) is str and head_work in WORKING)
    disabled = ill = out_of_school = 0
    for member in members:
        born = member.get("birth_date")
        try:  # _age, inlined
            age = year - int(born[:4]) - (born[5:10] > month_day)  # type: ignore[index]
            age = age if age > 0 else 0
        except (TypeError, ValueError, KeyError):
            age = NO_AGE
        if age < CHILD_BELOW:
            children += age >= 0
            if SCHOOL_AGES[0] <= age <= SCHOOL_AGES[1]:
                out_of_school += member.get("in_school") is not True
        elif age >= ELDERLY_FROM:
            elderly += 1
        disabled += member.get("disability") is True
        ill += member.get("chronic_illness") is True
        work = member.get("work")
        working += type(work) is str and work in WORKING
    size = 1 + len(members)
    return [
        float(size), float(children), float(elderly),
        (children + elderly) / max(size - children - elderly, 1),
        float(disabled), float(ill), float(out_of_school),
        1.0 if personal.get("head_sex") == "female" else 0.0,
        _code("head_education", personal.get("head_education")),
        _code("head_work", head_work), float(working),
    ]  # fmt: skip


def _housing(housing: Mapping[str, Any], size: float) -> list[float]:
    """housing_tenure .. cars."""
    rooms = _number(housing.get("rooms"))
    owned = _owned(housing.get("assets"))
    cars = housing.get("cars")
    return [
        _code("housing_tenure", housing.get("housing_tenure")),
        _code("housing_type", housing.get("housing_type")),
        size / rooms if rooms > 1.0 else size,
        *_ASSET_VALUES[owned],
        _number(cars) if cars is not None else (1.0 if "car" in owned else 0.0),
    ]


def _owned(ticked: object) -> frozenset[str]:
    """The form's assets among those ticked (anything else ignored)."""
    if type(ticked) is list:
        try:
            return _ASSET_SET.intersection(ticked)
        except TypeError:  # something unhashable in the list
            pass
    if not _is_list(ticked):
        return frozenset()
    return _ASSET_SET.intersection(a for a in ticked if type(a) is str)


def _finances(finances: Mapping[str, Any], size: float) -> list[float]:
    """income_per_capita and lost_income_covid."""
    income = _number(finances.get("monthly_income")) / size
    return [income, 1.0 if finances.get("lost_income_covid") is True else 0.0]
