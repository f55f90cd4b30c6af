"""A local stand-in for the Slack Web API: answers like Slack, prints and records every call."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class StubSlack:
    """``POST /api/<method>`` → ``{"ok": true, "channel": ..., "ts": ...}``; ``calls`` keeps (method, body)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, quiet: bool = False) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
                method = self.path.rsplit("/", 1)[-1]
                stub.calls.append((method, body))
                if not quiet:
                    print(f"[stub Slack] {method} to {body.get('channel')}: {body.get('text')}", flush=True)
                answer = json.dumps({"ok": True, "channel": "C0REFUNDS", "ts": f"1700000000.{len(stub.calls):06d}"})
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(answer.encode())

        self.server = ThreadingHTTPServer((host, port), Handler)
        self.api_url = f"http://{host}:{self.server.server_address[1]}/api"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
