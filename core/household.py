"""The household form: its four pages, the data dictionary's rules, and the circular's.

This module is the form's data dictionary (the circular's social need form, part 5), shared
by the citizen's form, the assisted entry, the store and the scoring. Every field name here
is also the HTML form field's name, so a script or a browser test fills the form by name.
Each field is cleaned by one of `core.fields`' cleaners, which turn what a browser posts into
JSON-ready data and errors with stable codes (digits may be ASCII, Arabic-Indic or Persian;
dates are ISO; money is whole Lebanese pounds); this module says which cleaner each field
takes, and adds the rules that span fields, pages and members. The web layer (web/form_text)
gives each field its label, help and error text in Arabic, English and French.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from functools import partial
from typing import Any

from sqlalchemy.orm import Session

from core import fields
from core.digits import to_ascii_digits
from core.fields import (
    UNTICKED,
    Cleaner,
    Context,
    ErrorCode,
    FieldError,
    FormInput,
    PageResult,
    age_on,
    clean_fields,
    posted,
)
from core.geography import locality_exists

# Circular part 5.2(e): the form has four pages.
PAGES = ("personal", "family", "housing", "finances")
MAX_MEMBERS = 20
MAX_LBP = 10**12  # far above any household's income or debt, far below a typing accident's
HEAD_AGES = (16, 110)
MEMBER_AGES = (0, 120)
SCHOOL_AGES = (5, 18)
REQUIRED_FROM_AGE = {"id_number": 18, "work": 15}


class Ineligible(StrEnum):
    """Circular part 5.1(f): why a family cannot benefit; texts.forms explains each."""

    PUBLIC_SECTOR_HEAD = "public_sector_head"  # the head works in the public sector
    PENSION_HEAD = "pension_head"  # the head receives a pension
    PUBLIC_SECTOR_MEMBER = "public_sector_member"  # a member works in the public sector
    PENSION_MEMBER = "pension_member"  # a member receives a pension
    PENSION_INCOME = "pension_income"  # the household lists a pension among its incomes


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


# --- the pages -----------------------------------------------------------------------------

_LBP = fields.number(0, MAX_LBP)

_PERSONAL: dict[str, Cleaner] = {
    "head_first_name": fields.text(60),
    "head_father_name": fields.text(60),
    "head_family_name": fields.text(60),
    "head_mother_name": fields.text(120),
    "head_sex": fields.choice(OPTIONS["sex"]),
    "head_birth_date": fields.birth_date(*HEAD_AGES),
    "head_nationality": fields.choice(OPTIONS["nationality"]),
    "head_id_number": fields.digits(6, 12),
    "registry_place": fields.locality,
    "registry_number": fields.digits(1, 6),
    "phone": fields.phone,
    "second_phone": fields.optional(fields.phone),  # used when `phone` cannot take SMS
    "marital_status": fields.choice(OPTIONS["marital_status"]),
    "head_education": fields.choice(OPTIONS["education"]),
    "head_work": fields.choice(OPTIONS["work"]),
}

_MEMBER: dict[str, Cleaner] = {
    "first_name": fields.text(60),
    "relation": fields.choice(OPTIONS["relation"]),
    "sex": fields.choice(OPTIONS["sex"]),
    "birth_date": fields.birth_date(*MEMBER_AGES),
    "id_number": fields.optional(fields.digits(6, 12)),  # required from age 18: see _age_rules
    "disability": fields.boolean,
    "chronic_illness": fields.boolean,
    "work": fields.optional(fields.choice(OPTIONS["work"])),  # required from age 15: see _age_rules
    "in_school": fields.boolean,  # kept only for ages 5-18: see _school_rule
}
_MEMBER_BOOLEANS = frozenset({"disability", "chronic_illness", "in_school"})

_HOUSING: dict[str, Cleaner] = {
    "residence_locality": fields.locality,
    "address": fields.text(200),
    "housing_tenure": fields.choice(OPTIONS["housing_tenure"]),
    "housing_type": fields.choice(OPTIONS["housing_type"]),
    "rooms": fields.number(1, 20),
    "assets": fields.multi_choice(OPTIONS["assets"], required=False),
    "cars": fields.optional(fields.number(0, 10)),
}

_FINANCES: dict[str, Cleaner] = {
    "monthly_income": _LBP,
    "income_sources": fields.multi_choice(OPTIONS["income_sources"], required=True),
    "lost_income_covid": fields.boolean,
    "debts": fields.optional(_LBP),
    "other_aid": fields.multi_choice(OPTIONS["other_aid"], required=True),
    "declaration": fields.accepted,
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


def _clean_personal(form: FormInput, ctx: Context) -> PageResult:
    data, errors = clean_fields(_PERSONAL, form, ctx)
    if data.get("second_phone") and data["second_phone"] == data.get("phone"):
        # A second number is worth asking only if it reaches the family another way.
        del data["second_phone"]
        errors.append(FieldError("second_phone", ErrorCode.SAME_PHONE))
    return data, errors


def _clean_housing(form: FormInput, ctx: Context) -> PageResult:
    data, errors = clean_fields(_HOUSING, form, ctx)
    rent, rent_errors = clean_fields(
        {"monthly_rent": _rent_cleaner(data.get("housing_tenure"))}, form, ctx
    )
    return data | rent, errors + rent_errors


def _rent_cleaner(tenure: str | None) -> Cleaner:
    """The dictionary: monthly rent is required of tenants and means nothing for others."""
    if tenure == "rented":
        return _LBP
    return fields.optional(_LBP) if tenure is None else fields.ignored


def _clean_finances(form: FormInput, ctx: Context) -> PageResult:
    return clean_fields(_FINANCES, form, ctx)


# --- family members ------------------------------------------------------------------------

# The dictionary: zero or more members besides the head. The page offers a blank block, so a
# block left entirely blank (nothing typed, chosen or ticked) is no member, not an error.

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
        values = {v.strip().lower() for v in posted(form, f"members-{index}-{name}")}
        if values - (UNTICKED if name in _MEMBER_BOOLEANS else {""}):
            return False
    return True


def _clean_family(form: FormInput, ctx: Context) -> PageResult:
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


def _clean_member(form: FormInput, index: int, ctx: Context) -> PageResult:
    prefix = f"members-{index}-"
    member, errors = clean_fields(_MEMBER, form, ctx, prefix)
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


_PAGE_CLEANERS: dict[str, Callable[[FormInput, Context], PageResult]] = {
    "personal": _clean_personal,
    "family": _clean_family,
    "housing": _clean_housing,
    "finances": _clean_finances,
}


def clean_page(page: str, form: FormInput, *, today: date, session: Session) -> PageResult:
    """One page's cleaned data and its errors (none: the page is valid); unknown fields ignored.

    A locality is known when the store's geography holds it.
    """
    return clean_page_in(page, form, Context(today, partial(locality_exists, session)))


def clean_page_in(page: str, form: FormInput, ctx: Context) -> PageResult:
    """`clean_page` with the cleaners' context given whole: tests and benchmarks that clean a
    page without a store say which localities they know."""
    if page not in _PAGE_CLEANERS:
        raise ValueError(f"the household form has no page {page!r}")
    return _PAGE_CLEANERS[page](form, ctx)


# --- the circular's rules on a whole application -------------------------------------------

CleanedPages = Mapping[str, Mapping[str, Any]]  # page name -> cleaned page data (not the model)

_HEAD_WORK = {
    "public_sector": Ineligible.PUBLIC_SECTOR_HEAD,
    "retired_pension": Ineligible.PENSION_HEAD,
}
_MEMBER_WORK = {
    "public_sector": Ineligible.PUBLIC_SECTOR_MEMBER,
    "retired_pension": Ineligible.PENSION_MEMBER,
}


def _members(data: CleanedPages) -> list[Mapping[str, Any]]:
    members = (data.get("family") or {}).get("members") or []
    return [m for m in members if isinstance(m, Mapping)]


def ineligibility(data: CleanedPages) -> Ineligible | None:
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


def family_keys(data: CleanedPages) -> FamilyKeys:
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


# Optional fields added while forms were in progress: a draft saved before, or an application
# corrected after, lacks them and is complete all the same.
ADDED_LATER = frozenset({"second_phone"})


def _page_complete(page: str, values: object) -> bool:
    names = (name for name in PAGE_FIELDS[page] if name not in ADDED_LATER)
    return isinstance(values, Mapping) and all(name in values for name in names)


def _members_complete(data: CleanedPages) -> bool:
    members = data["family"]["members"]
    required = ("first_name", "relation", "sex", "birth_date")
    return (
        isinstance(members, list)
        and len(members) <= MAX_MEMBERS
        and all(isinstance(m, Mapping) and all(r in m for r in required) for m in members)
    )


def is_complete(data: CleanedPages) -> bool:
    """All four pages cleaned, with the declaration accepted: ready to submit."""
    if not all(_page_complete(page, data.get(page)) for page in PAGES):
        return False
    return _members_complete(data) and data["finances"]["declaration"] is True


def household_size(data: CleanedPages) -> int:
    """The head and the members."""
    return 1 + len(_members(data))
