"""The words of the household form: titles, labels, help, option labels, errors, declaration.

Keys are `core.household`'s field names and option values, and `core.fields`' error codes; every
text is a whole English sentence or phrase (the msgid), translated through the catalogs at render
time.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString

from core.fields import ErrorCode, FieldError
from core.household import Ineligible

E = ErrorCode

PAGE_TITLES: dict[str, LazyString] = {
    "personal": _l("Head of household"),
    "family": _l("Family members"),
    "housing": _l("Residence and housing"),
    "finances": _l("Financial situation and declaration"),
}

LABELS: dict[str, LazyString] = {
    # Page 1: the head of household
    "head_first_name": _l("First name"),
    "head_father_name": _l("Father's name"),
    "head_family_name": _l("Family name"),
    "head_mother_name": _l("Mother's full name"),
    "head_sex": _l("Sex"),
    "head_birth_date": _l("Date of birth"),
    "head_nationality": _l("Nationality"),
    "head_id_number": _l("ID number"),
    "registry_place": _l("Place of registry"),
    "registry_number": _l("Registry number"),
    "phone": _l("Mobile phone number"),
    "second_phone": _l("Second mobile phone number (optional)"),
    "marital_status": _l("Marital status"),
    "head_education": _l("Education"),
    "head_work": _l("Work"),
    # Page 2: each family member (members-N-…)
    "members": _l("Family members"),
    "first_name": _l("First name"),
    "relation": _l("Relation to the head of household"),
    "sex": _l("Sex"),
    "birth_date": _l("Date of birth"),
    "id_number": _l("ID number"),
    "disability": _l("Has a disability"),
    "chronic_illness": _l("Has a chronic illness"),
    "work": _l("Work"),
    "in_school": _l("Goes to school"),
    # Page 3: residence and housing
    "residence_locality": _l("Locality of residence"),
    "address": _l("Address"),
    "housing_tenure": _l("The home is"),
    "monthly_rent": _l("Monthly rent (LBP)"),
    "housing_type": _l("Type of home"),
    "rooms": _l("Number of rooms"),
    "assets": _l("The household has"),
    "cars": _l("Number of cars"),
    # Page 4: financial situation and declaration
    "monthly_income": _l("Household income last month (LBP)"),
    "income_sources": _l("Sources of income"),
    "lost_income_covid": _l("The household lost income or had it cut since the mobilisation"),
    "debts": _l("Debts (LBP)"),
    "other_aid": _l("Aid the household already receives"),
    "declaration": _l("Declaration"),
}

HELP: dict[str, LazyString] = {
    "head_mother_name": _l("Her first name and family name"),
    "head_birth_date": _l("Year-month-day, e.g. 1980-03-25"),
    "head_id_number": _l("National ID or the number on your civil registry extract"),
    "registry_place": _l("Place of civil registry (محل القيد); it may differ from where you live"),
    "registry_number": _l("Civil registry number (رقم السجل)"),
    "phone": _l("A Lebanese mobile number; the confirmation SMS is sent to it"),
    "second_phone": _l(
        "Another Lebanese mobile where the family can be reached, used only if messages "
        "cannot reach the first one"
    ),
    "head_work": _l("Public-sector employees and people receiving a pension are not eligible"),
    "birth_date": _l("Year-month-day, e.g. 2010-09-01"),
    "id_number": _l("Required from the age of 18"),
    "work": _l("Required from the age of 15"),
    "in_school": _l("Only for children and young people aged 5 to 18"),
    "residence_locality": _l("Where the family lives now"),
    "address": _l("Street, building, floor, and a landmark"),
    "monthly_rent": _l("Required if the home is rented; whole Lebanese pounds"),
    "rooms": _l("Rooms excluding the kitchen and the bathroom"),
    "monthly_income": _l("The whole household's income last month, in Lebanese pounds"),
    "lost_income_covid": _l("Since the general mobilisation against the coronavirus"),
    "debts": _l("What the household owes, in Lebanese pounds"),
}

_WORK: dict[str, LazyString] = {
    "public_sector": _l("Public-sector employee"),
    "private_employee": _l("Private-sector employee"),
    "self_employed": _l("Self-employed"),
    "daily_worker": _l("Daily worker"),
    "unemployed": _l("Unemployed"),
    "retired_pension": _l("Retired, with a pension"),
    "retired_no_pension": _l("Retired, without a pension"),
    "unable_to_work": _l("Unable to work"),
}

OPTIONS: dict[str, dict[str, LazyString]] = {
    "sex": {"male": _l("Male"), "female": _l("Female")},
    "nationality": {
        "lebanese": _l("Lebanese"),
        "syrian": _l("Syrian"),
        "palestinian": _l("Palestinian"),
        "other": _l("Another nationality"),
    },
    "marital_status": {
        "single": _l("Single"),
        "married": _l("Married"),
        "widowed": _l("Widowed"),
        "divorced": _l("Divorced"),
    },
    "education": {
        "none": _l("No schooling"),
        "primary": _l("Primary"),
        "intermediate": _l("Intermediate (brevet)"),
        "secondary": _l("Secondary"),
        "university": _l("University"),
    },
    "work": _WORK,
    "relation": {
        "spouse": _l("Husband or wife"),
        "child": _l("Son or daughter"),
        "parent": _l("Father or mother"),
        "sibling": _l("Brother or sister"),
        "grandchild": _l("Grandchild"),
        "other": _l("Another relative"),
    },
    "housing_tenure": {
        "owned": _l("Owned"),
        "rented": _l("Rented"),
        "hosted_free": _l("Lent free of charge"),
        "informal": _l("Occupied without an agreement"),
    },
    "housing_type": {
        "apartment": _l("Apartment"),
        "house": _l("House"),
        "single_room": _l("Single room"),
        "tent": _l("Tent"),
        "unfinished": _l("Unfinished building"),
    },
    "assets": {
        "car": _l("Car"),
        "fridge": _l("Refrigerator"),
        "washing_machine": _l("Washing machine"),
        "air_conditioner": _l("Air conditioner"),
        "generator_subscription": _l("Generator subscription"),
        "internet": _l("Internet at home"),
        "computer": _l("Computer"),
        "water_heater": _l("Water heater"),
    },
    "income_sources": {
        "salary": _l("Salary"),
        "daily_work": _l("Daily work"),
        "own_business": _l("Own business"),
        "remittances": _l("Money from relatives abroad"),
        "pension": _l("Pension"),
        "aid": _l("Aid"),
        "none": _l("No income"),
    },
    "other_aid": {
        "none": _l("No other aid"),
        "nptp": _l("National Poverty Targeting Programme (NPTP)"),
        "un_agency": _l("A United Nations agency"),
        "ngo": _l("A non-governmental organisation"),
        "municipality": _l("The municipality"),
        "other": _l("Other aid"),
    },
}

ERRORS: dict[str, LazyString] = {
    E.REQUIRED: _l("This field is required."),
    E.TOO_LONG: _l("Use at most %(max)s characters."),
    E.INVALID_CHARACTERS: _l("This answer contains invisible or special characters: retype it."),
    E.INVALID_CHOICE: _l("Choose one of the options offered."),
    E.INVALID_DATE: _l("Enter a date as YYYY-MM-DD, e.g. 1980-03-25."),
    E.DATE_IN_FUTURE: _l("A date of birth cannot be in the future."),
    E.AGE_OUT_OF_RANGE: _l("The age must be between %(min)s and %(max)s years: check the date."),
    E.INVALID_DIGITS: _l("Enter between %(min)s and %(max)s digits."),
    E.NOT_MOBILE: _l("Enter a Lebanese mobile number, e.g. 03 123 456."),
    E.SAME_PHONE: _l(
        "The second number must differ from the first; leave it empty if you have none."
    ),
    E.UNKNOWN_LOCALITY: _l("Choose a locality from the list."),
    E.NOT_A_NUMBER: _l("Enter a whole number, in digits."),
    E.OUT_OF_RANGE: _l("Enter a number from %(min)s to %(max)s."),
    E.NONE_WITH_OTHERS: _l("Choose “none” alone, or only the other options."),
    E.MUST_ACCEPT: _l("Tick the declaration to send the form."),
    E.TOO_MANY_MEMBERS: _l("A form can list at most %(max)s family members besides the head."),
    E.REQUIRED_FROM_AGE: _l("This is required from the age of %(age)s."),
}
_UNKNOWN_ERROR = _l("Check this answer.")

DECLARATION = _l(
    "I declare that the information in this form is true. I know that false information "
    "exposes my family to legal accountability and to losing the aid."
)

INELIGIBLE_REASONS: dict[str, LazyString] = {
    Ineligible.PUBLIC_SECTOR_HEAD: _l(
        "The head of household works in the public sector; public-sector employees are not "
        "eligible (circular of 2020, part 5.1(f))."
    ),
    Ineligible.PENSION_HEAD: _l(
        "The head of household receives a pension; people who receive a pension are not "
        "eligible (circular of 2020, part 5.1(f))."
    ),
    Ineligible.PUBLIC_SECTOR_MEMBER: _l(
        "A member of the household works in the public sector; families with a public-sector "
        "employee are not eligible (circular of 2020, part 5.1(f))."
    ),
    Ineligible.PENSION_MEMBER: _l(
        "A member of the household receives a pension; families with someone who receives a "
        "pension are not eligible (circular of 2020, part 5.1(f))."
    ),
    Ineligible.PENSION_INCOME: _l(
        "The household lists a pension among its incomes; families with someone who receives "
        "a pension are not eligible (circular of 2020, part 5.1(f))."
    ),
}


def error_text(error: FieldError) -> str:
    """The error's sentence in the current language, with its numbers filled in."""
    return str(ERRORS.get(error.code, _UNKNOWN_ERROR)) % dict(error.params)


