"""The household form's data dictionary and the circular's rules, as pure functions."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core import household
from core.digits import strip_marks, to_ascii_digits
from core.fields import Context, ErrorCode, FieldError, age_on
from core.household import (
    MAX_MEMBERS,
    PAGES,
    Ineligible,
    clean_page_in,
    family_keys,
    household_size,
    ineligibility,
    is_complete,
    provided_members,
)
from texts import forms as form_text

TODAY = date(2020, 4, 25)
LOCALITIES = {"21111", "11111"}
MEGABYTE = "x" * 1_000_000

Form = dict[str, list[str]]


def clean(page: str, form: Any) -> tuple[dict[str, Any], list[FieldError]]:
    return clean_page_in(page, form, Context(TODAY, LOCALITIES.__contains__))


def changed(base: Form, name: str, value: str | list[str] | None) -> Form:
    """The base form with one field replaced (a list for repeated values) or removed (None)."""
    form = {k: v for k, v in base.items() if k != name}
    if value is not None:
        form[name] = value if isinstance(value, list) else [value]
    return form


def codes(errors: list[FieldError]) -> list[tuple[str, str]]:
    return [(e.field, e.code) for e in errors]


PERSONAL: Form = {
    "head_first_name": ["علي"],
    "head_father_name": ["حسن"],
    "head_family_name": ["الخوري"],
    "head_mother_name": ["فاطمة سعد"],
    "head_sex": ["male"],
    "head_birth_date": ["1980-03-25"],
    "head_nationality": ["lebanese"],
    "head_id_number": ["001234567"],
    "registry_place": ["21111"],
    "registry_number": ["0042"],
    "phone": ["03 123 456"],
    "marital_status": ["married"],
    "head_education": ["secondary"],
    "head_work": ["daily_worker"],
}
PERSONAL_CLEAN = {name: values[0] for name, values in PERSONAL.items()} | {
    "phone": "+9613123456",
    "second_phone": None,  # optional, left empty
}


def member(n: int, **fields: str) -> Form:
    return {f"members-{n}-{name}": [value] for name, value in fields.items()}


ADULT = {
    "first_name": "مريم",
    "relation": "spouse",
    "sex": "female",
    "birth_date": "1982-01-01",
    "id_number": "87654321",
    "work": "unemployed",
}
CHILD = {"first_name": "Karim", "relation": "child", "sex": "male", "birth_date": "2012-09-01"}

HOUSING: Form = {
    "residence_locality": ["11111"],
    "address": ["Main street, Haddad building, 2nd floor, near the church"],
    "housing_tenure": ["rented"],
    "monthly_rent": ["600,000"],
    "housing_type": ["apartment"],
    "rooms": ["3"],
    "assets": ["internet", "fridge", "fridge"],
    "cars": ["0"],
}
HOUSING_CLEAN = {
    "residence_locality": "11111",
    "address": "Main street, Haddad building, 2nd floor, near the church",
    "housing_tenure": "rented",
    "monthly_rent": 600_000,
    "housing_type": "apartment",
    "rooms": 3,
    "assets": ["fridge", "internet"],
    "cars": 0,
}

FINANCES: Form = {
    "monthly_income": ["1 500 000"],
    "income_sources": ["remittances", "daily_work"],
    "lost_income_covid": ["on"],
    "debts": [""],
    "other_aid": ["none"],
    "declaration": ["1"],
}
FINANCES_CLEAN = {
    "monthly_income": 1_500_000,
    "income_sources": ["daily_work", "remittances"],
    "lost_income_covid": True,
    "debts": None,
    "other_aid": ["none"],
    "declaration": True,
}


# --- valid pages ---------------------------------------------------------------------------


def test_a_valid_head_of_household_is_cleaned() -> None:
    assert clean("personal", PERSONAL) == (PERSONAL_CLEAN, [])


def test_a_valid_family_is_cleaned() -> None:
    data, errors = clean("family", member(0, **ADULT) | member(1, **CHILD, in_school="1"))
    assert errors == []
    assert data == {
        "members": [
            ADULT | {"disability": False, "chronic_illness": False, "in_school": False},
            CHILD
            | {
                "id_number": None,
                "work": None,
                "disability": False,
                "chronic_illness": False,
                "in_school": True,
            },
        ]
    }


def test_a_family_of_one_has_no_members() -> None:
    assert clean("family", {}) == ({"members": []}, [])


def test_a_valid_housing_page_is_cleaned() -> None:
    assert clean("housing", HOUSING) == (HOUSING_CLEAN, [])


def test_a_valid_finances_page_is_cleaned() -> None:
    assert clean("finances", FINANCES) == (FINANCES_CLEAN, [])


def test_unknown_fields_are_ignored_and_an_unknown_page_is_a_programming_error() -> None:
    form = PERSONAL | {"is_admin": ["1"], "csrf_token": ["x"], "members-0-first_name": ["Z"]}
    assert clean("personal", form) == (PERSONAL_CLEAN, [])
    with pytest.raises(ValueError, match="no page"):
        clean("payments", {})


def test_a_single_string_instead_of_a_list_is_read_as_one_value() -> None:
    form: dict[str, Any] = {name: values[0] for name, values in PERSONAL.items()}
    assert clean("personal", form) == (PERSONAL_CLEAN, [])


def test_only_the_first_value_of_a_single_valued_field_counts() -> None:
    data, errors = clean("personal", changed(PERSONAL, "head_sex", ["female", "male"]))
    assert errors == [] and data["head_sex"] == "female"


# --- every rule, one refusal at a time -----------------------------------------------------

PERSONAL_INVALID = [
    ("head_first_name", None, ErrorCode.REQUIRED, {}),
    ("head_first_name", "   ", ErrorCode.REQUIRED, {}),
    ("head_first_name", "\u200f\u00a0", ErrorCode.REQUIRED, {}),
    ("head_first_name", "x" * 61, ErrorCode.TOO_LONG, {"max": 60}),
    ("head_father_name", "x" * 61, ErrorCode.TOO_LONG, {"max": 60}),
    ("head_family_name", "", ErrorCode.REQUIRED, {}),
    ("head_mother_name", "x" * 121, ErrorCode.TOO_LONG, {"max": 120}),
    ("head_first_name", "A\x00li", ErrorCode.INVALID_CHARACTERS, {}),
    ("head_first_name", "Ali\x1b[31m", ErrorCode.INVALID_CHARACTERS, {}),
    ("head_first_name", "<script>alert(1)</script>", ErrorCode.INVALID_CHARACTERS, {}),
    ("head_first_name", "Ali\ud800", ErrorCode.INVALID_CHARACTERS, {}),
    ("head_sex", "other", ErrorCode.INVALID_CHOICE, {}),
    ("head_sex", "Male", ErrorCode.INVALID_CHOICE, {}),
    ("head_sex", "", ErrorCode.REQUIRED, {}),
    ("head_birth_date", "", ErrorCode.REQUIRED, {}),
    ("head_birth_date", "25/03/1980", ErrorCode.INVALID_DATE, {}),
    ("head_birth_date", "1980-02-30", ErrorCode.INVALID_DATE, {}),
    ("head_birth_date", "19800325", ErrorCode.INVALID_DATE, {}),
    ("head_birth_date", "1980-W12-3", ErrorCode.INVALID_DATE, {}),
    ("head_birth_date", "0000-01-01", ErrorCode.INVALID_DATE, {}),
    ("head_birth_date", "2020-04-26", ErrorCode.DATE_IN_FUTURE, {}),
    ("head_birth_date", "2004-04-26", ErrorCode.AGE_OUT_OF_RANGE, {"min": 16, "max": 110}),
    ("head_birth_date", "1909-04-25", ErrorCode.AGE_OUT_OF_RANGE, {"min": 16, "max": 110}),
    ("head_nationality", "french", ErrorCode.INVALID_CHOICE, {}),
    ("head_id_number", "", ErrorCode.REQUIRED, {}),
    ("head_id_number", "12345", ErrorCode.INVALID_DIGITS, {"min": 6, "max": 12}),
    ("head_id_number", "1234567890123", ErrorCode.INVALID_DIGITS, {"min": 6, "max": 12}),
    ("head_id_number", "12a4567", ErrorCode.INVALID_DIGITS, {"min": 6, "max": 12}),
    ("head_id_number", "１２３４５６７", ErrorCode.INVALID_DIGITS, {"min": 6, "max": 12}),
    ("registry_place", "", ErrorCode.REQUIRED, {}),
    ("registry_place", "99999", ErrorCode.UNKNOWN_LOCALITY, {}),
    ("registry_place", "LB32", ErrorCode.UNKNOWN_LOCALITY, {}),
    ("registry_number", "", ErrorCode.REQUIRED, {}),
    ("registry_number", "1234567", ErrorCode.INVALID_DIGITS, {"min": 1, "max": 6}),
    ("phone", "", ErrorCode.REQUIRED, {}),
    ("phone", "01 234 567", ErrorCode.NOT_MOBILE, {}),  # a Beirut landline
    ("phone", "+33 6 12 34 56 78", ErrorCode.NOT_MOBILE, {}),  # a French mobile
    ("phone", "03 123", ErrorCode.NOT_MOBILE, {}),
    ("phone", "call me", ErrorCode.NOT_MOBILE, {}),
    ("second_phone", "01 234 567", ErrorCode.NOT_MOBILE, {}),  # a landline cannot take SMS
    ("second_phone", "+33 6 12 34 56 78", ErrorCode.NOT_MOBILE, {}),
    ("second_phone", "٠٣ ١٢٣ ٤٥٦", ErrorCode.SAME_PHONE, {}),  # the first number again
    ("second_phone", "+961 3 123 456", ErrorCode.SAME_PHONE, {}),
    ("second_phone", "x" * 10_000, ErrorCode.NOT_MOBILE, {}),
    ("marital_status", "engaged", ErrorCode.INVALID_CHOICE, {}),
    ("head_education", "phd", ErrorCode.INVALID_CHOICE, {}),
    ("head_work", "", ErrorCode.REQUIRED, {}),
    ("head_work", "army", ErrorCode.INVALID_CHOICE, {}),
]

HOUSING_INVALID = [
    ("residence_locality", "", ErrorCode.REQUIRED, {}),
    ("residence_locality", "21112", ErrorCode.UNKNOWN_LOCALITY, {}),
    ("address", "", ErrorCode.REQUIRED, {}),
    ("address", "x" * 201, ErrorCode.TOO_LONG, {"max": 200}),
    ("housing_tenure", "squatting", ErrorCode.INVALID_CHOICE, {}),
    ("monthly_rent", "", ErrorCode.REQUIRED, {}),  # the base form is rented
    ("monthly_rent", None, ErrorCode.REQUIRED, {}),
    ("monthly_rent", "a lot", ErrorCode.NOT_A_NUMBER, {}),
    ("monthly_rent", "-1", ErrorCode.OUT_OF_RANGE, {"min": 0, "max": 10**12}),
    ("housing_type", "", ErrorCode.REQUIRED, {}),
    ("housing_type", "castle", ErrorCode.INVALID_CHOICE, {}),
    ("rooms", "", ErrorCode.REQUIRED, {}),
    ("rooms", "0", ErrorCode.OUT_OF_RANGE, {"min": 1, "max": 20}),
    ("rooms", "21", ErrorCode.OUT_OF_RANGE, {"min": 1, "max": 20}),
    ("rooms", "2.5", ErrorCode.NOT_A_NUMBER, {}),
    ("rooms", "three", ErrorCode.NOT_A_NUMBER, {}),
    ("rooms", "1_0", ErrorCode.NOT_A_NUMBER, {}),
    ("assets", ["car", "yacht"], ErrorCode.INVALID_CHOICE, {}),
    ("cars", "11", ErrorCode.OUT_OF_RANGE, {"min": 0, "max": 10}),
    ("cars", "-1", ErrorCode.OUT_OF_RANGE, {"min": 0, "max": 10}),
]

FINANCES_INVALID = [
    ("monthly_income", "", ErrorCode.REQUIRED, {}),
    ("monthly_income", "1e6", ErrorCode.NOT_A_NUMBER, {}),
    ("monthly_income", "1500.50", ErrorCode.NOT_A_NUMBER, {}),
    ("monthly_income", "1,5", ErrorCode.NOT_A_NUMBER, {}),
    ("monthly_income", "-5", ErrorCode.OUT_OF_RANGE, {"min": 0, "max": 10**12}),
    ("monthly_income", "1000000000001", ErrorCode.OUT_OF_RANGE, {"min": 0, "max": 10**12}),
    ("monthly_income", "9" * 5000, ErrorCode.OUT_OF_RANGE, {"min": 0, "max": 10**12}),
    ("income_sources", None, ErrorCode.REQUIRED, {}),
    ("income_sources", ["", " "], ErrorCode.REQUIRED, {}),
    ("income_sources", ["salary", "lottery"], ErrorCode.INVALID_CHOICE, {}),
    ("income_sources", ["none", "salary"], ErrorCode.NONE_WITH_OTHERS, {}),
    ("lost_income_covid", "maybe", ErrorCode.INVALID_CHOICE, {}),
    ("debts", "some", ErrorCode.NOT_A_NUMBER, {}),
    ("debts", "-100", ErrorCode.OUT_OF_RANGE, {"min": 0, "max": 10**12}),
    ("other_aid", None, ErrorCode.REQUIRED, {}),
    ("other_aid", ["none", "ngo"], ErrorCode.NONE_WITH_OTHERS, {}),
    ("other_aid", ["wfp"], ErrorCode.INVALID_CHOICE, {}),
    ("declaration", None, ErrorCode.MUST_ACCEPT, {}),
    ("declaration", "0", ErrorCode.MUST_ACCEPT, {}),
    ("declaration", "whatever", ErrorCode.MUST_ACCEPT, {}),
]

INVALID_CASES = (
    [("personal", PERSONAL, *case) for case in PERSONAL_INVALID]
    + [("housing", HOUSING, *case) for case in HOUSING_INVALID]
    + [("finances", FINANCES, *case) for case in FINANCES_INVALID]
)


@pytest.mark.parametrize(("page", "base", "name", "value", "code", "params"), INVALID_CASES)
def test_each_rule_refuses_with_the_field_and_the_code(
    page: str, base: Form, name: str, value: Any, code: str, params: dict[str, int]
) -> None:
    data, errors = clean(page, changed(base, name, value))
    assert errors == [FieldError(name, code, params)]
    assert name not in data


@pytest.mark.parametrize(
    ("value", "age"), [("2004-04-25", 16), ("1910-04-25", 110), ("1909-04-26", 110)]
)
def test_the_head_may_be_16_to_110_on_the_day(value: str, age: int) -> None:
    assert age_on(date.fromisoformat(value), TODAY) == age
    assert clean("personal", changed(PERSONAL, "head_birth_date", value))[1] == []


def test_a_leap_day_birthday_counts_from_the_first_of_march() -> None:
    born = date(2004, 2, 29)
    assert age_on(born, date(2020, 2, 28)) == 15
    assert age_on(born, date(2020, 2, 29)) == 16
    assert age_on(born, date(2021, 2, 28)) == 16


def test_limits_are_inclusive() -> None:
    form = changed(PERSONAL, "head_mother_name", "x" * 120)
    form = changed(form, "head_id_number", "123456789012")
    assert clean("personal", changed(form, "registry_number", "0"))[1] == []
    housing = changed(changed(HOUSING, "rooms", "20"), "cars", "10")
    assert clean("housing", changed(housing, "monthly_rent", "0"))[1] == []
    assert clean("finances", changed(FINANCES, "monthly_income", str(10**12)))[1] == []


def test_names_are_trimmed_folded_and_composed() -> None:
    form = changed(PERSONAL, "head_first_name", "  \u200fJean\t  Pierre \u00a0")
    form = changed(form, "head_family_name", "Cafe\u0301")  # e + combining acute
    data, errors = clean("personal", form)
    assert errors == []
    assert data["head_first_name"] == "Jean Pierre"
    assert data["head_family_name"] == "Café"


def test_an_address_pasted_on_several_lines_becomes_one_line() -> None:
    data, errors = clean("housing", changed(HOUSING, "address", "Street 1\r\nBuilding 2\n"))
    assert errors == [] and data["address"] == "Street 1 Building 2"


@pytest.mark.parametrize(
    ("number", "e164"),
    [
        ("03123456", "+9613123456"),
        ("+961 3 123 456", "+9613123456"),
        ("009613123456", "+9613123456"),
        ("71 123 456", "+96171123456"),
        ("81-123-456", "+96181123456"),
    ],
)
def test_phone_numbers_are_stored_in_e164(number: str, e164: str) -> None:
    assert clean("personal", changed(PERSONAL, "phone", number))[0]["phone"] == e164


def test_a_second_mobile_is_optional_and_stored_in_e164() -> None:
    data, errors = clean("personal", changed(PERSONAL, "second_phone", "\u200f٠٧١ ٩٩٩ ٨٨٨"))
    assert errors == [] and data["second_phone"] == "+96171999888"
    assert clean("personal", changed(PERSONAL, "second_phone", "   "))[0]["second_phone"] is None


# --- digits in any script ------------------------------------------------------------------


def test_arabic_indic_digits_are_read_on_the_personal_page() -> None:
    form = changed(PERSONAL, "head_birth_date", "١٩٨٠-٠٣-٢٥")
    form = changed(form, "head_id_number", "٠٠١ ٢٣٤ ٥٦٧")
    form = changed(form, "registry_place", "٢١١١١")
    form = changed(form, "registry_number", "٠٠٤٢")
    form = changed(form, "phone", "٠٣ ١٢٣ ٤٥٦")
    assert clean("personal", form) == (PERSONAL_CLEAN, [])


def test_persian_digits_are_read_too() -> None:
    form = changed(PERSONAL, "head_birth_date", "۱۹۸۰-۰۳-۲۵")
    form = changed(form, "phone", "\u200e۰۳۱۲۳۴۵۶")
    assert clean("personal", form) == (PERSONAL_CLEAN, [])


@pytest.mark.parametrize(
    "typed",
    ["1500000", "١٥٠٠٠٠٠", "۱۵۰۰۰۰۰", "1,500,000", "1.500.000", "١٬٥٠٠٬٠٠٠", "1\u202f500\u202f000"],
)
def test_money_in_any_digits_and_with_thousands_separators(typed: str) -> None:
    data, errors = clean("finances", changed(FINANCES, "monthly_income", typed))
    assert errors == [] and data["monthly_income"] == 1_500_000


def test_arabic_indic_digits_in_members_and_housing() -> None:
    family = member(0, **ADULT | {"birth_date": "١٩٨٢-٠١-٠١", "id_number": "٨٧٦٥٤٣٢١"})
    assert clean("family", family)[0]["members"][0]["id_number"] == "87654321"
    data, errors = clean("housing", changed(HOUSING, "rooms", "٣"))
    assert errors == [] and data["rooms"] == 3


# --- members -------------------------------------------------------------------------------


def born_aged(years: int) -> str:
    """A birth date on which the member is `years` old on TODAY (their birthday yesterday)."""
    return date(TODAY.year - years, TODAY.month, TODAY.day - 1).isoformat()


@pytest.mark.parametrize(
    ("age", "missing", "error"),
    [
        (18, "id_number", ("members-0-id_number", "required_from_age")),
        (17, "id_number", None),
        (15, "work", ("members-0-work", "required_from_age")),
        (14, "work", None),
    ],
)
def test_id_from_18_and_work_from_15(age: int, missing: str, error: tuple[str, str] | None) -> None:
    fields = {k: v for k, v in ADULT.items() if k != missing} | {"birth_date": born_aged(age)}
    data, errors = clean("family", member(0, **fields))
    assert codes(errors) == ([error] if error else [])
    if error:
        assert errors[0].params == {"age": household.REQUIRED_FROM_AGE[missing]}
    else:
        assert data["members"][0][missing] is None


def test_an_invalid_id_under_18_is_still_refused() -> None:
    fields = CHILD | {"id_number": "12"}
    assert codes(clean("family", member(0, **fields))[1]) == [
        ("members-0-id_number", "invalid_digits")
    ]


def test_a_child_worker_is_recorded() -> None:
    data, errors = clean("family", member(0, **CHILD, work="daily_worker"))
    assert errors == [] and data["members"][0]["work"] == "daily_worker"


@pytest.mark.parametrize(
    ("age", "kept"), [(4, False), (5, True), (12, True), (18, True), (19, False), (40, False)]
)
def test_school_is_kept_only_for_ages_5_to_18(age: int, kept: bool) -> None:
    fields = ADULT | {"birth_date": born_aged(age), "in_school": "on"}
    data, errors = clean("family", member(0, **fields))
    assert errors == [] and data["members"][0]["in_school"] is kept


MEMBER_INVALID = [
    ("first_name", "", ErrorCode.REQUIRED),
    ("first_name", "x" * 61, ErrorCode.TOO_LONG),
    ("relation", "cousin", ErrorCode.INVALID_CHOICE),
    ("sex", "", ErrorCode.REQUIRED),
    ("birth_date", "2021-01-01", ErrorCode.DATE_IN_FUTURE),
    ("birth_date", "1890-01-01", ErrorCode.AGE_OUT_OF_RANGE),
    ("birth_date", "01-01-1990", ErrorCode.INVALID_DATE),
    ("id_number", "１２３４５６", ErrorCode.INVALID_DIGITS),
    ("disability", "perhaps", ErrorCode.INVALID_CHOICE),
    ("work", "astronaut", ErrorCode.INVALID_CHOICE),
]


@pytest.mark.parametrize(("name", "value", "code"), MEMBER_INVALID)
def test_member_fields_are_refused_by_their_indexed_name(name: str, value: str, code: str) -> None:
    form = member(0, **ADULT) | member(7, **ADULT | {name: value})
    assert codes(clean("family", form)[1]) == [(f"members-7-{name}", code)]


def test_blank_blocks_disappear_and_gaps_are_allowed() -> None:
    blank = member(1, first_name="", relation="", sex="", birth_date="  ", id_number="")
    hidden_unticked = member(2, disability="0", in_school="", chronic_illness="off")
    form = member(12, **CHILD) | blank | hidden_unticked | member(3, **ADULT)
    assert provided_members(form) == [1, 2, 3, 12]
    data, errors = clean("family", form)
    assert errors == []
    assert [m["first_name"] for m in data["members"]] == [ADULT["first_name"], "Karim"]


def test_a_block_with_only_a_tick_is_not_blank() -> None:
    _, errors = clean("family", member(4, disability="1"))
    assert {code for _, code in codes(errors)} == {"required"}
    assert {name for name, _ in codes(errors)} == {
        "members-4-first_name",
        "members-4-relation",
        "members-4-sex",
        "members-4-birth_date",
    }


def test_odd_member_keys_are_ignored() -> None:
    form = {
        "members-01-first_name": ["Shadow"],
        "members--1-first_name": ["Negative"],
        "members-99999-first_name": ["Far"],
        "members-5-favourite_colour": ["blue"],
        "members-x-first_name": ["X"],
    }
    assert provided_members(form) == []
    assert clean("family", form) == ({"members": []}, [])


def test_twenty_members_are_accepted_and_twenty_one_refused() -> None:
    twenty: Form = {}
    for n in range(MAX_MEMBERS):
        twenty |= member(n * 3, **CHILD)
    data, errors = clean("family", twenty)
    assert errors == [] and len(data["members"]) == MAX_MEMBERS
    _, errors = clean("family", twenty | member(999, **CHILD))
    assert errors == [FieldError("members", "too_many_members", {"max": MAX_MEMBERS})]


def test_thousands_of_blank_blocks_are_still_just_blank() -> None:
    form = {f"members-{n}-first_name": [""] for n in range(5000)}
    assert clean("family", form) == ({"members": []}, [])


# --- housing and finances' conditional rules -----------------------------------------------


@pytest.mark.parametrize("tenure", ["owned", "hosted_free", "informal"])
def test_rent_means_nothing_unless_rented(tenure: str) -> None:
    form = changed(changed(HOUSING, "housing_tenure", tenure), "monthly_rent", "not a number")
    data, errors = clean("housing", form)
    assert errors == [] and data["monthly_rent"] is None


def test_rent_is_still_checked_while_the_tenure_is_missing() -> None:
    form = changed(changed(HOUSING, "housing_tenure", ""), "monthly_rent", "lots")
    assert codes(clean("housing", form)[1]) == [
        ("housing_tenure", "required"),
        ("monthly_rent", "not_a_number"),
    ]
    data, errors = clean("housing", changed(form, "monthly_rent", ""))
    assert codes(errors) == [("housing_tenure", "required")] and data["monthly_rent"] is None


def test_optional_fields_may_be_left_empty() -> None:
    housing = changed(changed(HOUSING, "assets", None), "cars", "")
    data, errors = clean("housing", housing)
    assert errors == [] and data["assets"] == [] and data["cars"] is None
    data, errors = clean("finances", changed(FINANCES, "lost_income_covid", None))
    assert errors == [] and data["lost_income_covid"] is False


@pytest.mark.parametrize("ticked", ["1", "on", "yes", "true", "TRUE", " On "])
def test_checkbox_values_that_mean_yes(ticked: str) -> None:
    form = changed(FINANCES, "lost_income_covid", ["0", ticked])  # a hidden "0" first
    assert clean("finances", form)[0]["lost_income_covid"] is True


def test_multi_choices_are_deduplicated_in_the_dictionarys_order() -> None:
    form = changed(FINANCES, "income_sources", ["pension", "aid", "salary", "aid", ""])
    assert clean("finances", form)[0]["income_sources"] == ["salary", "pension", "aid"]
    form = changed(FINANCES, "other_aid", ["municipality", "nptp", "nptp"])
    assert clean("finances", form)[0]["other_aid"] == ["nptp", "municipality"]


# --- hostile input -------------------------------------------------------------------------


def every_field() -> list[tuple[str, str]]:
    pages = [
        (page, name)
        for page in ("personal", "housing", "finances")
        for name in household.PAGE_FIELDS[page]
    ]
    return pages + [("family", f"members-0-{name}") for name in household.MEMBER_FIELDS]


@pytest.mark.parametrize(("page", "name"), every_field())
@pytest.mark.parametrize(
    "hostile", [MEGABYTE, "\x00", "<script>alert(1)</script>", "١" * 100_000, "\ud800"]
)
def test_hostile_values_give_errors_not_exceptions(page: str, name: str, hostile: str) -> None:
    bases = {"personal": PERSONAL, "housing": HOUSING, "finances": FINANCES}
    base = bases.get(page) or member(0, **ADULT)
    data, errors = clean(page, changed(base, name, hostile))
    assert errors, f"{name} accepted {hostile[:20]!r}"
    assert all(e.code in set(ErrorCode) for e in errors)
    json.dumps(data)


ALL_NAMES = sorted(
    {name for page in PAGES for name in household.PAGE_FIELDS[page]}
    | {f"members-{n}-{name}" for n in (0, 1, 21) for name in household.MEMBER_FIELDS}
)
TRUTHY = st.sampled_from(["1", "on", "", "0", "03 123 456", "1980-01-01", "21111", "none"])
FORMS = st.dictionaries(
    keys=st.one_of(st.sampled_from(ALL_NAMES), st.text(max_size=30)),
    values=st.lists(st.one_of(st.text(), TRUTHY), max_size=3),
    max_size=40,
)


@settings(max_examples=300, deadline=None)
@given(page=st.sampled_from(PAGES), form=FORMS)
def test_clean_page_never_raises(page: str, form: Form) -> None:
    data, errors = clean(page, form)
    json.dumps(data)
    assert all(error.code in set(ErrorCode) for error in errors)


# --- the circular's rules on a whole application -------------------------------------------


def application(**changes: Any) -> dict[str, dict[str, Any]]:
    """A complete, eligible application of cleaned pages, with some pages' fields changed."""
    pages: dict[str, dict[str, Any]] = {
        "personal": dict(PERSONAL_CLEAN),
        "family": clean("family", member(0, **ADULT) | member(1, **CHILD))[0],
        "housing": dict(HOUSING_CLEAN),
        "finances": dict(FINANCES_CLEAN),
    }
    for page, fields in changes.items():
        pages[page] = pages[page] | fields
    return pages


