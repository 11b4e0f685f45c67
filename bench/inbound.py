"""Inbound SMS on launch day: accepted at the edge, decided by the consumers, and a surge.

1. Accepted per second: signed `POST /sms/inbound` (distinct numbers and MessageSids, wrk
   -t2 -c32) against the service and against the bare signature-only webhook
   (bench/bare_webhook.py), on the same gunicorn shape in the same run: the issue's 2 sync
   workers, then the Procfile's web line. Target: the service ≥ 0.4× bare and ≥ 1,400/s
   (2 sync workers). Every 2xx must be in the buffer (stream or store inbox) afterwards.
2. Consumers: N messages in the buffer, drained by the Procfile's `consumer` processes; a
   reply is handed to the gateway when its outbound `messages` row exists. Target ≥ 400/s.
3. Reply latency at 50 messages/s steady, open loop: from the instant the webhook was sent to
   the reply's row. Target p99 ≤ 2 s.
4. The surge: 60,000 distinct messages at 1,000/s, open loop (bench/openloop.py): every one
   answered 2xx within 15 s, each MessageSid stored once, one reply each, and the backlog
   (stream and store inbox) empty within 3 minutes after the last was sent.

`python -m bench.inbound` (all four; `--only accept` etc. for one). Exits 1 when a target is
missed. BENCH_DATABASE_URL / BENCH_REDIS_URL choose the store and Redis (they are wiped).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from redis import Redis
from sqlalchemy import Engine, text

from bench import load
from bench.launch import (
    PG_URL,
    PROCFILE_WEB,
    REDIS_URL,
    SYNC_2,
    Server,
    Shape,
    Texts,
    bench_env,
    count,
    report,
    start_consumers,
    texts,
    wait,
)
from bench.openloop import run, signed_posts
from core.db import make_engine, utcnow
from tests.plugins.fake_twilio import FakeTwilio
from tests.support.stack import Stack, fresh_database

STREAM = "intake:sms:inbound"  # sms/buffer.py's
WRK_SCRIPT = Path(__file__).with_name("requests.lua")
RATIO, ACCEPTED, CONSUMED, STEADY_P99, DRAIN_S = 0.4, 1400.0, 400.0, 2000.0, 180.0


class Bench:
    """The stack of one run, its store and Redis, and what it measured."""

    def __init__(self, stack: Stack, engine: Engine, redis: Redis, folder: Path) -> None:
        self.stack = stack
        self.engine = engine
        self.redis = redis
        self.folder = folder
        self.rows: list[tuple[str, str, str, bool | None]] = []  # what, measured, target, met

    def report(self, what: str, measured: str, target: str = "", met: bool | None = None) -> None:
        self.rows.append((what, measured, target, met))
        mark = "" if met is None else (" — met" if met else " — MISSED")
        print(f"  {what}: {measured}{mark}", flush=True)

    def backlog(self) -> int:
        depth: int = self.redis.xlen(STREAM)  # type: ignore[assignment]
        return depth + count(self.engine, "SELECT count(*) FROM pending_sms")

    def replies(self, phones: Sequence[str]) -> int:
        return count(
            self.engine,
            "SELECT count(*) FROM messages WHERE direction = 'outbound' AND phone = ANY(:p)",
            p=list(phones),
        )

    # --- 1. accepted per second ----------------------------------------------------------

    def accept(self, shape: Shape, seconds: int) -> None:
        print(f"\naccepted per second, {shape.name}, wrk -t2 -c32 for {seconds} s", flush=True)
        load.DURATION = f"{seconds}s"
        results = {}
        for label, app in (("bare webhook", "bench.bare_webhook:app"), ("service", "wsgi:app")):
            batch = texts(6000 * seconds)  # more than either can take: no request twice
            lines = self.folder / "accept.txt"
            lines.write_text("\n".join(batch.lines))
            before = self.backlog()
            server = Server(self.stack, app, shape, self.folder / f"gunicorn-{label[:4]}.log")
            try:
                result = load.wrk(
                    server.base,
                    WRK_SCRIPT,
                    {"REQUESTS": str(lines)},
                    database=self.engine.url.database,
                )
            finally:
                server.stop()
            accepted = result["rps"] - result["errors"] / seconds
            results[label] = accepted
            self.report(
                f"{label}, {shape.name}",
                f"{accepted:.0f}/s accepted, p99 {result['p99']:.1f} ms, "
                f"{result['errors']:.0f} non-2xx, gunicorn CPU {result.get('cpu_gunicorn', 0):.2f}"
                " ms/request",
            )
            if label == "service":
                buffered = self.backlog() - before
                answered = result["requests"] - result["errors"]
                self.report(
                    f"service, {shape.name}: in the buffer afterwards",
                    f"{buffered} of {answered:.0f} answered 2xx (wrk may leave a few unread)",
                    "every one",
                    buffered >= answered,
                )
        ratio = results["service"] / results["bare webhook"]
        issue_shape = shape == SYNC_2
        self.report(
            f"service / bare, {shape.name}",
            f"{ratio:.2f}× ({results['service']:.0f}/s against {results['bare webhook']:.0f}/s)",
            f"≥ {RATIO}×" + (f" and ≥ {ACCEPTED:.0f}/s" if issue_shape else ""),
            ratio >= RATIO and (results["service"] >= ACCEPTED or not issue_shape),
        )
        self.redis.delete(STREAM)  # these are not for the consumers
        with self.engine.begin() as conn:
            conn.execute(text("DELETE FROM pending_sms"))

    # --- 2. consumers ---------------------------------------------------------------------

    def consume(self, messages: int, consumers: int) -> None:
        print(f"\nconsumers: {messages} buffered messages, {consumers} consumer(s)", flush=True)
        from core.inbox import RawSms
        from sms.buffer import SmsBuffer

        batch = texts(messages)
        buffer = SmsBuffer(self.redis, 10_000_000)
        received = utcnow()
        for sid, phone in zip(batch.sids, batch.phones, strict=True):
            buffer.offer(RawSms(sid, phone, "+9611766", "HELP", received))
        began = time.monotonic()
        start_consumers(self.stack, consumers, self.folder / "consumers.log")
        took = wait(lambda: self.replies(batch.phones) >= messages, 60 + messages / 50, every=0.5)
        wall = time.monotonic() - began
        with self.engine.connect() as conn:
            replies, first, last = conn.execute(
                text(
                    "SELECT count(*), min(created_at), max(created_at) FROM messages "
                    "WHERE direction = 'outbound' AND phone = ANY(:p)"
                ),
                {"p": batch.phones},
            ).one()
        span = (last - first).total_seconds() if replies > 1 else 0.0
        rate = (replies - 1) / span if span > 0 else 0.0
        self.report(
            "consumers: replies handed to the gateway",
            f"{replies} of {messages} in {wall:.1f} s from start-up; "
            f"{rate:.0f}/s from the first reply to the last",
            f"≥ {CONSUMED:.0f}/s, all",
            took is not None and replies == messages and rate >= CONSUMED,
        )

    # --- 3. steady --------------------------------------------------------------------------

    def steady(self, server: Server, seconds: int, rate: float = 50.0) -> None:
        print(f"\nreply latency at {rate:.0f} messages/s for {seconds} s, open loop", flush=True)
        batch = texts(round(rate * seconds))
        outcome = run(server.base, signed_posts(batch.lines, "intake.bench"), rate)
        wait(lambda: self.replies(batch.phones) >= outcome.ok, 60)
        instants = {phone: outcome.started_at + i / rate for i, phone in enumerate(batch.phones)}
        with self.engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT phone, extract(epoch FROM min(created_at)) FROM messages "
                    "WHERE direction = 'outbound' AND phone = ANY(:p) GROUP BY phone"
                ),
                {"p": batch.phones},
            ).all()
        latencies = sorted(1000 * (float(at) - instants[phone]) for phone, at in rows)
        p50, p99 = _quantile(latencies, 0.5), _quantile(latencies, 0.99)
        self.report(
            f"steady {rate:.0f}/s: webhook answers",
            f"{outcome.ok} of {outcome.scheduled} 2xx, p99 {outcome.percentile(99):.1f} ms",
        )
        self.report(
            f"steady {rate:.0f}/s: reply latency (webhook sent → reply row)",
            f"{len(rows)} of {len(batch.phones)} replied; p50 {p50:.0f} ms, p99 {p99:.0f} ms",
            f"p99 ≤ {STEADY_P99:.0f} ms, all",
            len(rows) == len(batch.phones) and p99 <= STEADY_P99,
        )

    # --- 4. the surge -----------------------------------------------------------------------

    def surge(
        self, server: Server, messages: int, rate: float, processes: int, fresh: bool
    ) -> None:
        print(f"\nsurge: {messages} distinct messages at {rate:.0f}/s, open loop", flush=True)
        batch = texts(messages)
        requests = signed_posts(batch.lines, "intake.bench")
        outcome = run(server.base, requests, rate, processes=processes, keep_alive=not fresh)
        sent_until = outcome.started_at + (messages - 1) / rate
        self.report(
            "surge: generator kept the rate",
            f"sent at {outcome.send_rate:.0f}/s, {outcome.lag_max:.2f} s behind at worst",
            f"≥ {0.95 * rate:.0f}/s (or the run measures the generator)",
            outcome.send_rate >= 0.95 * rate,
        )
        self.report(
            "surge: answered 2xx within 15 s",
            outcome.summary(),
            "all",
            outcome.ok == messages,
        )
        drained = wait(
            lambda: self.backlog() == 0 and self.replies(batch.phones) >= outcome.ok,
            max(1.0, DRAIN_S - (time.time() - sent_until)),
            every=1.0,
        )
        after = time.time() - sent_until
        self._surge_store(batch, outcome.ok, drained is not None, after)
        lost = server.workers_lost()
        self.report("surge: gunicorn workers lost", f"{len(lost)}", "0", not lost)

    def _surge_store(self, batch: Texts, answered: int, drained: bool, after: float) -> None:
        with self.engine.connect() as conn:
            stored, distinct = conn.execute(
                text(
                    "SELECT count(*), count(DISTINCT provider_sid) FROM messages "
                    "WHERE direction = 'inbound' AND provider_sid = ANY(:s)"
                ),
                {"s": batch.sids},
            ).one()
            replies, once = conn.execute(
                text(
                    "SELECT coalesce(sum(n), 0), count(*) FILTER (WHERE n = 1) FROM ("
                    "SELECT count(*) AS n FROM messages WHERE direction = 'outbound' "
                    "AND phone = ANY(:p) GROUP BY phone) AS per_phone"
                ),
                {"p": batch.phones},
            ).one()
        messages = len(batch.sids)
        self.report(
            "surge: MessageSids stored",
            f"{stored} rows, {distinct} distinct, of {messages} sent ({answered} answered 2xx)",
            "each once",
            stored == distinct == messages,
        )
        self.report(
            "surge: replies",
            f"{replies} replies; {once} numbers with exactly one",
            "one each",
            replies == once == messages,
        )
        self.report(
            "surge: backlog drained",
            f"{'empty' if drained else f'{self.backlog()} left'} {after:.0f} s after the last "
            "was sent",
            f"≤ {DRAIN_S:.0f} s",
            drained and after <= DRAIN_S + 1,
        )


def _quantile(values: Sequence[float], q: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[round(q * 100) - 1]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", action="append", choices=["accept", "consume", "steady", "surge"])
    parser.add_argument("--seconds", type=int, default=10, help="each wrk run")
    parser.add_argument("--messages", type=int, default=20_000, help="for the consumers")
    parser.add_argument("--consumers", type=int, default=2, help="consumer processes")
    parser.add_argument("--steady-seconds", type=int, default=60)
    parser.add_argument("--surge", type=int, default=60_000)
    parser.add_argument("--surge-rate", type=float, default=1000)
    parser.add_argument("--generators", type=int, default=2, help="open-loop processes")
    parser.add_argument(
        "--fresh-connections", action="store_true", help="a new connection per request"
    )
    parser.add_argument("--surge-sync", action="store_true", help="surge on 2 sync workers")
    args = parser.parse_args(argv)
    parts = args.only or ["accept", "consume", "steady", "surge"]

    database_url = fresh_database(PG_URL, name=make_engine(PG_URL).url.database or "intake_bench")
    redis = Redis.from_url(REDIS_URL)
    redis.flushdb()
    engine = make_engine(database_url)
    with FakeTwilio() as twilio, tempfile.TemporaryDirectory() as folder:
        stack = Stack(database_url, REDIS_URL, twilio)
        bench_env(stack)
        bench = Bench(stack, engine, redis, Path(folder))
        try:
            if "accept" in parts:
                bench.accept(SYNC_2, args.seconds)
                bench.accept(PROCFILE_WEB, args.seconds)
            if "consume" in parts:
                bench.consume(args.messages, args.consumers)
            if {"steady", "surge"} & set(parts):
                if "consume" not in parts:
                    start_consumers(stack, args.consumers, Path(folder, "consumers.log"))
                shape = SYNC_2 if args.surge_sync else PROCFILE_WEB
                server = Server(stack, "wsgi:app", shape, Path(folder, "gunicorn.log"))
                if "steady" in parts:
                    bench.steady(server, args.steady_seconds)
                if "surge" in parts:
                    bench.surge(
                        server,
                        args.surge,
                        args.surge_rate,
                        args.generators,
                        args.fresh_connections,
                    )
        finally:
            stack.stop()
    engine.dispose()
    return report(bench.rows)


if __name__ == "__main__":
    sys.exit(main())
