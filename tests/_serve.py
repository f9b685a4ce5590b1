"""Serve a folder over HTTP on 127.0.0.1, optionally under a path prefix (as GitHub Pages
serves a project site under ``/REPO/``): ``with serve(folder, "/repo/") as url: ...``."""

from __future__ import annotations

import contextlib
import functools
import http.server
import threading
from pathlib import Path


class _Handler(http.server.SimpleHTTPRequestHandler):
    prefix = "/"
    extra_headers: dict[str, str] = {}  # noqa: RUF012 (set per server by serve())

    def send_head(self):
        if not self.path.startswith(self.prefix):  # what Pages answers outside the site
            self.send_error(404, "outside the served prefix")
            return None
        return super().send_head()

    def translate_path(self, path):
        return super().translate_path("/" + path[len(self.prefix) :])

    def end_headers(self):
        for name, value in self.extra_headers.items():
            self.send_header(name, value)
        super().end_headers()

    def handle(self):
        # A client that closes a connection early (a browser, a crawler) is not an error.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            super().handle()

    def log_message(self, *args):
        pass


@contextlib.contextmanager
def serve(directory: Path, prefix: str = "/", headers: dict[str, str] | None = None):
    """Yield the URL (ending in ``prefix``) of a server for ``directory``; every response
    carries ``headers``."""
    assert prefix.startswith("/") and prefix.endswith("/"), prefix
    attributes = {"prefix": prefix, "extra_headers": dict(headers or {})}
    handler_class = type("Handler", (_Handler,), attributes)
    handler = functools.partial(handler_class, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}{prefix}"
    finally:
        server.shutdown()
        server.server_close()
