"""The proxy means test's formulas: fit one on a household survey, show one."""

from __future__ import annotations

import math
from pathlib import Path

import click
from flask.cli import AppGroup
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from cli.common import StoreUnreachable, repeat
from scoring.fit import Targeting, fit_formula, r_squared, split_rows, targeting_errors
from scoring.formula import SHIPPED_FORMULA, Formula, FormulaError, load_formula
from scoring.jobs import sweep
from scoring.survey import Survey, SurveyError, read_survey

scoring_group = AppGroup(
    "scoring", help="The proxy means test: fit a formula on a household survey, show a formula."
)


def _coverages(_ctx: click.Context, _param: click.Parameter, value: str) -> list[float]:
    try:
        shares = [float(part) for part in value.split(",") if part.strip()]
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a comma-separated list of shares") from None
    if not shares or not all(0 < share <= 1 for share in shares):
        raise click.BadParameter("each coverage must be a share above 0 and at most 1")
    return shares


@scoring_group.command("fit")
@click.argument("survey_csv", metavar="SURVEY.csv", type=click.Path(path_type=Path))
@click.option("--out", required=True, type=click.Path(path_type=Path), help="Formula file.")
@click.option("--version", "version", help="The formula's version (default: --out's name).")
@click.option(
    "--template", type=click.Path(path_type=Path), help="Formula whose terms to fit [shipped]."
)
@click.option(
    "--holdout",
    default=0.2,
    show_default=True,
    type=click.FloatRange(0, 1, max_open=True),
    help="Share of households held out of the fit to measure it.",
)
@click.option("--seed", default=0, show_default=True, help="Seed of the held-out draw.")
@click.option(
    "--coverage",
    default="0.1,0.2,0.3",
    show_default=True,
    callback=_coverages,
    help="Shares of households selected, comma-separated.",
)
@click.option(
    "--poor-share",
    type=click.FloatRange(0, 1, min_open=True),
    help="Share of households counted truly poor [each coverage].",
)
@click.option("--force", is_flag=True, help="Replace --out if it exists.")
def fit_command(
    survey_csv: Path,
    out: Path,
    version: str | None,
    template: Path | None,
    holdout: float,
    seed: int,
    coverage: list[float],
    poor_share: float | None,
    force: bool,
) -> None:
    """Fit a formula's weights on SURVEY.csv by least squares and write it to --out.

    The survey has one row per household: log_consumption (or consumption_per_person) and one
    column per variable the template's terms use. Prints the rows fitted and held out, R² and
    the targeting errors on the held-out rows at each --coverage.
    """
    if out.exists() and not force:
        raise click.ClickException(f"{out} exists: pass --force to replace it")
    base = _load(template)
    survey = _read(survey_csv, base)
    fitting, held_out = split_rows(survey.rows, holdout, seed)
    described = _provenance(survey_csv.name, fitting.size, held_out.size, seed, base)
    try:
        formula = fit_formula(survey, base, version or out.stem, fitting, described)
    except ValueError as exc:  # FitError, or FormulaError on a bad --version
        raise click.ClickException(str(exc)) from None
    click.echo(f"fitted on {fitting.size} households, held out {held_out.size} (seed {seed})")
    if held_out.size:
        _report(formula, survey.take(held_out), "the held-out households", coverage, poor_share)
    else:
        _report(formula, survey, "the fitting households (in-sample)", coverage, poor_share)
    _write(formula, out, force)


def _provenance(survey: str, fitted: int, held_out: int, seed: int, template: Formula) -> str:
    """The fitted formula's description: where its weights come from."""
    return (
        f"Fitted by least squares on {fitted} households of {survey} ({held_out} held out, "
        f"seed {seed}), with the terms of formula {template.version}. The score predicts the "
        "natural log of monthly consumption per person (LBP)."
    )


def _load(path: Path | None) -> Formula:
    try:
        return load_formula(path)
    except FormulaError as exc:
        raise click.ClickException(str(exc)) from None


def _read(path: Path, template: Formula) -> Survey:
    try:
        return read_survey(path, template.variables)
    except SurveyError as exc:
        raise click.ClickException(str(exc)) from None


def _report(
    formula: Formula, survey: Survey, which: str, coverages: list[float], poor: float | None
) -> None:
    fit = r_squared(formula, survey)
    click.echo(f"R² on {which}: {'n/a' if math.isnan(fit) else f'{fit:.3f}'}")
    click.echo(f"targeting errors on {which}:")
    click.echo(_table(targeting_errors(formula, survey, coverages, poor)))
    click.echo(
        "truly poor: the households with the lowest consumption, "
        + (f"{poor:.0%} of them" if poor else "as many as each coverage selects")
    )


def _table(rows: list[Targeting]) -> str:
    lines = ["coverage  selected  truly poor  inclusion error  exclusion error"]
    lines += [
        f"{r.coverage:>8.0%}  {r.selected:>8}  {r.poor:>10}  {r.inclusion_error:>15.1%}"
        f"  {r.exclusion_error:>15.1%}"
        for r in rows
    ]
    return "\n".join(lines)


def _write(formula: Formula, out: Path, force: bool) -> None:
    try:
        with out.open("w" if force else "x", encoding="utf-8") as handle:
            handle.write(formula.to_pretty_json())
    except FileExistsError:
        raise click.ClickException(f"{out} exists: pass --force to replace it") from None
    except OSError as exc:
        raise click.ClickException(f"{out}: cannot be written ({exc.strerror})") from None
    click.echo(f"wrote {out}: version {formula.version}, digest {formula.digest[:16]}")


@scoring_group.command("show")
@click.argument(
    "formula_file", metavar="[FORMULA]", required=False, type=click.Path(path_type=Path)
)
def show_command(formula_file: Path | None) -> None:
    """Show a formula's version, whether it is illustrative, and its terms (default: shipped)."""
    formula = _load(formula_file)
    click.echo(f"formula      {formula_file or SHIPPED_FORMULA}")
    click.echo(f"version      {formula.version}")
    click.echo(f"illustrative {'yes: NOT the programme weights' if formula.illustrative else 'no'}")
    click.echo(f"digest       {formula.digest}")
    click.echo(f"intercept    {formula.intercept!r}")
    click.echo(formula.description)
    width = max(len(term.name) for term in formula.terms)
    click.echo(f"{'term':<{width}}  {'variable':<28}  {'transform':<24}  weight")
    for term in formula.terms:
        click.echo(
            f"{term.name:<{width}}  {term.variable:<28}  {term.transform:<24}  {term.weight!r}"
        )


@scoring_group.command("sweep")
@click.option(
    "--every",
    type=click.IntRange(min=1),
    default=None,
    help="Repeat every N seconds (the Procfile's scorer process) instead of once.",
)
def scoring_sweep(every: int | None) -> None:
    """Queue a score for every application whose current version has none (what Redis lost)."""

    def one_round() -> None:
        try:
            report = sweep()
        except SQLAlchemyError as exc:
            # Unreachable is an outage a repeated sweep waits out; any other error stops it.
            refusal = (
                StoreUnreachable if isinstance(exc, OperationalError) else click.ClickException
            )
            raise refusal(f"the store could not be read: {type(exc).__name__}") from None
        click.echo(f"queued {report.queued}")

    repeat("scoring sweep", every, one_round)
