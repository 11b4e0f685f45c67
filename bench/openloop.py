"""An open-loop load generator: requests leave at a fixed rate whether or not answers came.

wrk and a pool of clients are closed loops: when the server slows, they send less, and a
surge never happens. Twilio is not like that: each webhook is sent when the citizen's SMS
arrives and given up after 15 s. Here every request is its own asyncio task, started at its
scheduled instant (`start + i / rate`); its latency and its 15 s run from that instant, so a
generator or a connection that lags counts against the answer, never hides it.

The client is a minimal HTTP/1.1 one on asyncio protocols (no dependency: it needs only
status, headers and Content-Length), with a pool of kept-alive connections when the server
allows it (gunicorn's gthread workers; a sync worker closes each one). More than one process
(`processes=`) splits the requests and the rate between them, for rates one process cannot
send; `python -m bench.openloop` measures this generator's own ceiling against a trivial
server on this machine.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import multiprocessing
import os
import socket
import statistics
import sys
import time
from collections import Counter, deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

TIMEOUT = 15.0  # Twilio gives a webhook 15 s
TIMED_OUT, REFUSED, BROKEN = -1, -2, -3  # what a request got instead of a status
STALE = 1.0  # s: a connection idle this long is not reused (gunicorn closes them after 2 s)


def render(method: str, path: str, headers: dict[str, str], body: bytes | str, host: str) -> bytes:
    """One HTTP/1.1 request as it goes on the wire."""
    payload = body.encode() if isinstance(body, str) else body
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", f"Content-Length: {len(payload)}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + payload


def signed_posts(lines: Sequence[str], host: str) -> list[bytes]:
    """Requests from bench/requests.lua's lines ("path<TAB>signature<TAB>body"; "-" unsigned)."""
    rendered = []
    for line in lines:
        path, signature, body = line.split("\t", 2)
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        if signature != "-":
            headers["X-Twilio-Signature"] = signature
        rendered.append(render("POST", path, headers, body, host))
    return rendered


