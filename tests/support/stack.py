"""The whole service as deployed, on loopback: gunicorn, a fresh PostgreSQL database, Redis,
`rq worker` processes, and the fake Twilio server. For tests that kill and restart parts."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

from redis import Redis
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from core.db import make_engine, utcnow
from core.programme import set_window
from core.roles import Role
from schema import migrate
from tests.plugins.fake_twilio import ACCOUNT_SID, AUTH_TOKEN, FakeTwilio
from tests.support.factories import HOME, load_sample_geography, make_user

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
STACK_DB = "intake_stack"
STACK_REDIS_DB = 14
WORKER_OPTIONS = ("--worker-class=rq.worker.SimpleWorker",)  # as the Procfile's worker
QUEUES = ("sms", "scoring", "default")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def recreate_database(pg_url: str, name: str) -> str:
    """Drop and create a PostgreSQL database; the URL that reaches it."""
    url = make_url(pg_url)
    admin = make_engine(
        url.set(database="postgres").render_as_string(False), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return url.set(database=name).render_as_string(False)


def fresh_database(pg_url: str, name: str = STACK_DB) -> str:
    """A new migrated PostgreSQL database: the sample areas, a focal point, an open round."""
    stack_url = recreate_database(pg_url, name)
    engine = make_engine(stack_url)
    migrate.upgrade(engine)
    with Session(engine) as session:
        load_sample_geography(session)
        make_user(session, Role.FOCAL_POINT, HOME, username="focal")
        set_window(session, utcnow() - timedelta(days=1), utcnow() + timedelta(days=10), "test")
        session.commit()
    engine.dispose()
    return stack_url


class Stack:
    """Environment and processes of one running service."""

    def __init__(self, database_url: str, redis_url: str, twilio: FakeTwilio) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.twilio = twilio
        self.database_url = database_url
        self.redis_url = redis_url
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE", "REDIS"))}
        self.env.update(
            INTAKE_ENV="development",
            DATABASE_URL=database_url,
            REDIS_URL=redis_url,
            SECRET_KEY="stack-secret-" + "s" * 32,
            PUBLIC_BASE_URL=self.base,
            SMS_BACKEND="twilio",
            TWILIO_ACCOUNT_SID=ACCOUNT_SID,
            TWILIO_AUTH_TOKEN=AUTH_TOKEN,
            TWILIO_FROM_NUMBER="+15005550006",
            TWILIO_API_BASE_URL=twilio.url,
            PYTHONPATH=str(ROOT),
        )
        self.processes: list[subprocess.Popen[bytes]] = []
        self.relay_started = False

    def start_web(self, workers: int = 2, threads: int = 4) -> None:
        self._spawn(
            [
                str(BIN / "gunicorn"),
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                str(workers),
                "--threads",
                str(threads),
                "wsgi:app",
            ]
        )
        wait_for(f"{self.base}/healthz")

    def start_worker(self, burst: bool = False) -> subprocess.Popen[bytes]:
        """The Procfile's worker, with what feeds it: the relay (once, before a burst)."""
        if burst:
            relayed = self.flask("jobs", "relay", "--once")
            assert relayed.returncode == 0, relayed.stderr
        elif not self.relay_started:
            self._spawn([str(BIN / "flask"), "--app", "wsgi", "jobs", "relay"])
            self.relay_started = True
        args = [str(BIN / "rq"), "worker", "--url", self.redis_url, *WORKER_OPTIONS, *QUEUES]
        return self._spawn([*args, "--burst"] if burst else args)

    def start_consumer(self, claim_idle: int = 30) -> subprocess.Popen[bytes]:
        """The Procfile's SMS consumer."""
        args = ["sms", "consume", "--claim-idle", str(claim_idle)]
        return self._spawn([str(BIN / "flask"), "--app", "wsgi", *args])

    def flask(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(BIN / "flask"), "--app", "wsgi", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    def _spawn(self, args: list[str]) -> subprocess.Popen[bytes]:
        process = subprocess.Popen(
            args,
            cwd=ROOT,
            env=self.env,
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.processes.append(process)
        return process

    def stop(self) -> None:
        for process in self.processes:
            kill(process, signal.SIGTERM)


def kill(process: subprocess.Popen[bytes], sig: int = signal.SIGKILL) -> None:
    """Stop a process and everything it forked (an RQ worker's work-horse too)."""
    if process.poll() is None:
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def wait_for(url: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 - loopback only
                return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"nothing answered at {url}")


def wait_until(condition: object, seconds: float = 60, what: str = "condition") -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@contextmanager
def running_stack(pg_url: str, redis_url: str) -> Iterator[Stack]:
    database_url = fresh_database(pg_url)
    stack_redis = redis_url.rsplit("/", 1)[0] + f"/{STACK_REDIS_DB}"
    Redis.from_url(stack_redis).flushdb()
    with FakeTwilio() as twilio:
        stack = Stack(database_url, stack_redis, twilio)
        try:
            yield stack
        finally:
            stack.stop()


def stack_engine(stack: Stack) -> Engine:
    return make_engine(stack.database_url)
