"""The clock guard: the date-sensitive tests again, on days chosen to break date assumptions.

A test that hard-codes a date the code reads from the clock (or code that reads the machine's
date where the service clock belongs) passes on the day it is written and fails weeks later.
This runs those tests under libfaketime (the whole process, its threads and children see the
moved clock; PostgreSQL and Redis keep theirs, and the service asks neither for the time) at:

- Beirut's New Year at least a year ahead, half an hour after midnight: the month and the year
  have just changed in Beirut while UTC is still on 31 December, so a Beirut day and a UTC day
  differ and every 14-day window spans two months and two years;
- the first change of Beirut's summer time at least a year ahead, 90 minutes after it: the
  week and the 14-day windows span a 23- or 25-hour day.

The dates move with the calendar, so the guard never turns into a date in the past.
`bin/test` runs it (and so CI) before the whole suite; `python -m tests.clock_guard --dry-run`
prints the dates. Extra arguments go to pytest.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

from core.clock import BEIRUT

# The modules whose behaviour hangs on the date: dashboards, weekly needs, tickets and their
# deadlines, cases, the programme window, links and forms, corrections, lists and vouchers,
# the complaint room's hours, sign-in sessions and throttles.
TIME_SENSITIVE = (
    "tests/webforms/test_dashboard.py",
    "tests/webforms/test_needs.py",
    "tests/webforms/test_donations.py",
    "tests/core/test_donations.py",
    "tests/core/test_tickets.py",
    "tests/cli/test_cli_tickets.py",
    "tests/webforms/test_cases.py",
    "tests/webforms/test_decisions.py",
    "tests/cli/test_cli_programme.py",
    "tests/webforms/test_forms.py",
    "tests/webforms/test_correction_link.py",
    "tests/core/test_corrections.py",
    "tests/scoring/test_lists.py",
    "tests/distribution/test_handovers.py",
    "tests/distribution/test_vouchers.py",
    "tests/ivr/test_ivr.py",
    "tests/sms/test_sms_inbound.py",
    "tests/hotline/test_hotline_console.py",
    "tests/webforms/test_console_callbacks.py",
    "tests/scoring/test_scoring_jobs.py",
    "tests/webforms/test_inspection.py",
    "tests/core/test_audit.py",
    "tests/web/test_web_auth.py",
    "tests/core/test_queue_and_health.py",
    "tests/core/test_second_factor.py",
    "tests/web/test_second_factor.py",
    "tests/core/test_password_resets.py",
    "tests/core/test_staff_work.py",
    "tests/webforms/test_bulk_links.py",
    "tests/webforms/test_broadcasts.py",
    "tests/webforms/test_printing.py",
    "tests/core/test_retention.py",
    "tests/distribution/test_publication.py",
    "tests/cli/test_cli_backup.py",
    "tests/hotline/test_recording_retention.py",
    "tests/core/test_resends.py",
    "tests/sms/test_sms_resends.py",
    "tests/webforms/test_status_page.py",
    "tests/core/test_status_codes.py",
    "tests/core/test_rounds.py",
    "tests/webforms/test_round_pages.py",
)
AHEAD = timedelta(days=365)


def new_year(today: date) -> datetime:
    """00:30 in Beirut on the first 1 January at least a year after `today`, in UTC."""
    year = (today + AHEAD).year + 1
    return datetime(year, 1, 1, 0, 30, tzinfo=BEIRUT).astimezone(UTC)


def summer_time_change(today: date) -> datetime:
    """90 minutes after the first change of Beirut's UTC offset at least a year ahead."""
    moment = datetime(today.year, today.month, today.day, tzinfo=UTC) + AHEAD
    offset = moment.astimezone(BEIRUT).utcoffset()
    step = timedelta(minutes=30)
    while moment.astimezone(BEIRUT).utcoffset() == offset:
        moment += step
    return moment + timedelta(minutes=90)


def moments(today: date) -> Iterator[tuple[str, datetime]]:
    yield "Beirut's New Year", new_year(today)
    yield "a change of Beirut's summer time", summer_time_change(today)


def run(moment: datetime, pytest_args: list[str]) -> int:
    """pytest on the time-sensitive tests with the process clock started at `moment`."""
    stamp = moment.strftime("@%Y-%m-%d %H:%M:%S")
    # libfaketime moves the monotonic clock with the wall clock: leaving it real makes its
    # translation of Python's absolute-time sleeps fail with EINVAL.
    env = {**os.environ, "TZ": "UTC"}
    pytest = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "not browser"]
    command = ["faketime", "-f", stamp, *pytest, *TIME_SENSITIVE, *pytest_args]
    return subprocess.run(command, env=env, check=False).returncode


def main(argv: list[str]) -> int:
    dry_run = "--dry-run" in argv
    pytest_args = [a for a in argv if a != "--dry-run"]
    if not dry_run and shutil.which("faketime") is None:
        print("clock guard: faketime is not installed (bin/services installs it)", file=sys.stderr)
        return 1
    # The machine's date, not the service clock: the guard chooses where to move the machine.
    today = datetime.now(UTC).date()
    failed = []
    for name, moment in moments(today):
        print(f"==> clock guard: {name}, {moment:%Y-%m-%d %H:%M} UTC", flush=True)
        if not dry_run and run(moment, pytest_args) != 0:
            failed.append(name)
    if failed:
        print(f"clock guard: tests depend on the date ({', '.join(failed)})", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
