"""The test harness's own promises: what it runs in the test process leaves it as it was."""

from __future__ import annotations

import signal
import threading

from redis import Redis
from rq import Queue

from tests.support.rq_worker import work_through


def test_an_in_process_worker_leaves_no_thread_and_no_signal_handler(redis_url: str) -> None:
    """A worker's command thread hung the clock guard, and its handlers outlived it."""
    connection = Redis.from_url(redis_url)
    before = (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT))
    threads = threading.active_count()
    assert work_through([Queue("harness-empty", connection=connection)], connection) is False
    assert (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)) == before
    assert threading.active_count() == threads
