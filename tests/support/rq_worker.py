"""An RQ worker that works through its queues inside the test process, then returns."""

from __future__ import annotations

from redis import Redis
from rq import Queue, SimpleWorker


class BurstWorker(SimpleWorker):
    """RQ's SimpleWorker without its command channel (pubsub) and that channel's thread.

    Tests send a worker no commands. The thread's timed waits, when it races the worker's
    unsubscribe, never return under the clock guard's libfaketime (a monotonic deadline a year
    ahead), and the worker's join of it hung a CI run; without the thread there is no race.
    """

    def subscribe(self) -> None:
        """No command channel: nothing will send this worker a command."""

    def unsubscribe(self) -> None:
        """Nothing was subscribed."""

    def _install_signal_handlers(self) -> None:
        """Leave the test process's SIGINT and SIGTERM alone: RQ's handlers would outlive this
        worker and turn a later signal into its `StopRequested` inside another test."""


def work_through(queues: list[Queue], connection: Redis) -> bool:
    """Run every job waiting in `queues`, in this process; True if any job was run."""
    return bool(BurstWorker(queues, connection=connection).work(burst=True))
