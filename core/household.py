"""The household form: its four pages, the data dictionary's rules, and the circular's.

The data dictionary (`design/HOUSEHOLD_FORM.md`) is the specification; every field name here
is also the HTML form field's name. Cleaning turns what a browser posts into JSON-ready data
(ISO dates, ints, bools, option values) and a list of errors with stable codes, which the
adapters translate. Nothing here raises on what a citizen types, however hostile.
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

from core.digits import strip_marks, to_ascii_digits
from core.geography import AreaLevel, level_of
from core.phones import NotLebaneseMobile, normalise_mobile

# Circular part 5.2(e): the form has four pages.
PAGES = ("personal", "family", "housing", "finances")
MAX_MEMBERS = 20
MAX_LBP = 10**12  # far above any household's income or debt, far below a typing accident's
HEAD_AGES = (16, 110)
MEMBER_AGES = (0, 120)
SCHOOL_AGES = (5, 18)
REQUIRED_FROM_AGE = {"id_number": 18, "work": 15}

FormInput = Mapping[str, Sequence[str]]  # name -> posted values (request.form.to_dict(flat=False))


class ErrorCode(StrEnum):
    """Why a field was refused; webforms.form_text has a sentence for each."""

    REQUIRED = "required"  # a starred field is empty
    TOO_LONG = "too_long"  # params: max
    INVALID_CHARACTERS = "invalid_characters"  # control characters or < > in a text
    INVALID_CHOICE = "invalid_choice"  # not one of the field's options
    INVALID_DATE = "invalid_date"  # not a real date written YYYY-MM-DD
    DATE_IN_FUTURE = "date_in_future"  # a birth date after today
    AGE_OUT_OF_RANGE = "age_out_of_range"  # params: min, max
    INVALID_DIGITS = "invalid_digits"  # params: min, max (a count of digits)
    NOT_MOBILE = "not_mobile"  # not a Lebanese mobile number
    UNKNOWN_LOCALITY = "unknown_locality"  # no locality has this code
    NOT_A_NUMBER = "not_a_number"  # not a whole number
    OUT_OF_RANGE = "out_of_range"  # params: min, max
    NONE_WITH_OTHERS = "none_with_others"  # "none" ticked together with another option
    MUST_ACCEPT = "must_accept"  # the declaration is not ticked
    TOO_MANY_MEMBERS = "too_many_members"  # params: max
    REQUIRED_FROM_AGE = "required_from_age"  # params: age


class Ineligible(StrEnum):
    """Circular part 5.1(f): why a family cannot benefit; webforms.form_text explains each."""

    PUBLIC_SECTOR_HEAD = "public_sector_head"  # the head works in the public sector
    PENSION_HEAD = "pension_head"  # the head receives a pension
    PUBLIC_SECTOR_MEMBER = "public_sector_member"  # a member works in the public sector
    PENSION_MEMBER = "pension_member"  # a member receives a pension
    PENSION_INCOME = "pension_income"  # the household lists a pension among its incomes


@dataclass(frozen=True)
class FieldError:
    """One refused field: its HTML name, a stable code, and the numbers the message needs."""

    field: str
    code: str
    params: Mapping[str, int | str] = dataclasses.field(default_factory=dict)


@dataclass(frozen=True)
class FamilyKeys:
    """What identifies a family, for circular part 5.1(e): one form per family."""

    registry: str  # "<registry_place>:<registry_number without leading zeros>"
    head_id: str
    member_ids: tuple[str, ...]


# --- option lists, in the data dictionary's order ------------------------------------------

_WORK = (
    "public_sector",
    "private_employee",
    "self_employed",
    "daily_worker",
    "unemployed",
    "retired_pension",
    "retired_no_pension",
    "unable_to_work",
)
OPTIONS: dict[str, tuple[str, ...]] = {
    "sex": ("male", "female"),
    "nationality": ("lebanese", "syrian", "palestinian", "other"),
    "marital_status": ("single", "married", "widowed", "divorced"),
    "education": ("none", "primary", "intermediate", "secondary", "university"),
    "work": _WORK,
    "relation": ("spouse", "child", "parent", "sibling", "grandchild", "other"),
    "housing_tenure": ("owned", "rented", "hosted_free", "informal"),
    "housing_type": ("apartment", "house", "single_room", "tent", "unfinished"),
    "assets": (
        "car",
        "fridge",
        "washing_machine",
        "air_conditioner",
        "generator_subscription",
        "internet",
        "computer",
        "water_heater",
    ),
    "income_sources": (
        "salary",
        "daily_work",
        "own_business",
        "remittances",
        "pension",
        "aid",
        "none",
    ),
    "other_aid": ("none", "nptp", "un_agency", "ngo", "municipality", "other"),
}


# --- cleaning one field --------------------------------------------------------------------


@dataclass(frozen=True)
class _Context:
    today: date
    locality_exists: Callable[[str], bool]


class _Invalid(Exception):
    def __init__(self, code: ErrorCode, **params: int | str) -> None:
        super().__init__(code)
        self.code, self.params = code, params


Cleaner = Callable[[list[str], _Context], Any]

# Tab and newlines are folded to spaces (a pasted address has them); other controls, lone
# surrogates and angle brackets are refused: no name or address needs them, and refusing them
# keeps markup out of every screen and export the data later reaches.
_REFUSED = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff<>]")
_SPACES = re.compile(r"\s+")
_SEPARATORS = re.compile(r"[\s-]+")
_DIGITS = re.compile(r"[0-9]+")
_ISO_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_INTEGER = re.compile(r"-?[0-9]+")
_GROUPED = re.compile(r"[0-9]{1,3}(?:[,.'٬][0-9]{3})+")  # 1,500,000 · 1.500.000 · ١٬٥٠٠٬٠٠٠
_TRUE = frozenset({"1", "on", "yes", "true"})
_FALSE = frozenset({"", "0", "off", "no", "false"})


def _values(form: FormInput, name: str) -> list[str]:
    raw = form.get(name, ())
    return [raw] if isinstance(raw, str) else list(raw)


def _single(values: list[str]) -> str:
    """The first value (as Flask's `form.get` reads it), without direction marks or edges."""
    return strip_marks(values[0]).strip() if values else ""


def _required(value: str) -> str:
    if not value:
        raise _Invalid(ErrorCode.REQUIRED)
    return value


def _optional(clean: Cleaner) -> Cleaner:
    """The same field, but None when left empty."""

    def optional(values: list[str], ctx: _Context) -> Any:
        return clean(values, ctx) if _single(values) else None

    return optional


def _text(max_len: int) -> Cleaner:
    def text(values: list[str], ctx: _Context) -> str:
        value = _required(_single(values))
        if _REFUSED.search(value):
            raise _Invalid(ErrorCode.INVALID_CHARACTERS)
        value = unicodedata.normalize("NFC", _SPACES.sub(" ", value))
        if len(value) > max_len:
            raise _Invalid(ErrorCode.TOO_LONG, max=max_len)
        return value

    return text


def _choice(options: str) -> Cleaner:
    def choice(values: list[str], ctx: _Context) -> str:
        value = _required(_single(values))
        if value not in OPTIONS[options]:
            raise _Invalid(ErrorCode.INVALID_CHOICE)
        return value

    return choice


def _multi_choice(options: str, *, required: bool) -> Cleaner:
    """Repeated values: deduplicated, in the dictionary's order; `none` stands alone."""

    def multi_choice(values: list[str], ctx: _Context) -> list[str]:
        chosen = {strip_marks(v).strip() for v in values} - {""}
        if required and not chosen:
            raise _Invalid(ErrorCode.REQUIRED)
        if not chosen <= set(OPTIONS[options]):
            raise _Invalid(ErrorCode.INVALID_CHOICE)
        if "none" in chosen and len(chosen) > 1:
            raise _Invalid(ErrorCode.NONE_WITH_OTHERS)
        return [option for option in OPTIONS[options] if option in chosen]

    return multi_choice


def _date(values: list[str]) -> date:
    match = _ISO_DATE.fullmatch(to_ascii_digits(_required(_single(values))))
    if match:
        with suppress(ValueError):  # 2021-02-30 has the shape of a date, not the substance
            return date(*map(int, match.groups()))
    raise _Invalid(ErrorCode.INVALID_DATE)


def age_on(born: date, today: date) -> int:
    """Whole years completed on `today`."""
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def _birth_date(min_age: int, max_age: int) -> Cleaner:
    def birth_date(values: list[str], ctx: _Context) -> str:
        born = _date(values)
        if born > ctx.today:
            raise _Invalid(ErrorCode.DATE_IN_FUTURE)
        if not min_age <= age_on(born, ctx.today) <= max_age:
            raise _Invalid(ErrorCode.AGE_OUT_OF_RANGE, min=min_age, max=max_age)
        return born.isoformat()

    return birth_date


def _digits(min_len: int, max_len: int) -> Cleaner:
    """An identifier typed in digits (spaces and hyphens allowed); leading zeros are kept."""

    def digits(values: list[str], ctx: _Context) -> str:
        value = _SEPARATORS.sub("", to_ascii_digits(_required(_single(values))))
        if not (_DIGITS.fullmatch(value) and min_len <= len(value) <= max_len):
            raise _Invalid(ErrorCode.INVALID_DIGITS, min=min_len, max=max_len)
        return value

    return digits


def _whole_number(text: str) -> str:
    """A typed whole number without its spaces and thousands separators."""
    value = _SPACES.sub("", to_ascii_digits(text))
    if _GROUPED.fullmatch(value):
        value = re.sub(r"[,.'٬]", "", value)
    if not _INTEGER.fullmatch(value):
        raise _Invalid(ErrorCode.NOT_A_NUMBER)
    return value


def _number(low: int, high: int) -> Cleaner:
    def number(values: list[str], ctx: _Context) -> int:
        value = _whole_number(_required(_single(values)))
        # Compare lengths first: int() of thousands of digits is slow, and refused above 4300.
        if len(value.lstrip("-0")) > len(str(high)) or not low <= int(value) <= high:
            raise _Invalid(ErrorCode.OUT_OF_RANGE, min=low, max=high)
        return int(value)

    return number


def _phone(values: list[str], ctx: _Context) -> str:
    try:
        return normalise_mobile(_required(_single(values)))
    except NotLebaneseMobile:
        raise _Invalid(ErrorCode.NOT_MOBILE) from None


def _locality(values: list[str], ctx: _Context) -> str:
    code = to_ascii_digits(_required(_single(values)))
    # The shape check first: a posted megabyte never reaches the store.
    if level_of(code) is not AreaLevel.LOCALITY or not ctx.locality_exists(code):
        raise _Invalid(ErrorCode.UNKNOWN_LOCALITY)
    return code


def _boolean(values: list[str], ctx: _Context) -> bool:
    """A checkbox: ticked if any value is a yes (a hidden "0" may come before it)."""
    answers = {v.strip().lower() for v in values}
    if answers & _TRUE:
        return True
    if answers <= _FALSE:
        return False
    raise _Invalid(ErrorCode.INVALID_CHOICE)


def _accepted(values: list[str], ctx: _Context) -> bool:
    try:
        if _boolean(values, ctx):
            return True
    except _Invalid:
        pass
    raise _Invalid(ErrorCode.MUST_ACCEPT)


def _ignored(values: list[str], ctx: _Context) -> None:
    return None


# --- the pages -----------------------------------------------------------------------------

_LBP = _number(0, MAX_LBP)

_PERSONAL: dict[str, Cleaner] = {
    "head_first_name": _text(60),
    "head_father_name": _text(60),
    "head_family_name": _text(60),
    "head_mother_name": _text(120),
    "head_sex": _choice("sex"),
    "head_birth_date": _birth_date(*HEAD_AGES),
    "head_nationality": _choice("nationality"),
    "head_id_number": _digits(6, 12),
    "registry_place": _locality,
    "registry_number": _digits(1, 6),
    "phone": _phone,
    "marital_status": _choice("marital_status"),
    "head_education": _choice("education"),
    "head_work": _choice("work"),
}

_MEMBER: dict[str, Cleaner] = {
    "first_name": _text(60),
    "relation": _choice("relation"),
    "sex": _choice("sex"),
    "birth_date": _birth_date(*MEMBER_AGES),
    "id_number": _optional(_digits(6, 12)),  # required from age 18: see _age_rules
    "disability": _boolean,
    "chronic_illness": _boolean,
    "work": _optional(_choice("work")),  # required from age 15: see _age_rules
    "in_school": _boolean,  # kept only for ages 5-18: see _school_rule
}
_MEMBER_BOOLEANS = frozenset({"disability", "chronic_illness", "in_school"})

_HOUSING: dict[str, Cleaner] = {
    "residence_locality": _locality,
    "address": _text(200),
    "housing_tenure": _choice("housing_tenure"),
    "housing_type": _choice("housing_type"),
    "rooms": _number(1, 20),
    "assets": _multi_choice("assets", required=False),
    "cars": _optional(_number(0, 10)),
}

_FINANCES: dict[str, Cleaner] = {
    "monthly_income": _LBP,
    "income_sources": _multi_choice("income_sources", required=True),
    "lost_income_covid": _boolean,
    "debts": _optional(_LBP),
    "other_aid": _multi_choice("other_aid", required=True),
    "declaration": _accepted,
}

# The fields each page stores, in the dictionary's order (what the renderer lays out).
PAGE_FIELDS: dict[str, tuple[str, ...]] = {
    "personal": tuple(_PERSONAL),
    "family": ("members",),
    "housing": (
        "residence_locality",
        "address",
        "housing_tenure",
        "monthly_rent",
        "housing_type",
        "rooms",
        "assets",
        "cars",
    ),
    "finances": tuple(_FINANCES),
}
MEMBER_FIELDS = tuple(_MEMBER)
# Which option list each choice field draws from.
FIELD_OPTIONS: dict[str, str] = {
    "head_sex": "sex",
    "head_nationality": "nationality",
    "marital_status": "marital_status",
    "head_education": "education",
    "head_work": "work",
    "relation": "relation",
    "sex": "sex",
    "work": "work",
    "housing_tenure": "housing_tenure",
    "housing_type": "housing_type",
    "assets": "assets",
    "income_sources": "income_sources",
    "other_aid": "other_aid",
}

PageResult = tuple[dict[str, Any], list[FieldError]]


def _clean_fields(
    fields: Mapping[str, Cleaner], form: FormInput, ctx: _Context, prefix: str = ""
) -> PageResult:
    """Each field through its cleaner; a refused field is left out of the data."""
    data: dict[str, Any] = {}
    errors: list[FieldError] = []
    for name, clean in fields.items():
        try:
            data[name] = clean(_values(form, prefix + name), ctx)
        except _Invalid as refused:
            errors.append(FieldError(prefix + name, refused.code, refused.params))
    return data, errors


def _clean_personal(form: FormInput, ctx: _Context) -> PageResult:
    return _clean_fields(_PERSONAL, form, ctx)


def _clean_housing(form: FormInput, ctx: _Context) -> PageResult:
    data, errors = _clean_fields(_HOUSING, form, ctx)
    rent, rent_errors = _clean_fields(
        {"monthly_rent": _rent_cleaner(data.get("housing_tenure"))}, form, ctx
    )
    return data | rent, errors + rent_errors


def _rent_cleaner(tenure: str | None) -> Cleaner:
    """The dictionary: monthly rent is required of tenants and means nothing for others."""
    if tenure == "rented":
        return _LBP
    return _optional(_LBP) if tenure is None else _ignored


def _clean_finances(form: FormInput, ctx: _Context) -> PageResult:
    return _clean_fields(_FINANCES, form, ctx)


# --- family members ------------------------------------------------------------------------

# One canonical spelling of each index, so "members-01-…" cannot shadow "members-1-…".
_MEMBER_KEY = re.compile(r"members-(0|[1-9][0-9]{0,3})-([a-z_]+)")


def provided_members(form: FormInput) -> list[int]:
    """The member indices the form posted, in numeric order (gaps allowed)."""
    found = set()
    for key in form:
        match = _MEMBER_KEY.fullmatch(key)
        if match and match.group(2) in _MEMBER:
            found.add(int(match.group(1)))
    return sorted(found)


def _blank_member(form: FormInput, index: int) -> bool:
    """Nothing typed or ticked: an unused block the page offered."""
    for name in _MEMBER:
        values = {v.strip().lower() for v in _values(form, f"members-{index}-{name}")}
        if values - (_FALSE if name in _MEMBER_BOOLEANS else {""}):
            return False
    return True


def _clean_family(form: FormInput, ctx: _Context) -> PageResult:
    indices = [n for n in provided_members(form) if not _blank_member(form, n)]
    if len(indices) > MAX_MEMBERS:
        return {}, [FieldError("members", ErrorCode.TOO_MANY_MEMBERS, {"max": MAX_MEMBERS})]
    members: list[dict[str, Any]] = []
    errors: list[FieldError] = []
    for index in indices:
        member, member_errors = _clean_member(form, index, ctx)
        members.append(member)
        errors += member_errors
    return {"members": members}, errors


def _clean_member(form: FormInput, index: int, ctx: _Context) -> PageResult:
    prefix = f"members-{index}-"
    member, errors = _clean_fields(_MEMBER, form, ctx, prefix)
    if "birth_date" in member:
        age = age_on(date.fromisoformat(member["birth_date"]), ctx.today)
        _school_rule(member, age)
        errors += _age_rules(member, age, prefix)
    return member, errors


def _school_rule(member: dict[str, Any], age: int) -> None:
    # The dictionary asks about school only for ages 5-18; a stray tick means nothing.
    if not SCHOOL_AGES[0] <= age <= SCHOOL_AGES[1]:
        member["in_school"] = False


def _age_rules(member: dict[str, Any], age: int, prefix: str) -> list[FieldError]:
    """An ID from 18 and an occupation from 15: left empty, not merely invalid."""
    return [
        FieldError(prefix + name, ErrorCode.REQUIRED_FROM_AGE, {"age": from_age})
        for name, from_age in REQUIRED_FROM_AGE.items()
        if age >= from_age and name in member and member[name] is None
    ]


_PAGE_CLEANERS: dict[str, Callable[[FormInput, _Context], PageResult]] = {
    "personal": _clean_personal,
    "family": _clean_family,
    "housing": _clean_housing,
    "finances": _clean_finances,
}


def clean_page(
    page: str, form: FormInput, *, today: date, locality_exists: Callable[[str], bool]
) -> PageResult:
    """One page's cleaned data and its errors (none: the page is valid); unknown fields ignored."""
    if page not in _PAGE_CLEANERS:
        raise ValueError(f"the household form has no page {page!r}")
    return _PAGE_CLEANERS[page](form, _Context(today, locality_exists))


# --- the circular's rules on a whole application -------------------------------------------

Application = Mapping[str, Mapping[str, Any]]  # page name -> cleaned page data

_HEAD_WORK = {
    "public_sector": Ineligible.PUBLIC_SECTOR_HEAD,
    "retired_pension": Ineligible.PENSION_HEAD,
}
_MEMBER_WORK = {
    "public_sector": Ineligible.PUBLIC_SECTOR_MEMBER,
    "retired_pension": Ineligible.PENSION_MEMBER,
}


def _members(data: Application) -> list[Mapping[str, Any]]:
    members = (data.get("family") or {}).get("members") or []
    return [m for m in members if isinstance(m, Mapping)]


def ineligibility(data: Application) -> Ineligible | None:
    """Why the family cannot benefit, or None; the head is checked first."""
    # Circular part 5.1(f): public-sector employees and pensioners do not benefit.
    reasons = [_HEAD_WORK.get((data.get("personal") or {}).get("head_work", ""))]
    reasons += [_MEMBER_WORK.get(member.get("work") or "") for member in _members(data)]
    if "pension" in ((data.get("finances") or {}).get("income_sources") or ()):
        reasons.append(Ineligible.PENSION_INCOME)
    return next((reason for reason in reasons if reason), None)


def normalise_id(text: str) -> str:
    """An ID number as digits only; leading zeros are kept, they are part of an identifier."""
    return re.sub(r"[^0-9]", "", to_ascii_digits(str(text)))


def family_keys(data: Application) -> FamilyKeys:
    """The values that make two forms the same family (circular part 5.1(e))."""
    personal = data["personal"]
    # A registry number is a count: 0042 and 42 are the same register.
    number = normalise_id(personal["registry_number"]).lstrip("0") or "0"
    place = to_ascii_digits(str(personal["registry_place"])).strip()
    ids = (normalise_id(member.get("id_number") or "") for member in _members(data))
    return FamilyKeys(
        registry=f"{place}:{number}",
        head_id=normalise_id(personal["head_id_number"]),
        member_ids=tuple(dict.fromkeys(i for i in ids if i)),
    )


def _page_complete(page: str, values: object) -> bool:
    return isinstance(values, Mapping) and all(name in values for name in PAGE_FIELDS[page])


def _members_complete(data: Application) -> bool:
    members = data["family"]["members"]
    required = ("first_name", "relation", "sex", "birth_date")
    return (
        isinstance(members, list)
        and len(members) <= MAX_MEMBERS
        and all(isinstance(m, Mapping) and all(r in m for r in required) for m in members)
    )


def is_complete(data: Application) -> bool:
    """All four pages cleaned, with the declaration accepted: ready to submit."""
    if not all(_page_complete(page, data.get(page)) for page in PAGES):
        return False
    return _members_complete(data) and data["finances"]["declaration"] is True


def household_size(data: Application) -> int:
    """The head and the members."""
    return 1 + len(_members(data))
