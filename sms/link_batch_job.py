"""The job that sends a confirmed batch of links (`Work.SEND_LINK_BATCH`).

It commits a chunk of links and their owed SMS at a time (`core.link_batch_sending`) until
none is left, so it is safe to run twice and resumes where a crash stopped it. With Redis the
relay hands the owed SMS to the send jobs, at the gateway's rate; without it (the embedded
default, jobs inline) the job hands each chunk's SMS to the gateway itself, as the relay would.
"""

from __future__ import annotations

from core.link_batch_sending import Sending, send_chunk
from core.queue import job_settings, job_transaction
from core.relay import SEND_BATCH
from sms.jobs import send_messages
from texts.sms import compose


def send_link_batch(batch_id: int) -> None:
    """Issue every READY row's link, a chunk per transaction, until the batch is done."""
    settings = job_settings()
    sending = Sending(
        settings.public_base_url, settings.secret_key, settings.link_ttl_days, compose
    )
    while True:
        with job_transaction() as session:
            done = send_chunk(session, batch_id, sending)
        if not settings.redis_url:
            for start in range(0, len(done.to_dispatch), SEND_BATCH):
                send_messages(done.to_dispatch[start : start + SEND_BATCH])
        if not done.rows:
            return
