"""Users' endpoints for the alerts tests: real HTTP servers on loopback, each recording what it took, in one
shared order, and able to misbehave (slow, erroring, answering garbage, or not listening)."""

from __future__ import annotations

import itertools
import socket
import socketserver
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

_ORDER = itertools.count()
_ORDER_LOCK = threading.Lock()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Got:
    order: int
    message_id: str
    content_type: str
    body: bytes


@dataclass
class UserEndpoint:
    """``mode``: "ok" (200), "error" (HTTP 503), "slow" (200 after ``delay`` s, or as soon as ``release`` is
    set), "garbage" (bytes that are not HTTP, then the connection closes)."""

    mode: str = "ok"
    delay: float = 2.0
    port: int = field(default_factory=free_port)
    got: list[Got] = field(default_factory=list)
    attempts: int = 0
    open_now: int = 0
    most_open: int = 0
    release: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: socketserver.TCPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/duis"

    def ids(self) -> list[str]:
        with self._lock:
            return [g.message_id for g in self.got]

    def start(self) -> UserEndpoint:
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                with endpoint._lock:
                    endpoint.attempts += 1
                    endpoint.open_now += 1
                    endpoint.most_open = max(endpoint.most_open, endpoint.open_now)
                try:
                    mode = endpoint.mode
                    if mode == "garbage":
                        self.wfile.write(b"\x00\xffnot http at all\r\n\r\n")
                        self.close_connection = True
                        return
                    if mode == "slow":
                        endpoint.release.wait(endpoint.delay)
                    status = 503 if mode == "error" else 200
                    if status == 200:
                        with _ORDER_LOCK, endpoint._lock:
                            endpoint.got.append(Got(next(_ORDER), self.headers.get("x-duis-response-id", ""),
                                                    self.headers.get("content-type", ""), body))
                    self.send_response(status)
                    self.send_header("content-length", "0")
                    self.end_headers()
                finally:
                    with endpoint._lock:
                        endpoint.open_now -= 1

            def log_message(self, *args: object) -> None:
                pass

        class Server(ThreadingHTTPServer):
            allow_reuse_address = True
            request_queue_size = 256  # the default 5 refuses connections under a burst: not what is tested

        Handler.protocol_version = "HTTP/1.1"  # keep-alive, as a real endpoint would
        self._server = Server(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.release.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def wait_for(self, count: int, timeout: float = 20.0) -> list[Got]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.got) >= count:
                    return list(self.got)
            time.sleep(0.02)
        with self._lock:
            raise AssertionError(f"the endpoint took {len(self.got)} messages, not {count}, within {timeout} s "
                                 f"({self.attempts} POSTs)")
