"""Signed checkpoints: a rewrite made even with the audit key departs from an earlier checkpoint."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from flask.testing import FlaskCliRunner
from sqlalchemy import Engine, delete, insert, select, update
from sqlalchemy.orm import Session

from core import audit, audit_checkpoint_check
from core.audit import GENESIS_HASH, AuditEvent, AuditHead, verify_chain
from core.audit_checkpoints import parse_line, take, verify_against
from core.audit_key import AuditKey, current_key
from core.db import make_sessionmaker, transaction
from tests.conftest import own_postgres_store
from tests.plugins.cli import assert_refused
from tests.support.audit_owner import as_table_owner


def _events(db: Session, count: int) -> None:
    for n in range(count):
        audit.record(db, "tester", "test.event", "thing", str(n), {"n": n})


def _checkpoint(runner: FlaskCliRunner, out: Path) -> None:
    result = runner.invoke(args=["audit", "checkpoint", "--out", str(out)])
    assert result.exit_code == 0, result.output


def _rewrite_with_the_key(db: Session, dropped: int, key: AuditKey) -> None:
    """The worst case: an owner who also stole the key deletes an event and re-hashes the rest."""
    as_table_owner(db)
    table = AuditEvent.__table__
    later = [dict(row._mapping) for row in db.execute(select(table).where(table.c.seq > dropped))]
    db.execute(delete(AuditEvent).where(AuditEvent.seq >= dropped))
    previous = db.get(AuditEvent, dropped - 1)
    prev_hash = previous.hash if previous is not None else GENESIS_HASH
    for row in sorted(later, key=lambda e: e["seq"]):
        row.update(seq=row["seq"] - 1, prev_hash=prev_hash)
        row["hash"] = prev_hash = audit.event_hash(AuditEvent(**row), key)
        db.execute(insert(table).values(**row))
    db.execute(update(AuditHead).values(seq=len(later) + dropped - 1, hash=prev_hash))
    db.flush()
    db.expire_all()


def test_a_checkpoint_is_a_signed_line_anyone_can_check_with_the_public_key(
    db: Session, runner: FlaskCliRunner
) -> None:
    _events(db, 3)
    printed = runner.invoke(args=["audit", "checkpoint"])
    assert printed.exit_code == 0, printed.output
    document = json.loads(printed.output)
    assert (document["seq"], document["hash"]) == (3, db.get_one(AuditEvent, 3).hash)
    pem = runner.invoke(args=["audit", "public-key"]).output
    signature = base64.b64decode(document.pop("signature"))
    claim = json.dumps(document, sort_keys=True, separators=(",", ":")).encode()
    load_pem_public_key(pem.encode()).verify(signature, claim)  # type: ignore[union-attr]


def test_the_store_matching_its_checkpoints_verifies(
    db: Session, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    log = tmp_path / "checkpoints.log"
    _checkpoint(runner, log)  # an empty chain can be checkpointed too
    _events(db, 3)
    _checkpoint(runner, log)
    _events(db, 2)  # the chain moves on after a checkpoint: still fine
    result = runner.invoke(args=["audit", "verify", "--against", str(log)])
    assert result.exit_code == 0, result.output
    assert "audit trail intact: 5 events, matching 2 checkpoints" in result.output


@pytest.mark.parametrize(
    ("dropped", "named", "says"),
    [
        (4, 4, "after event 3, which matches: its event 5 is not the event it signed"),
        (2, 1, "from the first event: its event 3 is not the event it signed"),
    ],
    ids=["after-first-checkpoint", "before-first-checkpoint"],
)
def test_a_rewrite_with_the_key_departs_from_an_earlier_checkpoint(
    db: Session, runner: FlaskCliRunner, tmp_path: Path, dropped: int, named: int, says: str
) -> None:
    log = tmp_path / "checkpoints.log"
    _events(db, 3)
    _checkpoint(runner, log)
    _events(db, 2)
    _checkpoint(runner, log)
    _events(db, 1)
    _rewrite_with_the_key(db, dropped, current_key())
    assert verify_chain(db).ok  # with the key, the rewrite is self-consistent...
    result = runner.invoke(args=["audit", "verify", "--against", str(log)])
    assert result.exit_code == 1  # ...but not what the checkpoints signed
    assert f"audit trail BROKEN at event {named}: the chain departs from the checkpoint" in (
        result.output
    )
    assert says in result.output


def test_a_checkpoint_is_not_signed_for_a_broken_chain(
    db: Session, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    _events(db, 3)
    as_table_owner(db)
    db.execute(delete(AuditEvent).where(AuditEvent.seq == 2))
    db.flush()
    log = tmp_path / "checkpoints.log"
    result = runner.invoke(args=["audit", "checkpoint", "--out", str(log)])
    assert_refused(result, "the chain is broken at event 2", "no checkpoint is signed")
    assert not log.exists()


def _tampered(line: str) -> str:
    document = json.loads(line)
    document["seq"] -= 1
    return json.dumps(document)


@pytest.mark.parametrize(
    ("change", "says"),
    [
        (_tampered, "line 2: its signature does not verify"),
        (lambda line: line.replace('"key":"', '"key":"00'), "line 2: signed by another key"),
        (lambda line: "garbage", "line 2: not a checkpoint"),
        (lambda line: line[:40], "line 2: not a checkpoint"),
    ],
    ids=["altered", "other-key", "garbage", "truncated"],
)
def test_a_checkpoint_file_that_is_not_genuine_is_refused(
    db: Session, runner: FlaskCliRunner, tmp_path: Path, change: Callable[[str], str], says: str
) -> None:
    _events(db, 3)
    printed = runner.invoke(args=["audit", "checkpoint"]).output.strip()
    log = tmp_path / "checkpoints.log"
    # Lines as a log drain keeps them: whatever precedes the JSON is ignored.
    log.write_text(f"2026-12-06T02:00:00Z app[checkpointer.1]: {printed}\n{change(printed)}\n")
    assert_refused(runner.invoke(args=["audit", "verify", "--against", str(log)]), says)


def test_a_file_without_checkpoints_is_refused(runner: FlaskCliRunner, tmp_path: Path) -> None:
    empty = tmp_path / "empty.log"
    empty.write_text("\n")
    assert_refused(
        runner.invoke(args=["audit", "verify", "--against", str(empty)]), "holds no checkpoint"
    )


# --- while the service goes on appending, on PostgreSQL --------------------------------------


@pytest.fixture(scope="module")
def own_store(postgres_url: str) -> Iterator[Engine]:
    """A database of its own: the appends commit, which the shared store must not keep."""
    with own_postgres_store("checkpoints") as engine:
        yield engine


def test_a_checkpoint_is_taken_while_other_processes_append(
    own_store: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An append committed by another connection while the chain is read is no tampering."""
    factory = make_sessionmaker(own_store)
    with transaction(factory) as session:
        _events(session, 3)
    walk = audit._walk

    def walk_then_another_process_appends(session: Session, key: AuditKey) -> object:
        seen = walk(session, key)
        with transaction(factory) as other:
            audit.record(other, "tester", "test.meanwhile")
        return seen

    monkeypatch.setattr(audit, "_walk", walk_then_another_process_appends)
    with transaction(factory) as session:
        line = take(session, current_key())
        assert verify_chain(session).ok
    monkeypatch.undo()
    checkpoint = parse_line(line, current_key().public_key)
    with transaction(factory) as session:
        assert checkpoint.seq == 3 and checkpoint.hash == session.get_one(AuditEvent, 3).hash
        assert verify_against(session, [checkpoint], current_key()).checked == 5


