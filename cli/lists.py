"""`lists build | verify | publish | show`: the beneficiary lists, from the operator's terminal."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select
from sqlalchemy.orm import Session

from cli.common import operator, settings, unit_of_work
from core import audit
from core.db import utcnow
from core.ed25519_keys import InvalidKey
from core.notifications import dispatch
from core.rounds import UnknownRound, chosen_round, round_code
from distribution.publication import AlreadyPublished, publish_batch
from distribution.voucher_keys import signing_key
from scoring.formula import Formula, FormulaError, load_formula
from scoring.list_verify import UnknownList, verify_list
from scoring.lists import (
    BeneficiaryList,
    ListEntry,
    NoProgramme,
    Quota,
    build_list,
    programme_by_code,
)
from scoring.scores import FormulaMismatch
from texts.sms import compose

lists_group = AppGroup("lists", help="Beneficiary lists: build, verify, publish.")


@lists_group.command("build")
@click.option(
    "--round", "--programme", "code", required=True, help="The round's code (see `programme set`)."
)
@click.option(
    "--budget",
    required=True,
    type=click.IntRange(min=1, max=10_000_000),
    help="Families the budget pays for.",
)
@click.option(
    "--quota",
    type=click.Choice([Quota.GOVERNORATE.value, Quota.DISTRICT.value]),
    default=None,
    help="Share the budget among areas in proportion to their eligible families.",
)
@click.option(
    "--formula",
    "formula_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="A formula file (default: SCORING_FORMULA, else the shipped illustrative one).",
)
def lists_build(code: str, budget: int, quota: str | None, formula_path: Path | None) -> None:
    """Build the round's list once its window has closed: exclusions, ranking, budget."""
    formula = _formula(formula_path)
    try:
        with unit_of_work() as session:
            programme = programme_by_code(session, code)
            if programme.closes_at > utcnow():
                raise click.ClickException(
                    f"round {code} has not closed yet: a list is built after its window closes"
                )
            built = build_list(session, programme, budget, Quota(quota or Quota.NATIONAL), formula)
            audit.record(session, operator(), "list.built", "list", str(built.id), _summary(built))
            number, families, selected = built.id, built.families, built.selected
    except NoProgramme:
        raise click.ClickException(f"no round has the code {code!r}") from None
    except FormulaMismatch as problem:
        raise click.ClickException(str(problem)) from None
    click.echo(
        f"list {number}: {families} families, {selected} selected, formula {formula.version}"
        + (" (illustrative weights)" if formula.illustrative else "")
    )


def _formula(path: Path | None) -> Formula:
    chosen = path or (Path(settings().scoring_formula) if settings().scoring_formula else None)
    try:
        return load_formula(chosen)
    except OSError as problem:
        raise click.ClickException(
            f"cannot read the formula {chosen}: {problem.strerror}"
        ) from None
    except FormulaError as problem:
        raise click.ClickException(f"the formula {chosen} is not valid: {problem}") from None


def _summary(built: BeneficiaryList) -> dict[str, str | int]:
    return {
        "programme": built.programme_id,
        "formula": built.formula_version,
        "budget": built.budget,
        "quota": built.quota,
        "families": built.families,
        "selected": built.selected,
        "input_digest": built.input_digest,
        "result_digest": built.result_digest,
    }


@lists_group.command("verify")
@click.argument("list_id", metavar="LIST", type=click.IntRange(min=1))
def lists_verify(list_id: int) -> None:
    """Derive the list again from the store; exit 1 naming every difference."""
    try:
        with unit_of_work() as session:
            problems = verify_list(session, list_id)
            outcome = "list.verify_failed" if problems else "list.verified"
            audit.record(session, operator(), outcome, "list", str(list_id))
    except UnknownList:
        raise click.ClickException(f"there is no list {list_id}") from None
    if problems:
        for problem in problems:
            click.echo(problem, err=True)
        click.echo(f"list {list_id} does NOT hold: {len(problems)} differences", err=True)
        raise SystemExit(1)
    click.echo(f"list {list_id} holds: derived again from the store, it is identical")


@lists_group.command("publish")
@click.argument("list_id", metavar="LIST", type=click.IntRange(min=1))
def lists_publish(list_id: int) -> None:
    """Tell every family on the list its outcome by one SMS, a selected one with its voucher's
    code (safe to run again)."""
    try:
        key = signing_key(settings().voucher_signing_key_file)
    except (OSError, InvalidKey) as problem:
        raise click.ClickException(f"the voucher signing key cannot be read: {problem}") from None
    told = stopped = 0
    while True:
        try:
            with unit_of_work() as session:
                chosen = _list_or_fail(session, list_id)
                batch = publish_batch(session, chosen, compose, key, operator())
                if not batch.remaining:
                    audit.record(session, operator(), "list.published", "list", str(list_id))
        except AlreadyPublished:
            if told:
                break
            raise click.ClickException(f"list {list_id} is already published") from None
        dispatch(current_app.extensions["intake.jobs"], batch.message_ids, new=True)
        told += len(batch.message_ids)
        stopped += batch.stopped
        if not batch.remaining:
            break
    click.echo(
        f"list {list_id} published: {told} families told by SMS, "
        f"{stopped} not texted (their number sent STOP; they can ask for their status)"
    )


@lists_group.command("show")
@click.argument("list_id", metavar="LIST", type=click.IntRange(min=1))
def lists_show(list_id: int) -> None:
    """The list's figures: outcomes and reasons, digests, formula."""
    with unit_of_work() as session:
        chosen = _list_or_fail(session, list_id)
        summary = _summary(chosen)
        stmt = select(ListEntry.outcome, ListEntry.reason).where(ListEntry.list_id == list_id)
        counts = Counter((str(o), r) for o, r in session.execute(stmt))
        published = chosen.published_at
        code = round_code(session, chosen.programme_id)
    click.echo(f"round: {code}")
    for name, value in summary.items():
        click.echo(f"{name}: {value}")
    click.echo(f"published: {published.isoformat() if published else 'no'}")
    for (outcome, reason), count in sorted(counts.items(), key=lambda i: (i[0][0], i[0][1] or "")):
        click.echo(f"  {outcome}{f' ({reason})' if reason else ''}: {count}")


@lists_group.command("index")
@click.option(
    "--round",
    "code",
    default=None,
    help="A round's code (default: the open round, else the latest).",
)
def lists_index(code: str | None) -> None:
    """The round's lists, newest first: built, published, families and selected."""
    with unit_of_work() as session:
        try:
            programme = chosen_round(session, code)
        except UnknownRound:
            raise click.ClickException(f"no round has the code {code!r}") from None
        if programme is None:
            raise click.ClickException("no round has been set (see `programme set`)")
        stmt = select(BeneficiaryList).where(BeneficiaryList.programme_id == programme.id)
        found = list(session.scalars(stmt.order_by(BeneficiaryList.id.desc())))
        click.echo(f"round {programme.code}: {len(found)} lists")
        for item in found:
            published = item.published_at.isoformat() if item.published_at else "not published"
            click.echo(
                f"  list {item.id}: {item.families} families, {item.selected} selected, "
                f"built {item.built_at.isoformat()}, {published}"
            )


def _list_or_fail(session: Session, list_id: int) -> BeneficiaryList:
    chosen = session.get(BeneficiaryList, list_id)
    if chosen is None:
        raise click.ClickException(f"there is no list {list_id}")
    return chosen
