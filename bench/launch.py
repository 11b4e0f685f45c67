"""What the launch-day benchmarks share: servers of a given shape, the Procfile's processes,
signed requests with distinct numbers and MessageSids, and the store's counts at the end."""

from __future__ import annotations

import os
import re
import secrets
import shlex
import signal
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

from sqlalchemy import Engine, text
from twilio.request_validator import RequestValidator

from tests.plugins.fake_twilio import ACCOUNT_SID, AUTH_TOKEN
from tests.support.stack import BIN, ROOT, Stack, free_port, kill, wait_for

PG_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1/intake_bench"
)
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
PUBLIC = "https://intake.bench"
HOTLINE = "+9611766"
VALIDATOR = RequestValidator(AUTH_TOKEN)
PROCFILE = ROOT / "Procfile"


@dataclass(frozen=True)
class Shape:
    """How gunicorn serves: the issue's table (2 sync workers) or the Procfile's web line."""

    name: str
    workers: int
    threads: int
    options: tuple[str, ...] = ("--timeout", "30")  # gunicorn's others


def procfile_web() -> Shape:
    """The Procfile's web line: its --workers (WEB_CONCURRENCY's default), --threads and
    every other option as written (the access log too: it costs CPU), less --bind and the app."""
    args = procfile_command("web", "gunicorn --workers 4 --threads 4 wsgi:app")[1:-1]
    values: dict[str, str] = {}
    options: list[str] = []
    i = 0
    while i < len(args):
        if args[i] in ("--bind", "--workers", "--threads"):
            values[args[i]] = args[i + 1]
            i += 2
            continue
        options.append(args[i])
        i += 1
    workers, threads = int(values.get("--workers", "1")), int(values.get("--threads", "1"))
    name = f"Procfile: {workers} workers × {threads} threads"
    return Shape(name, workers, threads, tuple(options))


SYNC_2 = Shape("2 sync workers", 2, 1)


class Server:
    """One gunicorn master serving `app` in `shape`, and the pids of its workers."""

    def __init__(self, stack: Stack, app: str, shape: Shape, log: Path | None = None) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        args = [
            str(BIN / "gunicorn"),
            "--bind",
            f"127.0.0.1:{self.port}",
            "--workers",
            str(shape.workers),
            "--threads",
            str(shape.threads),
            *shape.options,
        ]
        if log is not None:
            args += ["--error-logfile", str(log)]
        self.process = spawn(stack, [*args, app], log)
        wait_for(f"{self.base}/healthz")
        self.workers_at_start = self.worker_pids()

    def worker_pids(self) -> set[int]:
        return children(self.process.pid)

    def workers_lost(self) -> set[int]:
        """Workers that were serving at the start and are gone (died, killed, restarted)."""
        return self.workers_at_start - self.worker_pids()

    def stop(self) -> None:
        kill(self.process, signal.SIGTERM)


def spawn(stack: Stack, args: Sequence[str], log: Path | None = None) -> subprocess.Popen[bytes]:
    """A process of the stack (stopped with it), output to `log` or nowhere."""
    out = open(log, "ab") if log is not None else subprocess.DEVNULL  # noqa: SIM115
    process = subprocess.Popen(
        list(args), cwd=ROOT, env=stack.env, start_new_session=True, stdout=out, stderr=out
    )
    stack.processes.append(process)
    return process


def children(pid: int) -> set[int]:
    found = set()
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        if int(stat[stat.rindex(")") + 2 :].split()[1]) == pid:
            found.add(int(entry))
    return found


def procfile_command(name: str, default: str) -> list[str]:
    """The Procfile's command for process `name` (the venv's executables), or `default`."""
    line = next(
        (
            line.split(":", 1)[1]
            for line in PROCFILE.read_text().splitlines()
            if line.startswith(f"{name}:")
        ),
        default,
    )
    args = shlex.split(os.path.expandvars(re.sub(r"\$\{(\w+):-([^}]*)\}", r"\2", line)))
    for i, arg in enumerate(args):  # the program, after a `nice -n N` before it
        if (BIN / arg).exists():
            args[i] = str(BIN / arg)
            break
    return args


PROCFILE_WEB = procfile_web()


def start_consumers(
    stack: Stack, count: int, log: Path | None = None
) -> list[subprocess.Popen[bytes]]:
    """`count` of the Procfile's `consumer` processes."""
    command = procfile_command("consumer", "flask --app wsgi sms consume")
    return [spawn(stack, command, log) for _ in range(count)]


def bench_env(stack: Stack) -> None:
    """The service as the benchmarks run it: the public URL Twilio signs, test settings."""
    stack.env["INTAKE_ENV"] = "test"
    stack.env["PUBLIC_BASE_URL"] = PUBLIC


def signed(path: str, fields: dict[str, str]) -> str:
    """A line of bench/requests.lua: path, Twilio's signature, the form."""
    return f"{path}\t{VALIDATOR.compute_signature(PUBLIC + path, fields)}\t{urlencode(fields)}"


@dataclass
class Texts:
    """Distinct SMS (a number and a MessageSid each): request lines, their sids and numbers."""

    lines: list[str]
    sids: list[str]
    phones: list[str]


_NEXT_NUMBER = [0]


def texts(count: int, body: str = "HELP") -> Texts:
    """`count` SMS from numbers never used before in this process (no flood limit, no cap)."""
    first = _NEXT_NUMBER[0]
    _NEXT_NUMBER[0] += count
    lines, sids, phones = [], [], []
    for n in range(first, first + count):
        sid = "SM" + secrets.token_hex(16)
        phone = f"+9613{100000 + n:06d}"  # a Lebanese mobile (03 and six digits) each
        fields = {
            "MessageSid": sid,
            "AccountSid": ACCOUNT_SID,
            "From": phone,
            "To": HOTLINE,
            "Body": body,
            "NumSegments": "1",
            "NumMedia": "0",
        }
        lines.append(signed("/sms/inbound", fields))
        sids.append(sid)
        phones.append(phone)
    return Texts(lines, sids, phones)


def count(engine: Engine, sql: str, **params: object) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(sql), params).scalar() or 0)


def wait(condition: object, seconds: float, every: float = 0.5) -> float | None:
    """Seconds until `condition()` held, or None if it did not within `seconds`."""
    began = time.monotonic()
    while time.monotonic() - began < seconds:
        if condition():  # type: ignore[operator]
            return time.monotonic() - began
        time.sleep(every)
    return None


def report(rows: list[tuple[str, str, str, bool | None]]) -> int:
    """The table of measures against targets, and the exit status: 1 when one was missed."""
    print("\n| measure | result | target | met |\n|---|---|---|---|")
    for what, measured, target, met in rows:
        print(
            f"| {what} | {measured} | {target} | {'' if met is None else 'yes' if met else 'NO'} |"
        )
    missed = [what for what, _m, _t, met in rows if met is False]
    print(f"\n{len(missed)} target(s) missed" + (": " + "; ".join(missed) if missed else ""))
    return 1 if missed else 0
