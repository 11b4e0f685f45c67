"""Load with wrk against a running stack, with the CPU each server process spent on it."""

from __future__ import annotations

import os
import re
import subprocess
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

DURATION = "10s"


def cpu_seconds(url: str | None = None, database: str | None = None) -> Counter[str]:
    """CPU time used so far by the service's processes, by kind (Linux /proc).

    With `url`, only the gunicorn serving its port; with `database`, only PostgreSQL's
    backends of that database (and its shared background processes): other benchmarks on
    the same machine do not count.
    """
    bind = f":{urlsplit(url).port}\0".encode() if url else b""
    used: Counter[str] = Counter()
    tick = os.sysconf("SC_CLK_TCK")
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
            command = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue  # ended meanwhile
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        kind = "gunicorn" if b"gunicorn" in command else name
        if kind == "gunicorn" and bind not in command:
            continue  # another server's
        if kind == "postgres" and database and not _ours(command, database):
            continue
        if kind in ("gunicorn", "postgres", "redis-server"):
            used[kind] += (int(fields[11]) + int(fields[12])) / tick
    return used


def _ours(command: bytes, database: str) -> bool:
    """A backend of `database`, or one of PostgreSQL's shared processes (WAL writer…)."""
    title = command.split(b"\0")[0]
    return b"(" not in title or f" {database} ".encode() in title


def wrk(
    url: str,
    script: Path | None = None,
    env: dict[str, str] | None = None,
    connections: int = 32,
    database: str | None = None,
) -> dict[str, float]:
    """Requests/s, latency and, per request, the CPU milliseconds of each server process."""
    args = ["wrk", "-t2", f"-c{connections}", f"-d{DURATION}", "--latency", "--timeout", "10s"]
    if script:
        args += ["-s", str(script)]
    before = cpu_seconds(url, database)
    out = subprocess.run(
        [*args, url], capture_output=True, text=True, check=True, env={**os.environ, **(env or {})}
    ).stdout
    used = cpu_seconds(url, database)
    used.subtract(before)
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    return {
        **{f"cpu_{kind}": 1000 * seconds / max(requests, 1) for kind, seconds in used.items()},
        "requests": float(requests),
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore[union-attr]
        "p50": _ms(re.search(r"50%\s+([\d.]+\w+)", out).group(1)),  # type: ignore[union-attr]
        "p99": _ms(re.search(r"99%\s+([\d.]+\w+)", out).group(1)),  # type: ignore[union-attr]
        "errors": float(m.group(1))
        if (m := re.search(r"Non-2xx or 3xx responses: (\d+)", out))
        else 0.0,
    }


def _ms(value: str) -> float:
    number, unit = float(re.match(r"[\d.]+", value).group(0)), value.lstrip("0123456789.")  # type: ignore[union-attr]
    return number * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def print_table(rows: list[tuple[str, dict[str, float]]]) -> None:
    """A Markdown table of wrk results, one row per endpoint."""
    print(
        "| endpoint | requests/s | p50 (ms) | p99 (ms) | non-2xx "
        "| CPU ms/request: gunicorn | PostgreSQL | Redis |\n|---|---|---|---|---|---|---|---|"
    )
    for label, row in rows:
        print(
            f"| {label} | {row['rps']:.0f} | {row['p50']:.1f} | {row['p99']:.1f} "
            f"| {row['errors']:.0f} | {row.get('cpu_gunicorn', 0):.2f} "
            f"| {row.get('cpu_postgres', 0):.2f} | {row.get('cpu_redis-server', 0):.2f} |"
        )