def with_member_work(work: str) -> dict[str, dict[str, Any]]:
    data = application()
    data["family"]["members"][0]["work"] = work
    return data


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (application(personal={"head_work": "public_sector"}), "public_sector_head"),
        (application(personal={"head_work": "retired_pension"}), "pension_head"),
        (with_member_work("public_sector"), "public_sector_member"),
        (with_member_work("retired_pension"), "pension_member"),
        (application(finances={"income_sources": ["salary", "pension"]}), "pension_income"),
        (application(), None),
        (application(personal={"head_work": "retired_no_pension"}), None),
        ({}, None),
        ({"family": {"members": [None, {"work": None}]}}, None),
    ],
)
def test_ineligibility(data: dict[str, Any], reason: str | None) -> None:
    # Circular part 5.1(f): no public-sector employee, no pensioner.
    assert ineligibility(data) == reason


def test_the_head_is_checked_before_the_members() -> None:
    data = with_member_work("retired_pension")
    data["personal"]["head_work"] = "public_sector"
    assert ineligibility(data) is Ineligible.PUBLIC_SECTOR_HEAD


def test_family_keys_normalise_the_identifiers() -> None:
    data = application(personal={"registry_number": "0042", "head_id_number": "٠٠١٢٣٤٥٦"})
    data["family"]["members"].append({"id_number": "87654321"})  # the same person twice
    data["family"]["members"].append({"id_number": None})
    assert family_keys(data) == household.FamilyKeys(
        registry="21111:42", head_id="00123456", member_ids=("87654321",)
    )
    assert family_keys(application(personal={"registry_number": "000"})).registry == "21111:0"


