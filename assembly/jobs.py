"""Who does each kind of work the domain queues: the one table the app and CLI hand runners.

`core` owes work by kind (`core.queue.Work`) and never names the function above it; RQ stores
the function itself, so a worker finds it by its real module.
"""

from __future__ import annotations

from core.broadcast_jobs import send_broadcast
from core.queue import JobTable, Work
from scoring.jobs import score_application
from sms.jobs import send_message, send_messages
from sms.link_batch_job import send_link_batch

JOBS: JobTable = {
    Work.SEND_MESSAGE: send_message,
    Work.SEND_MESSAGES: send_messages,
    Work.SCORE_APPLICATION: score_application,
    Work.SEND_BROADCAST: send_broadcast,
    Work.SEND_LINK_BATCH: send_link_batch,
}
