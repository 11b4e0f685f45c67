"""The PMT engine: variables from the form, scores, digests, the poverty index, formula files."""

from __future__ import annotations

import copy
import json
import math
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.household import OPTIONS
from scoring.digest import canonical_json, digest
from scoring.formula import SHIPPED_FORMULA, Formula, FormulaError, load_formula, parse_formula
from scoring.poverty import DIMENSIONS, poverty_index
from scoring.survey import synthetic_columns
from scoring.variables import (
    CATEGORIES,
    VARIABLES,
    HouseholdInput,
    household_variables,
    input_digest,
)
from tests.support.households import cleaned

AS_OF = date(2020, 4, 20)
FORMULA = load_formula()


def member(born: str = "1982-01-01", **fields: Any) -> dict[str, Any]:
    values = {"first_name": "x", "relation": "spouse", "sex": "female", "birth_date": born}
    values |= {"disability": False, "chronic_illness": False, "work": "unemployed"}
    return values | {"in_school": False, "id_number": None} | fields


def pages(**changes: Any) -> dict[str, Any]:
    """A cleaned household (head, spouse, a schoolchild); `changes` replace whole fields."""
    data: dict[str, Any] = {
        "personal": {
            "head_sex": "male",
            "head_birth_date": "1980-03-25",
            "head_education": "secondary",
            "head_work": "daily_worker",
        },
        "family": {"members": [member(), member("2012-09-01", relation="child", work=None)]},
        "housing": {
            "housing_tenure": "rented",
            "monthly_rent": 600_000,
            "housing_type": "apartment",
            "rooms": 2,
            "assets": ["fridge", "internet"],
            "cars": 0,
        },
        "finances": {"monthly_income": 1_500_000, "lost_income_covid": True, "debts": None},
    }
    data["family"]["members"][1]["in_school"] = True
    for name, value in changes.items():
        page = next(p for p in ("personal", "family", "housing", "finances") if name in data[p])
        data[page][name] = value
    return data


def household(governorate: str | None = "LB3", **changes: Any) -> HouseholdInput:
    return HouseholdInput(pages(**changes), AS_OF, governorate)


def code(variable: str, answer: str) -> float:
    return float(CATEGORIES[variable].index(answer))


# --- variables -----------------------------------------------------------------------------


def test_the_variables_of_a_typical_household() -> None:
    values = household_variables(household())
    assert tuple(values) == VARIABLES
    assert all(type(value) is float for value in values.values())
    assert values["household_size"] == 3
    assert (values["children"], values["elderly"], values["dependency_ratio"]) == (1, 0, 0.5)
    assert values["crowding"] == 1.5
    assert values["income_per_capita"] == 500_000
    assert values["head_education"] == code("head_education", "secondary")
    assert values["housing_tenure"] == code("housing_tenure", "rented")
    assert values["governorate"] == code("governorate", "LB3")
    assert (values["assets_count"], values["asset_fridge"], values["asset_car"]) == (2, 1, 0)
    assert (values["members_working"], values["lost_income_covid"]) == (1, 1)


def test_a_form_cleaned_by_the_form_itself_scores() -> None:
    result = FORMULA.score(HouseholdInput(cleaned(1), AS_OF, "LB1"))
    assert 8 < result.value < 18
    assert result.variables["household_size"] == 3


def test_missing_optional_answers_take_the_documented_defaults() -> None:
    child = member("2010-01-01", relation="child", work=None)
    del child["in_school"]  # not asked: counted as not in school
    values = household_variables(
        household(None, cars=None, assets=["car"], members=[child, member(work=None)])
    )
    assert values["cars"] == 1  # the number left empty, but a car ticked
    assert values["out_of_school"] == 1
    assert values["members_working"] == 1  # the head only
    assert values["governorate"] == -1
    assert household_variables(household(cars=None, assets=[]))["cars"] == 0


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"personal": None, "family": None, "housing": None, "finances": None},
        {"family": {"members": "not a list"}},
        {"family": {"members": [None, 3, {"birth_date": "garbage"}]}},
        {"personal": {"head_birth_date": None, "head_work": ["list"]}, "housing": {"rooms": 0}},
    ],
)
def test_missing_pages_and_keys_read_as_absent(data: dict[str, Any]) -> None:
    values = household_variables(HouseholdInput(data, AS_OF, None))
    assert all(math.isfinite(value) for value in values.values())
    assert math.isfinite(FORMULA.score(HouseholdInput(data, AS_OF, None)).value)


