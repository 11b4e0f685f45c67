"""The queue frame (RQ on a real Redis, or inline) and /healthz."""

from __future__ import annotations

import os
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from flask.testing import FlaskClient
from redis import Redis
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from assembly.app import create_app
from assembly.jobs import JOBS
from core import throttle
from core.db import utcnow
from core.housekeeping import purge_throttle_hits
from core.queue import InlineRunner, JobContext, RedisRunner, job_context, use_job_context
from core.throttle import ThrottleCounter
from tests.conftest import settings_for
from tests.support.rq_worker import work_through


def _old_and_new_hits(db: Session) -> None:
    minute = throttle.Limit(1, timedelta(minutes=1))
    throttle.take(db, "old", minute, now=utcnow() - timedelta(days=2))
    throttle.take(db, "new", minute)
    db.commit()


def _remaining(db: Session) -> int:
    db.expire_all()
    return int(db.scalar(select(func.count()).select_from(ThrottleCounter)) or 0)


def test_inline_runner_runs_the_job_at_once(app: object, db: Session) -> None:
    _old_and_new_hits(db)
    InlineRunner(JOBS).enqueue("default", purge_throttle_hits, job_id="purge-1")
    assert _remaining(db) == 1


def test_job_runs_in_a_worker_through_real_redis(
    app: object, db: Session, redis_url: str, queue_prefix: str
) -> None:
    _old_and_new_hits(db)
    runner = RedisRunner(redis_url, prefix=queue_prefix, jobs=JOBS)
    runner.enqueue("default", purge_throttle_hits, job_id="purge-1")
    runner.enqueue("default", purge_throttle_hits, job_id="purge-1")  # queued once only
    queue = runner.queue("default")
    assert queue.count == 1
    assert _remaining(db) == 2  # nothing ran yet: the work waits in Redis
    work_through([queue], Redis.from_url(redis_url))
    assert _remaining(db) == 1
    assert runner.state() == "ok"


def test_a_job_context_from_before_a_fork_gets_connections_of_the_childs_own(
    tmp_path: Path,
) -> None:
    """RQ's work horse inherits the parent's context: same settings, never its connections."""
    settings = settings_for(f"sqlite:///{tmp_path / 'store.sqlite3'}")
    own = replace(JobContext.from_settings(settings), pid=-1)  # built in another process
    apps = JobContext(settings, sessionmaker(), pid=-1)  # an app's store, in another process
    use_job_context(own)
    assert job_context().engine is own.engine and job_context().pid == os.getpid()  # reset
    use_job_context(apps)
    child = job_context()
    assert child.settings is settings and child.engine is not None  # one of the child's own
    assert job_context() is child  # built once


def test_housekeeping_command_purges_old_attempts(runner: object, db: Session) -> None:
    _old_and_new_hits(db)
    result = runner.invoke(args=["housekeeping"])  # type: ignore[attr-defined]
    assert result.exit_code == 0, result.output
    assert _remaining(db) == 1


def test_housekeeping_forgets_webhook_replies_older_than_any_retry(
    runner: object, db: Session
) -> None:
    from core.webhook_replies import WebhookReply, earlier_reply

    db.add(WebhookReply(key="sms:old", body="<Response/>", created_at=utcnow() - timedelta(3)))
    db.add(WebhookReply(key="sms:new", body="<Response/>", created_at=utcnow()))
    db.commit()
    result = runner.invoke(args=["housekeeping"])  # type: ignore[attr-defined]
    assert result.exit_code == 0, result.output
    db.expire_all()
    assert earlier_reply(db, "sms:old") is None
    assert earlier_reply(db, "sms:new") == "<Response/>"


def test_unknown_queue_is_refused() -> None:
    import pytest

    with pytest.raises(ValueError, match="unknown queue"):
        InlineRunner(JOBS).enqueue("emails", purge_throttle_hits, job_id="x")


def test_healthz_reports_store_and_queue(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    found = response.get_json()
    assert (found["store"], found["queue"]) == ("ok", "inline")
    assert found["queues"]["outbox"] == {"depth": 0, "oldest_age_seconds": None}


def test_healthz_with_redis_configured(engine: object, redis_url: str) -> None:
    app = create_app(settings_for("sqlite://", redis_url=redis_url))
    found = app.test_client().get("/healthz").get_json()
    assert (found["store"], found["queue"]) == ("ok", "ok")


def test_healthz_is_503_when_the_store_is_down() -> None:
    app = create_app(settings_for("postgresql+psycopg://nobody@127.0.0.1:1/none"))
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["store"] == "down"


def test_healthz_reports_redis_down_but_stays_up(tmp_path: object) -> None:
    app = create_app(settings_for("sqlite://", redis_url="redis://127.0.0.1:1/0"))
    response = app.test_client().get("/healthz")
    assert response.status_code == 200
    found = response.get_json()
    assert (found["store"], found["queue"]) == ("ok", "down")
    assert found["queues"]["rq:sms"] is None  # unreadable now, and said so
