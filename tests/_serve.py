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

    def translate_path(self, path):
        if not path.startswith(self.prefix):
            return str(Path(self.directory) / "\0no-such-file")  # 404 outside the prefix
        return super().translate_path("/" + path[len(self.prefix) :])

    def log_message(self, *args):
        pass


@contextlib.contextmanager
def serve(directory: Path, prefix: str = "/"):
    """Yield the URL (ending in ``prefix``) of a server for ``directory``."""
    assert prefix.startswith("/") and prefix.endswith("/"), prefix
    handler_class = type("Handler", (_Handler,), {"prefix": prefix})
    handler = functools.partial(handler_class, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}{prefix}"
    finally:
        server.shutdown()
        server.server_close()