@dataclass
class Outcome:
    """What came of the requests of one run (merged over processes)."""

    scheduled: int = 0
    written: int = 0  # requests whose bytes were handed to a socket
    ok: int = 0  # a 2xx within the timeout
    timed_out: int = 0
    refused: int = 0  # the connection was refused (the server's listen backlog was full)
    broken: int = 0  # reset or closed before a whole answer
    statuses: Counter[int] = field(default_factory=Counter)  # every answer, by status
    busy_with_retry_after: int = 0  # 503 that carried Retry-After
    latencies: list[float] = field(default_factory=list)  # ms, of the 2xx answers
    first_write: float = math.inf
    last_write: float = 0.0
    lag_max: float = 0.0  # s, the worst a request left after its instant (generator lag)
    ok_per_second: Counter[int] = field(default_factory=Counter)  # by second since start
    connections: int = 0  # connections opened
    broken_reused: int = 0  # of `broken`, on a kept-alive connection used before
    resent: int = 0  # sent again on a new connection: a kept-alive one closed under it
    marked: int = 0  # 2xx answers whose body held `run`'s marker (e.g. the IVR's busy TwiML)
    started_at: float = 0.0  # the wall-clock instant of offset 0 (time.time())
    # One per request: its instant (s after `started_at`), its status or TIMED_OUT, REFUSED,
    # BROKEN, its latency (ms, from its instant), whether a 503 carried Retry-After, and its
    # index in the requests given to `run`.
    records: list[tuple[float, int, float, bool, int]] = field(default_factory=list)

    @property
    def send_rate(self) -> float:
        span = self.last_write - self.first_write
        return self.written / span if span > 0 else 0.0

    @property
    def other_statuses(self) -> Counter[int]:
        return Counter({s: n for s, n in self.statuses.items() if not 200 <= s < 300})

    def percentile(self, p: float) -> float:
        if len(self.latencies) < 2:
            return self.latencies[0] if self.latencies else math.nan
        return statistics.quantiles(self.latencies, n=1000, method="inclusive")[
            min(998, max(0, round(p * 10) - 1))
        ]

    def window(self, start: float, end: float) -> Outcome:
        """The requests whose instants fall in [start, end) s, counted again."""
        part = Outcome(started_at=self.started_at)
        for record in self.records:
            if start <= record[0] < end:
                part.add(*record)
        return part

    def add(
        self, offset: float, code: int, latency: float, retry_after: bool, index: int = 0
    ) -> None:
        self.scheduled += 1
        self.records.append((offset, code, latency, retry_after, index))
        if code == TIMED_OUT:
            self.timed_out += 1
            return
        if code == REFUSED:
            self.refused += 1
            return
        if code == BROKEN:
            self.broken += 1
            return
        self.statuses[code] += 1
        self.busy_with_retry_after += code == 503 and retry_after
        if 200 <= code < 300:
            self.ok += 1
            self.latencies.append(latency)
            self.ok_per_second[int(offset + latency / 1000)] += 1

    def merge(self, other: Outcome) -> None:
        for name in ("scheduled", "written", "ok", "timed_out", "refused", "broken"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.busy_with_retry_after += other.busy_with_retry_after
        self.connections += other.connections
        self.marked += other.marked
        self.broken_reused += other.broken_reused
        self.resent += other.resent
        self.statuses.update(other.statuses)
        self.latencies += other.latencies
        self.ok_per_second.update(other.ok_per_second)
        self.first_write = min(self.first_write, other.first_write)
        self.last_write = max(self.last_write, other.last_write)
        self.lag_max = max(self.lag_max, other.lag_max)
        self.records += other.records
        self.started_at = other.started_at

    def summary(self) -> str:
        others = ", ".join(f"{s}: {n}" for s, n in sorted(self.other_statuses.items())) or "none"
        return (
            f"{self.scheduled} scheduled, sent at {self.send_rate:.0f}/s, "
            f"{self.scheduled - self.written} never sent (the generator behind, or every "
            "connection it may open waiting); "
            f"{self.ok} answered 2xx within {TIMEOUT:.0f} s, {self.timed_out} timed out, "
            f"{self.refused} refused, {self.broken} broken ({self.broken_reused} on a reused "
            f"connection; {self.resent} resent on a new one); other statuses: {others} "
            f"({self.busy_with_retry_after} 503 with Retry-After); p50 {self.percentile(50):.1f} "
            f"ms, p99 {self.percentile(99):.1f} ms, max {max(self.latencies, default=0):.0f} ms"
        )


class _Connection(asyncio.Protocol):
    """One HTTP/1.1 connection, one request at a time."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.answer: asyncio.Future[tuple[int, dict[bytes, bytes], bytearray]] | None = None
        self.reusable = False
        self.lost = False
        self.idle_since = 0.0
        self.uses = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def send(self, data: bytes) -> asyncio.Future[tuple[int, dict[bytes, bytes], bytearray]]:
        assert self.transport is not None
        self.answer = asyncio.get_running_loop().create_future()
        self.uses += 1
        self.buffer.clear()
        # The generator stands in for the load balancer too: it stamps each request as it
        # sends it, as nginx's `X-Request-Start: t=${msec}` does (web/queue_age.py).
        stamp = b"\r\nX-Request-Start: t=%.3f\r\n" % time.time()
        self.transport.write(data.replace(b"\r\n", stamp, 1))
        return self.answer

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0 or self.answer is None or self.answer.done():
            return
        head = bytes(self.buffer[:end]).split(b"\r\n")
        headers = {}
        for line in head[1:]:
            name, _, value = line.partition(b":")
            headers[name.strip().lower()] = value.strip()
        length = headers.get(b"content-length")
        if length is not None:
            if len(self.buffer) - end - 4 < int(length):
                return
        elif headers.get(b"transfer-encoding", b"").lower() == b"chunked":
            if not self.buffer.endswith(b"0\r\n\r\n"):
                return
        else:
            return  # delimited by the close: answered in connection_lost
        self._answer(head, headers)

    def _answer(self, head: list[bytes], headers: dict[bytes, bytes]) -> None:
        version, status = head[0].split(b" ", 2)[:2]
        self.reusable = version == b"HTTP/1.1" and headers.get(b"connection", b"").lower() != (
            b"close"
        )
        if self.answer is not None and not self.answer.done():
            self.answer.set_result((int(status), headers, self.buffer))

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        self.reusable = False
        if self.answer is None or self.answer.done():
            return
        end = self.buffer.find(b"\r\n\r\n")
        if end >= 0:
            head = bytes(self.buffer[:end]).split(b"\r\n")
            headers = {}
            for line in head[1:]:
                name, _, value = line.partition(b":")
                headers[name.strip().lower()] = value.strip()
            self._answer(head, headers)
        else:
            self.answer.set_exception(ConnectionResetError("closed before an answer"))

    def close(self) -> None:
        if self.transport is not None:
            self.transport.abort()


async def _run(
    host: str,
    port: int,
    requests: Sequence[bytes],
    offsets: Sequence[float],
    timeout: float,
    keep_alive: bool,
    max_connections: int,
    start_at: float,
    first: int = 0,
    stride: int = 1,
    marker: bytes | None = None,
) -> Outcome:
    loop = asyncio.get_running_loop()
    outcome = Outcome(started_at=start_at)
    idle: list[_Connection] = []
    tasks: set[asyncio.Task[None]] = set()
    # `start_at` is a wall-clock instant shared by every process of one run.
    start = loop.time() + max(0.0, start_at - time.time())
    wall_start = start_at

    opened = 0
    waiting: list[asyncio.Future[_Connection | None]] = []

    async def acquire(fresh: bool = False) -> _Connection:
        """An idle connection, a new one under the cap, or the first one given back (only a
        new one when `fresh`)."""
        nonlocal opened
        while True:
            while idle and not fresh:
                connection = idle.pop()
                if not connection.lost and loop.time() - connection.idle_since < STALE:
                    return connection
                connection.close()  # the server may be closing it now (gunicorn: after 2 s)
                opened -= 1
            if opened >= max_connections:
                turn: asyncio.Future[_Connection | None] = loop.create_future()
                waiting.append(turn)
                try:
                    handed = await turn
                except asyncio.CancelledError:
                    if turn.done() and not turn.cancelled():
                        release(turn.result(), reuse=True)  # given to us as we timed out
                    raise
                if handed is not None:
                    if not (fresh or handed.lost or loop.time() - handed.idle_since >= STALE):
                        return handed
                    handed.close()  # it waited for us too long: the server may close it
                    opened -= 1
                continue  # a slot freed: open one
            opened += 1
            try:
                _transport, connection = await loop.create_connection(_Connection, host, port)
            except BaseException:
                opened -= 1
                _wake(None)
                raise
            outcome.connections += 1
            sock = connection.transport.get_extra_info("socket")  # type: ignore[union-attr]
            if sock is not None:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            return connection

    def _wake(connection: _Connection | None) -> bool:
        while waiting:
            turn = waiting.pop(0)
            if not turn.done():
                turn.set_result(connection)
                return True
        return False

    def release(connection: _Connection | None, reuse: bool) -> None:
        nonlocal opened
        if connection is None:
            return
        if reuse and keep_alive and connection.reusable and not connection.lost:
            connection.idle_since = loop.time()
            if not _wake(connection):
                idle.append(connection)
            return
        connection.close()
        opened -= 1
        _wake(None)

    async def one(data: bytes, due: float, index: int) -> None:
        connection: _Connection | None = None
        try:
            connection = await acquire()
            now = loop.time()
            outcome.written += 1
            outcome.first_write = min(outcome.first_write, wall_start + now - start)
            outcome.last_write = max(outcome.last_write, wall_start + now - start)
            try:
                status, headers, body = await connection.send(data)
            except OSError:
                if connection.uses < 2 or connection.buffer:
                    raise
                # A kept-alive connection the server closed as we reused it: as HTTP clients
                # do, send once more on a new one (nothing of an answer had come back).
                outcome.resent += 1
                release(connection, reuse=False)
                connection = None
                connection = await acquire(fresh=True)
                status, headers, body = await connection.send(data)
        except asyncio.CancelledError:  # its 15 s are over (`expire` cancels it)
            outcome.add(due - start, TIMED_OUT, 1000 * timeout, False, index)
            release(connection, reuse=False)
            return
        except ConnectionRefusedError:
            outcome.add(due - start, REFUSED, 1000 * (loop.time() - due), False, index)
            return
        except OSError:
            outcome.broken_reused += connection is not None and connection.uses > 1
            outcome.add(due - start, BROKEN, 1000 * (loop.time() - due), False, index)
            release(connection, reuse=False)
            return
        if loop.time() - due > timeout:  # answered, but after the caller gave up
            outcome.add(due - start, TIMED_OUT, 1000 * (loop.time() - due), False, index)
            release(connection, reuse=True)
            return
        retry_after = b"retry-after" in headers
        if marker is not None and 200 <= status < 300 and marker in body:
            outcome.marked += 1
        outcome.add(due - start, status, 1000 * (loop.time() - due), retry_after, index)
        release(connection, reuse=True)

    # Requests start in the order of their instants, so their deadlines are in order too: one
    # sweeper ends the late ones (a timer per request would cost the generator a fifth more).
    deadlines: deque[tuple[float, asyncio.Task[None]]] = deque()
    sending = True

    async def expire() -> None:
        while sending or deadlines:
            now = loop.time()
            while deadlines and deadlines[0][0] <= now:
                late = deadlines.popleft()[1]
                if not late.done():
                    late.cancel()
            while deadlines and deadlines[0][1].done():
                deadlines.popleft()
            await asyncio.sleep(0.02)

    sweeper = loop.create_task(expire())
    i, count = 0, len(requests)
    while i < count:
        # Start every request whose instant has come, then sleep to the next one (always
        # yielding: a generator behind schedule must still let the answers in).
        now = loop.time()
        while i < count and (due := start + offsets[i]) <= now:
            outcome.lag_max = max(outcome.lag_max, now - due)
            task = loop.create_task(one(requests[i], due, first + i * stride))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            deadlines.append((due + timeout, task))
            i += 1
        if i < count:
            await asyncio.sleep(max(0.0, start + offsets[i] - loop.time()))
    sending = False
    while tasks:
        for result in await asyncio.gather(*list(tasks), return_exceptions=True):
            if isinstance(result, BaseException) and not isinstance(result, asyncio.CancelledError):
                raise result
    await sweeper
    # A task its deadline cancelled before it ever ran (a generator that fell 15 s behind)
    # recorded nothing: it timed out all the same.
    recorded = {record[4] for record in outcome.records}
    for j, offset in enumerate(offsets):
        if first + j * stride not in recorded:
            outcome.add(offset, TIMED_OUT, 1000 * timeout, False, first + j * stride)
    for connection in idle:
        connection.close()
    return outcome


def _worker(
    args: tuple[
        str, int, Sequence[bytes], Sequence[float], float, bool, int, float, int, int, bytes | None
    ],
) -> Outcome:
    try:
        return asyncio.run(_run(*args))
    except asyncio.CancelledError as error:  # a BaseException would hang Pool.map
        raise RuntimeError(f"the generator was cancelled: {error!r}") from None


def instants(rate: float | Sequence[tuple[float, float]], count: int) -> list[float]:
    """Each request's instant (s from the start): `count` at a steady `rate`, or as many as
    phases of (seconds, rate) hold, one after the other."""
    if isinstance(rate, (int, float)):
        return [i / rate for i in range(count)]
    offsets: list[float] = []
    begin = 0.0
    for seconds, phase_rate in rate:
        offsets += [begin + j / phase_rate for j in range(round(seconds * phase_rate))]
        begin += seconds
    return offsets


def run(
    url: str,
    requests: Sequence[bytes],
    rate: float | Sequence[tuple[float, float]],
    timeout: float = TIMEOUT,
    processes: int = 1,
    keep_alive: bool = True,
    max_connections: int = 15_000,
    offsets: Sequence[float] | None = None,
    marker: bytes | None = None,
) -> Outcome:
    """Send `requests` (rendered by `render`) to `url`'s host at `rate` per second, open loop
    (or in phases of (seconds, rate): then as many requests as the phases hold are sent; or
    each at its own instant, `offsets`, in order, s from the start, when `rate` is 0).

    With `processes` > 1, process k sends requests k, k + n, ... at rate / n, all from the
    same instant, so together they keep the order and the rate. `max_connections` (over all
    processes) bounds the connections open at once; a request waits for one, its clock
    running. Twilio has no such bound, so the default is about what 15 s at 1,000/s needs.
    2xx answers whose body holds `marker` are counted (`Outcome.marked`).
    """
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    if offsets is None:
        offsets = instants(rate, len(requests))
    if len(offsets) > len(requests):
        raise ValueError(f"{len(offsets)} requests scheduled, {len(requests)} given")
    requests = requests[: len(offsets)]
    start_at = time.time() + 0.5 + 0.3 * processes
    if processes <= 1:
        args = (
            host,
            port,
            requests,
            offsets,
            timeout,
            keep_alive,
            max_connections,
            start_at,
            0,
            1,
            marker,
        )
        return _worker(args)
    shares = [
        (
            host,
            port,
            requests[k::processes],
            offsets[k::processes],
            timeout,
            keep_alive,
            max(1, max_connections // processes),
            start_at,
            k,
            processes,
            marker,
        )
        for k in range(processes)
    ]
    # forkserver, not fork: a process that already runs threads (a test run's fake servers,
    # a benchmark's) may hold a lock at the fork, and the child would wait on it forever.
    with multiprocessing.get_context("forkserver").Pool(processes) as pool:
        outcomes = pool.map(_worker, shares)
    total = Outcome(started_at=start_at)
    for outcome in outcomes:
        total.merge(outcome)
    return total


# --- the generator's own ceiling -------------------------------------------------------------

_OK = b"HTTP/1.1 200 OK\r\nContent-Length: 11\r\nContent-Type: text/xml\r\n\r\n<Response/>"


class _Trivial(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        self.buffer = bytearray()

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            length = 0
            for line in bytes(self.buffer[:end]).split(b"\r\n")[1:]:
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            if len(self.buffer) < end + 4 + length:
                return
            del self.buffer[: end + 4 + length]
            self.transport.write(_OK)  # type: ignore[attr-defined]


def _serve(sock: socket.socket) -> None:
    async def main() -> None:
        server = await asyncio.get_running_loop().create_server(_Trivial, sock=sock)
        await server.serve_forever()

    asyncio.run(main())


def ceiling(
    rate: float, seconds: float, processes: int, servers: int = 2, keep_alive: bool = True
) -> Outcome:
    """This generator against a trivial server (`servers` processes on one port), on 64
    kept-alive connections or on a new connection per request (as against sync workers)."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(4096)
    port = sock.getsockname()[1]
    context = multiprocessing.get_context("forkserver")
    children = [context.Process(target=_serve, args=(sock,), daemon=True) for _ in range(servers)]
    for child in children:
        child.start()
    sock.close()
    body = "MessageSid=SM0&From=%2B9613100000&Body=HELP"
    request = render(
        "POST", "/sms/inbound", {"Content-Type": "application/x-www-form-urlencoded"}, body, "x"
    )
    try:
        return run(
            f"http://127.0.0.1:{port}",
            [request] * int(rate * seconds),
            rate,
            processes=processes,
            keep_alive=keep_alive,
            max_connections=64 if keep_alive else 15_000,
        )
    finally:
        for child in children:
            child.kill()
            child.join()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rate", type=float, default=5000)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--servers", type=int, default=2)
    args = parser.parse_args()
    print(
        f"open-loop generator against a trivial server ({args.servers} processes), "
        f"{os.cpu_count()} cores\n"
    )
    print(
        "| connections | generator processes | asked /s | sent /s | 2xx | timed out "
        "| refused | p50 ms | p99 ms |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    sustained: dict[bool, int] = {}
    for keep_alive, rate in ((True, args.rate), (False, args.rate / 5)):
        for processes in (1, 2):
            outcome = ceiling(rate, args.seconds, processes, args.servers, keep_alive)
            print(
                f"| {'64 kept alive' if keep_alive else 'new per request'} | {processes} "
                f"| {rate:.0f} | {outcome.send_rate:.0f} | {outcome.ok} | {outcome.timed_out} "
                f"| {outcome.refused} | {outcome.percentile(50):.1f} "
                f"| {outcome.percentile(99):.1f} |"
            )
            if outcome.send_rate >= 0.97 * rate and outcome.ok == outcome.scheduled:
                sustained[keep_alive] = processes
                break
    if True not in sustained:
        print(f"\nthe generator could not send {args.rate:.0f}/s on this machine now")
        return 1
    print(f"\n{args.rate:.0f}/s kept alive needs {sustained[True]} generator process(es)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
