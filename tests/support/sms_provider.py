"""A stand-in for the SMS provider's HTTP API (Twilio's Messages API), served on loopback."""

from __future__ import annotations

import json
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler


class FakeProvider(BaseHTTPRequestHandler):
    """Answers like Twilio's Messages API; `script` says what each request gets:
    (status, JSON payload, delay in seconds[, extra headers]); status 0 hangs up."""

    requests: list[dict] = []
    script: list[tuple] = []

    def do_POST(self):  # noqa: N802 - the http.server naming
        length = int(self.headers["Content-Length"])
        form = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode()))
        type(self).requests.append({"path": self.path, "headers": dict(self.headers), "form": form})
        status, payload, delay, *extra = type(self).script.pop(0) if type(self).script else (
            201, {"sid": "SM123", "status": "queued"}, 0.0
        )  # fmt: skip
        time.sleep(delay)
        if status == 0:
            self.close_connection = True
            return  # hang up without an answer
        body = json.dumps(payload).encode()
        try:
            self.send_response(status)
            for name, value in (extra[0] if extra else {}).items():
                self.send_header(name, value)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client timed out and hung up

    def log_message(self, *args):
        pass
