"""Fitting a formula on a survey, its targeting errors, and the `scoring` commands."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from flask.testing import FlaskCliRunner

from scoring.fit import FitError, fit_formula, r_squared, split_rows, targeting_errors
from scoring.formula import Formula, Term, load_formula
from scoring.survey import Survey, SurveyError, read_survey, synthetic_survey, write_survey
from scoring.variables import VARIABLES
from tests.plugins.cli import assert_refused

KNOWN = load_formula()


def held_out_errors(noise: float) -> float:
    """Mean targeting error at 10-30 % coverage on held-out households, fitted at `noise`."""
    survey = synthetic_survey(4_000, KNOWN, noise, seed=5)
    fitting, held = split_rows(survey.rows, 0.25, seed=1)
    fitted = fit_formula(survey, KNOWN, "t", fitting)
    errors = targeting_errors(fitted, survey.take(held), [0.1, 0.2, 0.3])
    for error in errors:
        assert 0 <= error.inclusion_error <= 1 and 0 <= error.exclusion_error <= 1
    return float(np.mean([e.inclusion_error for e in errors]))


# --- fitting -------------------------------------------------------------------------------


def test_the_fit_recovers_the_weights_that_made_the_survey() -> None:
    survey = synthetic_survey(8_000, KNOWN, noise=0.02, seed=3)
    fitted = fit_formula(survey, KNOWN, "recovered-1")
    assert [t.name for t in fitted.terms] == [t.name for t in KNOWN.terms]
    for known, found in zip(KNOWN.terms, fitted.terms, strict=True):
        assert found.weight == pytest.approx(known.weight, abs=0.02), known.name
    assert fitted.intercept == pytest.approx(KNOWN.intercept, abs=0.05)
    assert (fitted.version, fitted.illustrative) == ("recovered-1", False)
    assert r_squared(fitted, survey) > 0.99


def test_the_default_template_is_the_shipped_formula() -> None:
    survey = synthetic_survey(3_000, KNOWN, noise=0.1, seed=4)
    assert [t.name for t in fit_formula(survey).terms] == [t.name for t in KNOWN.terms]


def test_targeting_errors_fall_as_the_noise_falls() -> None:
    noisy, clearer, clearest = (held_out_errors(noise) for noise in (0.6, 0.25, 0.05))
    assert noisy > clearer > clearest


def test_the_targeting_errors_follow_their_definition() -> None:
    """Ten households; the formula reads only income, consumption is known exactly."""
    only_income = Formula(
        "income-only", False, "", 0.0, (Term("income", "income_per_capita", "identity", 1.0),)
    )
    income = np.arange(10, dtype=np.float64)
    columns = {"income_per_capita": income}
    perfect = targeting_errors(only_income, Survey(columns, income), [0.3])[0]
    assert (perfect.selected, perfect.inclusion_error, perfect.exclusion_error) == (3, 0.0, 0.0)
    backwards = targeting_errors(only_income, Survey(columns, -income), [0.5])[0]
    assert (backwards.inclusion_error, backwards.exclusion_error) == (1.0, 1.0)
    # A fixed poor share (the poorest 2) against a coverage of 4: 2 of 4 selected are not poor.
    wider = targeting_errors(only_income, Survey(columns, income), [0.4], poor_share=0.2)[0]
    assert (wider.poor, wider.inclusion_error, wider.exclusion_error) == (2, 0.5, 0.0)


def test_the_held_out_rows_are_drawn_by_seed() -> None:
    fitting, held = split_rows(1_000, 0.2, seed=7)
    assert (fitting.size, held.size) == (800, 200)
    assert sorted([*fitting, *held]) == list(range(1_000))
    assert split_rows(1_000, 0.2, seed=7)[1].tolist() == held.tolist()
    assert split_rows(1_000, 0.2, seed=8)[1].tolist() != held.tolist()


def test_too_few_households_are_refused() -> None:
    survey = synthetic_survey(30, KNOWN, seed=1)
    with pytest.raises(FitError, match="30 households are too few to fit 44 weights"):
        fit_formula(survey, KNOWN)


def test_a_term_that_never_varies_is_named() -> None:
    survey = synthetic_survey(2_000, KNOWN, seed=2)
    survey.columns["housing_type"][survey.columns["housing_type"] == 3] = 0  # no tents
    with pytest.raises(FitError, match="housing_tent take the same value"):
        fit_formula(survey, KNOWN)


def test_collinear_terms_are_named() -> None:
    every_answer = Term("education_none", "head_education", "equals:none", 0.0)
    template = Formula("t", False, "", 0.0, (*KNOWN.terms, every_answer))
    with pytest.raises(FitError, match="education_none is a linear combination"):
        fit_formula(synthetic_survey(2_000, KNOWN, seed=2), template)


# --- survey files --------------------------------------------------------------------------


def test_a_survey_written_is_read_back_exactly(tmp_path: Path) -> None:
    survey = synthetic_survey(50, KNOWN, seed=9)
    write_survey(survey, tmp_path / "s.csv")
    back = read_survey(tmp_path / "s.csv")
    assert back.log_consumption.tolist() == survey.log_consumption.tolist()
    assert all(back.columns[n].tolist() == survey.columns[n].tolist() for n in VARIABLES)
    assert ",LB" in (tmp_path / "s.csv").read_text()  # answers are written by name


def test_consumption_itself_a_bom_and_extra_columns_are_accepted(tmp_path: Path) -> None:
    path = tmp_path / "s.csv"
    path.write_text("\ufeffid,consumption_per_person,housing_tenure\n7,1000,owned\n", "utf-8")
    survey = read_survey(path, ["housing_tenure"])
    assert survey.log_consumption.tolist() == [pytest.approx(np.log(1000))]
    assert survey.columns["housing_tenure"].tolist() == [0.0]


SURVEY_HEAD = "log_consumption,household_size,housing_tenure\n"
BAD_SURVEYS = {
    "missing column": (
        "log_consumption,household_size\n12,3\n",
        "column(s) missing: housing_tenure",
    ),
    "no outcome": ("household_size,housing_tenure\n3,owned\n", "exactly one of the columns"),
    "not a number": (SURVEY_HEAD + "12,3,owned\n12,three,owned\n", "line 3, column household_size"),
    "unknown answer": (SURVEY_HEAD + "12,3,castle\n", "'castle' is not one of owned"),
    "missing value": (SURVEY_HEAD + "12,,owned\n", "line 2, column household_size: the value is"),
    "negative": (SURVEY_HEAD + "12,-3,owned\n", "cannot be negative"),
    "infinite": (SURVEY_HEAD + "inf,3,owned\n", "not a finite number"),
    "no rows": (SURVEY_HEAD, "has no households"),
}


@pytest.mark.parametrize(("text", "message"), BAD_SURVEYS.values(), ids=list(BAD_SURVEYS))
def test_a_bad_survey_names_the_line_and_column(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "s.csv"
    path.write_text(text, "utf-8")
    with pytest.raises(SurveyError) as refused:
        read_survey(path, ["household_size", "housing_tenure"])
    assert message in str(refused.value)
    assert str(path) in str(refused.value)


# --- the commands --------------------------------------------------------------------------


@pytest.fixture
def survey_csv(tmp_path: Path) -> Path:
    path = tmp_path / "survey.csv"
    write_survey(synthetic_survey(1_500, KNOWN, noise=0.2, seed=12), path)
    return path


def test_fit_writes_a_formula_that_loads_back(
    fresh_runner: FlaskCliRunner, survey_csv: Path, tmp_path: Path
) -> None:
    out = tmp_path / "pmt-2020.json"
    args = ["scoring", "fit", str(survey_csv), "--out", str(out), "--coverage", "0.1,0.25"]
    result = fresh_runner.invoke(args=args)
    assert result.exit_code == 0, result.output
    formula = load_formula(out)
    assert (formula.version, formula.illustrative) == ("pmt-2020", False)
    assert [t.name for t in formula.terms] == [t.name for t in KNOWN.terms]
    assert "fitted on 1200 households, held out 300 (seed 0)" in result.output
    assert "R² on the held-out households: 0." in result.output
    assert "     25%        75          75" in result.output  # coverage, selected, poor
    assert formula.digest[:16] in result.output
    assert "on 1200 households of survey.csv (300 held out, seed 0)" in formula.description


def test_fit_does_not_replace_a_formula_unless_forced(
    fresh_runner: FlaskCliRunner, survey_csv: Path, tmp_path: Path
) -> None:
    out = tmp_path / "kept.json"
    out.write_text("{}")
    args = ["scoring", "fit", str(survey_csv), "--out", str(out), "--version", "v2"]
    assert_refused(fresh_runner.invoke(args=args), "exists: pass --force")
    assert out.read_text() == "{}"
    assert fresh_runner.invoke(args=[*args, "--force"]).exit_code == 0
    assert load_formula(out).version == "v2"


def _spoil_household_size(path: Path) -> None:
    lines = path.read_text().splitlines()
    cells = lines[1].split(",")
    cells[1] = "many"  # log_consumption, household_size, ...
    path.write_text("\n".join([lines[0], ",".join(cells), *lines[2:]]) + "\n")


def _csv_with_no_tents(path: Path) -> None:
    survey = synthetic_survey(500, KNOWN, seed=3)
    survey.columns["housing_type"][survey.columns["housing_type"] == 3] = 0
    write_survey(survey, path)


CLI_ERRORS: dict[str, tuple[Any, str]] = {
    "missing file": (None, "cannot be read (No such file or directory)"),
    "not a CSV of numbers": ("log_consumption,household_size\nx,y\n", "column(s) missing"),
    "bad number": (
        lambda path: _spoil_household_size(path),
        "line 2, column household_size: 'many' is not a number",
    ),
    "too few rows": (lambda path: write_survey(synthetic_survey(20, KNOWN), path), "too few"),
    "singular design": (_csv_with_no_tents, "housing_tent take the same value"),
}


@pytest.mark.parametrize(("make", "message"), CLI_ERRORS.values(), ids=list(CLI_ERRORS))
def test_fit_errors_are_one_clear_line(
    fresh_runner: FlaskCliRunner, survey_csv: Path, tmp_path: Path, make: Any, message: str
) -> None:
    path = tmp_path / "bad.csv"
    if isinstance(make, str):
        path.write_text(make)
    elif make is not None:
        path.write_text(survey_csv.read_text())
        make(path)
    result = fresh_runner.invoke(args=["scoring", "fit", str(path), "--out", str(tmp_path / "f")])
    assert_refused(result, message)
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    assert not (tmp_path / "f").exists()


def test_a_bad_coverage_is_refused(fresh_runner: FlaskCliRunner, survey_csv: Path) -> None:
    args = ["scoring", "fit", str(survey_csv), "--out", "x.json", "--coverage", "0.1,1.5"]
    assert_refused(fresh_runner.invoke(args=args), "each coverage must be a share")


def test_show_says_whether_a_formula_is_illustrative(
    fresh_runner: FlaskCliRunner, survey_csv: Path, tmp_path: Path
) -> None:
    shipped = fresh_runner.invoke(args=["scoring", "show"])
    assert shipped.exit_code == 0, shipped.output
    assert "version      illustrative-2020.1" in shipped.output
    assert "illustrative yes: NOT the programme weights" in shipped.output
    assert "log_household_size" in shipped.output and "equals:tent" in shipped.output
    out = tmp_path / "mine.json"
    fresh_runner.invoke(args=["scoring", "fit", str(survey_csv), "--out", str(out)])
    mine = fresh_runner.invoke(args=["scoring", "show", str(out)])
    assert "version      mine" in mine.output and "illustrative no" in mine.output
    assert_refused(fresh_runner.invoke(args=["scoring", "show", "nope.json"]), "cannot be read")


def test_the_scoring_commands_have_help(fresh_runner: FlaskCliRunner) -> None:
    result = fresh_runner.invoke(args=["scoring", "--help"])
    assert result.exit_code == 0
    assert "fit" in result.output and "show" in result.output
    assert "least squares" in fresh_runner.invoke(args=["scoring", "fit", "--help"]).output
