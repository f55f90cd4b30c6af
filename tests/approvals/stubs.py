"""A local stand-in for the Slack Web API and a Twilio-compatible SMS API (records every request)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs


class StubApi:
    """``/api/<method>`` answers like Slack; ``/2010-04-01/Accounts/<sid>/Messages.json`` like Twilio.

    ``fail_with`` makes Slack answer ``{"ok": false, "error": ...}`` and SMS answer HTTP 500.
    ``hold()`` keeps Slack's ``chat.postMessage`` from answering (it is recorded) until ``release()``.
    """

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.fail_with: str | None = None
        self._lock = threading.Lock()
        self._answer = threading.Event()
        self._answer.set()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.headers.get("Content-Type", "").startswith("application/json"):
                    parsed: Any = json.loads(body or b"{}")
                else:
                    parsed = {k: v[0] for k, v in parse_qs(body.decode()).items()}
                record = {"path": self.path, "body": parsed, "auth": self.headers.get("Authorization")}
                with stub._lock:
                    stub.requests.append(record)
                    count = len(stub.requests)
                if self.path.endswith("/chat.postMessage"):
                    stub._answer.wait(30)
                if self.path.startswith("/api/"):
                    answer: dict[str, Any] = {"ok": True, "channel": "C0APPROVALS", "ts": f"1700000000.{count:06d}"}
                    if stub.fail_with:
                        answer = {"ok": False, "error": stub.fail_with}
                    self._send(200, answer)
                elif self.path.endswith("/Messages.json"):
                    if stub.fail_with:
                        self._send(500, {"message": stub.fail_with})
                    else:
                        self._send(201, {"sid": f"SM{count:04d}", "status": "queued"})
                else:
                    self._send(200, {"ok": True})

            def _send(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> StubApi:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.release()
        self.server.shutdown()
        self.server.server_close()

    def hold(self) -> None:
        self._answer.clear()

    def release(self) -> None:
        self._answer.set()

    def calls(self, suffix: str) -> list[dict[str, Any]]:
        with self._lock:
            return [r for r in self.requests if r["path"].endswith(suffix)]