def test_ages_are_taken_on_the_programmes_date() -> None:
    data = pages(members=[member("2005-04-21", relation="child", work=None)])
    on_eve = household_variables(HouseholdInput(data, date(2020, 4, 20), None))
    on_birthday = household_variables(HouseholdInput(data, date(2020, 4, 21), None))
    assert (on_eve["children"], on_birthday["children"]) == (1, 0)  # 14, then 15


# --- extreme households --------------------------------------------------------------------

EXTREMES = {
    "twenty members": {"members": [member(work="daily_worker")] * 20},
    "no income": {"monthly_income": 0},
    "income 10**12": {"monthly_income": 10**12},
    "21 persons in 1 room": {"rooms": 1, "members": [member("2015-01-01", work=None)] * 20},
    "every asset": {"assets": list(OPTIONS["assets"]), "cars": 10},
    "a tent": {"housing_type": "tent", "housing_tenure": "informal"},
}


@pytest.mark.parametrize("changes", EXTREMES.values(), ids=EXTREMES.keys())
def test_extreme_households_get_a_finite_explained_score(changes: dict[str, Any]) -> None:
    result = FORMULA.score(household(**changes))
    assert 5 < result.value < 25  # log LBP per person a month: ~150 LBP to ~70 billion
    assert list(result.contributions) == [term.name for term in FORMULA.terms]
    assert result.value == pytest.approx(result.intercept + sum(result.contributions.values()))
    assert 0 <= poverty_index(household(**changes)).count <= len(DIMENSIONS)


def test_the_shipped_weights_rank_households_plausibly() -> None:
    def value(**changes: Any) -> float:
        return FORMULA.score(household(**changes)).value

    typical = value()
    assert value(monthly_income=0) < typical < value(monthly_income=10**12)
    assert value(housing_type="tent") < typical < value(housing_tenure="owned")
    assert value(head_education="none") < typical < value(head_education="university")
    assert typical < value(assets=list(OPTIONS["assets"])) and typical < value(cars=2)
    bigger = pages()["family"]["members"] + [member("2015-01-01", relation="child", work=None)]
    assert value(members=bigger) < typical  # same income, one more mouth


# --- properties ----------------------------------------------------------------------------

DATES = st.dates(date(1905, 1, 1), date(2020, 4, 20)).map(date.isoformat)
MEMBERS = st.fixed_dictionaries(
    {"birth_date": DATES, "relation": st.sampled_from(OPTIONS["relation"])},
    optional={
        "disability": st.booleans(),
        "chronic_illness": st.booleans(),
        "in_school": st.booleans(),
        "work": st.none() | st.sampled_from(OPTIONS["work"]),
    },
)
HOUSEHOLDS = st.builds(
    lambda personal, members, housing, finances: {
        "personal": personal,
        "family": {"members": members},
        "housing": housing,
        "finances": finances,
    },
    st.fixed_dictionaries(
        {
            "head_sex": st.sampled_from(OPTIONS["sex"]),
            "head_birth_date": DATES,
            "head_education": st.sampled_from(OPTIONS["education"]),
            "head_work": st.sampled_from(OPTIONS["work"]),
        }
    ),
    st.lists(MEMBERS, max_size=20),
    st.fixed_dictionaries(
        {
            "housing_tenure": st.sampled_from(OPTIONS["housing_tenure"]),
            "housing_type": st.sampled_from(OPTIONS["housing_type"]),
            "rooms": st.integers(1, 20),
        },
        optional={
            "assets": st.lists(st.sampled_from(OPTIONS["assets"]), unique=True),
            "cars": st.none() | st.integers(0, 10),
        },
    ),
    st.fixed_dictionaries(
        {"monthly_income": st.integers(0, 10**12), "lost_income_covid": st.booleans()},
        optional={"debts": st.none() | st.integers(0, 10**12)},
    ),
)
REGIONS = st.none() | st.sampled_from(CATEGORIES["governorate"])


@settings(deadline=None)
@given(HOUSEHOLDS, REGIONS)
def test_the_same_household_always_gets_the_same_score(data: dict[str, Any], region: Any) -> None:
    first = FORMULA.score(HouseholdInput(data, AS_OF, region))
    again = FORMULA.score(HouseholdInput(copy.deepcopy(data), AS_OF, region))
    assert canonical_json([first.value, first.contributions]) == canonical_json(
        [again.value, again.contributions]
    )
    total = first.intercept + sum(first.contributions.values())
    assert abs(first.value - total) <= 0.5e-6 * (len(first.contributions) + 1)
    assert math.isfinite(first.value)


