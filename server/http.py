"""An ASGI app served by uvicorn on a thread of its own, on a socket bound before it starts
(so port 0 works and a busy port is known at once): the ops board and the JSON gateway."""

from __future__ import annotations

import logging
import socket
import threading
import time
from typing import Any

import uvicorn

from server.config import ConfigError

log = logging.getLogger(__name__)


class HttpThread:
    """Binds `listen` ("HOST:PORT") for `section`; `start()` serves `app`, `stop()` ends it.

    A malformed address is a ConfigError; a port in use an OSError, for the caller to decide
    whether that is fatal."""

    def __init__(self, app: Any, listen: str, section: str) -> None:
        self.name = section
        host, _, port = listen.rpartition(":")
        self._sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self._sock.bind((host.strip("[]"), int(port)))
        except ValueError as exc:
            self._sock.close()
            raise ConfigError(f"[{section}] listen {listen!r}: {exc}") from None
        except OSError as exc:
            self._sock.close()
            raise OSError(f"[{section}] listen {listen}: {exc.strerror or exc}") from None
        self.host = host
        self.port = self._sock.getsockname()[1]
        config = uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False)
        self.server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self.server.run, args=([self._sock],), name=section, daemon=True
        )

    @property
    def stopping(self) -> bool:
        return self.server.should_exit

    def start(self) -> None:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started and time.monotonic() < deadline:
            time.sleep(0.01)
        log.info("%s on http://%s:%d/", self.name, self.host, self.port)

    def stop(self) -> None:
        self.server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(10)
        self._sock.close()
