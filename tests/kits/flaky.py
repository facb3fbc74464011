"""A loopback HTTP proxy in front of a real Prometheus that misbehaves on cue.

``FlakyProxy(upstream, script)``: each request to the Prometheus API takes the
next entry of ``script`` (an HTTP status to answer with instead of forwarding),
and is forwarded unchanged once the script is used up.  ``always`` answers every
request with that status.  It counts what it saw, so tests can assert retries.

``rewrite(path, form, status, body)`` may change a forwarded answer: it returns
``None`` (pass it on) or a new ``(status, body)``, e.g. a ``query_range`` answer
with ``warnings`` and half its series gone, or a refusal of long ranges as too
large.  ``delay`` holds every answer that many seconds (a slow server).
"""

from __future__ import annotations

import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

Rewrite = Callable[[str, dict[str, str], int, bytes], tuple[int, bytes] | None]


class FlakyProxy:
    def __init__(
        self,
        upstream: str,
        script: list[int] | None = None,
        always: int | None = None,
        rewrite: Rewrite | None = None,
        delay: float = 0.0,
    ) -> None:
        self.upstream = upstream.rstrip("/")
        self.script = list(script or [])
        self.always = always
        self.rewrite = rewrite
        self.delay = delay
        self.forms: list[dict[str, str]] = []
        self.seen: list[tuple[str, int]] = []
        self.headers: list[dict[str, str]] = []
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                proxy.headers.append({k.lower(): v for k, v in self.headers.items()})
                form = dict(urllib.parse.parse_qsl((body or b"").decode()))
                proxy.forms.append(form)
                if proxy.delay:
                    time.sleep(proxy.delay)
                with proxy._lock:
                    status = proxy.always or (proxy.script.pop(0) if proxy.script else None)
                if status is not None:
                    payload = b'{"status":"error","errorType":"injected","error":"injected by test"}'
                    proxy.seen.append((self.path, status))
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                req = urllib.request.Request(proxy.upstream + self.path, data=body, method=self.command)
                if self.headers.get("Content-Type"):
                    req.add_header("Content-Type", self.headers["Content-Type"])
                try:
                    with urllib.request.urlopen(req, timeout=30) as resp:
                        code, data = resp.status, resp.read()
                except urllib.error.HTTPError as exc:
                    code, data = exc.code, exc.read()
                if proxy.rewrite is not None:
                    changed = proxy.rewrite(self.path, form, code, data)
                    if changed is not None:
                        code, data = changed
                proxy.seen.append((self.path, code))
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _handle

        class QuietServer(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request: object, client_address: object) -> None:
                pass  # the client hung up (slactl stops waiting once a query failed)

        self.server = QuietServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FlakyProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