# Messages of the form's flow (used by webforms.flow, webforms.console and the templates).
WINDOW_CLOSED = _l("The submission period is closed: forms are no longer accepted.")
# Circular part 5.1(e) and (h): one form per family; corrections go through 1766.
DUPLICATE_FAMILY = _l(
    "This family already has a form in this round, and each family may send only one. "
    "If something in it is wrong, call 1766 to ask for a correction."
)
CHOOSE_LOCALITY = _l("Several localities match what you typed: choose yours from the list.")


def field_label(field: str) -> str:
    """A field's label for a correction (members' fields say which member)."""
    from flask_babel import gettext as _

    if field.startswith("members-"):
        _prefix, index, name = [*field.split("-", 2), "", ""][:3]
        if index.isdigit() and name in LABELS:
            return _("Member %(n)s: %(field)s", n=int(index) + 1, field=LABELS[name])
    return str(LABELS.get(field, field))


def value_text(field: str, value: object) -> str:
    """A stored value in words: option labels, yes/no, lists joined; empty for nothing."""
    from flask_babel import gettext as _

    from core.household import FIELD_OPTIONS

    name = field.split("-", 2)[-1]
    labels = OPTIONS.get(FIELD_OPTIONS.get(name, ""), {})
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(value, list):
        return ", ".join(str(labels.get(v, v)) for v in value)
    return str(labels.get(str(value), value))
