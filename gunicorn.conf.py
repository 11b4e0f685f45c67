"""gunicorn's settings beyond the Procfile's command line: /metrics summed over every process.

gunicorn reads this file from the directory it starts in (the checkout, as the Procfile and
bin/serve run it). prometheus_client's multiprocess mode keeps each process's counters in
files under PROMETHEUS_MULTIPROC_DIR, which must be set before any worker imports the library;
`wsgi.py` sets the same default for the Procfile's other processes (`flask --app wsgi ...`),
so the consumers' and the relay's counts reach /metrics too.
"""

import os
import re
from pathlib import Path

METRICS_DIR = Path(
    os.environ.setdefault(
        "PROMETHEUS_MULTIPROC_DIR", str(Path(__file__).resolve().parent / "var" / "metrics")
    )
)
METRICS_DIR.mkdir(parents=True, exist_ok=True)
_PID = re.compile(r"_(\d+)\.db$")


def on_starting(server):
    """Forget the files of processes that are gone (an earlier run); keep the living ones'."""
    for path in METRICS_DIR.glob("*.db"):
        found = _PID.search(path.name)
        if found is None or not _alive(int(found.group(1))):
            path.unlink(missing_ok=True)


def child_exit(server, worker):
    """A worker ended: its live gauges leave the sums (its counters stay, as Prometheus wants)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
