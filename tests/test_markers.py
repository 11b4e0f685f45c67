"""The `postgres` and `redis` markers are set from the fixtures a test uses (tests/conftest.py):
checked on tests known to need each service, so the rule cannot stop marking them unseen."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ISSUED = (
    "tests/distribution/test_handovers.py::"
    "test_vouchers_are_issued_once_for_the_selected_families_of_the_municipality"
)
RACE = "tests/distribution/test_handovers.py::test_two_officers_at_once_cannot_both_hand_over"
HEALTH_WITH_REDIS = "tests/core/test_queue_and_health.py::test_healthz_with_redis_configured"
HEALTH_REDIS_DOWN = (
    "tests/core/test_queue_and_health.py::test_healthz_reports_redis_down_but_stays_up"
)


def selected(marker: str, *paths: str) -> set[str]:
    """The test ids `pytest -m marker` collects from `paths` (nothing runs)."""
    command = [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"]
    result = subprocess.run(
        [*command, "-m", marker, *paths], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert result.returncode in (0, 5), result.stdout + result.stderr  # 5: none selected
    return {line for line in result.stdout.splitlines() if "::" in line}


def test_a_test_on_the_postgresql_store_or_a_database_of_its_own_is_marked_postgres() -> None:
    marked = selected("postgres", "tests/distribution/test_handovers.py")
    assert f"{ISSUED}[postgresql]" in marked
    assert f"{ISSUED}[sqlite]" not in marked
    assert RACE in marked  # race_engine: a PostgreSQL database of its own


def test_a_test_that_asks_for_redis_is_marked_redis() -> None:
    marked = selected("redis", "tests/core/test_queue_and_health.py")
    assert {f"{HEALTH_WITH_REDIS}[sqlite]", f"{HEALTH_WITH_REDIS}[postgresql]"} <= marked
    assert HEALTH_REDIS_DOWN not in marked  # a Redis that is not there: no server needed