def test_family_keys_from_cleaned_pages_match_the_typed_variants() -> None:
    typed = changed(changed(PERSONAL, "registry_number", "42"), "head_id_number", "001-234-567")
    personal = clean("personal", typed)[0]
    assert family_keys(application(personal=personal)) == family_keys(application())


def test_is_complete_and_household_size() -> None:
    assert is_complete(application())
    assert household_size(application()) == 3
    assert household_size({}) == 1
    incomplete = application()
    del incomplete["housing"]
    assert not is_complete(incomplete)
    assert not is_complete(application(finances={"declaration": False}))
    missing_field = application()
    del missing_field["personal"]["phone"]
    assert not is_complete(missing_field)
    before_second_mobiles = application()  # a draft saved before the field existed
    del before_second_mobiles["personal"]["second_phone"]
    assert is_complete(before_second_mobiles)
    nameless = application()
    del nameless["family"]["members"][0]["first_name"]
    assert not is_complete(nameless)
    assert not is_complete(application(family={"members": [ADULT] * (MAX_MEMBERS + 1)}))


# --- every code and option has its words ---------------------------------------------------


def test_every_error_code_and_ineligibility_reason_has_a_sentence() -> None:
    assert set(ErrorCode) <= form_text.ERRORS.keys()
    assert set(Ineligible) <= form_text.INELIGIBLE_REASONS.keys()