def test_newest_events_cut_off_with_the_head_moved_back_depart_from_a_checkpoint(
    db: Session, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    """Without the key an owner can still cut the newest events and move the head back: the
    store alone cannot tell, a checkpoint taken before can."""
    log = tmp_path / "checkpoints.log"
    _events(db, 3)
    _checkpoint(runner, log)
    _events(db, 2)
    _checkpoint(runner, log)
    as_table_owner(db)
    db.execute(delete(AuditEvent).where(AuditEvent.seq > 3))
    db.execute(update(AuditHead).values(seq=3, hash=db.get_one(AuditEvent, 3).hash))
    db.flush()
    assert runner.invoke(args=["audit", "verify"]).exit_code == 0
    result = runner.invoke(args=["audit", "verify", "--against", str(log)])
    assert result.exit_code == 1
    assert "BROKEN at event 4: the chain departs from the checkpoint" in result.output
    assert "its event 5 is missing" in result.output


def test_an_inspector_checks_checkpoints_with_the_public_key_alone(
    db: Session, runner: FlaskCliRunner, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _events(db, 2)
    log, pem = tmp_path / "checkpoints.log", tmp_path / "1766-audit.pem"
    _checkpoint(runner, log)
    pem.write_text(runner.invoke(args=["audit", "public-key"]).output)
    args = ["--public-key", str(pem), str(log)]
    capsys.readouterr()
    assert audit_checkpoint_check.main(args) == 0
    assert f"line 1: genuine: event 2 {db.get_one(AuditEvent, 2).hash}" in capsys.readouterr().out
    log.write_text(_tampered(log.read_text()) + "\n")
    assert audit_checkpoint_check.main(args) == 1
    assert "line 1: INVALID: its signature does not verify" in capsys.readouterr().out
    assert audit_checkpoint_check.main(["--public-key", str(log), str(log)]) == 2
