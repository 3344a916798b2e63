"""A support-ticket router in its own process, as an agent in another language would be.

    python http_router.py PORT          # the world's LLM URL from $SIMHARNESS_LLM_URL

Each POST is a ticket event (JSON); the answer is `{"route": ..., "confidence": ...}`.
When the model cannot be reached the webhook fails with a 503, as a real service would.
It uses only the standard library and httpx, and knows nothing of simharness.
"""

from __future__ import annotations

import json
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx

LLM = os.environ["SIMHARNESS_LLM_URL"]
client = httpx.Client(timeout=5.0)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length") or 0))
        try:
            ticket = json.loads(body)
            text = "\n".join(m["text"] for m in ticket["messages"])
            reply = client.post(f"{LLM}/chat/completions", json={
                "model": "small", "messages": [{"role": "user", "content": text}]})
            reply.raise_for_status()
            answer = reply.json()["choices"][0]["message"]["content"]
            status, out = 200, json.loads(answer)
        except Exception as exc:  # noqa: BLE001 (any failure is this ticket's)
            status, out = 503, {"error": f"{type(exc).__name__}: {exc}"}
        data = json.dumps(out).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


if __name__ == "__main__":
    server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler)
    print("ready", flush=True)
    server.serve_forever()
