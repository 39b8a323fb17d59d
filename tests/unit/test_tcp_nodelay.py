import socket

from lib.http.tcp_nodelay import set_nodelay_on_listeners


def nodelay(sock: socket.socket) -> int:
    return sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)


def test_listeners_get_nodelay_and_accepted_sockets_inherit_it():
    listener = socket.socket(socket.AF_INET)  # proto 0, as Streamlit binds it
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    idle = socket.socket(socket.AF_INET)  # not listening: left alone
    try:
        assert nodelay(listener) == 0
        assert set_nodelay_on_listeners() >= 1
        assert nodelay(listener) != 0 and nodelay(idle) == 0
        client = socket.create_connection(listener.getsockname())
        accepted, _ = listener.accept()
        assert nodelay(accepted) != 0
        accepted.close()
        client.close()
    finally:
        listener.close()
        idle.close()
