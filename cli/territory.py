"""`geo load`: governorates, districts and localities from the localities CSV."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import AppGroup

from cli.common import unit_of_work
from core.geography import GeoFileError, LoadReport, load_localities, parse_locality_csv

geo_group = AppGroup("geo", help="Governorates, districts and localities.")


@geo_group.command("load")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def geo_load(path: Path) -> None:
    """Add or update areas from PATH (the columns of lebanon_localities.csv).

    Valid rows are applied in one transaction; each refused row is listed with its reason
    and the command then exits 1. Loading the same file again changes nothing.
    """
    report = load_file(path)
    click.echo(
        f"added {report.added}, updated {report.updated}, unchanged {report.unchanged}, "
        f"rejected {len(report.rejected)}"
    )
    for line, reason in report.rejected:
        click.echo(f"  line {line}: {reason}", err=True)
    if report.rejected:
        raise SystemExit(1)


def load_file(path: Path) -> LoadReport:
    try:
        rows = parse_locality_csv(path.read_bytes())
    except GeoFileError as exc:
        raise click.ClickException(f"{path}: {exc}; nothing was loaded") from None
    with unit_of_work() as session:
        return load_localities(session, rows)
