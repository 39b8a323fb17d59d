"""The sandbox's listening socket has Nagle off, in a thread and as ``python -m lib.jira.sandbox``.

Without TCP_NODELAY every kept-alive answer waits ~44 ms for the client's
delayed ACK (issue 14: the standalone sandbox made 100 creates take 21.8 s).
"""

from __future__ import annotations

import socket

from lib.jira.sandbox import __main__ as standalone
from lib.jira.sandbox.server import listening_socket


def _nagle_off(sock: socket.socket) -> bool:
    return sock.proto == socket.IPPROTO_TCP and bool(
        sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
    )


def test_listening_socket_says_tcp_and_has_nodelay():
    sock = listening_socket("127.0.0.1", 0)
    try:
        assert _nagle_off(sock)
    finally:
        sock.close()


def test_accepted_connections_inherit_nodelay():
    sock = listening_socket("127.0.0.1", 0)
    sock.listen(1)
    client = socket.create_connection(sock.getsockname()[:2], timeout=5)
    accepted, _ = sock.accept()
    try:
        assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
    finally:
        for s in (accepted, client, sock):
            s.close()


def test_standalone_sandbox_serves_on_a_nodelay_socket(monkeypatch, capsys):
    served: list[socket.socket] = []

    class CapturingServer:
        def __init__(self, config):
            self.config = config

        def run(self, sockets):
            served.extend(sockets)

    monkeypatch.setattr(standalone.uvicorn, "Server", CapturingServer)
    assert standalone.main(["--port", "0", "--latency-ms", "50"]) == 0
    assert "Jira sandbox (cloud) at http://127.0.0.1:" in capsys.readouterr().out
    try:
        assert len(served) == 1 and _nagle_off(served[0])
    finally:
        for sock in served:
            sock.close()
