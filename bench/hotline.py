"""Inbound SMS webhooks per second and IVR step latency under gunicorn, PostgreSQL and Redis.

Every request is a distinct, correctly signed Twilio webhook: inbound SMS come from 20,000
different numbers with their own `MessageSid` (so neither the flood limit nor the replay
store short-cuts them), each asking for HELP; IVR steps are the main menu answered with 9
(repeat) by 20,000 different calls, at 100 concurrent connections — 100 calls in the menu at
once. `/livez` on the same server in the same run shows what the server alone costs.
Run with `bin/bench`; needs `wrk` (Debian's package).
"""

from __future__ import annotations

import os
import random
import secrets
import statistics
import sys
import tempfile
import threading
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import requests
from redis import Redis
from twilio.request_validator import RequestValidator

from bench import openloop
from bench.load import print_table, wrk
from bench.openloop import Outcome, signed_posts
from tests.plugins.fake_twilio import ACCOUNT_SID, AUTH_TOKEN, FakeTwilio
from tests.support.stack import Stack, fresh_database

PG_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1/intake_bench"
)
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
PUBLIC = "https://intake.bench"
HOTLINE = "+9611766"
REQUESTS = 20_000
CALLS = int(os.environ.get("BENCH_CALLS", "1000"))
BUSY = b"/ivr/busy"  # in the IVR's lines-busy TwiML (ivr/busy.py), the target of its key
CALL_SECONDS = float(os.environ.get("BENCH_CALL_SECONDS", "30"))
WRK_SCRIPT = Path(__file__).with_name("requests.lua")
VALIDATOR = RequestValidator(AUTH_TOKEN)


def signed_line(path: str, fields: dict[str, str]) -> str:
    return f"{path}\t{VALIDATOR.compute_signature(PUBLIC + path, fields)}\t{urlencode(fields)}"


def sms_requests(count: int) -> list[str]:
    lines = []
    for n in range(count):
        fields = {
            "MessageSid": "SM" + secrets.token_hex(16),
            "AccountSid": ACCOUNT_SID,
            "From": f"+9613{100000 + n:06d}",
            "To": HOTLINE,
            "Body": "HELP",
            "NumSegments": "1",
            "NumMedia": "0",
        }
        lines.append(signed_line("/sms/inbound", fields))
    return lines


def menu_step(base: str) -> str:
    """The path of the main menu's keys, found the way Twilio finds it: by following TwiML."""
    fields = call_fields("CA" + "0" * 32)
    path = "/ivr/voice"
    language = post(base, path, fields).find(".//Gather")
    if language is None:
        raise SystemExit("the IVR's first answer has no <Gather>")
    path = as_path(language.get("action", ""))
    menu = post(base, path, {**fields, "Digits": "1"}).find(".//Gather")
    if menu is None:
        raise SystemExit("choosing a language led to no <Gather>")
    return as_path(menu.get("action", ""))


def ivr_requests(step: str, count: int) -> list[str]:
    return [
        signed_line(step, {**call_fields("CA" + secrets.token_hex(16)), "Digits": "9"})
        for _n in range(count)
    ]


