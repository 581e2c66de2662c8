"""gunicorn's configuration: ``gunicorn -c config/gunicorn.py config.wsgi``.

Slow clients must not starve the server. gunicorn's sync workers hold a whole process while a
client trickles its request in (4 sockets announcing a large body and sending a few bytes held
every worker of the default setup for 30 s, then ended with a bare 500). Here:

- threaded workers (``gthread``): a connection gets a thread only once it has sent something,
  and each process serves ``GUNICORN_THREADS`` requests at once;
- every client socket gets a timeout (``GUNICORN_CLIENT_TIMEOUT`` seconds of silence while
  sending the request or reading the answer): a body that stops arriving ends the request with
  a 408 in the API's error shape (api.parsers), and frees the thread;
- a body announced larger than ``API_MAX_BODY_BYTES`` is refused (413) before it is read.

Read with ``os.environ`` rather than config.env: gunicorn loads this file before Django.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from gunicorn.workers.gthread import ThreadWorker

CLIENT_TIMEOUT = float(os.environ.get("GUNICORN_CLIENT_TIMEOUT", "5"))


class ClientTimeoutWorker(ThreadWorker):
    """gthread, with a timeout on each client socket (gthread makes them blocking, forever)."""

    def enqueue_req(self, conn: Any) -> None:
        conn.init()
        conn.sock.settimeout(CLIENT_TIMEOUT)
        future = self.tpool.submit(self.handle, conn)
        self._wrap_future(future, conn)  # type: ignore[attr-defined]  # gthread's own, private


bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
worker_class = ClientTimeoutWorker
workers = int(os.environ.get("WEB_CONCURRENCY", "3"))
threads = int(os.environ.get("GUNICORN_THREADS", "8"))
# A worker that stops answering its arbiter this long is restarted (a hung request, not a slow
# client: those are cut by CLIENT_TIMEOUT).
timeout = 30
graceful_timeout = 30
keepalive = 5
# Header limits: gunicorn's defaults, stated (a request line of 4 KiB, 100 headers of 8 KiB).
limit_request_line = 4094
limit_request_fields = 100
limit_request_field_size = 8190
accesslog = "-"
if Path("/dev/shm").is_dir():  # the heartbeat file on memory, not on a container's overlay disk
    worker_tmp_dir = "/dev/shm"
