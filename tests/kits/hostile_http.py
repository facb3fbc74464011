"""A loopback HTTP server that answers badly on purpose, and a way to run slactl against it and measure it.

``HostileServer(mode)`` answers every request (or only those whose path starts
with one of ``paths``; the others get ``normal``'s answer) in one of these ways:

- ``trickle``: a 200 JSON head, then one byte of body every ``interval`` seconds, for ever;
- ``trickle-head``: the status line and headers themselves, one byte every ``interval``;
- ``endless``: a 200 chunked JSON body that never ends, sent as fast as the client reads;
- ``gzip-bomb``: the same, ``Content-Encoding: gzip``: each KiB sent inflates to a MiB;
- ``fixed``: ``status``, ``body`` and ``content_type`` as given (an HTML 502 page, 100 KB of
  error text, JSON that is not what the API documents).

Every handler stops when the client goes away or the server is closed.
``run_measured(cmd)`` runs a process to its end (killed at ``limit`` seconds) and
returns its exit code, output, wall time and peak RSS (the child's own high-water mark,
not the pytest worker's it was forked from: see ``kits.peak``).
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from kits.peak import wait_with_peak

MODES = ("trickle", "trickle-head", "endless", "gzip-bomb", "fixed")
JSON_HEAD = b'{"status":"success","data":{"resultType":"matrix","result":['
SERIES = b'{"metric":{"__name__":"up","job":"x"},"values":[[1767225659.999,"1"]]},'
Normal = Callable[[str, str], tuple[int, bytes, str]]  # (method, path) -> (status, body, content type)


class HostileServer:
    """``with HostileServer("trickle") as srv: ... srv.url``; ``srv.requests`` lists ``(method, path)`` seen."""

    def __init__(
        self,
        mode: str,
        *,
        interval: float = 1.0,
        status: int = 200,
        body: bytes = b"",
        content_type: str = "application/json",
        paths: tuple[str, ...] | None = None,
        normal: Normal | None = None,
    ) -> None:
        if mode not in MODES:
            raise ValueError(f"mode {mode!r} is not one of {MODES}")
        self.mode, self.interval, self.status, self.body, self.content_type = mode, interval, status, body, content_type
        self.paths, self.normal = paths, normal
        self.requests: list[tuple[str, str]] = []
        self.sent = 0  # body bytes written by hostile answers
        self.stopping = threading.Event()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)

    def __enter__(self) -> HostileServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=5)

    def hostile(self, path: str) -> bool:
        return self.paths is None or path.startswith(self.paths)


def _handler(srv: HostileServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:  # quiet
            return

        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            path = self.path.split("?", 1)[0]
            srv.requests.append((self.command, path))
            try:
                if not srv.hostile(path):
                    assert srv.normal is not None, f"no normal answer for {path}"
                    self._fixed(*srv.normal(self.command, path))
                elif srv.mode == "fixed":
                    self._fixed(srv.status, srv.body, srv.content_type)
                elif srv.mode == "trickle":
                    self._head({"Content-Type": "application/json", "Transfer-Encoding": "chunked"})
                    self._trickle(self._chunk)
                elif srv.mode == "trickle-head":
                    self._trickle(self.wfile.write, b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Slow: ")
                else:
                    self._endless()
            except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, OSError):
                pass  # the client went away: what it should do
            self.close_connection = True

        do_GET = do_POST = do_PUT = _answer

        def _fixed(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _head(self, headers: dict[str, str]) -> None:
            self.send_response(200)
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.flush()

        def _chunk(self, data: bytes) -> None:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            srv.sent += len(data)

        def _trickle(self, write: Callable[[bytes], object], first: bytes = b"") -> None:
            if first:
                write(first)
            text, i = (b"a" if first else JSON_HEAD), 0
            while not srv.stopping.wait(srv.interval):
                write(text[i : i + 1] or (b"a" if first else b" "))
                self.wfile.flush()
                i += 1

        def _endless(self) -> None:
            bomb = srv.mode == "gzip-bomb"
            headers = {"Content-Type": "application/json", "Transfer-Encoding": "chunked"}
            if bomb:
                headers["Content-Encoding"] = "gzip"
            self._head(headers)
            block = SERIES * (65536 // len(SERIES))
            if bomb:  # a MiB of spaces (valid JSON whitespace) deflates to ~1 KiB; sent again, it inflates again
                packer = zlib.compressobj(9, zlib.DEFLATED, 31)
                self._chunk(packer.compress(JSON_HEAD) + packer.flush(zlib.Z_SYNC_FLUSH))
                block = packer.compress(b" " * (1 << 20)) + packer.flush(zlib.Z_SYNC_FLUSH)
            else:
                self._chunk(JSON_HEAD)
            while not srv.stopping.is_set():
                self._chunk(block)

    return Handler


@dataclass
class Measured:
    code: int
    stdout: str
    stderr: str
    seconds: float
    peak_rss: int  # bytes


def run_measured(cmd: list[str], *, env: dict[str, str] | None = None, cwd: Path | None = None, limit: float = 120) -> Measured:
    """Run ``cmd`` to its end (SIGKILL at ``limit`` s); its exit code, output, wall time and peak RSS."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.monotonic()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=env, cwd=cwd)
        status, peak, _ = wait_with_peak(proc.pid, limit=limit)
        seconds = time.monotonic() - t0
        proc.returncode = code = os.waitstatus_to_exitcode(status)  # reaped here: Popen must not wait again
        out.seek(0)
        err.seek(0)
        return Measured(code, out.read().decode(errors="replace"), err.read().decode(errors="replace"), seconds,
                        peak)  # fmt: skip
