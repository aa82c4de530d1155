"""A threaded HTTP server on 127.0.0.1 with failure injection, shared by the fakes."""

from __future__ import annotations

import collections
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

# Failure modes a test can queue with `fail_next`:
# - "429": respond Too Many Requests without taking the message;
# - "500": respond Internal Server Error without taking the message;
# - "timeout": take the message, then respond only after the client gave up.
FAILURE_MODES = ("429", "500", "timeout")


@dataclass(slots=True)
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def form(self) -> list[tuple[str, str]]:
        return parse_qsl(self.body.decode(), keep_blank_values=True)


@dataclass(slots=True)
class Response:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class WebhookCall:
    """A webhook request as the provider would send it, for the Django test client."""

    method: str
    path: str
    body: bytes
    content_type: str
    headers: dict[str, str]


class FakeServer:
    """Base of the fakes: subclasses implement `route` for their API."""

    # Seconds a "timeout" response is held back. Tests set the client
    # timeout well below it.
    stall_seconds = 1.5

    def __init__(self) -> None:
        self.requests: list[Request] = []
        self.accepted: list[dict[str, Any]] = []
        self._failures: collections.deque[str] = collections.deque()
        self._lock = threading.Lock()
        self.rate_per_second: float | None = None
        self._window_start = 0.0
        self._window_count = 0
        self.rejected_for_rate = 0
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def fail_next(self, *modes: str) -> None:
        for mode in modes:
            if mode not in FAILURE_MODES:
                raise ValueError(f"Unknown failure mode {mode!r}; use one of {FAILURE_MODES}.")
        with self._lock:
            self._failures.extend(modes)

    def route(self, request: Request) -> Response:
        raise NotImplementedError

    def accept(self, record: dict[str, Any]) -> None:
        with self._lock:
            self.accepted.append(record)

    def _over_rate(self) -> bool:
        """Return whether this request exceeds the fake's own rate limit (fixed one-second windows)."""
        if self.rate_per_second is None:
            return False
        with self._lock:
            now = time.monotonic()
            if now - self._window_start >= 1.0:
                self._window_start = now
                self._window_count = 0
            self._window_count += 1
            if self._window_count > self.rate_per_second:
                self.rejected_for_rate += 1
                return True
        return False

    def _next_failure(self) -> str | None:
        with self._lock:
            return self._failures.popleft() if self._failures else None

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                return

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                request = Request(
                    method=self.command,
                    path=parts.path,
                    query=dict(parse_qsl(parts.query, keep_blank_values=True)),
                    headers={name.lower(): value for name, value in self.headers.items()},
                    body=body,
                )
                with fake._lock:
                    fake.requests.append(request)

                failure = fake._next_failure()
                if failure == "429" or (failure is None and fake._over_rate()):
                    response = Response(429, {"error": "Too Many Requests"}, {"Retry-After": "0"})
                elif failure == "500":
                    response = Response(500, {"error": "Internal Server Error"})
                else:
                    response = fake.route(request)
                    if failure == "timeout":
                        time.sleep(fake.stall_seconds)

                payload = b"" if response.body is None else json.dumps(response.body).encode()
                try:
                    self.send_response(response.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    for name, value in response.headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            do_GET = do_POST = _serve

        return Handler
