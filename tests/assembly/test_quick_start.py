"""The README's first command, as a new user runs it: it serves the Arabic sign-in page."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_bin_serve_prints_the_url_and_demo_sign_ins_and_serves_arabic(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(PORT=str(free_port()), SERVE_DATABASE_URL=f"sqlite:///{tmp_path}/serve.sqlite3")
    process = subprocess.Popen(
        [str(ROOT / "bin" / "serve")],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    output: list[str] = []
    try:
        url = _wait_for_url(process, output)
        assert re.search(r"demo-focal\s+\S{16,}\s+focal_point", "".join(output))
        page = _get_when_ready(url)
        assert '<html lang="ar" dir="rtl">' in page
        assert "تسجيل الدخول" in page
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
        if process.stdout is not None:
            process.stdout.close()


def _wait_for_url(process: subprocess.Popen[str], output: list[str]) -> str:
    deadline = time.monotonic() + 300
    assert process.stdout is not None
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            raise AssertionError("bin/serve stopped:\n" + "".join(output))
        output.append(line)
        found = re.search(r"running at (http://\S+/sign-in)", line)
        if found:
            return found.group(1)
    raise AssertionError("bin/serve printed no URL:\n" + "".join(output))


def _get_when_ready(url: str) -> str:
    for _ in range(60):
        try:
            with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - loopback
                return str(response.read().decode("utf-8"))
        except OSError:
            time.sleep(0.5)
    raise AssertionError(f"nothing answered at {url}")
