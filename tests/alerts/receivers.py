"""Real local receivers for delivery tests: an HTTP server for Apprise ``json://`` posts (it can
be told to fail) and an aiosmtpd SMTP server for ``mailto://``."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from email import message_from_bytes
from email.header import decode_header, make_header
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller

from anlan.stack.net import free_port


class HttpReceiver:
    """Records every JSON post; answers ``status`` (e.g. 500 for a failing endpoint)."""

    def __init__(self, status: int = 200, hold: threading.Event | None = None,
                 on_post: Callable[[], None] | None = None, delay_s: float = 0.0) -> None:
        self.status = status
        self.delay_s = delay_s
        self.hold = hold  # answer only once this is set (a slow channel)
        self.held: list[bool] = []  # per held request: was it released (not timed out)
        self.on_post = on_post
        self.posts: list[dict[str, Any]] = []
        self.requests = 0
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                if len(body) < length:  # sender died mid-request: nothing was delivered
                    return
                if receiver.hold is not None:
                    receiver.held.append(receiver.hold.wait(10))
                if receiver.delay_s:
                    time.sleep(receiver.delay_s)
                with receiver.lock:
                    receiver.requests += 1
                    if receiver.status < 300:
                        receiver.posts.append({**json.loads(body or b"{}"), "_path": self.path})
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()
                if receiver.on_post is not None:
                    receiver.on_post()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, path: str = "notify") -> str:
        return f"json://127.0.0.1:{self.server.server_address[1]}/{path}"

    def start(self) -> HttpReceiver:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def to(self, path: str) -> list[dict[str, Any]]:
        """Posts received (all paths share one list; the path is not in the JSON body)."""
        return list(self.posts)

    def texts(self) -> list[str]:
        with self.lock:
            return [f"{p.get('title', '')}\n{p.get('message', '')}" for p in self.posts]


class _Handler:
    def __init__(self) -> None:
        self.mails: list[dict[str, Any]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = message_from_bytes(envelope.content)
        parts = [bytes(p.get_payload(decode=True)).decode() for p in msg.walk()
                 if p.get_content_type() == "text/plain"]
        self.mails.append({"to": list(envelope.rcpt_tos),
                           "subject": str(make_header(decode_header(msg["Subject"] or ""))),
                           "body": "\n".join(parts)})
        return "250 OK"


class SmtpReceiver:
    def __init__(self) -> None:
        self.handler = _Handler()
        self.port = free_port()
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)

    @property
    def mails(self) -> list[dict[str, Any]]:
        return self.handler.mails

    def url(self, to: str) -> str:
        return (f"mailto://127.0.0.1:{self.port}?from=anlan@example.org&to={to}"
                "&mode=insecure")

    def start(self) -> SmtpReceiver:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()


def wait_for(check: Callable[[], bool], timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return check()
