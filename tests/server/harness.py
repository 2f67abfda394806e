"""Starting ``trendcalc serve`` as a real process and talking HTTP to it with the standard library."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

NOW = "2024-03-31T18:00:00Z"
READY_TIMEOUT = 60.0


def free_port() -> int:
    """A port nobody listens on right now (bound to 0, read, released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Reply:
    """One HTTP answer: status, headers (lower-case names), body bytes."""

    def __init__(self, status: int, headers: dict[str, str], body: bytes):
        self.status, self.headers, self.body = status, headers, body

    def json(self) -> Any:
        return json.loads(self.body)

    def __repr__(self) -> str:
        return f"<Reply {self.status} {self.body[:300]!r}>"


def request(base: str, method: str, path: str, *, body: Any = None, raw: bytes | None = None,
            params: dict[str, Any] | None = None, token: str | None = None, now: str | None = NOW,
            headers: dict[str, str] | None = None, timeout: float = 30.0) -> Reply:
    """Send one request; ``params`` values that are lists/dicts/bools are JSON-encoded as PostHog's
    clients do. Error statuses are returned, not raised."""
    url = base + path
    if params:
        enc = {k: (json.dumps(v) if isinstance(v, (list, dict, bool)) else str(v)) for k, v in params.items()}
        url += "?" + urllib.parse.urlencode(enc)
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    h = {"Content-Type": "application/json"} if data is not None else {}
    if token is not None:
        h["Authorization"] = f"Bearer {token}"
    if now is not None:
        h["X-Trendcalc-Now"] = now
    h.update(headers or {})
    req = urllib.request.Request(url, data=data, method=method, headers=h)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return Reply(resp.status, {k.lower(): v for k, v in resp.headers.items()}, resp.read())
    except urllib.error.HTTPError as exc:
        with exc:
            return Reply(exc.code, {k.lower(): v for k, v in exc.headers.items()}, exc.read())


class ServerProcess:
    """``python -m trendcalc serve ARGS --port P`` on 127.0.0.1, ready when /_health answers."""

    def __init__(self, args: list[str], log_path: Path):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self._log = open(log_path, "wb")  # noqa: SIM115 - closed in stop()
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "trendcalc", "serve", *args, "--port", str(self.port)],
            stdout=self._log, stderr=subprocess.STDOUT, env=env,
        )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}:\n{self.log()}")
            try:
                if request(self.base, "GET", "/_health", now=None, timeout=2).status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"server not ready after {READY_TIMEOUT} s:\n{self.log()}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=15)
        self._log.close()