def calls_in_progress(
    base: str, lines: list[str], calls: int = 100, think: float = 1.0, seconds: float = 15.0
) -> dict[str, float]:
    """`calls` callers at once, each pressing a key, then listening about `think` s.

    This is what 100 concurrent calls are: people who hear a prompt between two key presses
    (a real prompt lasts 5-15 s; 1 s is harsher than life). wrk's closed loop above, with no
    pause at all, measures saturation instead.
    """
    latencies: list[float] = []
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def caller(first: int) -> None:
        pace = random.Random(first)  # callers are not in step with each other
        time.sleep(pace.uniform(0, think))
        with requests.Session() as http:
            n = first
            while time.monotonic() < stop_at:
                path, signature, body = lines[n % len(lines)].split("\t", 2)
                started = time.perf_counter()
                answer = http.post(
                    base + path,
                    data=body,
                    headers={
                        "X-Twilio-Signature": signature,
                        "Content-Type": "application/x-www-form-urlencoded",
                    },
                    timeout=10,
                )
                elapsed = 1000 * (time.perf_counter() - started)
                with lock:
                    latencies.append(elapsed if answer.status_code == 200 else float("inf"))
                n += calls
                time.sleep(pace.uniform(0.5 * think, 1.5 * think))

    threads = [threading.Thread(target=caller, args=(i,)) for i in range(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    cuts = statistics.quantiles(latencies, n=100)
    return {
        "steps": float(len(latencies)),
        "p50": cuts[49],
        "p99": cuts[98],
        "errors": float(sum(1 for x in latencies if x == float("inf"))),
    }


def calls_open_loop(
    base: str, step: str, calls: int = 1000, every: float = 5.0, seconds: float = 30.0
) -> Outcome:
    """`calls` calls in progress, each pressing a key about every `every` s, open loop.

    Each call presses at its own pace (every 0.8-1.2 × `every` s, started at a random point
    of the first interval), whether or not the last answer came: about calls / every steps
    a second that arrive as callers arrive, not as the server lets them (bench/openloop.py).
    """
    pace = random.Random(1766)
    sids = ["CA" + secrets.token_hex(16) for _n in range(calls)]
    presses: list[tuple[float, int]] = []
    for n in range(calls):
        at = pace.uniform(0, every)
        while at < seconds:
            presses.append((at, n))
            at += pace.uniform(0.8 * every, 1.2 * every)
    presses.sort()
    host = urlsplit(base).netloc
    rendered = [
        signed_posts([signed_line(step, {**call_fields(sid), "Digits": "9"})], host)[0]
        for sid in sids
    ]
    return openloop.run(
        base,
        [rendered[n] for _at, n in presses],
        0,
        offsets=[at for at, _n in presses],
        marker=BUSY,  # the lines-busy answer is a 200 too, but the caller was not served
    )


def call_fields(call_sid: str) -> dict[str, str]:
    return {
        "CallSid": call_sid,
        "AccountSid": ACCOUNT_SID,
        "From": "+9613123456",
        "To": HOTLINE,
        "CallStatus": "in-progress",
        "Direction": "inbound",
    }


def post(base: str, path: str, fields: dict[str, str]) -> ET.Element:
    signature = VALIDATOR.compute_signature(PUBLIC + path, fields)
    answer = requests.post(
        base + path, data=fields, headers={"X-Twilio-Signature": signature}, timeout=10
    )
    answer.raise_for_status()
    return ET.fromstring(answer.text)  # noqa: S314 - our own service's TwiML


def as_path(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def main() -> int:
    database_url = fresh_database(PG_URL, name="intake_bench")
    Redis.from_url(REDIS_URL).flushdb()
    workers = int(os.environ.get("BENCH_WEB_WORKERS", "4"))
    threads = int(os.environ.get("BENCH_WEB_THREADS", "4"))
    with FakeTwilio() as twilio, tempfile.TemporaryDirectory() as folder:
        stack = Stack(database_url, REDIS_URL, twilio)
        stack.env["INTAKE_ENV"] = "test"
        stack.env["PUBLIC_BASE_URL"] = PUBLIC
        try:
            stack.start_web(workers=workers, threads=threads)
            sms_file, ivr_file = Path(folder, "sms.txt"), Path(folder, "ivr.txt")
            sms_file.write_text("\n".join(sms_requests(REQUESTS)))
            ivr_file.write_text("\n".join(ivr_requests(menu_step(stack.base), REQUESTS)))
            live = wrk(f"{stack.base}/livez", connections=100)
            sms = wrk(stack.base, WRK_SCRIPT, {"REQUESTS": str(sms_file)})
            ivr = wrk(stack.base, WRK_SCRIPT, {"REQUESTS": str(ivr_file)}, connections=100)
            calls = calls_in_progress(stack.base, ivr_file.read_text().splitlines())
            many = calls_open_loop(stack.base, menu_step(stack.base), CALLS, seconds=CALL_SECONDS)
        finally:
            stack.stop()
    print_table(
        [
            ("GET /livez (100 connections)", live),
            ("POST /sms/inbound (HELP, distinct numbers; 32 connections)", sms),
            ("POST main-menu step, key 9 (100 concurrent calls)", ivr),
        ]
    )
    print(
        f"\n100 calls in progress, each pressing a key every second after the answer: "
        f"{calls['steps']:.0f} steps, p50 {calls['p50']:.1f} ms, p99 {calls['p99']:.1f} ms, "
        f"{calls['errors']:.0f} failed"
    )
    failed = many.scheduled - many.ok + many.marked  # a busy answer failed the caller too
    met = failed == 0 and many.percentile(99) <= 50
    print(
        f"{CALLS} calls in progress, each pressing a key about every 5 s (open loop, "
        f"{many.scheduled / CALL_SECONDS:.0f} steps/s for {CALL_SECONDS:.0f} s): "
        f"{many.scheduled} steps, p50 {many.percentile(50):.1f} ms, "
        f"p99 {many.percentile(99):.1f} ms, {failed} failed, of which {many.marked} heard "
        f"lines busy ({many.summary()}) — "
        f"target p99 ≤ 50 ms, none failed: {'met' if met else 'MISSED'}"
    )
    print(f"gunicorn: {workers} workers × {threads} threads")
    ok = sms["errors"] == 0 and ivr["errors"] == 0 and calls["errors"] == 0
    return 0 if ok and met else 1


if __name__ == "__main__":
    sys.exit(main())
