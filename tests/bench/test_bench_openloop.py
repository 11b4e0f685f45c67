"""The open-loop generator the launch-day benchmarks use counts what a caller would see.

A server on loopback answers by path: 200, a busy 503 with Retry-After, a bare 500, or
nothing at all; a closed port refuses. Whatever the server does, every request is sent on its
schedule and ends in exactly one of the counts.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator

import pytest

from bench.openloop import BROKEN, REFUSED, TIMED_OUT, render, run

ANSWERS = {
    b"/ok": b"HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n<Response/>",
    b"/busy": b"HTTP/1.1 503 Busy\r\nRetry-After: 5\r\nContent-Length: 4\r\n\r\nbusy",
    b"/crash": b"HTTP/1.1 500 Oops\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
    b"/marked": b"HTTP/1.1 200 OK\r\nContent-Length: 15\r\n\r\n<Say>busy</Say>",
}


class _Server(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while b"\r\n\r\n" in self.buffer:
            head, _, rest = self.buffer.partition(b"\r\n\r\n")
            length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
            if len(rest) < length:
                return
            self.buffer = rest[length:]
            path = head.split(b" ")[1]
            if path == b"/reset":
                self.transport.abort()  # type: ignore[attr-defined]
                return
            if path in ANSWERS:  # /hang: never answered
                self.transport.write(ANSWERS[path])  # type: ignore[attr-defined]
                if path == b"/crash":
                    self.transport.close()


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    loop = asyncio.new_event_loop()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    port = sock.getsockname()[1]
    served = loop.run_until_complete(loop.create_server(_Server, sock=sock))
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}"
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)
    served.close()
    loop.run_until_complete(served.wait_closed())
    loop.close()


def requests(*paths: str) -> list[bytes]:
    return [render("POST", path, {}, "Body=HELP", "intake.test") for path in paths]


def test_every_request_ends_in_one_count(server: str) -> None:
    paths = ["/ok"] * 6 + ["/busy"] * 3 + ["/crash"] * 2 + ["/hang"] * 2 + ["/reset"]
    outcome = run(server, requests(*paths), rate=100, timeout=1.0)

    assert outcome.scheduled == outcome.written == len(paths)
    assert outcome.ok == 6
    assert outcome.statuses == {200: 6, 503: 3, 500: 2}
    assert outcome.busy_with_retry_after == 3
    assert outcome.timed_out == 2
    assert outcome.broken == 1
    assert len(outcome.latencies) == 6
    codes = sorted(record[1] for record in outcome.records)
    assert codes == sorted([200] * 6 + [503] * 3 + [500] * 2 + [TIMED_OUT] * 2 + [BROKEN])


@pytest.mark.parametrize("processes", [1, 2])
def test_requests_out_of_time_before_they_start_are_timed_out(server: str, processes: int) -> None:
    # A deadline shorter than the generator's own step: some requests are cancelled before
    # they ever ran, some while waiting for an answer; each is one time-out, and the run ends.
    outcome = run(server, requests(*["/hang"] * 60), rate=2000, timeout=0.0, processes=processes)

    assert outcome.scheduled == outcome.timed_out == 60
    assert sorted(record[4] for record in outcome.records) == list(range(60))


def test_records_keep_each_request_index_across_processes(server: str) -> None:
    paths = ["/ok", "/busy"] * 10
    outcome = run(server, requests(*paths), rate=200, processes=2)

    by_index = {record[4]: record[1] for record in outcome.records}
    assert by_index == {i: 200 if i % 2 == 0 else 503 for i in range(20)}


def test_phases_set_how_many_are_sent_and_when(server: str) -> None:
    outcome = run(server, requests(*["/ok"] * 100), rate=[(0.5, 40), (0.5, 20)])

    assert outcome.scheduled == 30  # 0.5 s at 40/s, then 0.5 s at 20/s
    assert len(outcome.window(0, 0.5).records) == 20
    assert len(outcome.window(0.5, 1.0).records) == 10


def test_a_closed_port_is_refused() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, not listening: connections are refused
        outcome = run(f"http://127.0.0.1:{port}", requests("/ok", "/ok"), rate=50, timeout=1.0)

    assert outcome.refused == 2
    assert [record[1] for record in outcome.records] == [REFUSED, REFUSED]


def test_a_marker_in_a_2xx_body_is_counted(server: str) -> None:
    outcome = run(server, requests("/ok", "/marked", "/marked"), rate=50, marker=b"busy")

    assert outcome.ok == 3
    assert outcome.marked == 2