def test_every_error_code_is_reachable_and_its_sentence_takes_its_params() -> None:
    produced: set[str] = set()
    for page, base, name, value, _code, _params in INVALID_CASES:
        for error in clean(page, changed(base, name, value))[1]:
            produced.add(error.code)
            assert "%" not in form_text.error_text(error)
    produced |= {code for _, _, code in MEMBER_INVALID} | {"too_many_members", "required_from_age"}
    assert produced == set(ErrorCode)
    for code, params in [("too_many_members", {"max": 20}), ("required_from_age", {"age": 18})]:
        assert "%" not in form_text.error_text(FieldError("x", code, params))


def test_every_option_and_field_has_a_label() -> None:
    assert {k: set(v) for k, v in form_text.OPTIONS.items()} == {
        k: set(v) for k, v in household.OPTIONS.items()
    }
    fields = {name for page in PAGES for name in household.PAGE_FIELDS[page]}
    assert fields | set(household.MEMBER_FIELDS) <= form_text.LABELS.keys()
    assert set(form_text.HELP) <= form_text.LABELS.keys()
    assert set(household.FIELD_OPTIONS.values()) <= household.OPTIONS.keys()
    assert set(form_text.PAGE_TITLES) == set(PAGES)
    for message in (form_text.DECLARATION, form_text.WINDOW_CLOSED, form_text.DUPLICATE_FAMILY):
        assert str(message).endswith(".")


def test_digits_in_every_script_and_invisible_marks_are_normalised() -> None:
    marks = "\u200e\u200f\u061c\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
    typed = f"{marks}٠١٢٣٤٥٦٧٨٩\u00a0۰۱۲۳۴۵۶۷۸۹\u202f0123456789"
    assert to_ascii_digits(typed) == "0123456789 0123456789 0123456789"
    assert strip_marks("\u200f٣\u00a0kg") == "٣ kg"
