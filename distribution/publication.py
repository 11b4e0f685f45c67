"""Publishing a list with its vouchers: a selected family's SMS carries its voucher's code.

Why here and not in scoring: who is told what is scoring's (scoring/publishing.py), the voucher
is distribution's, and scoring may not import distribution. This module sits above both: it
hands publishing a callable that issues the family's voucher inside the batch's transaction.
So the voucher, the owed SMS quoting its code and the entry marked notified are committed
together or not at all; a second run after a crash skips the notified entries and finds an
entry's voucher before making one, so nobody is told twice and no entry gets two vouchers. The
army's export later finds the same voucher (distribution/handovers.py `issue_vouchers`).

The signing key is the caller's (`distribution.voucher_keys.signing_key`), read once per run.
"""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.orm import Session

from core import audit
from core.applications import Application
from core.sayings import Compose
from distribution.handovers import issue_voucher, voucher_of_entry
from scoring import publishing
from scoring.lists import BeneficiaryList, ListEntry
from scoring.publishing import BATCH, AlreadyPublished, Batch

__all__ = ["AlreadyPublished", "Batch", "publish_batch"]


class _Issuer:
    """`publishing.VoucherFor` with the signing key, counting the vouchers it made."""

    def __init__(self, key: Ed25519PrivateKey) -> None:
        self.key = key
        self.issued = 0

    def __call__(self, session: Session, entry: ListEntry, application: Application) -> str | None:
        voucher = voucher_of_entry(session, entry.id)
        if voucher is not None:
            return voucher.code
        if not application.locality_code:  # nowhere to hand aid over: the export skips it too
            return None
        self.issued += 1
        return issue_voucher(session, entry, application, key=self.key).code


def publish_batch(
    session: Session,
    beneficiary_list: BeneficiaryList,
    compose: Compose,
    key: Ed25519PrivateKey,
    actor: str = audit.SYSTEM,
    size: int = BATCH,
) -> Batch:
    """Owe the next `size` families their SMS, issuing the selected ones' vouchers; the caller
    commits, then dispatches. Raises `AlreadyPublished` once every family has been told."""
    issuer = _Issuer(key)
    batch = publishing.publish_batch(session, beneficiary_list, compose, issuer, size)
    if issuer.issued:
        details: dict[str, audit.Scalar] = {"issued": issuer.issued, "when": "publication"}
        audit.record(session, actor, "vouchers.issued", "list", str(beneficiary_list.id), details)
    return batch
