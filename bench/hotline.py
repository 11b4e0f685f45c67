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

from bench.load import print_table, wrk
from tests.fake_twilio import ACCOUNT_SID, AUTH_TOKEN, FakeTwilio
from tests.stack import Stack, fresh_database

PG_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1/intake_bench"
)
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
PUBLIC = "https://intake.bench"
HOTLINE = "+9611766"
REQUESTS = 20_000
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
    print(f"gunicorn: {workers} workers × {threads} threads")
    return 0 if sms["errors"] == 0 and ivr["errors"] == 0 and calls["errors"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
