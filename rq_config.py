"""Read by the Procfile's RQ processes at start (`rq worker --config=rq_config`).

RQ's workers do not load `wsgi.py`, so this is where they learn, before anything imports
prometheus_client, where every process of the checkout keeps its counters: the SMS they
send (`intake_sms_sent_total`) then reach `/metrics` with the web's and the consumers'.
"""

import os
from pathlib import Path

os.environ.setdefault(
    "PROMETHEUS_MULTIPROC_DIR", str(Path(__file__).resolve().parent / "var" / "metrics")
)
Path(os.environ["PROMETHEUS_MULTIPROC_DIR"]).mkdir(parents=True, exist_ok=True)
