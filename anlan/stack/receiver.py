"""A local notification receiver for demos: accepts Apprise ``json://`` posts and prints them."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from anlan.stack.net import free_port


class NotificationReceiver:
    """An HTTP server on 127.0.0.1 that calls ``on_message(payload)`` for each JSON post."""

    def __init__(self, on_message: Callable[[dict[str, Any]], None], port: int = 0) -> None:
        self.port = port or free_port()
        self.messages: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server API
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                try:
                    payload = json.loads(body or b"{}")
                except ValueError:
                    payload = {"title": "", "message": body.decode(errors="replace")}
                with receiver._lock:
                    receiver.messages.append(payload)
                on_message(payload)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:  # silence per-request logging
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """The Apprise URL that posts to this receiver."""
        return f"json://127.0.0.1:{self.port}/notify"

    def start(self) -> NotificationReceiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def snapshot(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self.messages)
