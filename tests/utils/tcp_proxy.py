"""A TCP proxy a test controls, to take a real database away from a real service.

`down()` drops every connection and refuses new ones (the database host is gone);
`silent()` keeps connections open and accepts new ones but forwards nothing (a server that
hangs); `up()` forwards again. One thread, one selector, 127.0.0.1 only.
"""

from __future__ import annotations

import selectors
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress

CHUNK = 65536


class TcpProxy:
    def __init__(self, target_port: int, target_host: str = "127.0.0.1") -> None:
        self._target = (target_host, target_port)
        self._selector = selectors.DefaultSelector()
        self._peers: dict[socket.socket, socket.socket | None] = {}  # None: held, never forwarded
        self._listener: socket.socket | None = None
        self._mode = "up"
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self.port = self._listen(0)
        self._thread = threading.Thread(target=self._run, name="tcp-proxy", daemon=True)
        self._thread.start()

    def _listen(self, port: int) -> int:
        listener = socket.create_server(("127.0.0.1", port), reuse_port=False)
        listener.setblocking(False)
        self._listener = listener
        self._selector.register(listener, selectors.EVENT_READ)
        return int(listener.getsockname()[1])

    def up(self) -> None:
        with self._lock:
            self._drop_connections()
            if self._listener is None:
                self._listen(self.port)
            self._mode = "up"

    def down(self) -> None:
        with self._lock:
            self._drop_connections()
            if self._listener is not None:
                self._selector.unregister(self._listener)
                self._listener.close()
                self._listener = None
            self._mode = "down"

    def silent(self) -> None:
        with self._lock:
            for sock in list(self._peers):
                self._selector.unregister(sock)
            self._mode = "silent"

    def _drop_connections(self) -> None:
        for sock in list(self._peers):
            if self._mode != "silent":
                self._selector.unregister(sock)
            sock.close()
        self._peers.clear()

    def _run(self) -> None:
        while not self._stopped.is_set():
            for key, _ in self._selector.select(timeout=0.05):
                with self._lock:
                    self._handle(key.fileobj)  # type: ignore[arg-type]

    def _handle(self, sock: socket.socket) -> None:
        if sock is self._listener:
            self._accept()
            return
        if self._mode != "up" or sock not in self._peers:
            return
        other = self._peers[sock]
        try:
            data = sock.recv(CHUNK)
            if data and other is not None:
                other.sendall(data)
                return
        except OSError:
            pass
        self._close_pair(sock)

    def _accept(self) -> None:
        assert self._listener is not None
        try:
            client, _ = self._listener.accept()
        except BlockingIOError:
            return
        if self._mode == "silent":
            self._peers[client] = None  # accepted, and never answered
            return
        try:
            upstream = socket.create_connection(self._target, timeout=5)
        except OSError:
            client.close()
            return
        for sock, other in ((client, upstream), (upstream, client)):
            sock.setblocking(True)
            self._peers[sock] = other
            self._selector.register(sock, selectors.EVENT_READ)

    def _close_pair(self, sock: socket.socket) -> None:
        other = self._peers.pop(sock, None)
        for each in (sock, other):
            if each is None:
                continue
            self._peers.pop(each, None)
            with suppress(KeyError, ValueError):
                self._selector.unregister(each)
            each.close()

    def close(self) -> None:
        self._stopped.set()
        self._thread.join()
        with self._lock:
            self._mode = "down"
            for sock in list(self._peers):
                sock.close()
            if self._listener is not None:
                self._listener.close()
        self._selector.close()


@contextmanager
def tcp_proxy(target_port: int) -> Iterator[TcpProxy]:
    proxy = TcpProxy(target_port)
    try:
        yield proxy
    finally:
        proxy.close()
