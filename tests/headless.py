"""What the browser tests and the benchmark share: Debian's chromium, the flags it runs with
here, and a static file server that keeps quiet. Importable without chromium installed, so
that the benchmark can say it is missing instead of failing."""

import http.server

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


class Quiet(http.server.SimpleHTTPRequestHandler):
    """Serves a folder without logging every request."""

    def log_message(self, *args):
        pass
