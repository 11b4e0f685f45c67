"""`vouchers keygen | public-key | verify | revoked`: the signing key, checking a voucher by hand,
and the signed list of revoked vouchers."""

from __future__ import annotations

from pathlib import Path

import click
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from flask.cli import AppGroup

from cli.common import settings, unit_of_work
from core.ed25519_keys import InvalidKey, fingerprint, load_public_key, public_key_pem
from distribution.revocations import published_revocations
from distribution.voucher_check import REASONS, describe
from distribution.voucher_keys import signing_key, write_new_key
from distribution.vouchers import InvalidVoucher, verify

vouchers_group = AppGroup("vouchers", help="The vouchers' signing key; checking a voucher.")


def _service_public_key() -> Ed25519PublicKey:
    try:
        return signing_key(settings().voucher_signing_key_file).public_key()
    except (OSError, InvalidKey) as problem:
        raise click.ClickException(f"the signing key cannot be read: {problem}") from None


@vouchers_group.command("keygen")
@click.option("--out", "out", required=True, type=click.Path(path_type=Path), help="New key file.")
def vouchers_keygen(out: Path) -> None:
    """Write a new Ed25519 signing key (PKCS8 PEM, mode 600) to a file that must not exist.

    Keep it in the secret store and point VOUCHER_SIGNING_KEY_FILE at it. Changing the key
    makes every voucher already printed fail verification.
    """
    try:
        key = write_new_key(out)
    except FileExistsError:
        raise click.ClickException(f"{out} exists: refusing to overwrite a key") from None
    except OSError as problem:
        raise click.ClickException(f"cannot write {out}: {problem.strerror}") from None
    click.echo(f"wrote {out} (readable by its owner only)")
    click.echo(f"public key fingerprint (SHA-256): {fingerprint(key.public_key())}")


@vouchers_group.command("public-key")
def vouchers_public_key() -> None:
    """Print the public key (PEM) that checks this service's vouchers."""
    click.echo(public_key_pem(_service_public_key()).decode("ascii"), nl=False)


@vouchers_group.command("verify")
@click.argument("token")
@click.option(
    "--public-key",
    "public_key_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A PEM public key file (default: this service's own key).",
)
def vouchers_verify(token: str, public_key_file: Path | None) -> None:
    """Check a voucher's token; exit 1 if it is not genuine."""
    if public_key_file is None:
        public_key = _service_public_key()
    else:
        try:
            public_key = load_public_key(public_key_file.read_bytes())
        except InvalidKey as problem:
            raise click.ClickException(f"{public_key_file}: {problem}") from None
    try:
        claim = verify(token.strip(), public_key)
    except InvalidVoucher as invalid:
        click.echo(f"INVALID: {REASONS[invalid.problem]}")
        raise SystemExit(1) from None
    click.echo(describe(claim))


@vouchers_group.command("revoked")
def vouchers_revoked() -> None:
    """Print the signed list of revoked vouchers (what /vouchers/revoked publishes)."""
    try:
        key = signing_key(settings().voucher_signing_key_file)
    except (OSError, InvalidKey) as problem:
        raise click.ClickException(f"the signing key cannot be read: {problem}") from None
    with unit_of_work() as session:
        click.echo(published_revocations(session, key), nl=False)
