"""Overload: each entry at 5× its measured capacity, open loop, for 30 s, then normal load.

For the SMS webhook, the citizen's form (its last page, a complete submission) and the IVR's
main-menu step, each on the Procfile's web shape with its consumers:

1. capacity: what the entry answers per second in a closed loop (wrk -t2 -c32, distinct
   requests), the same run;
2. open loop (bench/openloop.py): 5× that for 30 s, then half of it ("normal") for 30 s;
3. what came back: the status counts (besides 2xx/3xx only deliberate 503 with Retry-After are
   allowed; a time-out or a refused connection is a miss too), the IVR's busy TwiML counted
   apart, whether a gunicorn worker died or was replaced (worker pids before and after), and
   when, in the normal phase, every second's requests were again answered at once (2xx within
   1 s, 99 %): target within 30 s;
4. the store: every SMS answered 2xx has its MessageSid in `messages` exactly once once the
   consumers drained the backlog; every form answered with its redirect is an application,
   none twice.

`python -m bench.overload` (`--entry sms` etc. for one; `--seconds 10` for shorter phases).
The busy answers are whatever the tree has (web/overload.py, MAX_IN_FLIGHT_*): this reports
what happens, and exits 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from redis import Redis
from sqlalchemy import Engine, text

from bench import load
from bench.launch import (
    PG_URL,
    PROCFILE_WEB,
    REDIS_URL,
    Server,
    bench_env,
    count,
    report,
    start_consumers,
    texts,
    wait,
)
from bench.openloop import Outcome, run, signed_posts
from core.db import make_engine
from tests.plugins.fake_twilio import FakeTwilio
from tests.support.stack import Stack, fresh_database

WRK_SCRIPT = Path(__file__).with_name("requests.lua")
STREAM = "intake:sms:inbound"
FACTOR, NORMAL = 5.0, 0.5  # overload and normal load, as multiples of the measured capacity
RECOVERY_S = 30.0
PROMPT_MS = 1000.0  # "answered at once" in the normal phase


@dataclass
class Entry:
    """One entry: its name, its requests (wrk lines) and how its answers are judged."""

    name: str
    lines: Callable[[int], list[str]]  # n distinct requests
    marker: bytes | None = None  # a 2xx body holding it is the busy answer
    answered: range = range(200, 300)  # what counts as served
    closed_loop_max: int = 6000  # requests/s wrk could not exceed (prepared for it)


class Overload:
    def __init__(self, stack: Stack, engine: Engine, redis: Redis, folder: Path) -> None:
        self.stack = stack
        self.engine = engine
        self.redis = redis
        self.folder = folder
        self.rows: list[tuple[str, str, str, bool | None]] = []
        self.applications_before = 0

    def report(self, what: str, measured: str, target: str = "", met: bool | None = None) -> None:
        self.rows.append((what, measured, target, met))
        mark = "" if met is None else (" — met" if met else " — MISSED")
        print(f"  {what}: {measured}{mark}", flush=True)

    def entry(
        self,
        server: Server,
        entry: Entry,
        seconds: float,
        generators: int,
        capacity_s: int,
        given: float | None = None,
    ) -> tuple[Outcome, list[str]]:
        print(f"\n{entry.name}", flush=True)
        if given:
            capacity = given
            self.report(f"{entry.name}: capacity (given)", f"{capacity:.0f}/s")
        else:
            load.DURATION = f"{capacity_s}s"
            lines = self.folder / f"{entry.name}.txt"
            lines.write_text("\n".join(entry.lines(entry.closed_loop_max * capacity_s)))
            closed = load.wrk(
                server.base,
                WRK_SCRIPT,
                {"REQUESTS": str(lines)},
                database=self.engine.url.database,
            )
            capacity = max(1.0, closed["rps"] - closed["errors"] / capacity_s)
            self.report(
                f"{entry.name}: capacity (closed loop, wrk -t2 -c32, 2xx/3xx per second)",
                f"{capacity:.0f}/s",
            )
        phases = [(seconds, FACTOR * capacity), (seconds, NORMAL * capacity)]
        total = round(seconds * FACTOR * capacity) + round(seconds * NORMAL * capacity)
        sent = entry.lines(total)
        requests = signed_posts(sent, urlsplit(server.base).netloc)
        self.applications_before = count(self.engine, "SELECT count(*) FROM applications")
        outcome = run(server.base, requests, phases, processes=generators, marker=entry.marker)
        self.judge(entry, outcome, seconds, capacity, server)
        return outcome, sent

    def judge(
        self, entry: Entry, outcome: Outcome, seconds: float, capacity: float, server: Server
    ) -> None:
        over, normal = outcome.window(0, seconds), outcome.window(seconds, 2 * seconds)
        for label, part, rate in (
            (f"{FACTOR:.0f}×", over, FACTOR * capacity),
            ("normal", normal, NORMAL * capacity),
        ):
            served = sum(n for s, n in part.statuses.items() if s in entry.answered)
            busy = part.busy_with_retry_after
            wrong = {s: n for s, n in part.statuses.items() if s not in entry.answered and s != 503}
            bare_503 = part.statuses.get(503, 0) - busy
            self.report(
                f"{entry.name}: {label} phase, {rate:.0f}/s asked",
                f"{part.scheduled} sent; served {served}"
                + (f" (busy TwiML {outcome.marked} over both phases)" if entry.marker else "")
                + f", 503 with Retry-After {busy}, 503 without {bare_503}, other statuses "
                f"{dict(sorted(wrong.items())) or 'none'}, timed out {part.timed_out}, refused "
                f"{part.refused}, broken {part.broken}",
                "only 2xx/3xx and 503 with Retry-After",
                not wrong and bare_503 == 0 and not (part.timed_out + part.refused + part.broken),
            )
        asked = (FACTOR + NORMAL) * capacity / 2
        self.report(
            f"{entry.name}: generator kept the rate",
            f"sent at {outcome.send_rate:.0f}/s on average over both phases (asked "
            f"{asked:.0f}/s), {outcome.lag_max:.2f} s behind at worst",
            f"≥ {0.95 * asked:.0f}/s (or the run measures the generator)",
            outcome.send_rate >= 0.95 * asked,
        )
        self.report(f"{entry.name}: both phases", outcome.summary())
        recovered = _recovery(outcome, entry, seconds)
        self.report(
            f"{entry.name}: back to normal after the overload",
            "never" if recovered is None else f"after {recovered:.0f} s",
            f"≤ {RECOVERY_S:.0f} s",
            recovered is not None and recovered <= RECOVERY_S,
        )
        lost = server.workers_lost()
        self.report(
            f"{entry.name}: gunicorn workers died or replaced", f"{len(lost)}", "0", not lost
        )

    def sms_stored(self, outcome: Outcome, sent: list[str]) -> None:
        accepted = [_field(sent[r[4]], "MessageSid") for r in outcome.records if 200 <= r[1] < 300]
        drained = wait(lambda: self._backlog() == 0, 300, every=1.0)
        with self.engine.connect() as conn:
            stored, distinct = conn.execute(
                text(
                    "SELECT count(*), count(DISTINCT provider_sid) FROM messages "
                    "WHERE direction = 'inbound' AND provider_sid = ANY(:s)"
                ),
                {"s": accepted},
            ).one()
        self.report(
            "SMS webhook: accepted messages stored",
            f"{stored} of {len(accepted)} answered 2xx ({distinct} distinct); backlog "
            f"{'drained' if drained is not None else f'{self._backlog()} left after 300 s'}",
            "each once",
            stored == distinct == len(accepted),
        )

    def forms_stored(self, outcome: Outcome) -> None:
        redirected = sum(1 for r in outcome.records if 200 <= r[1] < 400)
        stored = count(self.engine, "SELECT count(*) FROM applications")
        stored -= self.applications_before
        self.report(
            "form: applications stored",
            f"{stored} applications, {redirected} submissions answered 2xx/3xx (a timed-out "
            "one may be stored too)",
            "≥ the answered ones, each link once",
            stored >= redirected,
        )

    def _backlog(self) -> int:
        depth: int = self.redis.xlen(STREAM)  # type: ignore[assignment]
        return depth + count(self.engine, "SELECT count(*) FROM pending_sms")


def _field(line: str, name: str) -> str:
    from urllib.parse import parse_qs

    return parse_qs(line.split("\t", 2)[2])[name][0]


def _recovery(outcome: Outcome, entry: Entry, seconds: float) -> float | None:
    """Seconds into the normal phase from which every second's requests were answered at once
    (99 % served within PROMPT_MS), or None."""
    normal = int(seconds)
    good = []
    for second in range(normal):
        part = outcome.window(seconds + second, seconds + second + 1)
        prompt = sum(1 for r in part.records if r[1] in entry.answered and r[2] <= PROMPT_MS)
        good.append(part.scheduled == 0 or prompt >= 0.99 * part.scheduled)
    for second in range(normal):
        if all(good[second:]):
            return float(second)
    return None


def form_lines(database_url: str) -> Callable[[int], list[str]]:
    from bench.submissions import prepare_links
    from tests.support.households import pages

    body = urlencode(pages(0)["finances"], doseq=True)

    families = [1]

    def lines(n: int) -> list[str]:
        first, families[0] = families[0], families[0] + n  # a new family each, in every call
        tokens = prepare_links(database_url, n, first)
        return [f"/f/{token}/finances\t-\t{body}" for token in tokens]

    return lines


def ivr_lines(base: str) -> Callable[[int], list[str]]:
    import secrets

    from bench.hotline import call_fields, menu_step, signed_line

    step = menu_step(base)

    def lines(n: int) -> list[str]:
        return [
            signed_line(step, {**call_fields("CA" + secrets.token_hex(16)), "Digits": "9"})
            for _n in range(n)
        ]

    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--entry", action="append", choices=["sms", "form", "ivr"])
    parser.add_argument("--seconds", type=float, default=30, help="each phase")
    parser.add_argument("--capacity-seconds", type=int, default=5)
    parser.add_argument("--consumers", type=int, default=2)
    parser.add_argument("--generators", type=int, default=2, help="open-loop processes")
    parser.add_argument(
        "--capacity",
        action="append",
        default=[],
        metavar="ENTRY=RATE",
        help="a capacity measured elsewhere (e.g. form=212 from bench.submissions) instead of "
        "this run's closed loop",
    )
    args = parser.parse_args(argv)
    given = {name: float(rate) for name, rate in (c.split("=", 1) for c in args.capacity)}
    entries = args.entry or ["sms", "form", "ivr"]
    database_url = fresh_database(PG_URL, name=make_engine(PG_URL).url.database or "intake_bench")
    redis = Redis.from_url(REDIS_URL)
    redis.flushdb()
    engine = make_engine(database_url)
    with FakeTwilio() as twilio, tempfile.TemporaryDirectory() as folder:
        stack = Stack(database_url, REDIS_URL, twilio)
        bench_env(stack)
        bench = Overload(stack, engine, redis, Path(folder))
        try:
            start_consumers(stack, args.consumers, Path(folder, "consumers.log"))
            for name in entries:
                # A fresh server per entry: one entry's aftermath is not the next one's start.
                server = Server(stack, "wsgi:app", PROCFILE_WEB, Path(folder, f"{name}.log"))
                try:
                    if name == "sms":
                        entry = Entry("SMS webhook", lambda n: texts(n).lines)
                    elif name == "form":
                        entry = Entry(
                            "form",
                            form_lines(database_url),
                            answered=range(200, 400),
                            closed_loop_max=1000,
                        )
                    else:
                        entry = Entry("IVR step", ivr_lines(server.base), marker=b"/ivr/busy")
                    outcome, sent = bench.entry(
                        server,
                        entry,
                        args.seconds,
                        args.generators,
                        args.capacity_seconds,
                        given.get(name),
                    )
                finally:
                    server.stop()
                if name == "sms":
                    bench.sms_stored(outcome, sent)
                if name == "form":
                    bench.forms_stored(outcome)
        finally:
            stack.stop()
    engine.dispose()
    return report(bench.rows)


if __name__ == "__main__":
    sys.exit(main())
