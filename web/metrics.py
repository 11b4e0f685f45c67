"""What an operator watches on launch day, counted where it happens (Prometheus' names).

Every entry (`sms`, `sms_fallback`, `ivr`, `form`, `console`) counts what it accepted and
what it shed; the consumer counts what it decided and how late; the sender counts what it
handed over. Under gunicorn the counters live in `PROMETHEUS_MULTIPROC_DIR` (prometheus_client's
multiprocess mode), so `/metrics` sums every process; without it they are per process.
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

ACCEPTED = Counter(
    "intake_accepted", "Requests an entry took on (buffered, stored or answered)", ["entry"]
)
SHED = Counter("intake_shed", "Requests an entry answered busy instead of doing", ["entry"])
PROCESSED = Counter(
    "intake_processed", "Buffered work done in the background", ["entry", "outcome"]
)
LAG = Histogram(
    "intake_processing_lag_seconds",
    "From an entry accepting work to the background deciding it",
    ["entry"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 180, 600),
)
SENT = Counter("intake_sms_sent", "SMS handed to the provider", ["outcome"])


def accepted(entry: str) -> None:
    ACCEPTED.labels(entry).inc()


def shed(entry: str) -> None:
    SHED.labels(entry).inc()