@settings(deadline=None)
@given(HOUSEHOLDS, st.data())
def test_any_field_left_out_still_scores(data: dict[str, Any], draw: Any) -> None:
    """Pages, fields and member fields dropped at random: read as absent, never an error."""
    for page in list(data):
        if draw.draw(st.booleans()):
            del data[page]
            continue
        for name in draw.draw(st.sets(st.sampled_from(sorted(data[page])))):
            del data[page][name]
    for person in (data.get("family") or {}).get("members", []):
        for name in draw.draw(st.sets(st.sampled_from(sorted(person)))):
            del person[name]
    result = FORMULA.score(HouseholdInput(data, AS_OF, None))
    assert math.isfinite(result.value)
    assert all(math.isfinite(value) for value in result.variables.values())


@settings(deadline=None)
@given(st.lists(st.tuples(HOUSEHOLDS, REGIONS), min_size=1, max_size=12))
def test_scoring_columns_equals_scoring_each_household(rows: list[tuple[Any, Any]]) -> None:
    variables = [household_variables(HouseholdInput(data, AS_OF, g)) for data, g in rows]
    columns = {name: np.array([v[name] for v in variables]) for name in VARIABLES}
    assert FORMULA.score_columns(columns).tolist() == [
        FORMULA.score_variables(v).value for v in variables
    ]


def test_scoring_a_synthetic_survey_matches_scoring_each_row() -> None:
    columns = synthetic_columns(5_000, np.random.default_rng(11))
    scores = FORMULA.score_columns(columns)
    for row in range(0, 5_000, 7):
        one = FORMULA.score_variables({name: float(col[row]) for name, col in columns.items()})
        assert one.value == scores[row]


@settings(max_examples=60, deadline=None)
@given(HOUSEHOLDS, st.data())
def test_the_input_digest_changes_when_any_input_changes(data: dict[str, Any], draw: Any) -> None:
    base = HouseholdInput(data, AS_OF, "LB1")
    page = draw.draw(st.sampled_from(["personal", "housing", "finances"]))
    field = draw.draw(st.sampled_from(sorted(data[page])))
    changed = copy.deepcopy(data)
    changed[page][field] = [changed[page][field]]  # any other value
    assert input_digest(HouseholdInput(changed, AS_OF, "LB1")) != input_digest(base)
    assert input_digest(HouseholdInput(data, date(2020, 4, 21), "LB1")) != input_digest(base)
    assert input_digest(HouseholdInput(data, AS_OF, None)) != input_digest(base)
    assert input_digest(HouseholdInput(copy.deepcopy(data), AS_OF, "LB1")) == input_digest(base)


def test_digests_ignore_key_order_but_not_content() -> None:
    assert digest({"a": 1, "b": "ب"}) == digest({"b": "ب", "a": 1})
    assert canonical_json({"b": "ب", "a": [1.5]}) == '{"a":[1.5],"b":"ب"}'
    with pytest.raises(ValueError, match="JSON"):
        digest({"x": math.nan})
    document = json.loads(FORMULA.to_json())
    document["terms"][0]["weight"] += 0.001
    assert parse_formula(json.dumps(document)).digest != FORMULA.digest


# --- poverty index -------------------------------------------------------------------------

COMFORTABLE = {"monthly_income": 6_000_000, "assets": ["fridge", "washing_machine"]}
DEPRIVATIONS = {
    "income": {"monthly_income": 900_000},
    "housing": {"rooms": 1, "members": [member(work=None)] * 3},
    "health": {"members": [member(disability=True)], "lost_income_covid": True},
    "education": {"members": [member("2010-05-01", relation="child", work=None)]},
    "assets": {"assets": ["internet", "computer"]},
}


@pytest.mark.parametrize("dimension", DIMENSIONS)
def test_each_deprivation_is_triggered_by_its_own_rule(dimension: str) -> None:
    assert poverty_index(household(**COMFORTABLE, lost_income_covid=False)).count == 0
    changes = COMFORTABLE | {"lost_income_covid": False} | DEPRIVATIONS[dimension]
    index = poverty_index(household(**changes))
    assert index.deprived == (dimension,)
    assert index.count == 1


def test_a_tent_is_a_housing_deprivation_and_all_five_can_add_up() -> None:
    assert poverty_index(household(**COMFORTABLE, housing_type="tent")).deprived == ("housing",)
    sick_child = member("2010-05-01", relation="child", work=None, chronic_illness=True)
    worst = household(
        monthly_income=0, rooms=1, members=[sick_child] * 4, assets=[], lost_income_covid=True
    )
    assert poverty_index(worst).deprived == DIMENSIONS


