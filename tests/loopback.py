"""A test's loopback server served in a thread, and stopped at once.

``socketserver``'s ``serve_forever`` notices ``shutdown()`` only at its next
poll, half a second by default: a cost every test with such a server paid
(every app has a fake Twilio).  Here the loop also waits on a socket pair
that ``stop()`` writes to, so it ends as soon as it is told.
"""

from __future__ import annotations

import selectors
import socket
import socketserver
import threading


class ServerThread:
    """``ServerThread(server).start()`` serves; ``stop()`` ends the loop, then closes."""

    def __init__(self, server: socketserver.TCPServer, name: str = "loopback") -> None:
        self.server = server
        self._wake, self._waker = socket.socketpair()
        self._thread = threading.Thread(target=self._serve, name=name, daemon=True)

    def start(self) -> ServerThread:
        self._thread.start()
        return self

    def _serve(self) -> None:
        with selectors.DefaultSelector() as selector:
            selector.register(self.server.socket, selectors.EVENT_READ)
            selector.register(self._wake, selectors.EVENT_READ)
            while True:
                ready = {key.fileobj for key, _ in selector.select()}
                if self._wake in ready:
                    return
                # What serve_forever does with a ready socket: accept, then handle
                # (in a thread of its own for the threading servers).
                self.server._handle_request_noblock()  # type: ignore[attr-defined]

    def stop(self) -> None:
        self._waker.send(b"x")
        self._thread.join(timeout=5)
        self.server.server_close()
        self._wake.close()
        self._waker.close()
