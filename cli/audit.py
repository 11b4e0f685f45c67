"""`audit verify | checkpoint | keygen | public-key | rekey`: the audit chain and its key."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import AppGroup

from cli.common import operator, repeat, settings, unit_of_work
from core.audit import ChainReport, record
from core.audit_checkpoints import Checkpoint, CheckpointRefused, parse_line, take, verify_against
from core.audit_key import (
    AuditKey,
    InvalidAuditKey,
    fingerprint,
    load_key,
    public_key_pem,
    read_key,
    write_new_key,
)
from core.audit_rekey import RekeyRefused, rekey

audit_group = AppGroup("audit", help="The audit trail: its chain, key and checkpoints.")


def _service_key() -> AuditKey:
    try:
        return load_key(settings().audit_key_file)
    except (OSError, InvalidAuditKey) as problem:
        raise click.ClickException(f"the audit key cannot be read: {problem}") from None


def _checkpoints(path: Path, key: AuditKey) -> list[Checkpoint]:
    """Every checkpoint in the file; any line that is not a genuine one stops the check."""
    found = []
    for number, line in enumerate(path.read_text(errors="replace").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            found.append(parse_line(line, key.public_key))
        except CheckpointRefused as refused:
            raise click.ClickException(f"{path} line {number}: {refused}") from None
    if not found:
        raise click.ClickException(f"{path} holds no checkpoint")
    return found


def _report(report: ChainReport, against: int = 0) -> None:
    if not report.ok:
        click.echo(f"audit trail BROKEN at event {report.broken_seq}: {report.reason}", err=True)
        raise SystemExit(1)
    matched = f", matching {against} checkpoints" if against else ""
    click.echo(f"audit trail intact: {report.checked} events{matched}")


@audit_group.command("verify")
@click.option(
    "--against",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A file of checkpoints (`audit checkpoint`) the store's chain must still contain.",
)
def audit_verify(against: Path | None) -> None:
    """Re-check the whole hash chain, keyed; exit 1 naming the first broken event.

    With --against, every checkpoint in the file must be genuine and the store must hold
    each checkpointed event at its position with the same hash.
    """
    key = _service_key()
    checkpoints = _checkpoints(against, key) if against else []
    with unit_of_work() as session:
        report = verify_against(session, checkpoints, key)
    _report(report, len(checkpoints))


@audit_group.command("checkpoint")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Append the checkpoint to this file (default: print it).",
)
@click.option(
    "--every",
    type=click.IntRange(min=1),
    default=None,
    help="Repeat every N seconds instead of once.",
)
def audit_checkpoint(out: Path | None, every: int | None) -> None:
    """Sign the chain's head (after verifying the chain) and append it to a file or print it.

    Ship the lines somewhere the database's owner cannot write; `audit verify --against`
    checks the store against them later.
    """
    key = _service_key()

    def one_round() -> None:
        try:
            with unit_of_work() as session:
                line = take(session, key)
        except CheckpointRefused as refused:
            raise click.ClickException(str(refused)) from None
        if out is None:
            click.echo(line)
        else:
            with out.open("a", encoding="ascii") as handle:
                handle.write(line + "\n")
            click.echo(f"checkpoint appended to {out}")

    repeat("audit checkpoint", every, one_round)


@audit_group.command("keygen")
@click.option("--out", required=True, type=click.Path(path_type=Path), help="New key file.")
def audit_keygen(out: Path) -> None:
    """Write a new random audit key (mode 600) to a file that must not exist.

    Keep it in the secret store, outside the database, and point AUDIT_KEY_FILE at it.
    A chain keyed with one key fails verification under another (see `audit rekey`).
    """
    try:
        key = write_new_key(out)
    except FileExistsError:
        raise click.ClickException(f"{out} exists: refusing to overwrite a key") from None
    except OSError as problem:
        raise click.ClickException(f"cannot write {out}: {problem.strerror}") from None
    click.echo(f"wrote {out} (readable by its owner only)")
    click.echo(f"checkpoint public key fingerprint (SHA-256): {fingerprint(key.public_key)}")


@audit_group.command("public-key")
def audit_public_key() -> None:
    """Print the public key (PEM) that checks this service's checkpoints."""
    click.echo(public_key_pem(_service_key().public_key).decode("ascii"), nl=False)


@audit_group.command("rekey")
@click.option(
    "--from-key",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The key being retired (default: the chain is the unkeyed one from before the key).",
)
def audit_rekey(from_key: Path | None) -> None:
    """Carry the chain over to the audit key, once, with the table owner's DATABASE_URL.

    The chain must verify under the old rule (plain SHA-256, or --from-key) first. Take a
    checkpoint right afterwards.
    """
    key = _service_key()
    try:
        old = read_key(from_key) if from_key else None
    except (OSError, InvalidAuditKey) as problem:
        raise click.ClickException(f"{from_key}: {problem}") from None
    try:
        with unit_of_work() as session:
            done = rekey(session, key, old)
            record(session, operator(), "audit.rekeyed", details={"events": done.events})
    except RekeyRefused as refused:
        raise click.ClickException(f"nothing was changed: {refused}") from None
    click.echo(f"rekeyed {done.events} events (the rekey itself is the next one)")
    click.echo("take a checkpoint now: flask --app wsgi audit checkpoint --out FILE")