# --- formula files -------------------------------------------------------------------------


def test_the_shipped_formula_is_labelled_illustrative() -> None:
    assert SHIPPED_FORMULA.name == "illustrative-2020.json"
    assert FORMULA.illustrative is True
    assert "NOT THE PROGRAMME'S" in FORMULA.description
    assert "scoring fit" in FORMULA.description
    assert FORMULA.version == "illustrative-2020.1"


def test_a_formula_round_trips_through_its_json() -> None:
    assert parse_formula(FORMULA.to_json()) == FORMULA
    assert parse_formula(FORMULA.to_pretty_json()).digest == FORMULA.digest
    assert FORMULA.to_json() == parse_formula(FORMULA.to_json()).to_json()


def _edited(edit: Any) -> str:
    document = json.loads(FORMULA.to_json())
    edit(document)
    return json.dumps(document)


BAD_FORMULAS = {
    "unknown variable": (lambda d: d["terms"][0].update(variable="wealth"), "unknown variable"),
    "unknown transform": (lambda d: d["terms"][0].update(transform="cube"), "unknown transform"),
    "unknown answer": (
        lambda d: d["terms"][6].update(transform="equals:phd"),
        "has no answer 'phd'",
    ),
    "category as number": (
        lambda d: d["terms"][6].update(transform="identity"),
        "categorical",
    ),
    "equals a word": (
        lambda d: d["terms"][0].update(transform="equals:many"),
        "needs a number",
    ),
    "name twice": (lambda d: d["terms"][1].update(name=d["terms"][0]["name"]), "used twice"),
    "text weight": (lambda d: d["terms"][0].update(weight="0.1"), "weight must be a number"),
    "boolean weight": (lambda d: d["terms"][0].update(weight=True), "weight must be a number"),
    "missing key": (lambda d: d.pop("illustrative"), "lacks illustrative"),
    "unknown key": (lambda d: d.update(extra=1), "unknown key(s) extra"),
    "no terms": (lambda d: d.update(terms=[]), "at least one term"),
    "bad version": (lambda d: d.update(version="a b"), "version must be"),
}


@pytest.mark.parametrize(("edit", "message"), BAD_FORMULAS.values(), ids=list(BAD_FORMULAS.keys()))
def test_a_bad_formula_file_is_refused_saying_why(edit: Any, message: str) -> None:
    with pytest.raises(FormulaError) as refused:
        parse_formula(_edited(edit))
    assert message in str(refused.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{", "not valid JSON"),
        ("[]", "must be a JSON object"),
        (FORMULA.to_json().replace('"intercept":11.8', '"intercept":NaN'), "NaN"),
        (FORMULA.to_json().replace('"intercept":11.8', '"intercept":1e999'), "finite"),
    ],
)
def test_text_that_is_not_a_formula_is_refused(text: str, message: str) -> None:
    with pytest.raises(FormulaError) as refused:
        parse_formula(text)
    assert message in str(refused.value)


def test_a_missing_formula_file_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(FormulaError, match=r"nowhere\.json: cannot be read"):
        load_formula(tmp_path / "nowhere.json")


def test_a_formula_built_in_code_is_validated_too() -> None:
    term = FORMULA.terms[0]
    with pytest.raises(FormulaError, match="used twice"):
        Formula("v1", False, "", 1.0, (term, term))


def test_scoring_without_a_variable_says_which() -> None:
    values = household_variables(household())
    del values["crowding"]
    with pytest.raises(ValueError, match="crowding"):
        FORMULA.score_variables(values)


@pytest.mark.parametrize("variable", ["household_size", "crowding", "income_per_capita"])
def test_a_value_that_is_not_a_number_is_refused_both_ways(variable: str) -> None:
    values = household_variables(household()) | {variable: math.nan}
    with pytest.raises(ValueError, match="not a finite number"):
        FORMULA.score_variables(values)
    with pytest.raises(ValueError, match="row 0 gives a score that is not a finite number"):
        FORMULA.score_columns({name: np.array([value]) for name, value in values.items()})


def test_an_unknown_answer_code_matches_no_indicator_both_ways() -> None:
    values = household_variables(household()) | {"head_education": math.nan, "governorate": 9.0}
    columns = {name: np.array([value]) for name, value in values.items()}
    result = FORMULA.score_variables(values)
    assert result.contributions["education_secondary"] == 0.0
    assert FORMULA.score_columns(columns).tolist() == [result.value]
