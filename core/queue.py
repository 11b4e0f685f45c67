"""Background work: RQ queues on Redis, or inline when no Redis is configured.

Jobs take ids, open their own transaction (`job_transaction`), and are safe to run twice.
The store, not Redis, is the truth about what is owed: what could not be enqueued is found
again from the store (the outbox of later work), so Redis being down loses nothing.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any, Protocol

from redis import Redis
from redis.exceptions import RedisError
from rq import Queue
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from core.audit_key import use_key_file
from core.db import make_engine, make_sessionmaker, transaction
from core.settings import Settings

log = logging.getLogger(__name__)

# The worker listens to these, in this order of priority (the Procfile names the same).
QUEUE_NAMES = ("sms", "scoring", "default")
JOB_TIMEOUT = 600
# Queues whose work the store owes (a PENDING message, an unscored version): the relay moves it.
RELAYED_QUEUES = frozenset({"sms", "scoring"})


class Work(Enum):
    """Work the domain owes and queues without knowing who does it (an adapter, the scorer).

    Which function does each is said where the app and the workers are assembled
    (`assembly/jobs.py`): the runner is handed that table, so `core` never names a job above it.
    """

    SEND_MESSAGE = "send_message"  # one owed SMS, by the SMS gateway
    SEND_MESSAGES = "send_messages"  # several, one job: what the relay queues
    SCORE_APPLICATION = "score_application"  # one version of a household, by the PMT
    SEND_BROADCAST = "send_broadcast"  # a confirmed information SMS, recipients then chunks
    SEND_LINK_BATCH = "send_link_batch"  # a confirmed batch of links, chunk by chunk


JobTable = Mapping[Work, Callable[..., Any]]
Job = Callable[..., Any] | Work  # a function, or a kind of work the runner's table resolves


class JobRunner(Protocol):
    """What the service enqueues work through."""

    def enqueue(self, queue: str, func: Job, *args: Any, job_id: str, new: bool = False) -> None:
        """Queue `func(*args)` once under `job_id`; `new` says the id was never used before."""
        ...

    def state(self) -> str: ...


class _Runner:
    """What both runners share: the table of who does each kind of work."""

    def __init__(self, jobs: JobTable | None = None) -> None:
        self.jobs: JobTable = jobs or {}

    def resolve(self, func: Job) -> Callable[..., Any]:
        """The function a job names; a kind of work nobody was registered for is a wiring bug."""
        if not isinstance(func, Work):
            return func
        if func not in self.jobs:
            raise LookupError(f"no job is registered for {func.name}")
        return self.jobs[func]


class InlineRunner(_Runner):
    """No Redis: run each job at once, in this process (a laptop, the demo, some tests)."""

    def enqueue(self, queue: str, func: Job, *args: Any, job_id: str, new: bool = False) -> None:
        _check_queue(queue)
        self.resolve(func)(*args)

    def state(self) -> str:
        return "inline"


class RedisRunner(_Runner):
    """RQ on Redis; a job id already queued is not queued again."""

    def __init__(self, url: str, prefix: str = "", jobs: JobTable | None = None) -> None:
        super().__init__(jobs)
        self.connection = Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)
        self.prefix = prefix  # tests give each run its own queues

    def queue(self, name: str) -> Queue:
        _check_queue(name)
        return Queue(self.prefix + name, connection=self.connection, default_timeout=JOB_TIMEOUT)

    def enqueue(self, queue: str, func: Job, *args: Any, job_id: str, new: bool = False) -> None:
        q = self.queue(queue)
        if not new:  # a sweep re-offering old work must not pile up copies of a queued job
            existing = q.fetch_job(job_id)
            if existing is not None and existing.get_status() in ("queued", "started", "deferred"):
                return
        q.enqueue(self.resolve(func), *args, job_id=job_id)

    def state(self) -> str:
        try:
            self.connection.ping()
        except (RedisError, OSError):
            return "down"
        return "ok"


class RelayedRunner(RedisRunner):
    """The web app's runner when Redis is configured: owed work is left to the relay.

    What a request owes (an SMS, a score) is already committed to the store, which the relay
    (core/relay.py) reads and hands to RQ in batches; so a request never waits on Redis for
    it, and Redis down costs the request nothing. Other jobs are queued as before.
    """

    def enqueue(self, queue: str, func: Job, *args: Any, job_id: str, new: bool = False) -> None:
        if queue in RELAYED_QUEUES:
            _check_queue(queue)
            return
        super().enqueue(queue, func, *args, job_id=job_id, new=new)


def _check_queue(name: str) -> None:
    if name not in QUEUE_NAMES:
        raise ValueError(f"unknown queue {name!r}")


def make_runner(
    redis_url: str | None, jobs: JobTable | None = None, relayed: bool = False
) -> JobRunner:
    """Inline without Redis; with it, `relayed` leaves owed work to the relay (web requests)."""
    if not redis_url:
        return InlineRunner(jobs)
    runner = RelayedRunner if relayed else RedisRunner
    return runner(redis_url, jobs=jobs)


# --- the store and settings as jobs see them ------------------------------------------------


@dataclass(frozen=True)
class JobContext:
    """What jobs run with: the settings, and sessions on the store of this process.

    The app factory installs its own (`use_job_context`), so inline jobs share the app's
    store; an RQ worker builds one from the environment when its first job asks. A context
    crossing a fork (RQ's work horse) is given connections of the child's own.
    """

    settings: Settings
    sessions: sessionmaker[Session]
    engine: Engine | None = None  # the context's own engine, or None when it uses the app's
    pid: int = field(default_factory=os.getpid)  # the process its connections belong to

    @classmethod
    def from_settings(cls, settings: Settings) -> JobContext:
        """A context on an engine of its own, built from `settings.database_url`."""
        engine = make_engine(settings.database_url)
        return cls(settings, make_sessionmaker(engine), engine)

    @classmethod
    def from_env(cls) -> JobContext:
        """A worker's: the environment's settings; its audit events keyed like the app's."""
        settings = Settings.from_env()
        use_key_file(settings.audit_key_file)
        return cls.from_settings(settings)

    def in_this_process(self) -> JobContext:
        """Itself, or after a fork the same settings on connections of this process."""
        if self.pid == os.getpid():
            return self
        if self.engine is None:  # the app's engine is not ours to reset: one of our own
            return JobContext.from_settings(self.settings)
        self.engine.dispose(close=False)  # the parent's connections are not ours to use
        return replace(self, pid=os.getpid())


_context: JobContext | None = None


def use_job_context(context: JobContext | None) -> None:
    """Jobs in this process run with `context` from now on (the app factory, tests).

    None forgets it: the next job builds one from the environment, as a fresh worker does.
    """
    global _context
    _context = context


def job_context() -> JobContext:
    """The context jobs run with: the one installed, else the environment's."""
    global _context
    if _context is None:
        _context = JobContext.from_env()
    elif _context.pid != os.getpid():
        _context = _context.in_this_process()
    return _context


def job_settings() -> Settings:
    """The settings jobs run with: the app's when inline, the environment's in a worker."""
    return job_context().settings


@contextmanager
def job_transaction() -> Iterator[Session]:
    """One transaction per job, committed when the job's work is done."""
    with transaction(job_context().sessions) as session:
        yield session
