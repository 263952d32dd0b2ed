"""Tiny static HTTP server on 127.0.0.1 for the softphone harness (test code).

Serves:
- ``/`` and ``/harness/*``: the harness page and scripts from this directory (test code);
- ``/static/js/*``: the product's ``dashboard/static/js`` (the phone driver under test);
- ``/static/vendor/sip.js/*``: the ``sip.js`` npm package from ``node_modules``.
"""

from __future__ import annotations

import mimetypes
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
SIPJS_DIR = REPO / "node_modules" / "sip.js"


class _Handler(SimpleHTTPRequestHandler):
    routes: dict[str, Path] = {}

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        return  # keep pytest output quiet

    def _resolve(self) -> Path | None:
        path = unquote(urlsplit(self.path).path)
        if path in ("/", "/harness.html"):
            return HERE / "harness.html"
        for prefix, root in self.routes.items():
            if path.startswith(prefix):
                candidate = (root / path[len(prefix) :]).resolve()
                if candidate.is_file() and candidate.is_relative_to(root.resolve()):
                    return candidate
                return None
        return None

    def do_GET(self) -> None:  # noqa: N802
        target = self._resolve()
        if target is None:
            self.send_error(404)
            return
        body = target.read_bytes()
        ctype = "text/javascript" if target.suffix in (".js", ".mjs") else (
            mimetypes.guess_type(target.name)[0] or "application/octet-stream")  # fmt: skip
        self.send_response(200)
        self.send_header("Content-Type", f"{ctype}; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)


class HarnessServer:
    def __init__(self) -> None:
        handler = type("Handler", (_Handler,), {"routes": {
            "/harness/": HERE,
            "/static/js/": REPO / "dashboard" / "static" / "js",
            "/static/vendor/sip.js/": SIPJS_DIR,
        }})  # fmt: skip
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.port = int(self.httpd.server_address[1])
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)
